"""``aws login`` profiles, against the Sign-In emulator: detected, refreshed, failing closed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import botocore.credentials
import pytest

import credpick
from credpick import Policy, SourceKind, Status
from credpick.sources import login
from credpick.testing import Simulation
from credpick.testing._signin import SigninEndpoint

from ..helpers import STATIC_ENV, assert_no_secret
from ..security._leaks import assert_clean_error

needs_crt = pytest.mark.skipif(
    getattr(botocore.credentials, "EC", None) is None, reason="needs botocore[crt]"
)


def _cache_file(sim: Simulation) -> Path:
    (path,) = (sim.home / ".aws" / "login" / "cache").glob("*.json")
    return path


def _secrets(sim: Simulation) -> tuple[str, ...]:
    cached = json.loads(_cache_file(sim).read_text())
    token = cached["accessToken"]
    return (token["secretAccessKey"], token["sessionToken"], cached["refreshToken"])


@pytest.fixture
def no_crt(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore without awscrt: the name its LoginProvider checks is None."""
    monkeypatch.setattr(botocore.credentials, "EC", None)


@needs_crt
def test_a_login_profile_is_picked_from_its_cache(credpick_runtime: Simulation) -> None:
    handle = credpick_runtime.use("login")
    detection = credpick.detect()
    assert detection.chosen is not None and detection.chosen.kind is SourceKind.LOGIN
    assert detection.chosen.role_based and detection.chosen.rank == 4
    credentials = credpick.session().get_credentials()
    assert credentials.method == "login"
    cached = json.loads(_cache_file(credpick_runtime).read_text())["accessToken"]
    assert credentials.get_frozen_credentials().access_key == cached["accessKeyId"]
    assert handle.emulator is not None and handle.emulator.requests == []  # no refresh needed


@needs_crt
def test_credpick_and_plain_botocore_read_the_same_login_session(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("login")
    ours = credpick.session().get_credentials().get_frozen_credentials()
    theirs = boto3.Session().get_credentials()
    assert theirs.method == "login"
    assert theirs.get_frozen_credentials().access_key == ours.access_key


@needs_crt
def test_an_expired_login_is_refreshed_through_the_signin_service(
    credpick_runtime: Simulation,
) -> None:
    handle = credpick_runtime.use("login", expired=True)
    emulator = handle.emulator
    assert isinstance(emulator, SigninEndpoint)
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == emulator.credentials.access_key_id
    (request,) = emulator.requests
    assert request.path == "/v1/token"
    # botocore saved the new refresh token, as the real CLI expects.
    cached = json.loads(_cache_file(credpick_runtime).read_text())
    assert cached["refreshToken"] == emulator.refresh_token


@needs_crt
@pytest.mark.parametrize("mode", ["expired", "insufficient-permissions"])
def test_a_refused_refresh_is_source_failed_naming_aws_login(
    credpick_runtime: Simulation, mode: str
) -> None:
    credpick_runtime.use("login", expired=True, mode=mode)
    with pytest.raises(credpick.SourceFailed) as caught:
        credpick.session()
    error = caught.value
    assert error.kind == "login"
    assert "aws login" in (error.fix or "")
    assert_clean_error(error, markers=_secrets(credpick_runtime))


@needs_crt
def test_a_stray_key_beside_a_login_profile_is_ignored(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("login")
    os.environ.update(STATIC_ENV)
    detection = credpick.detect()
    assert detection.chosen is not None and detection.chosen.kind is SourceKind.LOGIN
    static = next(c for c in detection.candidates if c.kind is SourceKind.STATIC)
    assert static.status is Status.IGNORED


@pytest.mark.usefixtures("no_crt")
def test_without_crt_the_login_source_fails_closed_naming_the_extra(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("login")
    os.environ.update(STATIC_ENV)  # a weaker source that must not win
    detection = credpick.detect()
    assert detection.chosen is not None and detection.chosen.kind is SourceKind.LOGIN
    assert detection.chosen.status is Status.FAILED
    assert "credpick[login]" in (detection.chosen.fix or "")
    with pytest.raises(credpick.SourceFailed, match="botocore\\[crt\\]") as caught:
        credpick.session()
    assert caught.value.kind == "login"
    static = next(c for c in detection.candidates if c.kind is SourceKind.STATIC)
    assert static.status is Status.IGNORED


@pytest.mark.usefixtures("no_crt")
def test_without_crt_forbid_static_still_never_picks_the_key(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("login")
    os.environ.update(STATIC_ENV)
    with pytest.raises(credpick.SourceFailed):
        credpick.session(policy=Policy(static_keys="forbid"))


def _login_profile(sim: Simulation) -> Path:
    sim._append(sim.config_file, "[profile person]\nlogin_session = arn:aws:iam::1:user/p\n\n")
    os.environ["AWS_PROFILE"] = "person"
    return Path(login.cache_path(credpick.Context.from_process(), "arn:aws:iam::1:user/p"))


@needs_crt
def test_a_login_profile_without_a_cache_says_to_run_aws_login(
    credpick_runtime: Simulation,
) -> None:
    _login_profile(credpick_runtime)
    candidate = credpick.detect().chosen
    assert candidate is not None and candidate.status is Status.FAILED
    assert "has not run `aws login`" in candidate.reason
    assert candidate.fix == "run `aws login --profile person`"


@needs_crt
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[1, 2]", "not a JSON object"),
        ("{not json", "not valid JSON"),
        ('{"accessToken": {}}', "lacks accessToken, refreshToken, dpopKey, clientId"),
        (
            '{"accessToken": "x", "refreshToken": "r", "dpopKey": "k", "clientId": "c"}',
            "lacks accessToken",
        ),
    ],
)
def test_a_malformed_cache_is_a_failed_candidate(
    credpick_runtime: Simulation, content: str, reason: str
) -> None:
    path = _login_profile(credpick_runtime)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    candidate = credpick.detect().chosen
    assert candidate is not None and candidate.status is Status.FAILED
    assert reason in candidate.reason


@needs_crt
@pytest.mark.parametrize("hostile", ["fifo", "huge", "directory"])
def test_a_hostile_cache_file_fails_without_blocking(
    credpick_runtime: Simulation, hostile: str
) -> None:
    path = _login_profile(credpick_runtime)
    path.parent.mkdir(parents=True, exist_ok=True)
    if hostile == "fifo":
        os.mkfifo(path)
    elif hostile == "huge":
        path.write_bytes(b" " * (1024 * 1024))
    else:
        path.mkdir()
    candidate = credpick.detect().chosen
    assert candidate is not None and candidate.status is Status.FAILED
    with pytest.raises(credpick.SourceFailed):
        credpick.session()


@needs_crt
def test_no_login_secret_in_any_report(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("login")
    markers = _secrets(credpick_runtime)
    detection = credpick.detect()
    session = credpick.session()
    for text in (detection.explain(), json.dumps(detection.to_dict()), repr(detection)):
        assert not [m for m in markers if m in text]
    assert_no_secret(detection.explain(), repr(session.get_credentials()))


def test_login_needs_botocore_141_or_newer(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(botocore.credentials, "LoginProvider")
    credpick_runtime.use("login")
    candidate = credpick.detect().chosen
    assert candidate is not None and candidate.status is Status.FAILED
    assert candidate.fix == "upgrade botocore to 1.41 or newer"


def test_the_cache_directory_follows_aws_login_cache_directory(tmp_path: Path) -> None:
    ctx = credpick.Context(env={"AWS_LOGIN_CACHE_DIRECTORY": str(tmp_path)}, home="/nowhere")
    assert login.cache_dir(ctx) == str(tmp_path)
    # The file name is botocore's: the SHA-256 of the session name.
    assert login.cache_path(ctx, "s").endswith(
        "043a718774c572bd8a25adbeb1bfcd5c0256ae11cecf9f9c3f925d0e52beaf89.json"
    )


@needs_crt
def test_the_chain_is_rooted_in_the_login_cache_with_its_account(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("login")
    chosen = credpick.detect().chosen
    assert chosen is not None
    root = chosen.provenance.root
    assert root.kind.value == "login-cache" and root.long_lived is False
    assert root.account == "123456789012"
    assert chosen.to_dict()["provenance"]["root"]["account"] == "123456789012"
