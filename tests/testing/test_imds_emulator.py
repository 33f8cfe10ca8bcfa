"""ImdsEmulator, exercised with botocore's own InstanceMetadataFetcher."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.utils import InstanceMetadataFetcher

from credpick.testing import ImdsEmulator, ImdsMode


@pytest.fixture
def imds() -> Iterator[ImdsEmulator]:
    with ImdsEmulator() as emulator:
        yield emulator


def fetch(emu: ImdsEmulator, timeout: float = 1) -> dict[str, Any]:
    fetcher = InstanceMetadataFetcher(
        timeout=timeout,
        num_attempts=1,
        config={"ec2_metadata_service_endpoint": emu.endpoint},
        env={},
    )
    result: dict[str, Any] = fetcher.retrieve_iam_role_credentials()
    return result


def call(emu: ImdsEmulator, path: str, method: str = "GET", **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(emu.url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def token(emu: ImdsEmulator) -> str:
    status, body = call(
        emu, "/latest/api/token", "PUT", **{"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    assert status == 200
    return body


def test_endpoint_is_the_url_with_a_trailing_slash(imds: ImdsEmulator) -> None:
    assert imds.endpoint == imds.url + "/"


def test_healthy_serves_role_credentials_over_imdsv2_in_three_requests(imds: ImdsEmulator) -> None:
    result = fetch(imds)
    creds = imds.credentials
    assert result["role_name"] == "credpick-test-role"
    assert result["access_key"] == creds.access_key_id
    assert result["secret_key"] == creds.secret_access_key
    assert result["token"] == creds.token
    assert result["expiry_time"] == creds.expiration_iso
    assert [(r.method, r.path) for r in imds.requests] == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/credpick-test-role"),
    ]
    assert imds.requests[1].header("X-aws-ec2-metadata-token") == "<redacted>"


def test_credentials_last_the_configured_lifetime() -> None:
    with ImdsEmulator(expires_in=timedelta(minutes=30)) as emu:
        remaining = emu.credentials.expiration - datetime.now(timezone.utc)
        assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


def test_secrets_never_reach_the_request_log(imds: ImdsEmulator) -> None:
    fetch(imds)
    log = repr(imds.requests)
    assert "FAKE-IMDS-TOKEN" not in log
    assert imds.credentials.secret_access_key not in log
    assert imds.credentials.token not in log


def test_credentials_document_has_the_imds_shape(imds: ImdsEmulator) -> None:
    tok = token(imds)
    status, body = call(
        imds,
        "/latest/meta-data/iam/security-credentials/credpick-test-role",
        **{"X-aws-ec2-metadata-token": tok},
    )
    document = json.loads(body)
    assert status == 200
    assert document["Code"] == "Success"
    assert document["Type"] == "AWS-HMAC"
    assert document["LastUpdated"].endswith("Z")
    assert document["Expiration"] == imds.credentials.expiration_iso


def test_rotate_serves_new_credentials(imds: ImdsEmulator) -> None:
    before = fetch(imds)["access_key"]
    rotated = imds.rotate(expires_in=timedelta(minutes=5))
    after = fetch(imds)
    assert after["access_key"] == rotated.access_key_id != before
    assert imds.credentials == rotated


def test_region_and_instance_id_need_a_token(imds: ImdsEmulator) -> None:
    tok = {"X-aws-ec2-metadata-token": token(imds)}
    assert call(imds, "/latest/meta-data/placement/region", **tok) == (200, "us-east-1")
    assert call(imds, "/latest/meta-data/instance-id", **tok) == (200, "i-0123456789abcdef0")
    assert call(imds, "/latest/meta-data/placement/region")[0] == 401


def test_token_request_without_ttl_is_400(imds: ImdsEmulator) -> None:
    assert call(imds, "/latest/api/token", "PUT")[0] == 400


def test_gets_without_or_with_a_wrong_token_are_401(imds: ImdsEmulator) -> None:
    path = "/latest/meta-data/iam/security-credentials/"
    assert call(imds, path)[0] == 401
    assert call(imds, path, **{"X-aws-ec2-metadata-token": "forged"})[0] == 401


def test_unknown_role_is_404(imds: ImdsEmulator) -> None:
    tok = {"X-aws-ec2-metadata-token": token(imds)}
    assert call(imds, "/latest/meta-data/iam/security-credentials/other", **tok)[0] == 404


def test_imdsv1_only_refuses_the_token_and_botocore_falls_back_to_v1() -> None:
    with ImdsEmulator(mode="imdsv1-only") as emu:
        result = fetch(emu)
        assert result["access_key"] == emu.credentials.access_key_id
        statuses = [(r.method, r.header("X-aws-ec2-metadata-token")) for r in emu.requests]
        assert statuses == [("PUT", None), ("GET", None), ("GET", None)]
        assert (
            call(emu, "/latest/api/token", "PUT", **{"X-aws-ec2-metadata-token-ttl-seconds": "1"})[
                0
            ]
            == 403
        )


def test_token_hangs_makes_botocore_time_out_and_get_nothing() -> None:
    with ImdsEmulator(mode="token-hangs") as emu:
        started = time.monotonic()
        assert fetch(emu, timeout=0.3) == {}
        assert time.monotonic() - started < 2
        # After the PUT times out botocore tries IMDSv1, which is refused.
        assert [r.method for r in emu.requests] == ["PUT", "GET"]


def test_stop_returns_promptly_while_a_token_request_hangs() -> None:
    emu = ImdsEmulator(mode="token-hangs").start()
    errors: list[BaseException] = []

    def put() -> None:
        try:
            call(emu, "/latest/api/token", "PUT", **{"X-aws-ec2-metadata-token-ttl-seconds": "1"})
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=put)
    thread.start()
    while not emu.requests:
        time.sleep(0.01)
    started = time.monotonic()
    emu.stop()
    assert time.monotonic() - started < 1
    thread.join(timeout=3)
    assert not thread.is_alive()
    assert errors  # the client saw the connection close without a reply


@pytest.mark.parametrize("mode", ["error", "malformed", "no-role"])
def test_failure_modes_yield_no_credentials(mode: ImdsMode) -> None:
    with ImdsEmulator(mode=mode) as emu:
        assert fetch(emu) == {}


def test_error_mode_answers_500_everywhere() -> None:
    with ImdsEmulator(mode="error") as emu:
        assert (
            call(emu, "/latest/api/token", "PUT", **{"X-aws-ec2-metadata-token-ttl-seconds": "1"})[
                0
            ]
            == 500
        )
        assert call(emu, "/latest/meta-data/iam/security-credentials/")[0] == 500


def test_malformed_serves_200_that_is_not_json() -> None:
    with ImdsEmulator(mode="malformed") as emu:
        tok = {"X-aws-ec2-metadata-token": token(emu)}
        status, body = call(
            emu, "/latest/meta-data/iam/security-credentials/credpick-test-role", **tok
        )
        assert status == 200
        with pytest.raises(ValueError):
            json.loads(body)


def test_no_role_lists_404_and_so_does_role_name_none() -> None:
    for emu in (ImdsEmulator(mode="no-role"), ImdsEmulator(role_name=None)):
        with emu:
            tok = {"X-aws-ec2-metadata-token": token(emu)}
            assert call(emu, "/latest/meta-data/iam/security-credentials/", **tok)[0] == 404


def test_set_mode_switches_and_reset_restores_constructor_state(imds: ImdsEmulator) -> None:
    first = imds.credentials
    imds.set_mode("error")
    assert [imds.mode] == ["error"]
    assert fetch(imds) == {}
    imds.reset()
    assert imds.mode == "healthy"
    assert imds.requests == []
    assert imds.credentials != first
    assert fetch(imds)["access_key"] == imds.credentials.access_key_id
