"""What benchmarks/run.py reports: the machine, the targets, and the Markdown
tables docs/performance.md quotes."""

from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path
from typing import Any

import boto3
import botocore

import credpick

ENV_DECIDES = ("lambda", "env-session", "static")
ENV_RATIO_TARGET = 1.10
DROP_SPEEDUP_TARGET = 6.0
IMPORT_TARGET_MS = 30.0


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for kind in ENV_DECIDES:
        ratio = report["runtimes"][kind]["ratio_cold"]
        measured = ratio["median"] if ratio else None
        found.append(
            {
                "name": f"time to credentials, {kind} (env vars decide)",
                "target": f"<= {ENV_RATIO_TARGET:.2f}x botocore",
                "measured": measured,
                "met": measured is not None and measured <= ENV_RATIO_TARGET,
            }
        )
    ec2 = report["runtimes"]["ec2-instance-profile"]["requests"]
    found.append(
        {
            "name": "metadata requests on EC2 (cold process)",
            "target": f"<= botocore's {ec2['botocore']['endpoint']}",
            "measured": ec2["credpick_cold"]["endpoint"],
            "met": ec2["credpick_cold"]["endpoint"] <= ec2["botocore"]["endpoint"],
        }
    )
    drop = report["off_ec2"]["packet drop"]
    found.append(
        {
            "name": "off-EC2 verdict, packet-dropping endpoint",
            "target": f">= {DROP_SPEEDUP_TARGET:.0f}x faster than botocore",
            "measured": drop["speedup"],
            "met": drop["speedup"] >= DROP_SPEEDUP_TARGET,
        }
    )
    lazy = report["import"]["credpick_lazy_ms"]["median"]
    added = report["import"]["credpick_added_ms"]["median"]
    found += [
        {
            "name": "`import credpick` over `import boto3`",
            "target": f"< {IMPORT_TARGET_MS:.0f} ms",
            "measured": lazy,
            "met": lazy < IMPORT_TARGET_MS,
        },
        {
            "name": "everything credpick.session() imports, over boto3",
            "target": f"< {IMPORT_TARGET_MS:.0f} ms",
            "measured": added,
            "met": added < IMPORT_TARGET_MS,
        },
    ]
    return found


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "botocore": botocore.__version__,
        "boto3": boto3.__version__,
        "credpick": credpick.__version__,
    }


def _ms(s: dict[str, float] | None) -> str:
    return "n/a" if s is None else f"{s['median']:.1f} [{s['min']:.1f}-{s['max']:.1f}]"


def _x(s: dict[str, float] | None) -> str:
    return "n/a" if s is None else f"{s['median']:.2f}x [{s['min']:.2f}-{s['max']:.2f}]"


def table(report: dict[str, Any]) -> str:
    """The Markdown tables docs/performance.md quotes."""
    lines = [
        "Time to usable credentials, ms: median [min-max]; ratio = credpick / botocore",
        "",
        "| runtime | credpick cold | credpick warm | botocore | ratio cold | ratio warm "
        "| requests credpick cold / warm / botocore |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, row in report["runtimes"].items():
        req = row["requests"]

        def fmt(r: dict[str, int]) -> str:
            return f"{r['endpoint']}+{r['sts']}sts" if r["sts"] else str(r["endpoint"])

        bc = _ms(row["botocore_ms"]) if row["botocore_ms"] else f"n/a ({row['botocore_outcome']})"
        lines.append(
            f"| {kind} | {_ms(row['credpick_cold_ms'])} | {_ms(row['credpick_warm_ms'])} | {bc} "
            f"| {_x(row['ratio_cold'])} | {_x(row['ratio_warm'])} "
            f"| {fmt(req['credpick_cold'])} / {fmt(req['credpick_warm'])} / {fmt(req['botocore'])} |"
        )
    lines += [
        "",
        "Off EC2: time to a verdict with the metadata endpoint pointed at a dead address, ms",
        "",
        "| endpoint | credpick | botocore | speedup | credpick verdict | botocore verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in report["off_ec2"].items():
        lines.append(
            f"| {name} | {_ms(row['credpick_ms'])} | {_ms(row['botocore_ms'])} "
            f"| {row['speedup']}x | {row['credpick_verdict']} | {row['botocore_verdict']} |"
        )
    imp = report["import"]
    lines += [
        "",
        "Import, fresh processes, ms: median [min-max]",
        "",
        "| import boto3 | credpick on top (all credpick.session() loads) "
        "| `import credpick` alone | process wall, boto3 / boto3+credpick |",
        "|---|---|---|---|",
        f"| {_ms(imp['boto3_ms'])} | {_ms(imp['credpick_added_ms'])} "
        f"| {_ms(imp['credpick_lazy_ms'])} | {_ms(imp['process_wall_boto3_ms'])} / "
        f"{_ms(imp['process_wall_boto3_and_credpick_ms'])} |",
        "",
        "Peak memory of a fresh process that imports and gets credentials, MB",
        "",
        "| runtime | credpick max RSS | botocore max RSS | RSS ratio "
        "| credpick / botocore traced Python peak |",
        "|---|---|---|---|---|",
    ]
    for kind, row in report["memory"].items():
        lines.append(
            f"| {kind} | {_ms(row['credpick']['maxrss_mb'])} | {_ms(row['botocore']['maxrss_mb'])} "
            f"| {row['rss_ratio']:.3f}x | {row['credpick']['traced_peak_mb']:.1f} / "
            f"{row['botocore']['traced_peak_mb']:.1f} |"
        )
    lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        lines.append(
            f"| {t['name']} | {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
        )
    return "\n".join(lines)


def save(report: dict[str, Any], path: Path, seconds: float) -> None:
    """Stamp the run's duration on ``report`` and write it as JSON to ``path``."""
    report["seconds"] = round(seconds, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def header(report: dict[str, Any], run: str) -> str:
    """The versions and the machine, the line above every benchmark's tables."""
    m = report["machine"]
    return (
        f"credpick {m['credpick']} vs botocore {m['botocore']} | Python {m['python']} | "
        f"{m['nproc']} x {m['cpu']} | {run}, {report['seconds']} s\n"
    )


def verdict(report: dict[str, Any], path: Path) -> int:
    """Say where the JSON is; exit 1 when a child tried to leave loopback."""
    print(f"\nJSON: {path}")
    if report["blocked_connections"]:
        print(f"blocked non-loopback connections: {report['blocked_connections']}")
        return 1
    return 0
