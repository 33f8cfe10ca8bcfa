"""The legacy files botocore still reads: ``AWS_CREDENTIAL_FILE`` and the boto2
config files (``BOTO_CONFIG``, ``/etc/boto.cfg``, ``~/.boto``), as ``static``.

Each placement is detected, picked when alone exactly as plain botocore
resolves it, ignored beside a role, refused under ``forbid``, and a FIFO or a
huge file fails naming the file, never hangs.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.credentials import BotoProvider

import credpick
from credpick import Candidate, Policy, SourceKind, Status
from credpick._cli import main, present_keys
from credpick._context import Context
from credpick._model import Provenance, Root, RootKind

from ..helpers import ROLE_ARN, STATIC_KEY_ID, STATIC_SECRET, assert_no_secret, write
from ..security._leaks import assert_clean_error

MASKED = "AKIA...MPLE"
ROLE_FIX = "use a role (instance profile, task role, IRSA, SSO)"
EC2_TEXT = f"AWSAccessKeyId={STATIC_KEY_ID}\nAWSSecretKey={STATIC_SECRET}\n"
BOTO_TEXT = (
    f"[Credentials]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n"
)
#: The placements: name -> (where the file goes, the variables that point at it).
PLACES = ("aws-credential-file", "boto-config", "home-boto", "etc-boto")


def place(
    name: str, home: Path, root: Path, text: str | None = None
) -> tuple[Path, dict[str, str]]:
    """Write the key file for a placement; the file and the variables it needs."""
    if name == "aws-credential-file":
        path = home / "ec2" / "credentials.txt"
        return write(path, EC2_TEXT if text is None else text), {"AWS_CREDENTIAL_FILE": str(path)}
    body = BOTO_TEXT if text is None else text
    if name == "boto-config":
        path = home / "cfg" / "boto.cfg"
        return write(path, body), {"BOTO_CONFIG": str(path)}
    if name == "home-boto":
        return write(home / ".boto", body), {}
    return write(root / "etc" / "boto.cfg", body), {}


def store_of(name: str) -> str:
    return "ec2-credentials-file" if name == "aws-credential-file" else "boto-config"


def origin_of(name: str, path: Path) -> str:
    via = {"aws-credential-file": "AWS_CREDENTIAL_FILE", "boto-config": "BOTO_CONFIG"}
    return f"{path} ({via[name]})" if name in via else str(path)


def expected(name: str, path: Path, **fields: Any) -> Candidate:
    origin = origin_of(name, path)
    id_name = "AWSAccessKeyId" if name == "aws-credential-file" else "aws_access_key_id"
    values: dict[str, Any] = {
        "kind": SourceKind.STATIC,
        "status": Status.CHOSEN,
        "origin": origin,
        "evidence": (f"{id_name}={MASKED} in {path}", f"read by botocore as {store_of(name)}"),
        "reason": f"long-lived key in {path}",
        "fix": f"delete the key from {path}; {ROLE_FIX}",
        "long_lived": True,
        "key_id": MASKED,
        "provenance": Provenance(
            Root(kind=RootKind.LEGACY_FILE, origin=origin, long_lived=True, key_id=MASKED)
        ),
    }
    values.update(fields)
    return Candidate(**values)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def web_identity(home: Path) -> dict[str, str]:
    token = write(home / "token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    return {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN}


@pytest.mark.parametrize("name", PLACES)
def test_each_legacy_file_is_a_long_lived_static_candidate(
    make_context: Any, home: Path, root: Path, name: str
) -> None:
    path, env = place(name, home, root)
    d = credpick.detect(context=make_context(env))
    assert d.candidates == (expected(name, path),)
    assert d.error is None
    assert_no_secret(repr(d), d.explain(), json.dumps(d.to_dict()))


@pytest.mark.parametrize("name", PLACES)
def test_picked_alone_it_is_what_plain_botocore_resolves(
    make_context: Any,
    home: Path,
    root: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, env = place(name, home, root)
    creds = credpick.session(context=make_context(env)).get_credentials()
    # Plain boto3 in this process, pointed at the same files (HOME is the test's).
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    etc = str(root / "etc" / "boto.cfg")  # botocore's /etc/boto.cfg, under the test's root
    monkeypatch.setattr(BotoProvider, "DEFAULT_CONFIG_FILENAMES", [etc, "~/.boto"])
    plain = boto3.Session().get_credentials()
    assert plain is not None and plain.method == store_of(name)
    assert (creds.method, creds.access_key, creds.secret_key) == (
        plain.method,
        plain.access_key,
        plain.secret_key,
    )
    assert creds.token is None


def test_the_ec2_file_comes_first_as_in_botocore(make_context: Any, home: Path, root: Path) -> None:
    ec2, env = place("aws-credential-file", home, root)
    write(home / ".boto", BOTO_TEXT.replace(STATIC_KEY_ID, "AKIAI44QH8DHBEXAMPLE"))
    d = credpick.detect(context=make_context(env))
    assert [c.origin for c in d.candidates] == [
        origin_of("aws-credential-file", ec2),
        str(home / ".boto"),
    ]
    creds = credpick.session(context=make_context(env)).get_credentials()
    assert creds.method == "ec2-credentials-file" and creds.access_key == STATIC_KEY_ID


def test_boto_config_replaces_the_default_places(make_context: Any, home: Path, root: Path) -> None:
    # botocore reads BOTO_CONFIG alone when it is set, as credpick does.
    given, env = place("boto-config", home, root)
    write(home / ".boto", BOTO_TEXT.replace(STATIC_KEY_ID, "AKIAI44QH8DHBEXAMPLE"))
    write(root / "etc" / "boto.cfg", BOTO_TEXT.replace(STATIC_KEY_ID, "AKIAI44QH8DHBEXAMPLE"))
    d = credpick.detect(context=make_context(env))
    assert d.candidates == (expected("boto-config", given),)
    empty = write(home / "empty.cfg", "[Boto]\ndebug = 0\n")
    assert credpick.detect(context=make_context({"BOTO_CONFIG": str(empty)})).candidates == ()


@pytest.mark.parametrize("name", PLACES)
def test_ignored_beside_a_role(make_context: Any, home: Path, root: Path, name: str) -> None:
    path, env = place(name, home, root)
    d = credpick.detect(context=make_context({**env, **web_identity(home)}))
    assert d.chosen is not None and d.chosen.kind is SourceKind.WEB_IDENTITY
    legacy = [c for c in d.candidates if c.kind is SourceKind.STATIC]
    assert [c.status for c in legacy] == [Status.IGNORED]
    assert legacy[0].origin == origin_of(name, path)


@pytest.mark.parametrize("name", PLACES)
def test_refused_under_forbid(make_context: Any, home: Path, root: Path, name: str) -> None:
    path, env = place(name, home, root)
    policy = Policy(static_keys="forbid")
    d = credpick.detect(context=make_context(env), policy=policy)
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.chosen is not None and d.chosen.status is Status.REFUSED
    with pytest.raises(credpick.StaticKeysRefused) as caught:
        credpick.session(context=make_context(env), policy=policy)
    assert str(path) in str(caught.value)
    assert_clean_error(caught.value)


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def _huge(path: Path) -> Path:
    write(path, BOTO_TEXT + "#" * (1024 * 1024 + 1))
    return path


@pytest.mark.parametrize("bad", ["fifo", "huge"])
@pytest.mark.parametrize("name", PLACES)
def test_a_fifo_or_huge_file_fails_naming_it(
    make_context: Any, home: Path, root: Path, name: str, bad: str
) -> None:
    path, env = place(name, home, root)
    path.unlink()
    (_fifo if bad == "fifo" else _huge)(path)
    result: dict[str, Any] = {}

    def attempt() -> None:
        try:
            credpick.session(context=make_context(env))
        except credpick.CredpickError as exc:
            result["error"] = exc

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10)  # the bug this guards against hangs forever on a FIFO
    assert not worker.is_alive(), "credpick hung on the file"
    error = result["error"]
    assert isinstance(error, credpick.SourceFailed)
    assert str(path) in error.reason
    reason = "FIFO" if bad == "fifo" else "over the limit"
    assert reason in error.reason
    assert_clean_error(error)


def test_a_missing_aws_credential_file_fails_as_botocore_does(
    make_context: Any, home: Path
) -> None:
    missing = home / "no-such-file"
    d = credpick.detect(context=make_context({"AWS_CREDENTIAL_FILE": str(missing)}))
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.error.reason == f"{missing} (from AWS_CREDENTIAL_FILE) does not exist"


@pytest.mark.parametrize("name", PLACES)
def test_half_a_pair_fails_naming_the_file(
    make_context: Any, home: Path, root: Path, name: str
) -> None:
    text = (
        f"AWSAccessKeyId={STATIC_KEY_ID}\n"
        if name == "aws-credential-file"
        else f"[Credentials]\naws_access_key_id = {STATIC_KEY_ID}\n"
    )
    path, env = place(name, home, root, text)
    d = credpick.detect(context=make_context(env))
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.error.reason == f"{path} has only half a key pair"


# -- credpick check --forbid-static -------------------------------------------------


@pytest.mark.parametrize("name", PLACES)
def test_check_forbid_static_fails_on_each_legacy_file(
    home: Path,
    root: Path,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, env = place(name, home, root)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    ctx = Context.from_process()
    if name == "etc-boto":  # the CLI reads the real /etc; the Context's root is tested
        ctx = Context(env=ctx.env, home=ctx.home, root=root)
        assert present_keys(ctx) == [f"{path} ({MASKED})"]
        return
    assert present_keys(ctx) == [f"{path} ({MASKED})"]
    assert main(["check", "--forbid-static"]) == 1
    out, err = capsys.readouterr()
    assert f"{path} ({MASKED})" in err
    assert_no_secret(out, err)


def test_check_forbid_static_fails_on_an_unreadable_legacy_file(home: Path) -> None:
    # It may hold a key: a file the check cannot read fails it.
    fifo = _fifo(home / ".boto")
    found = present_keys(Context.from_process())
    assert found == [f"{fifo} (is a FIFO (named pipe), not a regular file)"]
