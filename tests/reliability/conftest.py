"""Fixtures and hypothesis profiles for the reliability suite.

Hypothesis profiles: ``ci`` (the default: a bounded budget, the whole fuzz
module well under 30 s) and ``long`` (``CREDPICK_FUZZ=long``: many more
examples, for a run on demand).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import botocore.retries.standard
import botocore.retryhandler
import pytest
from hypothesis import HealthCheck, settings

from credpick.testing._simulation import Simulation

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("long" if os.environ.get("CREDPICK_FUZZ") == "long" else "ci")


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries stay (their count is real, ``Timeouts.attempts``); only botocore's
    backoff between them goes: the STS and SSO clients wait up to a second
    ("standard" mode, with jitter), which is not what these tests are about.
    credpick's own fetchers pause 0.2 s between tries, and keep it.
    """
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", _no_delay)
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", _no_delay)


def _no_delay(*args: Any, **kwargs: Any) -> float:
    return 0.0


@pytest.fixture
def sim(sts: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulation]:
    """An isolated Simulation sharing the session's STS emulator (reset per test)."""
    with Simulation(sts=sts, monkeypatch=monkeypatch) as simulation:
        yield simulation
