"""benchmarks/run.py runs end to end and writes the JSON it promises.

No timing is asserted here: the numbers are for people (docs/performance.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
pytestmark = pytest.mark.skipif(not RUN.exists(), reason="needs the source checkout")


def _stats(value: object) -> None:
    assert isinstance(value, dict)
    assert {"median", "min", "max", "n"} <= set(value)
    assert value["min"] <= value["median"] <= value["max"]


def test_quick_run_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {
        "schema",
        "quick",
        "machine",
        "repetitions",
        "runtimes",
        "off_ec2",
        "import",
        "memory",
        "targets",
        "blocked_connections",
    } <= set(report)
    assert report["quick"] is True and report["blocked_connections"] == []
    assert {"nproc", "cpu", "python", "botocore"} <= set(report["machine"])
    assert set(report["runtimes"]) == {
        "lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc",
        "ec2-instance-profile", "sso", "login", "assume-role", "credential-process", "container",
        "env-session", "static",
    }  # fmt: skip
    for kind, row in report["runtimes"].items():
        assert row["credpick_outcome"] == "ok", kind
        _stats(row["credpick_cold_ms"])
        _stats(row["credpick_warm_ms"])
        assert {"credpick_cold", "credpick_warm", "botocore"} == set(row["requests"])
    ec2 = report["runtimes"]["ec2-instance-profile"]["requests"]
    assert ec2["credpick_cold"]["endpoint"] >= 1 and ec2["botocore"]["endpoint"] >= 1
    assert set(report["off_ec2"]) == {"refused", "packet drop", "no answer"}
    for row in report["off_ec2"].values():
        _stats(row["credpick_ms"])
        _stats(row["botocore_ms"])
    _stats(report["import"]["boto3_ms"])
    _stats(report["import"]["credpick_added_ms"])
    assert report["memory"]
    for t in report["targets"]:
        assert {"name", "target", "measured", "met"} <= set(t)
    # The table is printed, and no fake secret is.
    assert "| target | goal | measured | met |" in done.stdout
    assert "FAKE-SECRET" not in done.stdout + done.stderr + out.read_text(encoding="utf-8")


AIO = ROOT / "benchmarks" / "aio.py"


def test_quick_aio_run_compares_every_runtime(tmp_path: Path) -> None:
    """benchmarks/aio.py, one pair per runtime: credpick.aio beside plain aiobotocore."""
    pytest.importorskip("aiobotocore", reason="benchmarks/aio.py needs credpick[aio]")
    out = tmp_path / "aio.json"
    done = subprocess.run(
        [sys.executable, str(AIO), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True and report["blocked_connections"] == []
    assert set(report["runtimes"]) == {
        "lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc",
        "ec2-instance-profile", "sso", "login", "assume-role", "credential-process", "container",
        "env-session", "static",
    }  # fmt: skip
    for kind, row in report["runtimes"].items():
        assert row["credpick_outcome"] == "ok", kind
        _stats(row["credpick_ms"])
    assert "| runtime | credpick.aio ms | aiobotocore ms |" in done.stdout
    assert "FAKE-SECRET" not in done.stdout + done.stderr + out.read_text(encoding="utf-8")


COLDSTART = ROOT / "benchmarks" / "coldstart.py"


@pytest.mark.skipif(not COLDSTART.exists(), reason="needs the source checkout")
def test_coldstart_quick_run_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "coldstart.json"
    done = subprocess.run(
        [sys.executable, str(COLDSTART), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True and report["blocked_connections"] == []
    assert set(report["runtimes"]) == {"lambda", "ec2-instance-profile", "web-identity"}
    for kind, row in report["runtimes"].items():
        for tool in ("credpick", "botocore", "botocore+attrs"):
            _stats(row["wall_ms"][tool])
            assert len(row["gc"][tool]["collections_median"]) == 3, kind
        _stats(row["ratio_wall"])
        _stats(row["ratio_wall_vs_attrs"])
        # The floor any attrs-based design pays, and attrs' share of the budget.
        _stats(row["ratio_attrs_floor"])
        _stats(row["attrs_share"])
        _stats(row["attrs_import_share"])
        _stats(row["credpick_own_ms"])
        _stats(row["ratio_second_session"])
        # -X importtime saw boto3, and credpick's own imports after it.
        assert row["imports"]["boto3_ms"] > 0 and row["imports"]["credpick_ms"] > 0, kind
        assert "credpick._session" in row["credpick_modules"], kind
        # Every credpick module the session loaded is in the share, those the
        # registry imports by name included (-X importtime misses those unless
        # the child routes them through the import statement), and nothing of
        # the child's own read of /proc/self/status (it once loaded a codec).
        counted = row["imports"]["counted"]
        assert "credpick.sources.static" in counted, kind
        assert "encodings.ascii" not in counted, kind
    assert "credpick.sources.lambda_" in report["runtimes"]["lambda"]["imports"]["counted"]
    for t in report["targets"]:
        assert {"name", "target", "measured", "met"} <= set(t)
    floors = {t["name"] for t in report["targets"] if t["name"].startswith("floor:")}
    assert floors == {
        *(f"floor: botocore + `import attrs` alone, {k}" for k in report["runtimes"]),
        *(
            f"floor: `import attrs` alone over import boto3 (same child), {k}"
            for k in report["runtimes"]
        ),
    }
    assert "| target | goal | measured | met |" in done.stdout
    assert "floor: (botocore + attrs) / botocore" in done.stdout
    assert "FAKE-SECRET" not in done.stdout + done.stderr + out.read_text(encoding="utf-8")
