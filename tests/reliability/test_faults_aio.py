"""The fault-injection matrix again, every case through credpick.aio.

Each case of test_faults.py (same rig, same fault, same expected outcome and
words) runs with the session built by ``credpick.aio.session()`` in one event
loop and its credentials read and refreshed by aiobotocore's
``AioRefreshableCredentials``: an async path must fail the way the sync one does.
Left out: the cases of long-lived keys passed in code, which credpick.aio does
not take (its sessions come from a source; an AioSession the user built with
keys goes through credpick.aio.wrap).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aio._aio import REASON

pytest.importorskip("aiobotocore", reason=REASON)

import credpick
import credpick.aio
from credpick.testing._simulation import Simulation

from . import test_faults
from .test_faults import CASES, REFUSED, Case

AIO_CASES = [c for c in CASES if c.outcome != REFUSED]


class _Runner:
    """One event loop for a whole case, as a service has (``asyncio.Runner`` is 3.11+)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


class _Credentials:
    """aiobotocore's credentials, read the way the matrix reads botocore's."""

    def __init__(self, runner: _Runner, credentials: Any) -> None:
        self._runner = runner
        self._credentials = credentials
        self.method = credentials.method

    def get_frozen_credentials(self) -> Any:
        return self._runner.run(self._credentials.get_frozen_credentials())


class _Session:
    """An AioSession, seen through the matrix's sync calls; every await on one loop."""

    def __init__(self, runner: _Runner, session: Any) -> None:
        self._runner = runner
        self.aio = session

    def get_credentials(self) -> _Credentials:
        return _Credentials(self._runner, self._runner.run(self.aio.get_credentials()))


@pytest.fixture
def through_aio(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The matrix's ``credpick.session(...)`` builds through ``credpick.aio.session(...)``;
    the list records the type of each session the async path built."""
    built: list[str] = []
    runner = _Runner()

    def session(**kwargs: Any) -> _Session:
        built.append("called")
        aio = runner.run(credpick.aio.session(**kwargs))
        built[-1] = type(aio).__name__
        return _Session(runner, aio)

    monkeypatch.setattr(credpick, "session", session)
    try:
        yield built
    finally:
        runner.close()


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
        )
        for c in AIO_CASES
    ],
)
def test_fault_through_aio(
    case: Case,
    sim: Simulation,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    through_aio: list[str],
) -> None:
    test_faults.test_fault(case, sim, monkeypatch, caplog)
    assert through_aio, "the case never built a session"
    assert set(through_aio) <= {"called", "AioSession"}


def test_every_async_path_has_the_sync_rows() -> None:
    assert {c.source for c in AIO_CASES} == set(test_faults.SOURCES)
    assert len(AIO_CASES) == len(CASES) - sum(c.outcome == REFUSED for c in CASES)
