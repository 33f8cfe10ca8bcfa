"""IAM Identity Center profiles, against the portal emulator."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import SourceKind, Status
from credpick.testing import SsoPortal

from ..helpers import STATIC_ENV, assert_no_secret, write

ACCESS_TOKEN = "MARKER-TOKEN-sso-access"
CONFIG = """\
[profile dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = credpick-sso-role
region = eu-west-1

[profile legacy]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = credpick-sso-role

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access
"""


def cache_token(home: Path, key: str, expires_in: dt.timedelta, **extra: str) -> Path:
    expires = dt.datetime.now(dt.timezone.utc) + expires_in
    name = hashlib.sha1(key.encode()).hexdigest()
    body = {
        "accessToken": ACCESS_TOKEN,
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **extra,
    }
    return write(home / ".aws" / "sso" / "cache" / f"{name}.json", json.dumps(body))


@pytest.fixture
def portal(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SsoPortal]:
    write(home / ".aws" / "config", CONFIG)
    with SsoPortal(access_token=ACCESS_TOKEN) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", server.url)
        yield server


def test_sso_profile_gets_role_credentials(
    portal: SsoPortal, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_token(home, "corp", dt.timedelta(hours=1))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    session = credpick.session()
    assert session.region_name == "eu-west-1"
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key == portal.credentials.access_key_id
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.SSO
    assert d.chosen.role_arn == "arn:aws:iam::123456789012:role/credpick-sso-role"
    assert any("valid until" in e for e in d.chosen.evidence)
    assert_no_secret(d.explain())
    assert ACCESS_TOKEN not in d.explain()


def test_expired_legacy_token_says_how_to_log_in(
    portal: SsoPortal, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_token(home, "https://corp.awsapps.com/start", -dt.timedelta(minutes=5))
    monkeypatch.setenv("AWS_PROFILE", "legacy")
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    d = credpick.detect()
    assert isinstance(d.error, credpick.SourceFailed)
    assert "aws sso login --profile legacy" in str(d.error)
    assert d.candidates[-1].status is Status.IGNORED  # the key is not a fallback


def test_missing_token_cache_is_failed(portal: SsoPortal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "dev")
    with pytest.raises(credpick.SourceFailed, match="aws sso login --profile dev"):
        credpick.session()


def test_expired_session_token_with_refresh_token_is_available(
    portal: SsoPortal, home: Path, make_context: Any
) -> None:
    cache_token(
        home,
        "corp",
        -dt.timedelta(minutes=1),
        refreshToken="MARKER-TOKEN-refresh",
        clientId="c",
        clientSecret="s",
        registrationExpiresAt="2099-01-01T00:00:00Z",
    )
    d = credpick.detect(
        context=make_context(
            {"AWS_PROFILE": "dev", "AWS_CONFIG_FILE": str(home / ".aws" / "config")}
        )
    )
    assert d.chosen is not None and d.chosen.status is Status.CHOSEN
    assert "refresh" in d.chosen.reason


@pytest.mark.parametrize("registration", [None, "2020-01-01T00:00:00Z"])
def test_expired_token_whose_registration_is_missing_or_expired_fails(
    portal: SsoPortal, home: Path, make_context: Any, registration: str | None
) -> None:
    # botocore refreshes only with all four keys and a live registration.
    extra = {"registrationExpiresAt": registration} if registration else {}
    cache_token(
        home,
        "corp",
        -dt.timedelta(minutes=1),
        refreshToken="MARKER-TOKEN-refresh",
        clientId="c",
        clientSecret="s",
        **extra,
    )
    d = credpick.detect(
        context=make_context(
            {"AWS_PROFILE": "dev", "AWS_CONFIG_FILE": str(home / ".aws" / "config")}
        )
    )
    (candidate,) = d.candidates
    assert candidate.status is Status.FAILED
    assert candidate.fix == "run `aws sso login --profile dev`"


def test_portal_rejecting_the_token_is_source_failed(
    portal: SsoPortal, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_token(home, "corp", dt.timedelta(hours=1))
    portal.access_token = "something-else"
    monkeypatch.setenv("AWS_PROFILE", "dev")
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session()
    assert info.value.kind == "sso"
    assert ACCESS_TOKEN not in str(info.value)


def test_sso_session_reference_must_exist(home: Path, make_context: Any) -> None:
    write(
        home / ".aws" / "config",
        "[profile x]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = r\n",
    )
    d = credpick.detect(
        context=make_context({"AWS_PROFILE": "x", "AWS_CONFIG_FILE": str(home / ".aws" / "config")})
    )
    assert isinstance(d.error, credpick.SourceFailed) and "[sso-session nope]" in str(d.error)
