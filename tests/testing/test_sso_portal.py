"""SsoPortal, exercised with botocore's sso client and SSOProvider."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.credentials import SSOProvider
from botocore.exceptions import ClientError

from credpick.testing import SsoPortal

ACCESS_TOKEN = "FAKE-TOKEN-credpick-sso-access"
MakeClient = Callable[[str, str], Any]


@pytest.fixture
def portal() -> Iterator[SsoPortal]:
    with SsoPortal(access_token=ACCESS_TOKEN) as server:
        yield server


def test_get_role_credentials_returns_the_portal_credentials(
    portal: SsoPortal, make_client: MakeClient
) -> None:
    sso = make_client("sso", portal.url)
    response = sso.get_role_credentials(
        roleName="credpick-sso-role", accountId="123456789012", accessToken=ACCESS_TOKEN
    )
    creds = portal.credentials
    assert response["roleCredentials"] == {
        "accessKeyId": creds.access_key_id,
        "secretAccessKey": creds.secret_access_key,
        "sessionToken": creds.token,
        "expiration": creds.expiration_epoch_ms,
    }
    (request,) = portal.requests
    assert request.path.startswith("/federation/credentials?")
    assert request.header("x-amz-sso_bearer_token") == "<redacted>"
    assert ACCESS_TOKEN not in repr(portal.requests)


def test_wrong_access_token_is_unauthorized(portal: SsoPortal, make_client: MakeClient) -> None:
    sso = make_client("sso", portal.url)
    with pytest.raises(ClientError) as info:
        sso.get_role_credentials(
            roleName="credpick-sso-role", accountId="123456789012", accessToken="expired"
        )
    assert info.value.response["Error"]["Code"] == "UnauthorizedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    assert "Session token not found or invalid" in str(info.value)


@pytest.mark.parametrize(
    ("role", "account"), [("other-role", "123456789012"), ("credpick-sso-role", "999999999999")]
)
def test_unknown_role_or_account_is_forbidden(
    portal: SsoPortal, make_client: MakeClient, role: str, account: str
) -> None:
    sso = make_client("sso", portal.url)
    with pytest.raises(ClientError) as info:
        sso.get_role_credentials(roleName=role, accountId=account, accessToken=ACCESS_TOKEN)
    assert info.value.response["Error"]["Code"] == "ForbiddenException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_sso_profile_resolves_through_aws_endpoint_url_sso(
    portal: SsoPortal,
    boto_session: botocore.session.Session,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    start_url = "https://credpick-test.awsapps.com/start"  # never contacted
    (tmp_path / "config").write_text(
        "[profile dev]\n"
        f"sso_start_url = {start_url}\n"
        "sso_region = us-east-1\n"
        "sso_account_id = 123456789012\n"
        "sso_role_name = credpick-sso-role\n"
        "region = us-east-1\n"
    )
    cache = tmp_path / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start_url.encode()).hexdigest() + ".json")).write_text(
        json.dumps(
            {
                "startUrl": start_url,
                "region": "us-east-1",
                "accessToken": ACCESS_TOKEN,
                "expiresAt": "2099-01-01T00:00:00Z",
            }
        )
    )
    # botocore computes the cache dir at import time, so HOME alone is not enough.
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", portal.url)
    monkeypatch.setenv("AWS_PROFILE", "dev")
    session = botocore.session.Session()
    credentials = session.get_credentials()
    assert credentials is not None
    assert credentials.method == "sso"
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key == portal.credentials.access_key_id
    assert frozen.token == portal.credentials.token


def test_rotate_and_reset_issue_new_credentials(portal: SsoPortal) -> None:
    first = portal.credentials
    rotated = portal.rotate()
    assert rotated != first
    assert portal.credentials == rotated
    portal.reset()
    assert portal.credentials not in (first, rotated)
