"""Timeouts: every value is a positive, finite number, checked where it is given."""

from __future__ import annotations

import math

import pytest

from credpick import ConfigurationError, Timeouts


@pytest.mark.parametrize("field", ["imds_connect", "imds_read", "http", "connect", "process"])
@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "1", None, True])
def test_seconds_must_be_positive_and_finite(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        Timeouts(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 11, 1.5, "2", True])
def test_attempts_is_a_small_whole_number(value: object) -> None:
    with pytest.raises(ConfigurationError, match="attempts"):
        Timeouts(attempts=value)  # type: ignore[arg-type]


def test_defaults_and_small_values_are_accepted() -> None:
    assert Timeouts() == Timeouts(
        imds_connect=0.25, imds_read=1.0, http=5.0, connect=1.0, attempts=2, process=60.0
    )
    assert Timeouts(http=0.01, attempts=1).http == 0.01
