"""Refresh through aiobotocore's own refreshable credentials, and an event loop kept free.

- across expiry: a new set from the source, used by the next call;
- 64 tasks at once through one refresh: one upstream fetch, never a torn set;
- a refresh into long-lived keys: refused, never used;
- while a session is built against endpoints that answer slowly, a task ticking
  every 10 ms is never held up: detection and the fetch run in worker threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import time_machine

from tests.aio._aio import caller_arn, frozen, require_aiobotocore

require_aiobotocore()

import credpick  # noqa: E402
import credpick.aio  # noqa: E402
from credpick import Policy, Timeouts  # noqa: E402
from credpick.testing import Simulation  # noqa: E402
from credpick.testing._fakes import FakeCredentials  # noqa: E402
from credpick.testing._faults import FaultyEndpoint  # noqa: E402
from credpick.testing._server import Hang, Request, Response  # noqa: E402

from ..helpers import STATIC_KEY_ID, STATIC_SECRET  # noqa: E402
from ..security._leaks import assert_clean_error  # noqa: E402

TASKS = 64
_CREDS_PATH = {
    "ec2-instance-profile": "/latest/meta-data/iam/security-credentials/credpick-test-role",
    "ecs": "/v1/credentials",
}
#: As the sync concurrency test: advisory (15 to 10 min before expiry: one task
#: refreshes, the others keep the current set) or mandatory (under 10 min: all wait).
_BEFORE_EXPIRY = {"advisory": dt.timedelta(minutes=12), "mandatory": dt.timedelta(minutes=5)}

Triple = tuple[str, str, str]


def triple(c: FakeCredentials) -> Triple:
    return (c.access_key_id, c.secret_access_key, c.token)


@pytest.mark.parametrize("runtime", ["ecs", "ec2-instance-profile"])
def test_credentials_refresh_across_expiry(credpick_runtime: Simulation, runtime: str) -> None:
    emulator: Any = credpick_runtime.use(runtime).emulator
    session = asyncio.run(credpick.aio.session())
    first = emulator.credentials
    assert asyncio.run(frozen(session)).access_key == first.access_key_id
    second = emulator.rotate(expires_in=dt.timedelta(hours=6))
    with time_machine.travel(first.expiration + dt.timedelta(minutes=1), tick=False):
        got = asyncio.run(frozen(session))
    assert got.access_key == second.access_key_id != first.access_key_id


def test_a_short_lived_role_refreshes_across_expiry(credpick_runtime: Simulation, sts: Any) -> None:
    """moto issues 15-minute credentials; past them, the role is assumed again."""
    credpick_runtime.use("ecs")
    role = credpick.AssumeRole(
        "arn:aws:iam::123456789012:role/credpick-short", duration_seconds=900
    )

    async def main() -> tuple[str, str, str]:
        session = await credpick.aio.session(assume_role=role)
        first = (await frozen(session)).access_key
        with time_machine.travel(dt.timedelta(minutes=16)):  # past the expiry
            second = (await frozen(session)).access_key
            arn = await caller_arn(session)
        return first, second, arn

    first, second, arn = asyncio.run(main())
    assert first.startswith("ASIA") and second.startswith("ASIA") and first != second
    assert ":assumed-role/credpick-short/" in arn


@pytest.mark.parametrize("window", ["advisory", "mandatory"])
@pytest.mark.parametrize("runtime", ["ecs", "ec2-instance-profile"])
def test_one_refresh_for_64_tasks_and_no_torn_sets(
    credpick_runtime: Simulation, runtime: str, window: str
) -> None:
    emulator: Any = credpick_runtime.use(runtime).emulator
    stray = credpick_runtime.use("static").env["AWS_ACCESS_KEY_ID"]
    first = emulator.credentials

    async def main() -> tuple[list[Triple], Triple]:
        session = await credpick.aio.session()
        credentials = await session.get_credentials()
        assert (await credentials.get_frozen_credentials()).access_key == first.access_key_id

        async def read() -> Triple:
            got = await credentials.get_frozen_credentials()
            return (got.access_key, got.secret_key, got.token)

        emulator.rotate(expires_in=dt.timedelta(hours=12))
        emulator.clear_requests()
        with time_machine.travel(first.expiration - _BEFORE_EXPIRY[window], tick=False):
            results = await asyncio.gather(*(read() for _ in range(TASKS)))
            after = await read()
        return list(results), after

    results, after = asyncio.run(main())
    second = emulator.credentials
    issued = {triple(first), triple(second)}
    torn = [r for r in results if r not in issued]
    assert torn == [], f"{len(torn)} tasks saw a credential set that was never issued"
    fetches = [r for r in emulator.requests if r.path == _CREDS_PATH[runtime]]
    assert len(fetches) == 1, f"{len(fetches)} upstream refreshes for {TASKS} tasks"
    assert after == triple(second)
    if window == "mandatory":
        assert set(results) == {triple(second)}  # nobody may use the expiring set
    assert all(r[0] != stray for r in results)


def _serve_long_lived(emulator: Any) -> None:
    """The endpoint's next answers carry an AKIA key (in a helper: no test frame holds it)."""
    fake = FakeCredentials(
        access_key_id=STATIC_KEY_ID,
        secret_access_key=STATIC_SECRET,
        token="MARKER-TOKEN-session-abcdef",
        expiration=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).replace(
            microsecond=0
        ),
    )
    with emulator._lock:
        emulator._credentials = fake


def test_a_refresh_into_long_lived_keys_is_refused_not_used(credpick_runtime: Simulation) -> None:
    emulator: Any = credpick_runtime.use("container").emulator
    session = asyncio.run(credpick.aio.session(policy=Policy(static_keys="forbid")))
    first = asyncio.run(frozen(session)).access_key
    assert first.startswith("ASIA")
    _serve_long_lived(emulator)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=55)  # mandatory window
    with (
        time_machine.travel(later, tick=False),
        pytest.raises(credpick.StaticKeysRefused) as info,
    ):
        asyncio.run(frozen(session))
    assert "on refresh" in str(info.value) and "container (environment)" in str(info.value)
    assert_clean_error(info.value)


def test_a_failed_mandatory_refresh_fails_closed_naming_the_source(
    credpick_runtime: Simulation,
) -> None:
    handle = credpick_runtime.use("ecs")
    emulator: Any = handle.emulator
    session = asyncio.run(credpick.aio.session())
    expiry = emulator.credentials.expiration
    emulator.set_mode("error")
    with (
        time_machine.travel(expiry - dt.timedelta(minutes=5), tick=False),
        pytest.raises(credpick.SourceFailed) as info,
    ):
        asyncio.run(frozen(session))
    assert info.value.kind == "ecs" and "HTTP 500" in str(info.value)
    assert_clean_error(info.value)


# -- the loop stays free ----------------------------------------------------------

#: Each reply of the slow endpoint waits this long: longer than the bound below, so a
#: single request made on the event loop would break the bound by construction.
DELAY = 1.0
TICK = 0.01
#: How late a 10 ms tick may be. Not a benchmark: a free loop on an idle machine is
#: late by about a millisecond; on a busy 2-core machine (other test processes, the
#: emulator threads, the worker thread parsing botocore's models) the GIL and the
#: scheduler can hold it for tens of milliseconds. 250 ms leaves that room many times
#: over and is still a quarter of one delayed reply, which a blocked loop would add whole.
BOUND = 0.25
#: The delayed replies stay within the timeouts: the probe reads up to 1 s by default.
SLOW = Timeouts(imds_read=5.0, http=5.0)


class SlowEndpoint(FaultyEndpoint):
    """The emulator behind it, answering every request ``DELAY`` seconds late."""

    def _handle(self, request: Request) -> Response | Hang:
        time.sleep(DELAY)
        return super()._handle(request)


async def _while_ticking(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Run ``work`` beside a task ticking every 10 ms: (the longest gap, how long work took)."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(TICK * 3)  # the ticker is running before the work starts
    start = time.perf_counter()
    try:
        await work()
    finally:
        took = time.perf_counter() - start
        done.set()
        await ticking
    return max(gaps), took


def _slow_runtime(sim: Simulation, runtime: str, mp: pytest.MonkeyPatch) -> Any:
    handle = sim.use(runtime)
    slow = SlowEndpoint(handle.emulator).start()
    if runtime == "ec2-instance-profile":  # the probe (detection) and the fetch are slow
        mp.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", slow.url + "/")
    else:  # the fetch is slow
        mp.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", slow.url + handle.emulator.path)
    return slow


@pytest.mark.parametrize("runtime", ["ec2-instance-profile", "ecs"])
def test_the_loop_is_never_held_while_a_session_is_built(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    slow = _slow_runtime(credpick_runtime, runtime, monkeypatch)
    try:
        worst, took = asyncio.run(_while_ticking(lambda: credpick.aio.session(timeouts=SLOW)))
    finally:
        slow.stop()
    assert took >= DELAY  # the build did wait on the slow endpoint...
    assert worst < BOUND, f"a 10 ms tick was {worst * 1000:.0f} ms late"  # ...off the loop


def test_the_ticker_catches_a_build_on_the_loop(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rig around the sync session, called on the loop: the bound is broken,
    so the test above would fail if credpick.aio detected or fetched on the loop."""
    slow = _slow_runtime(credpick_runtime, "ecs", monkeypatch)

    async def on_the_loop() -> None:
        credpick.session(timeouts=SLOW)

    try:
        worst, _ = asyncio.run(_while_ticking(on_the_loop))
    finally:
        slow.stop()
    assert worst >= DELAY


def test_the_loop_is_never_held_while_credentials_refresh(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = _slow_runtime(credpick_runtime, "ecs", monkeypatch)
    emulator: Any = slow.upstream
    first = emulator.credentials

    async def main() -> tuple[float, float, str]:
        credentials = await (await credpick.aio.session(timeouts=SLOW)).get_credentials()
        emulator.rotate(expires_in=dt.timedelta(hours=6))
        with time_machine.travel(first.expiration - dt.timedelta(minutes=5), tick=False):
            worst, took = await _while_ticking(credentials.get_frozen_credentials)
        return worst, took, (await credentials.get_frozen_credentials()).access_key

    try:
        worst, took, now = asyncio.run(main())
    finally:
        slow.stop()
    assert now == emulator.credentials.access_key_id != first.access_key_id
    assert took >= DELAY  # the refresh did wait on the slow endpoint, off the loop
    assert worst < BOUND, f"a 10 ms tick was {worst * 1000:.0f} ms late"
