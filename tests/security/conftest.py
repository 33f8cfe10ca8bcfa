"""Fixtures of the adversarial suite: every logger at DEBUG, captured whole."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import botocore.retries.standard
import botocore.retryhandler
import pytest

from credpick.testing import Simulation
from tests.security._leaks import Records


@pytest.fixture
def debug_records() -> Iterator[Records]:
    """Every logger (botocore's, urllib3's, credpick's) at DEBUG into one handler,
    as ``logging.basicConfig(level=logging.DEBUG)`` would set it up."""
    root = logging.getLogger()
    handler = Records()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Loggers that set their own level would hide records from this handler.
    named = {name: logging.getLogger(name).level for name in ("botocore", "urllib3", "credpick")}
    for name in named:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in named.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture(autouse=True)
def python_signers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign with botocore's own Python SigV4, as a process without awscrt does.

    The suite installs ``credpick[login]``, which brings awscrt, and with it
    botocore signs through the CRT and logs no canonical request. Most users
    have no awscrt: their ``botocore.auth`` DEBUG records (canonical request,
    string to sign, signature) must be proven clean too.
    """
    import botocore.auth

    python = {
        "v4": botocore.auth.SigV4Auth,
        "v4-query": botocore.auth.SigV4QueryAuth,
        "s3v4": botocore.auth.S3SigV4Auth,
        "s3v4-query": botocore.auth.S3SigV4QueryAuth,
    }
    for name, signer in python.items():
        monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, name, signer)


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries stay (their count is real); only botocore's backoff between them goes."""
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", _no_delay)
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", _no_delay)


def _no_delay(*args: Any, **kwargs: Any) -> float:
    return 0.0


@pytest.fixture
def sim(sts: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulation]:
    """An isolated Simulation sharing the session's STS emulator (reset per test)."""
    with Simulation(sts=sts, monkeypatch=monkeypatch) as simulation:
        yield simulation
