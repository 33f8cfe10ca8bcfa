"""credpick.aio leaks no secret: not in a log record, an error, its chain or frames, nor a repr.

The adversarial scenarios of test_logs.py and test_error_chains.py (every source,
marker secrets on the wire, its happy path and its failures) run again with the
session built by ``credpick.aio.session()`` and refreshed by aiobotocore, every
logger (botocore's, aiobotocore's, aiohttp's) at DEBUG.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
import time_machine

from tests.aio._aio import REASON

pytest.importorskip("aiobotocore", reason=REASON)

import credpick
import credpick.aio
from credpick.testing import Simulation
from tests.security import _marked, test_error_chains, test_logs
from tests.security._leaks import Records, leaks
from tests.security._marked import rig_for


def _aio_build() -> Any:
    async def main() -> Any:
        session = await credpick.aio.session()
        credentials = await session.get_credentials()
        return await credentials.get_frozen_credentials()

    return asyncio.run(main())


def _aio_refresh_later(rig: _marked.Rig) -> Any:
    async def main() -> Any:
        credentials = await (await credpick.aio.session()).get_credentials()
        rig.fail(_marked._echo(rig.family))
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=55)  # mandatory window
        with time_machine.travel(later, tick=False):
            return await credentials.get_frozen_credentials()

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def through_aio(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scenarios' build and refresh steps, through credpick.aio."""
    monkeypatch.setattr(_marked, "_build", _aio_build)
    monkeypatch.setattr(_marked, "_refresh_later", _aio_refresh_later)


# The sync scenarios themselves, collected here again: the autouse fixture above
# builds and refreshes each through credpick.aio (one test, two paths, no copy).
test_no_secret_in_any_record = test_logs.test_no_secret_in_any_record
test_every_failure_is_built_clean = test_error_chains.test_every_failure_is_built_clean


def test_no_secret_in_the_session_or_credentials_repr(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, debug_records: Records
) -> None:
    with rig_for("ecs", sim, monkeypatch) as rig:

        async def main() -> list[str]:
            session = await credpick.aio.session()
            credentials = await session.get_credentials()
            await credentials.get_frozen_credentials()
            resolver = session.get_component("credential_provider")
            return [
                repr(session),
                repr(credentials),
                repr(resolver),
                *map(repr, resolver.providers),
            ]

        texts = asyncio.run(main())
        markers = rig.markers()
    assert leaks(texts, markers) == []
