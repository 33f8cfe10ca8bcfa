"""Every case of the fault matrix (test_faults.py) detects, picks and judges
alike on the lazy path and on the full path (see tests/test_coldstart.py)."""

from __future__ import annotations

from typing import Any

import pytest

import credpick
from credpick.testing._simulation import Simulation
from tests.reliability import test_faults as faults
from tests.test_coldstart import both_paths

_ONE_SHOT = ("HTTP 5xx once, at the probe",)


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize("case", faults.CASES, ids=lambda c: c.id)
def test_every_fault_matrix_case_decides_alike(
    case: Any, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A one-shot fault is taken by the first detection: each path gets its own.
    once = case.fault in _ONE_SHOT
    with faults.rig_for(case, sim, monkeypatch) as rig:
        if not once:
            faults._inject(rig, case.fault, monkeypatch)

        def detect() -> credpick.Detection:
            if once:
                faults._inject(rig, case.fault, monkeypatch)
            return credpick.detect(timeouts=faults.TIMEOUTS)

        lazy, full = both_paths(monkeypatch, detect)
        if once:  # each path took its fault: none is left for the other
            assert rig.endpoint.faults_served == 2
    assert lazy == full
