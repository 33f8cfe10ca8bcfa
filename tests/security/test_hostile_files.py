"""Hostile credential files: each is a verdict, never a hang, a huge read or a leak.

Every file credpick (or botocore, driven by credpick) reads for credentials is
swapped for a FIFO with no writer, ``/dev/null``, ``/dev/zero``, a file over
its cap, a symlink to ``/proc/self/environ``, a directory, a missing file and
non-UTF-8 bytes. Each call that could block runs under a watchdog thread, so
a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine

import credpick
from credpick import (
    ConfigurationError,
    CredpickError,
    NoCredentialsFound,
    SourceFailed,
    Status,
    _cli,
    _safe_io,
)
from credpick.sources._cache import BoundedJSONCache
from credpick.testing import Simulation
from tests.helpers import ROLE_ARN, STATIC_ENV, STATIC_KEY_ID, STATIC_SECRET, write
from tests.security._leaks import WEB_IDENTITY_TOKEN, assert_clean_error
from tests.security._watchdog import bounded

VARIANTS = (
    "fifo",
    "dev-null",
    "dev-zero",
    "over-cap",
    "proc-environ",
    "directory",
    "missing",
    "non-utf8",
)
LIMITS = {
    "env-token": _safe_io.WEB_IDENTITY_TOKEN,
    "profile-token": _safe_io.WEB_IDENTITY_TOKEN,
    "sso-cache": _safe_io.JSON_CACHE,
    "config": _safe_io.SHARED_FILE,
    "credentials": _safe_io.SHARED_FILE,
}
START_URL = "https://corp.awsapps.com/start"


def make_hostile(path: Path, variant: str, limit: int) -> None:
    """Put the hostile variant at ``path`` (replacing whatever is there)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        path.rmdir()
    path.parent.mkdir(parents=True, exist_ok=True)
    if variant == "fifo":
        os.mkfifo(path)
    elif variant == "dev-null":
        path.symlink_to("/dev/null")
    elif variant == "dev-zero":
        path.symlink_to("/dev/zero")
    elif variant == "over-cap":
        path.write_bytes(b"a" * (limit + 1))
    elif variant == "proc-environ":
        path.symlink_to("/proc/self/environ")
    elif variant == "directory":
        path.mkdir()
    elif variant == "non-utf8":
        path.write_bytes(b"\xff\xfe[default]\n\xc3\x28\n")
    else:
        assert variant == "missing"


def verdict(ctx: credpick.Context) -> CredpickError | None:
    """What detection makes of the context: the error it raises or reports."""
    try:
        return credpick.detect(context=ctx).error
    except CredpickError as exc:
        return exc


def _setup(kind: str, home: Path, tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    """The file of ``kind``, the environment that makes credpick read it, the name it goes by."""
    target = tmp_path / "hostile"
    if kind == "env-token":
        env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(target), "AWS_ROLE_ARN": ROLE_ARN}
        return target, env, "AWS_WEB_IDENTITY_TOKEN_FILE"
    if kind == "profile-token":
        write(
            home / ".aws" / "config",
            f"[default]\nweb_identity_token_file = {target}\nrole_arn = {ROLE_ARN}\n",
        )
        return target, {}, "web_identity_token_file of profile 'default'"
    if kind == "sso-cache":
        write(
            home / ".aws" / "config",
            f"[default]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n"
            "sso_account_id = 123456789012\nsso_role_name = r\n",
        )
        name = hashlib.sha1(START_URL.encode()).hexdigest()
        return home / ".aws" / "sso" / "cache" / f"{name}.json", {}, "SSO token"
    if kind == "config":
        return target, {"AWS_CONFIG_FILE": str(target)}, "AWS_CONFIG_FILE"
    assert kind == "credentials"
    return target, {"AWS_SHARED_CREDENTIALS_FILE": str(target)}, "AWS_SHARED_CREDENTIALS_FILE"


# A shared file that is absent or a character device is "no file", as in botocore.
NOTHING_THERE = {("config", v) for v in ("dev-null", "dev-zero", "missing")} | {
    ("credentials", v) for v in ("dev-null", "dev-zero", "missing")
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", sorted(LIMITS))
def test_a_hostile_file_is_a_verdict_not_a_hang(
    kind: str, variant: str, home: Path, tmp_path: Path, make_context: Any
) -> None:
    path, env, name = _setup(kind, home, tmp_path)
    make_hostile(path, variant, LIMITS[kind])
    error = bounded(lambda: verdict(make_context(env)))
    if (kind, variant) in NOTHING_THERE:
        assert isinstance(error, NoCredentialsFound)  # a normal "nothing there"
        return
    assert isinstance(error, CredpickError)
    assert not isinstance(error, NoCredentialsFound)
    assert name in str(error) and str(path) in f"{error} {error.evidence}"
    if kind in ("config", "credentials"):
        assert isinstance(error, ConfigurationError)
    assert "PATH=" not in str(error)  # nothing of /proc/self/environ
    assert_clean_error(error)


@pytest.mark.parametrize(
    ("variant", "says"),
    [
        ("fifo", "FIFO"),
        ("over-cap", f"over the limit of {_safe_io.SHARED_FILE}"),
        ("directory", "is a directory"),
        ("non-utf8", "as UTF-8 text"),
    ],
)
@pytest.mark.parametrize("kind", ["config", "credentials"])
def test_a_shared_file_says_what_is_wrong(
    kind: str, variant: str, says: str, home: Path, tmp_path: Path, make_context: Any
) -> None:
    path, env, _ = _setup(kind, home, tmp_path)
    make_hostile(path, variant, LIMITS[kind])
    error = bounded(lambda: verdict(make_context(env)))
    assert isinstance(error, ConfigurationError) and says in error.reason
    assert error.fix and error.evidence == (f"{next(iter(env))}={path}",)


@pytest.mark.parametrize("kind", ["config", "credentials"])
def test_a_parse_error_names_the_file_and_line_never_the_text(
    kind: str, home: Path, tmp_path: Path, make_context: Any
) -> None:
    path, env, _ = _setup(kind, home, tmp_path)
    # The bad line is a secret: a key pasted before any section header.
    path.write_text(f"aws_secret_access_key = {STATIC_SECRET}\n[default]\n", encoding="utf-8")
    error = bounded(lambda: verdict(make_context(env)))
    assert isinstance(error, ConfigurationError)
    assert str(path) in error.reason and "line 1" in error.reason
    assert error.__cause__ is None and error.__context__ is None
    assert_clean_error(error)
    section = "[profile NAME]" if kind == "config" else "[NAME]"
    assert error.fix is not None and section in error.fix
    if kind == "credentials":
        assert "[profile" not in error.fix  # that syntax is wrong in the credentials file


def test_a_malformed_line_later_in_the_file_gives_its_number(home: Path, make_context: Any) -> None:
    write(home / ".aws" / "config", f"[default]\nregion = eu-west-1\n{STATIC_SECRET}\n")
    error = verdict(make_context())
    assert isinstance(error, ConfigurationError) and "line 3" in error.reason
    assert_clean_error(error)


def test_a_nested_block_without_equals_is_refused_as_botocore_would(
    home: Path, make_context: Any
) -> None:
    write(home / ".aws" / "config", f"[default]\ns3 =\n  {STATIC_SECRET}\n")
    error = verdict(make_context())
    assert isinstance(error, ConfigurationError) and "'s3'" in error.reason
    assert_clean_error(error)


def test_a_nested_block_without_equals_gives_its_line_number(home: Path, make_context: Any) -> None:
    # The same option in an earlier section, well formed, must not be the one counted.
    write(
        home / ".aws" / "credentials",
        f"[a]\ns3 =\n  k = v\n[b]\nx = 1\ns3 =\n  k = v\n  {STATIC_SECRET}\n",
    )
    error = verdict(make_context())
    assert isinstance(error, ConfigurationError)
    assert error.reason.endswith(
        "the indented block of 's3' in [b] has a line without '=' (line 8)"
    )
    assert error.fix is not None and "[NAME]" in error.fix and "[profile" not in error.fix
    assert_clean_error(error)


def test_shared_files_parse_as_botocore_parses_them(home: Path, make_context: Any) -> None:
    """The happy case next to the hostile ones: nested blocks, sso-sessions, keys."""
    write(
        home / ".aws" / "config",
        "[default]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n"
        "[sso-session corp]\nsso_region = us-east-1\n",
    )
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    from credpick import _files

    files = _files.load(make_context())
    assert files.profile("default")["s3"] == {"addressing_style": "path"}
    assert files.sso_sessions["corp"]["sso_region"] == "us-east-1"
    assert files.credentials["default"]["aws_access_key_id"] == STATIC_KEY_ID


# /dev/null end to end: the usual way to say "no shared files".


@pytest.fixture
def no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for key, value in STATIC_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("no_files")
def test_dev_null_works_for_detect_session_and_wrap() -> None:
    detection = bounded(credpick.detect)
    assert detection.error is None and detection.chosen is not None
    session = bounded(credpick.session)
    assert session.get_credentials().access_key == STATIC_KEY_ID
    assert bounded(lambda: credpick.wrap(boto3.Session())).get_credentials() is not None


@pytest.mark.usefixtures("no_files")
@pytest.mark.parametrize(
    "argv", [["explain"], ["explain", "--json"], ["check"], ["tour"], ["audit"], ["scan"]]
)
def test_dev_null_works_for_every_cli_command(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sts: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", sts.url)  # audit asks IAM: moto on loopback
    if argv == ["scan"]:
        argv = ["scan", str(tmp_path)]
    code = bounded(lambda: _cli.main(argv))
    out = capsys.readouterr()
    assert code in (0, 1), out.err  # 1: the policy's verdict on the keys, not a crash
    assert "ConfigNotFound" not in out.err + out.out and "Traceback" not in out.err


@pytest.mark.usefixtures("no_files")
def test_dev_null_works_for_whoami(sts: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = bounded(lambda: _cli.main(["whoami"]))
    assert code == 0, capsys.readouterr().err


# The web identity token on refresh, read by the loader botocore calls each time.


@pytest.fixture
def irsa(credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch) -> Path:
    handle = credpick_runtime.use("web-identity")
    for key, value in STATIC_ENV.items():
        monkeypatch.setenv(key, value)
    return Path(handle.env["AWS_WEB_IDENTITY_TOKEN_FILE"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_token_file_gone_hostile_fails_the_refresh(variant: str, sts: Any, irsa: Path) -> None:
    credentials = credpick.session().get_credentials()
    assert credentials.method == "assume-role-with-web-identity"
    make_hostile(irsa, variant, _safe_io.WEB_IDENTITY_TOKEN)
    with time_machine.travel(dt.timedelta(minutes=55)), pytest.raises(SourceFailed) as info:
        bounded(credentials.get_frozen_credentials)  # inside the mandatory window
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in str(info.value) and str(irsa) in str(info.value)
    assert_clean_error(info.value)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("", "is empty"),
        ("  \n", "is empty"),
        ("a\x00b", "not printable ASCII"),
        ("tøken", "not printable ASCII"),
        ("a" * (_safe_io.WEB_IDENTITY_TOKEN + 1), "over the limit"),
    ],
)
def test_a_token_of_the_wrong_shape_is_refused_at_detection(
    token: str, says: str, tmp_path: Path, make_context: Any
) -> None:
    path = tmp_path / "token"
    path.write_text(token, encoding="utf-8")
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(path), "AWS_ROLE_ARN": ROLE_ARN}
    detection = credpick.detect(context=make_context(env))
    (candidate,) = [c for c in detection.candidates if c.kind.value == "web-identity"]
    assert candidate.status is Status.FAILED and says in candidate.reason


def test_a_token_with_a_trailing_newline_is_sent_stripped(
    tmp_path: Path, make_context: Any
) -> None:
    from credpick.sources._assume_web_identity import TokenFileLoader

    path = tmp_path / "token"
    path.write_text(WEB_IDENTITY_TOKEN + "\n", encoding="utf-8")
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(path), "AWS_ROLE_ARN": ROLE_ARN}
    detection = credpick.detect(context=make_context(env))
    assert detection.error is None and detection.chosen is not None
    assert TokenFileLoader(str(path), "AWS_WEB_IDENTITY_TOKEN_FILE")() == WEB_IDENTITY_TOKEN


# The SSO token cache as botocore's SSO provider reads it.


@pytest.mark.parametrize("variant", VARIANTS)
def test_botocore_reads_the_sso_cache_bounded(variant: str, tmp_path: Path) -> None:
    cache = BoundedJSONCache(str(tmp_path))
    make_hostile(tmp_path / "key.json", variant, _safe_io.JSON_CACHE)
    assert not bounded(lambda: "key" in cache)
    with pytest.raises(KeyError):
        bounded(lambda: cache["key"])


def test_the_bounded_sso_cache_reads_a_good_entry(tmp_path: Path) -> None:
    cache = BoundedJSONCache(str(tmp_path))
    cache["key"] = {"accessToken": "t", "expiresAt": "2999-01-01T00:00:00Z"}
    assert "key" in cache and cache["key"]["accessToken"] == "t"


@pytest.mark.parametrize(
    ("content", "limit"),
    [
        (f"{WEB_IDENTITY_TOKEN}\xff".encode("latin-1"), 1000),  # not UTF-8
        (WEB_IDENTITY_TOKEN.encode() * 10, 100),  # over the cap, read to it
    ],
    ids=["non-utf8", "over-cap"],
)
def test_the_reader_s_own_error_holds_no_content(
    content: bytes, limit: int, tmp_path: Path
) -> None:
    """A caller that raises inside ``except FileProblem`` must not chain the token."""
    path = tmp_path / "token"
    path.write_bytes(content)
    del content
    with pytest.raises(_safe_io.FileProblem) as info:
        _safe_io.read_text(path, limit=limit)
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert_clean_error(info.value, (WEB_IDENTITY_TOKEN,))
