"""SsoOidcEndpoint: botocore's sso-oidc client against it, and the sso runtime refreshing through it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import credpick
from credpick.testing import Simulation, SsoOidcEndpoint, SsoPortal

MakeClient = Callable[[str, str], Any]
CLIENT_SECRET = "FAKE-SECRET-credpick-oidc-client"
REFRESH = "refresh-credpick-first"


@pytest.fixture
def oidc() -> Iterator[SsoOidcEndpoint]:
    with SsoOidcEndpoint(
        client_id="client-1", client_secret=CLIENT_SECRET, refresh_token=REFRESH
    ) as server:
        yield server


def _create(client: Any, *, secret: str = CLIENT_SECRET, refresh: str = REFRESH) -> Any:
    return client.create_token(
        grantType="refresh_token", clientId="client-1", clientSecret=secret, refreshToken=refresh
    )


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["error"],
    )


def test_create_token_refreshes_and_rotates_the_refresh_token(
    oidc: SsoOidcEndpoint, make_client: MakeClient
) -> None:
    client = make_client("sso-oidc", oidc.url)
    first = _create(client)
    assert first["tokenType"] == "Bearer"
    assert first["expiresIn"] == 3600
    assert first["accessToken"].startswith("sso-refreshed-")
    assert first["refreshToken"] != REFRESH
    # The used refresh token is spent; the new one works.
    with pytest.raises(ClientError) as info:
        _create(client)
    assert _code(info) == ("InvalidGrantException", 400, "invalid_grant")
    assert _create(client, refresh=first["refreshToken"])["accessToken"] != first["accessToken"]
    assert oidc.tokens_issued == 2
    (request, *_) = oidc.requests
    assert (request.method, request.path) == ("POST", "/token")
    assert CLIENT_SECRET not in repr(oidc.requests) and REFRESH not in repr(oidc.requests)


def test_wrong_client_secret_is_invalid_client_401(
    oidc: SsoOidcEndpoint, make_client: MakeClient
) -> None:
    with pytest.raises(ClientError) as info:
        _create(make_client("sso-oidc", oidc.url), secret="FAKE-SECRET-wrong")
    assert _code(info) == ("InvalidClientException", 401, "invalid_client")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("invalid-grant", ("InvalidGrantException", 400, "invalid_grant")),
        ("expired-token", ("ExpiredTokenException", 400, "expired_token")),
        ("invalid-client", ("InvalidClientException", 401, "invalid_client")),
    ],
)
def test_modes_answer_the_service_error_shapes(
    oidc: SsoOidcEndpoint, make_client: MakeClient, mode: Any, expected: tuple[str, int, str]
) -> None:
    oidc.set_mode(mode)
    with pytest.raises(ClientError) as info:
        _create(make_client("sso-oidc", oidc.url))
    assert _code(info) == expected
    oidc.reset()
    assert _create(make_client("sso-oidc", oidc.url))["accessToken"]


def test_portal_accepts_a_token_the_oidc_endpoint_issued(make_client: MakeClient) -> None:
    with (
        SsoPortal(access_token="FAKE-TOKEN-credpick-first") as portal,
        SsoOidcEndpoint(
            client_id="client-1", client_secret=CLIENT_SECRET, refresh_token=REFRESH, portal=portal
        ) as oidc,
    ):
        sso = make_client("sso", portal.url)
        with pytest.raises(ClientError):
            sso.get_role_credentials(
                roleName=portal.role_name, accountId="123456789012", accessToken="sso-refreshed-x"
            )
        new = _create(make_client("sso-oidc", oidc.url))["accessToken"]
        got = sso.get_role_credentials(
            roleName=portal.role_name, accountId="123456789012", accessToken=new
        )
        assert got["roleCredentials"]["accessKeyId"] == portal.credentials.access_key_id
        portal.reset()
        with pytest.raises(ClientError):
            sso.get_role_credentials(
                roleName=portal.role_name, accountId="123456789012", accessToken=new
            )


# -- the sso runtime, end to end through credpick.session() ----------------


def _cache(sim: Simulation) -> dict[str, Any]:
    (path,) = list(Path(sim.sso_cache_dir).glob("*.json"))
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_sso_runtime_writes_the_cache_aws_sso_login_writes(credpick_runtime: Simulation) -> None:
    handle = credpick_runtime.use("sso")
    cached = _cache(credpick_runtime)
    assert {
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
    } <= set(cached)
    assert handle.oidc is not None
    assert handle.env["AWS_ENDPOINT_URL_SSO_OIDC"] == handle.oidc.url


@pytest.mark.parametrize("token", ["near-expiry", "expired"])
def test_an_expiring_token_is_refreshed_through_the_emulator(
    credpick_runtime: Simulation, token: str, socket_guard: list[str]
) -> None:
    handle = credpick_runtime.use("sso", token=token)
    before = _cache(credpick_runtime)["accessToken"]
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert isinstance(handle.emulator, SsoPortal) and handle.oidc is not None
    assert frozen.access_key == handle.emulator.credentials.access_key_id
    assert handle.oidc.tokens_issued == 1
    after = _cache(credpick_runtime)
    assert after["accessToken"] != before  # botocore saved the refreshed token
    assert after["refreshToken"] == handle.oidc.refresh_token
    assert socket_guard == []  # nothing tried oidc.us-east-1.amazonaws.com


def test_a_valid_token_is_not_refreshed(credpick_runtime: Simulation) -> None:
    handle = credpick_runtime.use("sso")
    credpick.session().get_credentials().get_frozen_credentials()
    assert handle.oidc is not None and handle.oidc.requests == []


def test_an_expired_registration_fails_closed_with_aws_sso_login(
    credpick_runtime: Simulation,
) -> None:
    handle = credpick_runtime.use("sso", expired=True)
    detection = credpick.detect()
    (candidate,) = detection.candidates
    assert candidate.status is credpick.Status.FAILED
    assert "client registration" in (candidate.reason or "")
    with pytest.raises(credpick.SourceFailed, match="aws sso login --profile credpick-sso"):
        credpick.session()
    assert handle.oidc is not None and handle.oidc.requests == []  # botocore would not try


@pytest.mark.parametrize("mode", ["invalid-grant", "expired-token", "invalid-client"])
def test_a_refused_refresh_names_the_error_and_the_fix(
    credpick_runtime: Simulation, mode: str
) -> None:
    handle = credpick_runtime.use("sso", token="expired", oidc_mode=mode)
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session().get_credentials().get_frozen_credentials()
    text = str(info.value)
    code = {"invalid-grant": "InvalidGrant", "expired-token": "ExpiredToken"}.get(mode, "Invalid")
    assert f"({code}" in text and "Exception)" in text
    assert info.value.fix == "run `aws sso login --profile credpick-sso`"
    cached = _cache(credpick_runtime)
    for secret in (cached["clientSecret"], cached["refreshToken"], cached["accessToken"]):
        assert secret not in text and secret not in repr(info.value)
    assert handle.emulator is not None and handle.emulator.requests == []
