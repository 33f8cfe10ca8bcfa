"""ContainerCredentialsEndpoint, exercised with botocore's ContainerMetadataFetcher."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore.credentials import ContainerProvider
from botocore.exceptions import MetadataRetrievalError
from botocore.utils import ContainerMetadataFetcher

from credpick.testing import ContainerCredentialsEndpoint, ContainerMode

AUTH = "FAKE-TOKEN-credpick-pod-identity"


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ContainerMetadataFetcher, "SLEEP_TIME", 0)


@pytest.fixture
def endpoint() -> Iterator[ContainerCredentialsEndpoint]:
    with ContainerCredentialsEndpoint(authorization=AUTH) as server:
        yield server


def test_full_uri_is_url_plus_path(endpoint: ContainerCredentialsEndpoint) -> None:
    assert endpoint.full_uri == endpoint.url + "/v1/credentials"


def test_healthy_serves_credentials_to_botocore_with_raw_authorization(
    endpoint: ContainerCredentialsEndpoint,
) -> None:
    document = ContainerMetadataFetcher().retrieve_full_uri(
        endpoint.full_uri, headers={"Authorization": AUTH}
    )
    creds = endpoint.credentials
    assert document == {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.token,
        "Expiration": creds.expiration_iso,
        "AccountId": "123456789012",
        "RoleArn": "arn:aws:iam::123456789012:role/credpick-test-role",
    }
    (request,) = endpoint.requests
    assert (request.method, request.path) == ("GET", "/v1/credentials")
    assert request.header("Authorization") == "<redacted>"
    assert AUTH not in repr(endpoint.requests)


def test_botocore_container_provider_loads_credentials_from_full_uri(
    endpoint: ContainerCredentialsEndpoint,
) -> None:
    provider = ContainerProvider(
        environ={
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.full_uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": AUTH,
        }
    )
    loaded = provider.load()
    assert loaded is not None
    frozen = loaded.get_frozen_credentials()
    assert frozen.access_key == endpoint.credentials.access_key_id
    assert frozen.token == endpoint.credentials.token


@pytest.mark.usefixtures("no_sleep")
@pytest.mark.parametrize("sent", [None, "Bearer " + AUTH, "wrong"])
def test_missing_or_wrong_authorization_is_401(
    endpoint: ContainerCredentialsEndpoint, sent: str | None
) -> None:
    headers = {} if sent is None else {"Authorization": sent}
    with pytest.raises(MetadataRetrievalError, match="401"):
        ContainerMetadataFetcher().retrieve_full_uri(endpoint.full_uri, headers=headers)
    request = urllib.request.Request(endpoint.full_uri, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=2)
    assert json.loads(info.value.read())["Code"] == "AccessDenied"


def test_without_required_authorization_any_request_is_served() -> None:
    with ContainerCredentialsEndpoint() as server:
        document = ContainerMetadataFetcher().retrieve_full_uri(server.full_uri)
        assert document["AccessKeyId"] == server.credentials.access_key_id


def test_other_paths_are_404(endpoint: ContainerCredentialsEndpoint) -> None:
    request = urllib.request.Request(endpoint.url + "/v2/other", headers={"Authorization": AUTH})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=2)
    assert info.value.code == 404


@pytest.mark.usefixtures("no_sleep")
@pytest.mark.parametrize(
    ("mode", "expected"),
    [("error", "500"), ("forbidden", "403"), ("malformed", "Unable to parse JSON")],
)
def test_failure_modes_make_botocore_retry_then_fail(mode: ContainerMode, expected: str) -> None:
    with ContainerCredentialsEndpoint(mode=mode, authorization=AUTH) as server:
        with pytest.raises(MetadataRetrievalError, match=expected):
            ContainerMetadataFetcher().retrieve_full_uri(
                server.full_uri, headers={"Authorization": AUTH}
            )
        assert len(server.requests) == ContainerMetadataFetcher.RETRY_ATTEMPTS


def test_rotate_set_mode_and_reset(endpoint: ContainerCredentialsEndpoint) -> None:
    rotated = endpoint.rotate(expires_in=timedelta(minutes=1))
    fetched = ContainerMetadataFetcher().retrieve_full_uri(
        endpoint.full_uri, headers={"Authorization": AUTH}
    )
    assert fetched["AccessKeyId"] == rotated.access_key_id
    endpoint.set_mode("forbidden")
    assert [endpoint.mode] == ["forbidden"]
    endpoint.reset()
    assert endpoint.mode == "healthy"
    assert endpoint.requests == []
    assert endpoint.credentials.access_key_id != rotated.access_key_id


def test_custom_path_account_and_role() -> None:
    with ContainerCredentialsEndpoint(
        path="/v2/credentials/abc", account_id="111122223333", role_arn="arn:aws:iam::1:role/r"
    ) as server:
        assert server.full_uri.endswith("/v2/credentials/abc")
        document = ContainerMetadataFetcher().retrieve_full_uri(server.full_uri)
        assert document["AccountId"] == "111122223333"
        assert document["RoleArn"] == "arn:aws:iam::1:role/r"
        assert "111122223333" in server.credentials.token
