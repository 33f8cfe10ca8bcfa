"""ImdsEmulator on the real wire: token TTLs that expire, their bounds, IMDS's content types,
and credpick's own IMDS fetcher against them."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import time_machine

import credpick
from credpick.testing import ImdsEmulator, Simulation

_T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
_CREDS = "/latest/meta-data/iam/security-credentials/"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = _T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def imds(clock: Clock) -> Iterator[ImdsEmulator]:
    with ImdsEmulator(clock=clock) as emulator:
        yield emulator


def call(emu: ImdsEmulator, path: str, method: str = "GET", **headers: str) -> tuple[int, str, str]:
    request = urllib.request.Request(emu.url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def put_token(emu: ImdsEmulator, ttl: str, **headers: str) -> tuple[int, str]:
    status, _, body = call(
        emu,
        "/latest/api/token",
        "PUT",
        **{"X-aws-ec2-metadata-token-ttl-seconds": ttl},
        **headers,
    )
    return status, body


@pytest.mark.parametrize("ttl", ["0", "21601", "-1", "abc", "1.5", ""])
def test_ttl_outside_1_to_21600_is_400(imds: ImdsEmulator, ttl: str) -> None:
    assert put_token(imds, ttl)[0] == 400


@pytest.mark.parametrize("ttl", ["1", "21600"])
def test_ttl_bounds_are_accepted(imds: ImdsEmulator, ttl: str) -> None:
    assert put_token(imds, ttl)[0] == 200


def test_a_token_is_refused_with_401_once_its_ttl_has_passed(
    imds: ImdsEmulator, clock: Clock
) -> None:
    short = {"X-aws-ec2-metadata-token": put_token(imds, "60")[1]}
    long = {"X-aws-ec2-metadata-token": put_token(imds, "21600")[1]}
    clock.now = _T0 + dt.timedelta(seconds=59)
    assert call(imds, _CREDS, **short)[0] == 200
    clock.now = _T0 + dt.timedelta(seconds=60)
    assert call(imds, _CREDS, **short)[0] == 401
    assert call(imds, _CREDS, **long)[0] == 200  # each token keeps its own TTL
    clock.now = _T0 + dt.timedelta(hours=6)
    assert call(imds, _CREDS, **long)[0] == 401


def test_a_token_request_through_a_proxy_is_403(imds: ImdsEmulator) -> None:
    assert put_token(imds, "60", **{"X-Forwarded-For": "10.0.0.1"})[0] == 403


def test_every_document_is_text_plain_as_imds_serves_it(imds: ImdsEmulator) -> None:
    status, token_type, token = call(
        imds, "/latest/api/token", "PUT", **{"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    assert (status, token_type) == (200, "text/plain")
    tok = {"X-aws-ec2-metadata-token": token}
    for path in (
        _CREDS,
        _CREDS + "credpick-test-role",
        "/latest/meta-data/placement/region",
        "/latest/meta-data/instance-id",
    ):
        status, content_type, _ = call(imds, path, **tok)
        assert (path, status, content_type) == (path, 200, "text/plain")


# -- credpick's own fetcher against it ------------------------------------


def _ec2(sim: Simulation, clock: Clock) -> ImdsEmulator:
    emu = sim.use("ec2-instance-profile").emulator
    assert isinstance(emu, ImdsEmulator)
    emu.clock = clock
    return emu


def test_credpick_reads_the_text_plain_document(credpick_runtime: Simulation, clock: Clock) -> None:
    emu = _ec2(credpick_runtime, clock)
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == emu.credentials.access_key_id
    assert frozen.token == emu.credentials.token


def test_a_probe_token_that_expired_before_the_build_is_replaced(
    credpick_runtime: Simulation, clock: Clock
) -> None:
    emu = _ec2(credpick_runtime, clock)
    credpick.detect()  # the probe's verdict (its token with it) is cached per endpoint
    clock.now = _T0 + dt.timedelta(hours=6, seconds=1)  # the probe's token is gone
    emu.clear_requests()
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == emu.credentials.access_key_id
    methods = [r.method for r in emu.requests]
    assert methods[0] == "GET" and "PUT" in methods[1:]  # refused, then a fresh token


def test_a_refresh_after_the_token_ttl_fetches_a_new_token(credpick_runtime: Simulation) -> None:
    # The emulator, botocore's refresh and credpick all read the travelled time.
    with time_machine.travel(_T0, tick=True) as traveller:
        handle = credpick_runtime.use("ec2-instance-profile", expires_in=dt.timedelta(hours=1))
        emu = handle.emulator
        assert isinstance(emu, ImdsEmulator)
        emu.rotate()
        credentials = credpick.session().get_credentials()
        first = credentials.get_frozen_credentials().access_key
        traveller.shift(dt.timedelta(hours=7))  # past the credentials and the 6 h token
        rotated = emu.rotate()
        emu.clear_requests()
        assert credentials.get_frozen_credentials().access_key == rotated.access_key_id != first
        assert emu.requests[0].method == "PUT"
