"""Whole-process cold start: credpick against botocore, one fresh interpreter each.

    python benchmarks/coldstart.py [--quick] [--pairs N] [--json PATH]

What a Lambda or CLI user pays is the whole process: start, imports,
credentials. Per runtime (emulated on 127.0.0.1 by credpick.testing, set up
here in the parent and inherited by each child), each round starts three
fresh interpreters, in rotating order:

- ``import credpick; credpick.session().get_credentials().get_frozen_credentials()``
- ``import boto3; boto3.Session().get_credentials().get_frozen_credentials()``
- the same after ``import attrs``: credpick's own share, attrs aside.

Each ratio is the median of the per-round ratios, with their min, max and
quartiles. The children keep compiled bytecode in one filled
``PYTHONPYCACHEPREFIX`` (each child runs once, unmeasured, first), so both
sides import from ``.pyc``. From inside each child (benchmarks/_cold_child.py):
the phases (interpreter, ``import boto3``, credpick's imports, first session,
second session), garbage collections per generation and their time, peak RSS.
One more child per runtime runs with ``-X importtime``: what ``session()``
imports as a share of ``import boto3``, in the same process.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from credpick.testing._guard import ENV_FLAG, SITE_DIR, SocketGuard  # noqa: E402
from credpick.testing._simulation import Simulation  # noqa: E402
from credpick.testing._sts import StsEmulator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import header, machine, save, verdict  # noqa: E402

SCHEMA = 1
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "coldstart.json"
CHILD = Path(__file__).resolve().parent / "_cold_child.py"
RUNTIMES = (
    "static",
    "env-session",
    "lambda",
    "ecs",
    "eks-pod-identity",
    "ec2-instance-profile",
    "web-identity",
    "sso",
)
QUICK_RUNTIMES = ("lambda", "ec2-instance-profile", "web-identity")
TOOLS = ("credpick", "botocore", "botocore+attrs")
#: The issue's targets: whole process, median of per-round ratios to botocore.
ENV_DECIDES = ("static", "env-session", "lambda", "ecs", "eks-pod-identity")
TARGETS = {
    **dict.fromkeys((*ENV_DECIDES, "ec2-instance-profile"), 1.05),
    "web-identity": 1.10,
    "sso": 1.10,
}
IMPORT_SHARE_TARGET = 0.08
# Top-level packages that are botocore's own process too (imported lazily by a
# client botocore builds as well): not counted in credpick's import share.
_BOTO_FAMILY = ("botocore", "boto3", "s3transfer", "urllib3", "dateutil", "jmespath")


def summary(values: list[float]) -> dict[str, float] | None:
    """Median, quartiles, min and max (and n), rounded for people; None when empty."""
    if not values:
        return None
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "median": round(statistics.median(values), 3),
        "q1": round(q[0], 3),
        "q3": round(q[2], 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


@contextlib.contextmanager
def preserved_environ() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _child_env(pycache: str) -> dict[str, str]:
    env = dict(os.environ)
    env[ENV_FLAG] = "1"  # the child installs the socket guard at start-up
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SITE_DIR), str(ROOT / "src"), os.environ.get("PYTHONPATH")])
    )
    # Bytecode from the filled prefix, for boto3 and credpick alike.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def run_child(tool: str, pycache: str, *flags: str) -> tuple[dict[str, Any], float, str]:
    """One fresh interpreter: what it measured, its whole wall time (ms), its stderr."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *flags, str(CHILD), tool],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(pycache),
        check=False,
    )
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"cold-start child {tool} failed: {tail[0]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall, done.stderr


def import_share(stderr: str) -> dict[str, float]:
    """From ``-X importtime``: ``import boto3``, and what came after it that is
    not botocore's own (credpick, attrs, the standard library), in µs."""
    boto3_us = after_us = other_us = 0.0
    seen_boto3 = False
    counted: list[str] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if name.startswith("  ") or not cumulative.strip().isdigit():
            continue  # nested, or the header: only top-level imports count
        name = name.strip()
        us = float(cumulative.strip())
        if name == "boto3":
            boto3_us, seen_boto3 = us, True
        elif seen_boto3 and name.split(".")[0] in _BOTO_FAMILY:
            other_us += us
        elif seen_boto3:
            after_us += us
            counted.append(name)
    return {
        "counted": counted,
        "boto3_ms": boto3_us / 1000,
        "credpick_ms": after_us / 1000,
        "botocore_lazy_ms": other_us / 1000,
        "share": round(after_us / boto3_us, 4) if boto3_us else 0.0,
    }


def _ratios(a: list[float], b: list[float]) -> dict[str, float] | None:
    return summary([x / y for x, y in zip(a, b, strict=True) if y > 0])


def bench_runtime(kind: str, sts: StsEmulator, rounds: int, pycache: str) -> dict[str, Any]:
    with preserved_environ(), Simulation(sts=sts) as sim:
        sim.use(kind)
        # botocore 1.43 reads only AWS_DEFAULT_REGION; give both tools the same region.
        os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
        for tool in TOOLS:  # fills the bytecode prefix and the OS's caches: not counted
            run_child(tool, pycache)
        rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TOOLS}
        walls: dict[str, list[float]] = {t: [] for t in TOOLS}
        for i in range(rounds):
            # Rotate who goes first, so neither always runs on a warmer CPU.
            order = TOOLS[i % 3 :] + TOOLS[: i % 3]
            for tool in order:
                out, wall, _ = run_child(tool, pycache)
                if not out["ok"]:
                    raise RuntimeError(f"{tool} got no credentials in {kind}")
                rows[tool].append(out)
                walls[tool].append(wall)
        _, _, timings = run_child("credpick", pycache, "-X", "importtime")
    cp, bc, ba = rows["credpick"], rows["botocore"], rows["botocore+attrs"]

    def col(rs: list[dict[str, Any]], key: str) -> list[float]:
        return [float(r[key]) for r in rs]

    def gcs(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "collections_median": [
                statistics.median(r["gc_collections"][g] for r in rs) for g in range(3)
            ],
            "gen2_rounds": sum(1 for r in rs if r["gc_collections"][2] > 0),
            # By the first credentials, before the second session.
            "first_collections_median": [
                statistics.median(r["gc_collections_first"][g] for r in rs) for g in range(3)
            ],
            "first_gen2_rounds": sum(1 for r in rs if r["gc_collections_first"][2] > 0),
            "ms": [summary([r["gc_ms"][g] for r in rs]) for g in range(3)],
        }

    return {
        "wall_ms": {t: summary(walls[t]) for t in TOOLS},
        "ratio_wall": _ratios(walls["credpick"], walls["botocore"]),
        "ratio_wall_vs_attrs": _ratios(walls["credpick"], walls["botocore+attrs"]),
        # The floor of any design that imports attrs: botocore's process plus
        # `import attrs`, nothing of credpick's.
        "ratio_attrs_floor": _ratios(walls["botocore+attrs"], walls["botocore"]),
        # attrs' import, timed inside its child, over botocore's whole process in
        # the same round: the part of the budget attrs takes, less noisy than walls.
        "attrs_share": summary(
            [r["import_ms"] / w for r, w in zip(ba, walls["botocore"], strict=True) if w > 0]
        ),
        # attrs' import over `import boto3`, both timed inside the same child: the
        # issue's import share, for attrs alone.
        "attrs_import_share": summary(
            [r["import_ms"] / r["boto3_ms"] for r in ba if r["boto3_ms"] > 0]
        ),
        # What credpick adds over botocore + attrs, per round, ms.
        "credpick_own_ms": summary(
            [a - b for a, b in zip(walls["credpick"], walls["botocore+attrs"], strict=True)]
        ),
        "phases_ms": {
            t: {
                key: summary(col(rows[t], key))
                for key in ("boto3_ms", "import_ms", "first_ms", "second_ms", "script_ms")
            }
            for t in TOOLS
        },
        "credpick_detect_ms": summary([r["detect_ms"][0] for r in cp if r["detect_ms"]]),
        # After the imports: the first and the second session in the same process.
        "ratio_first_session": _ratios(col(cp, "first_ms"), col(bc, "first_ms")),
        "ratio_second_session": _ratios(col(cp, "second_ms"), col(bc, "second_ms")),
        "gc": {t: gcs(rows[t]) for t in TOOLS},
        "maxrss_mb": {
            t: summary([r["vm_hwm_kb"] / 1024 for r in rows[t] if r["vm_hwm_kb"]]) for t in TOOLS
        },
        "ru_maxrss_mb": {t: summary([r["ru_maxrss_kb"] / 1024 for r in rows[t]]) for t in TOOLS},
        "rss_ratio": round(
            statistics.median(r["vm_hwm_kb"] for r in cp if r["vm_hwm_kb"])
            / statistics.median(r["vm_hwm_kb"] for r in bc if r["vm_hwm_kb"]),
            3,
        ),
        "imports": import_share(timings),
        "credpick_modules": cp[-1]["modules"],
        "_attrs_import": summary(col(ba, "import_ms")),
    }


def bench_bare(rounds: int, pycache: str) -> dict[str, Any]:
    with preserved_environ(), Simulation():
        run_child("bare", pycache)
        walls = [run_child("bare", pycache)[1] for _ in range(rounds)]
    return {"wall_ms": summary(walls)}


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets per runtime, each beside the floor attrs alone sets."""
    found = []
    for kind, row in report["runtimes"].items():
        goal = TARGETS[kind]
        # (what, measured, limit, whether it is a share that must stay under the limit)
        checks = (
            ("whole process", row["ratio_wall"]["median"], goal, False),
            (
                "floor: botocore + `import attrs` alone",
                row["ratio_attrs_floor"]["median"],
                goal,
                False,
            ),
            (
                "floor: `import attrs` alone over import boto3 (same child)",
                row["attrs_import_share"]["median"],
                IMPORT_SHARE_TARGET,
                True,
            ),
            (
                "session() imports over import boto3",
                row["imports"]["share"],
                IMPORT_SHARE_TARGET,
                True,
            ),
        )
        for what, measured, limit, share in checks:
            found.append(
                {
                    "name": f"{what}, {kind}",
                    "target": f"< {limit:.0%}" if share else f"<= {limit:.2f}x botocore",
                    "measured": measured,
                    "met": measured < limit if share else measured <= limit,
                }
            )
    return found


def _x(s: dict[str, float] | None) -> str:
    if s is None:
        return "n/a"
    return f"{s['median']:.3f}x [IQR {s['q1']:.2f}-{s['q3']:.2f}, {s['min']:.2f}-{s['max']:.2f}]"


def _ms(s: dict[str, float] | None) -> str:
    return "n/a" if s is None else f"{s['median']:.1f}"


def _pct(s: dict[str, float] | None) -> str:
    return "n/a" if s is None else f"{s['median']:.1%}"


def table(report: dict[str, Any]) -> str:
    """The Markdown tables docs/performance.md quotes."""
    lines = [
        "Whole process (a fresh interpreter each), wall ms: median; ratio: median "
        "[IQR, min-max] of the per-round ratios",
        "",
        "| runtime | credpick | botocore | botocore + attrs | credpick / botocore "
        "| credpick / (botocore + attrs) | floor: (botocore + attrs) / botocore "
        "| attrs import / botocore process | credpick over botocore + attrs, ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in report["runtimes"].items():
        w = row["wall_ms"]
        lines.append(
            f"| {kind} | {_ms(w['credpick'])} | {_ms(w['botocore'])} | {_ms(w['botocore+attrs'])} "
            f"| {_x(row['ratio_wall'])} | {_x(row['ratio_wall_vs_attrs'])} "
            f"| {_x(row['ratio_attrs_floor'])} "
            f"| {_pct(row['attrs_share'])} "
            f"| {_ms(row['credpick_own_ms'])} |"
        )
    lines += [
        "",
        "Inside the same children, ms (medians): imports after boto3, and after the "
        "imports the first and a second session",
        "",
        "| runtime | import boto3 | credpick's imports (attrs incl.) | attrs alone "
        "| attrs alone / import boto3 (same child) "
        "| session() imports / import boto3 (-X importtime) | first session credpick / botocore "
        "| ratio first | ratio second | detection |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in report["runtimes"].items():
        p = row["phases_ms"]
        imp = row["imports"]
        lines.append(
            f"| {kind} | {_ms(p['botocore']['boto3_ms'])} | {_ms(p['credpick']['import_ms'])} "
            f"| {_ms(row['_attrs_import'])} | {_pct(row['attrs_import_share'])} "
            f"| {imp['credpick_ms']:.1f} / {imp['boto3_ms']:.1f} "
            f"= {imp['share']:.1%} | {_ms(p['credpick']['first_ms'])} / "
            f"{_ms(p['botocore']['first_ms'])} | {_x(row['ratio_first_session'])} "
            f"| {_x(row['ratio_second_session'])} | {_ms(row['credpick_detect_ms'])} |"
        )
    lines += [
        "",
        "Garbage collections per process (median per generation; rounds with a gen-2 "
        "collection), and peak RSS (VmHWM), MB",
        "",
        "| runtime | credpick gc, by first credentials | botocore gc, by first credentials "
        "| credpick gc, process | botocore gc, process | credpick gen-2 ms | credpick RSS "
        "| botocore RSS | RSS ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in report["runtimes"].items():
        g = row["gc"]

        def fmt(x: dict[str, Any], n: int, first: bool = False) -> str:
            c = "/".join(
                f"{v:g}" for v in x["first_collections_median" if first else "collections_median"]
            )
            return f"{c} ({x['first_gen2_rounds' if first else 'gen2_rounds']} of {n} with gen 2)"

        n = row["wall_ms"]["credpick"]["n"]  # type: ignore[index]
        lines.append(
            f"| {kind} | {fmt(g['credpick'], n, True)} | {fmt(g['botocore'], n, True)} "
            f"| {fmt(g['credpick'], n)} | {fmt(g['botocore'], n)} "
            f"| {_ms(g['credpick']['ms'][2])} | {_ms(row['maxrss_mb']['credpick'])} "
            f"| {_ms(row['maxrss_mb']['botocore'])} | {row['rss_ratio']:.3f}x |"
        )
    bare = report["bare"]["wall_ms"]
    lines += ["", f"Interpreter alone (`bare` child), wall ms: {_ms(bare)}"]
    lines += ["", *profile(report)]
    lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        lines.append(
            f"| {t['name']} | {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
        )
    return "\n".join(lines)


PROFILED = ("lambda", "ec2-instance-profile", "web-identity")


def profile(report: dict[str, Any]) -> list[str]:
    """Where a cold start's time goes, by part (medians of each part apart, so
    they need not add up to the whole): credpick, and botocore beside it."""
    kinds = [k for k in PROFILED if k in report["runtimes"]]
    if not kinds:
        return []
    lines = [
        "Cold start by part, ms (medians; GC time is inside the other parts)",
        "",
        "| part | " + " | ".join(f"{k}: credpick | {k}: botocore" for k in kinds) + " |",
        "|---|" + "---|---|" * len(kinds),
    ]

    def med(s: dict[str, float] | None) -> float:
        return s["median"] if s else 0.0

    rows: dict[str, list[str]] = {}
    for kind in kinds:
        row = report["runtimes"][kind]
        p = row["phases_ms"]
        for tool in ("credpick", "botocore"):
            first = med(p[tool]["first_ms"])
            detect = med(row["credpick_detect_ms"]) if tool == "credpick" else None
            gc_ms = sum(med(s) for s in row["gc"][tool]["ms"])
            parts = {
                "whole process (wall)": med(row["wall_ms"][tool]),
                "interpreter start and exit": med(row["wall_ms"][tool]) - med(p[tool]["script_ms"]),
                "import boto3": med(p[tool]["boto3_ms"]),
                "credpick's modules, attrs incl. (before the first call)": med(p[tool]["import_ms"])
                if tool == "credpick"
                else 0.0,
                "  of which attrs (its import, timed alone)": med(row["_attrs_import"])
                if tool == "credpick"
                else 0.0,
                "first session to frozen credentials": first,
                "  of which detection (sources imported as needed)": detect or 0.0,
                "  of which the build and the load": first - (detect or 0.0),
                "garbage collection, all generations": gc_ms,
            }
            for name, value in parts.items():
                shown = "-" if (tool == "botocore" and value == 0.0) else f"{value:.1f}"
                rows.setdefault(name, []).append(shown)
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows.items()]
    return lines


def run(quick: bool, rounds: int | None) -> dict[str, Any]:
    rounds = rounds or (1 if quick else 30)
    kinds = QUICK_RUNTIMES if quick else RUNTIMES
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "quick": quick,
        "machine": machine(),
        "rounds": rounds,
        "bytecode": "PYTHONPYCACHEPREFIX, filled by one unmeasured run of each child",
    }
    pycache = tempfile.mkdtemp(prefix="credpick-coldstart-pyc-")
    try:
        with SocketGuard() as guard, StsEmulator() as sts:
            report["bare"] = bench_bare(rounds, pycache)
            report["runtimes"] = {k: bench_runtime(k, sts, rounds, pycache) for k in kinds}
            report["blocked_connections"] = list(guard.attempts)
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    report["targets"] = targets(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, three runtimes")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per runtime (30)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--table", type=Path, help="print the tables of a JSON report; run nothing")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text(encoding="utf-8"))))
        return 0
    started = time.perf_counter()
    report = run(args.quick, args.rounds)
    save(report, args.json, time.perf_counter() - started)
    print(header(report, f"{report['rounds']} rounds"))
    print(table(report))
    return verdict(report, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
