"""Every case of the fault matrix (test_faults.py) detects, picks and judges
alike on the lazy path and on the full path (see tests/test_coldstart.py)."""

from __future__ import annotations

from typing import Any

import pytest

import credpick
from credpick.testing._simulation import Simulation
from tests.reliability import test_faults as faults
from tests.test_coldstart import both_paths


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize("case", faults.CASES, ids=lambda c: c.id)
def test_every_fault_matrix_case_decides_alike(
    case: Any, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    with faults.rig_for(case, sim, monkeypatch) as rig:
        faults._inject(rig, case.fault, monkeypatch)
        if case.fault == "HTTP 5xx once, at the probe":
            pytest.skip("a one-shot fault: the first path takes it, the second cannot")
        lazy, full = both_paths(monkeypatch, lambda: credpick.detect(timeouts=faults.TIMEOUTS))
    assert lazy == full
