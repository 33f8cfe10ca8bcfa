"""Every example runs, in an emulated runtime, and says what it should."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from credpick.testing import Simulation

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="needs the source checkout")


def run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else dict(os.environ),
    )


def test_tour_example() -> None:
    result = run("tour.py")
    assert result.returncode == 0, result.stderr
    assert "== EC2 with a stray key: iam-role" in result.stdout
    assert "== EKS IRSA: assume-role-with-web-identity" in result.stdout
    assert "FAKE-SECRET" not in result.stdout + result.stderr


def test_app_refuses_a_key_and_starts_on_a_role(_sts_server: object) -> None:
    with Simulation(sts=_sts_server) as sim:  # type: ignore[arg-type]
        sim.use("static")
        refused = run("app_with_policy.py")
    assert refused.returncode == 1
    assert "StaticKeysRefused" not in refused.stderr  # the message, not the class name
    assert re.search(r"refusing to start: static: long-lived key AKIA\.\.\.\w{4}", refused.stderr)
    with Simulation(sts=_sts_server) as sim:  # type: ignore[arg-type]
        sim.use("web-identity")
        started = run("app_with_policy.py")
    assert started.returncode == 0, started.stderr
    assert "started with web-identity credentials" in started.stdout
    assert "assumed-role/credpick-test-role" in started.stdout
