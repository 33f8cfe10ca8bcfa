"""Fixtures of the adversarial suite: every logger at DEBUG, captured whole."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

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
