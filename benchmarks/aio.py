"""credpick.aio against plain aiobotocore, side by side, per emulated runtime, on loopback.

    python benchmarks/aio.py [--quick] [--json PATH]

Each pair is one ``await credpick.aio.session()`` with its credentials loaded,
and one ``aiobotocore.session.get_session()`` whose ``get_credentials()`` walks
aiobotocore's own chain, in the same process, event loop and runtime; who goes
first alternates. Reported: medians (min, max) and the median of the per-pair
ratios. Needs ``credpick[aio]``. Nothing connects beyond 127.0.0.1 (credpick's
socket guard is on for the run). See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import save, verdict  # noqa: E402
from aiobotocore.session import get_session  # noqa: E402
from run import RUNTIMES, preserved_environ, summary  # noqa: E402

import credpick  # noqa: E402
import credpick.aio  # noqa: E402
from credpick.sources import imds  # noqa: E402
from credpick.testing._guard import SocketGuard  # noqa: E402
from credpick.testing._simulation import Simulation  # noqa: E402
from credpick.testing._sts import StsEmulator  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "aio-latest.json"


async def credpick_credentials() -> Any:
    session = await credpick.aio.session()
    return await (await session.get_credentials()).get_frozen_credentials()


async def aiobotocore_credentials() -> Any:
    credentials = await get_session().get_credentials()
    return None if credentials is None else await credentials.get_frozen_credentials()


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, str]:
    """Milliseconds, and ``"ok"`` or what went wrong (never a credential)."""
    start = time.perf_counter()
    try:
        outcome = "ok" if await fn() is not None else "no credentials"
    except Exception as exc:
        outcome = type(exc).__name__
    return (time.perf_counter() - start) * 1000, outcome


async def bench_runtime(kind: str, sts: StsEmulator, n: int) -> dict[str, Any]:
    import os

    with preserved_environ(), Simulation(sts=sts) as sim:
        sim.use(kind)
        os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
        if n > 1:  # warm-up: lazy imports, loaders' caches (a smoke run skips it)
            await timed(credpick_credentials)
            await timed(aiobotocore_credentials)
        ours: list[float] = []
        theirs: list[float] = []
        outcomes = {"credpick": "ok", "aiobotocore": "ok"}
        for i in range(n):
            order = ("credpick", "aiobotocore") if i % 2 == 0 else ("aiobotocore", "credpick")
            for tool in order:
                if tool == "credpick":
                    imds.clear_cache()  # a cold process: no cached metadata verdict
                    t, outcome = await timed(credpick_credentials)
                    ours.append(t)
                else:
                    t, outcome = await timed(aiobotocore_credentials)
                    theirs.append(t)
                if outcome != "ok":
                    outcomes[tool] = outcome
    comparable = outcomes["credpick"] == "ok" and outcomes["aiobotocore"] == "ok"
    return {
        "credpick_outcome": outcomes["credpick"],
        "aiobotocore_outcome": outcomes["aiobotocore"],
        "credpick_ms": summary(ours),
        "aiobotocore_ms": summary(theirs) if outcomes["aiobotocore"] == "ok" else None,
        "ratio": summary([a / b for a, b in zip(ours, theirs, strict=True)])
        if comparable
        else None,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| runtime | credpick.aio ms | aiobotocore ms | ratio (median of pairs) |",
        "|---|---|---|---|",
    ]
    for kind, row in report["runtimes"].items():
        ours = row["credpick_ms"]
        theirs = row["aiobotocore_ms"]
        shown = f"{theirs['median']:.1f}" if theirs else row["aiobotocore_outcome"]
        ratio = f"{row['ratio']['median']:.2f}" if row["ratio"] else "n/a"
        lines.append(f"| {kind} | {ours['median']:.1f} | {shown} | {ratio} |")
    return "\n".join(lines)


async def run(quick: bool) -> dict[str, Any]:
    n = 1 if quick else 21
    logging.getLogger("credpick").disabled = True  # the stray-key warnings are expected here
    report: dict[str, Any] = {"schema": 1, "quick": quick, "repetitions": n}
    with SocketGuard() as guard, StsEmulator() as sts:
        report["runtimes"] = {kind: await bench_runtime(kind, sts, n) for kind in RUNTIMES}
        report["blocked_connections"] = list(guard.attempts)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one pair per runtime (smoke run)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = asyncio.run(run(args.quick))
    save(report, args.json, time.perf_counter() - started)
    print(table(report))
    return verdict(report, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
