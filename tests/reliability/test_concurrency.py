"""Many threads, one process: one refresh upstream, and never a torn credential set."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

import credpick
from credpick import SourceKind
from credpick.testing._fakes import FakeCredentials
from credpick.testing._simulation import Simulation

THREADS = 64
SESSIONS = 32
_CREDS_PATH = {
    "ec2-instance-profile": "/latest/meta-data/iam/security-credentials/credpick-test-role",
    "ecs": "/v1/credentials",
}
#: How long before expiry the clock is moved: botocore refreshes in one
#: thread while the others keep the old set (advisory, 15 to 10 min before),
#: or makes every thread wait for the new set (mandatory, under 10 min).
_BEFORE_EXPIRY = {"advisory": dt.timedelta(minutes=12), "mandatory": dt.timedelta(minutes=5)}

Triple = tuple[str, str, str]


def triple(c: FakeCredentials) -> Triple:
    return (c.access_key_id, c.secret_access_key, c.token)


def run_together(n: int, work: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
    """Start ``n`` threads that call ``work`` at the same instant."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = work()
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)  # a hang guard, not a timing
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    return results, errors


@pytest.mark.parametrize("window", ["advisory", "mandatory"])
@pytest.mark.parametrize("runtime", ["ecs", "ec2-instance-profile"])
def test_one_refresh_for_64_threads_and_no_torn_sets(
    monkeypatch: pytest.MonkeyPatch, runtime: str, window: str
) -> None:
    with Simulation(monkeypatch=monkeypatch) as sim:
        emulator = sim.use(runtime).emulator
        stray = sim.use("static").env["AWS_ACCESS_KEY_ID"]
        assert emulator is not None
        credentials = credpick.session().get_credentials()
        first = emulator.credentials  # type: ignore[attr-defined]
        assert credentials.get_frozen_credentials().access_key == first.access_key_id
        second = emulator.rotate(expires_in=dt.timedelta(hours=12))  # type: ignore[attr-defined]
        emulator.clear_requests()

        def read() -> Triple:
            frozen = credentials.get_frozen_credentials()
            return (frozen.access_key, frozen.secret_key, frozen.token)

        with time_machine.travel(first.expiration - _BEFORE_EXPIRY[window], tick=False):
            results, errors = run_together(THREADS, read)
            after = read()

    assert errors == []
    issued = {triple(first), triple(second)}
    torn = [r for r in results if r not in issued]
    assert torn == [], f"{len(torn)} threads saw a credential set that was never issued"
    fetches = [r for r in emulator.requests if r.path == _CREDS_PATH[runtime]]
    assert len(fetches) == 1, f"{len(fetches)} upstream refreshes for {THREADS} threads"
    assert triple(second) in results and after == triple(second)
    if window == "mandatory":
        assert set(results) == {triple(second)}  # nobody may use the expiring set
    assert all(r[0] != stray for r in results)


@pytest.mark.parametrize("runtime", ["ec2-instance-profile", "ecs"])
def test_32_threads_build_sessions_at_once(monkeypatch: pytest.MonkeyPatch, runtime: str) -> None:
    with Simulation(monkeypatch=monkeypatch) as sim:
        emulator = sim.use(runtime).emulator
        sim.use("static")
        assert emulator is not None
        expected = emulator.credentials.access_key_id  # type: ignore[attr-defined]

        def build() -> tuple[str, str]:
            session = credpick.session()
            frozen = session.get_credentials().get_frozen_credentials()
            return frozen.access_key, session.get_credentials().method

        # The metadata probe races too: its verdict cache starts empty.
        results, errors = run_together(SESSIONS, build)
        detection = credpick.detect()

    assert errors == []
    assert set(results) == {(expected, "iam-role" if runtime != "ecs" else "container-role")}
    assert detection.chosen is not None and detection.chosen.kind is SourceKind(runtime)
    if runtime == "ec2-instance-profile":
        # One probe for the process, shared by every thread; then one fetch each.
        paths = [r.path for r in emulator.requests]
        assert paths.count("/latest/api/token") == 1
        assert paths.count("/latest/meta-data/iam/security-credentials/") == 1
        assert paths.count(_CREDS_PATH[runtime]) == SESSIONS
