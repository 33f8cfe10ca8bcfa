"""credpick against botocore's default chain, side by side, on loopback emulators.

    python benchmarks/run.py [--quick] [--json PATH]

Every number is a ratio or a median of many runs, with min and max: timings
on a shared 2-core machine are noisy. credpick and botocore run interleaved,
in the same process and the same emulated runtime, so drift hits both alike.
Nothing connects beyond 127.0.0.1: credpick's socket guard is installed for
the whole run, and in every child process. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import boto3  # noqa: E402

import credpick  # noqa: E402
from credpick.sources import imds  # noqa: E402
from credpick.testing._faults import FaultyEndpoint  # noqa: E402
from credpick.testing._guard import ENV_FLAG, SITE_DIR, SocketGuard  # noqa: E402
from credpick.testing._net import (  # noqa: E402
    refusing_endpoint,
    silent_endpoint,
    unroutable_endpoint,
)
from credpick.testing._simulation import Simulation  # noqa: E402
from credpick.testing._sts import StsEmulator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import header, machine, save, table, targets, verdict  # noqa: E402

SCHEMA = 1
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "latest.json"
CHILD = Path(__file__).resolve().parent / "_child.py"
RUNTIMES = [k.value for k in credpick.SourceKind]
MEMORY_RUNTIMES = ("static", "ec2-instance-profile", "web-identity")
TOOLS = ("credpick", "botocore")


def _reps(quick: bool) -> dict[str, int]:
    if quick:  # a smoke run: every measurement once
        return dict.fromkeys(
            ("runtime", "off_ec2_credpick", "off_ec2_botocore", "imports", "memory"), 1
        )
    return {
        "runtime": 31,
        "off_ec2_credpick": 15,
        "off_ec2_botocore": 3,
        "imports": 25,
        "memory": 5,
    }


def summary(values: list[float]) -> dict[str, float] | None:
    """Median, min and max (and n), rounded for people; None when empty."""
    if not values:
        return None
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


@contextlib.contextmanager
def preserved_environ() -> Iterator[None]:
    """Whatever a scenario sets in os.environ is gone after it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def credpick_credentials() -> Any:
    return credpick.session().get_credentials().get_frozen_credentials()


def botocore_credentials() -> Any:
    credentials = boto3.Session().get_credentials()
    return None if credentials is None else credentials.get_frozen_credentials()


def timed(fn: Callable[[], Any]) -> tuple[float, str]:
    """Milliseconds, and ``"ok"`` or what went wrong (never a credential)."""
    start = time.perf_counter()
    try:
        result = fn()
        outcome = "ok" if result is not None else "no credentials"
    except Exception as exc:
        outcome = type(exc).__name__
    return (time.perf_counter() - start) * 1000, outcome


# -- time to usable credentials, and requests, per runtime ----------------------


def _count_requests(handle: Any, proxy: FaultyEndpoint, fn: Callable[[], Any]) -> dict[str, int]:
    """Requests one call makes: to the runtime's endpoint, and to STS (via the proxy)."""
    if handle.emulator is not None:
        handle.emulator.clear_requests()
    proxy.clear_requests()
    uses_sts = "AWS_ENDPOINT_URL_STS" in os.environ
    real_sts = os.environ.get("AWS_ENDPOINT_URL_STS", "")
    if uses_sts:
        os.environ["AWS_ENDPOINT_URL_STS"] = proxy.url
    try:
        timed(fn)
    finally:
        if uses_sts:
            os.environ["AWS_ENDPOINT_URL_STS"] = real_sts
    endpoint = len(handle.emulator.requests) if handle.emulator is not None else 0
    return {"endpoint": endpoint, "sts": len(proxy.requests)}


def bench_runtime(kind: str, sts: StsEmulator, proxy: FaultyEndpoint, n: int) -> dict[str, Any]:
    with preserved_environ(), Simulation(sts=sts) as sim:
        handle = sim.use(kind)
        # botocore 1.43 reads only AWS_DEFAULT_REGION; give both tools the same region.
        os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
        imds.clear_cache()
        if n > 1:  # warm-up: lazy imports, first-call caches (a smoke run skips it)
            timed(credpick_credentials)
            timed(botocore_credentials)
        cold: list[float] = []
        warm: list[float] = []
        boto: list[float] = []
        outcomes = {"credpick": "ok", "botocore": "ok"}
        for i in range(n):
            # Alternate who goes first, so neither always runs on a warmer CPU.
            order = ("credpick", "botocore") if i % 2 == 0 else ("botocore", "credpick")
            for tool in order:
                if tool == "credpick":
                    imds.clear_cache()  # a cold process: no cached metadata verdict
                    t, outcome = timed(credpick_credentials)
                    cold.append(t)
                    warm.append(timed(credpick_credentials)[0])
                else:
                    t, outcome = timed(botocore_credentials)
                    boto.append(t)
                if outcome != "ok":
                    outcomes[tool] = outcome
        imds.clear_cache()
        requests = {"credpick_cold": _count_requests(handle, proxy, credpick_credentials)}
        requests["credpick_warm"] = _count_requests(handle, proxy, credpick_credentials)
        requests["botocore"] = _count_requests(handle, proxy, botocore_credentials)
    comparable = outcomes["credpick"] == "ok" and outcomes["botocore"] == "ok"
    return {
        "credpick_outcome": outcomes["credpick"],
        "botocore_outcome": outcomes["botocore"],
        "credpick_cold_ms": summary(cold),
        "credpick_warm_ms": summary(warm),
        "botocore_ms": summary(boto) if outcomes["botocore"] == "ok" else None,
        "ratio_cold": summary([c / b for c, b in zip(cold, boto, strict=True)])
        if comparable
        else None,
        "ratio_warm": summary([w / b for w, b in zip(warm, boto, strict=True)])
        if comparable
        else None,
        "requests": requests,
    }


# -- off EC2: how long until "there is no instance metadata service" ----------


def _verdict_credpick() -> str:
    imds.clear_cache()
    detection = credpick.detect()
    if detection.error is not None:
        return type(detection.error).__name__
    return detection.chosen.kind.value if detection.chosen else "none"


def _verdict_botocore() -> str:
    credentials = boto3.Session().get_credentials()
    return "no credentials" if credentials is None else str(credentials.method)


def _timed_verdict(fn: Callable[[], str]) -> tuple[float, str]:
    start = time.perf_counter()
    verdict = fn()
    return (time.perf_counter() - start) * 1000, verdict


@contextlib.contextmanager
def _default_imds_endpoint(url: str) -> Iterator[None]:
    """credpick's default metadata address, moved for the off-EC2 runs only."""
    from credpick.sources import _imds_settings, imds

    saved = _imds_settings.MODES["ipv4"]
    _imds_settings.MODES["ipv4"] = url
    imds.clear_cache()
    try:
        yield
    finally:
        _imds_settings.MODES["ipv4"] = saved
        imds.clear_cache()


def bench_off_ec2(n_credpick: int, n_botocore: int) -> dict[str, Any]:
    endpoints: dict[str, Callable[[], contextlib.AbstractContextManager[str]]] = {
        "refused": lambda: contextlib.nullcontext(refusing_endpoint()),
        "packet drop": unroutable_endpoint,
        "no answer": silent_endpoint,
    }
    results: dict[str, Any] = {}
    for name, make in endpoints.items():
        with preserved_environ(), Simulation(), make() as url:
            os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
            # Each side's *default* address moves to the dead one: an endpoint set
            # explicitly is one credpick must reach, and it fails closed there.
            with _default_imds_endpoint(url + "/"):
                cp = [_timed_verdict(_verdict_credpick) for _ in range(n_credpick)]
            os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url
            bc = [_timed_verdict(_verdict_botocore) for _ in range(n_botocore)]
        cp_ms, bc_ms = summary([t for t, _ in cp]), summary([t for t, _ in bc])
        assert cp_ms is not None and bc_ms is not None
        results[name] = {
            "credpick_ms": cp_ms,
            "botocore_ms": bc_ms,
            "speedup": round(bc_ms["median"] / max(cp_ms["median"], 0.001), 1),
            "credpick_verdict": " / ".join(sorted({v for _, v in cp})),
            "botocore_verdict": " / ".join(sorted({v for _, v in bc})),
        }
    return results


# -- fresh processes: import cost and peak memory ------------------------------


#: Children keep compiled bytecode here: an installed package has its .pyc files,
#: but this checkout may run with PYTHONDONTWRITEBYTECODE=1, under which every
#: child would compile credpick from source (and boto3 never does).
_PYCACHE: dict[str, str] = {}


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env[ENV_FLAG] = "1"  # the child installs the socket guard at start-up
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SITE_DIR), str(ROOT / "src"), os.environ.get("PYTHONPATH")])
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if "dir" not in _PYCACHE:
        _PYCACHE["dir"] = tempfile.mkdtemp(prefix="credpick-bench-pyc-")
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE["dir"]
    return env


def _child(*args: str) -> tuple[dict[str, float], float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(CHILD), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_child_env(),
        check=False,
    )
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"benchmark child {args} failed: {tail[0]}")
    return json.loads(done.stdout), wall


def bench_imports(n: int) -> dict[str, Any]:
    boto3_only: list[float] = []
    boto3_wall: list[float] = []
    added: list[float] = []
    with_wall: list[float] = []
    lazy: list[float] = []
    with preserved_environ(), Simulation():
        for tool in ("boto3", "credpick", "credpick-lazy") if n > 1 else ():
            _child("imports", tool)  # compiles and caches the bytecode; not measured
        for _ in range(n):
            out, wall = _child("imports", "boto3")
            boto3_only.append(out["boto3_ms"])
            boto3_wall.append(wall)
            out, wall = _child("imports", "credpick")
            added.append(out["credpick_ms"])
            with_wall.append(wall)
            lazy.append(_child("imports", "credpick-lazy")[0]["credpick_ms"])
    boto3_ms, added_ms = summary(boto3_only), summary(added)
    assert boto3_ms is not None and added_ms is not None
    return {
        "boto3_ms": boto3_ms,
        "credpick_added_ms": added_ms,
        "credpick_lazy_ms": summary(lazy),
        "process_wall_boto3_ms": summary(boto3_wall),
        "process_wall_boto3_and_credpick_ms": summary(with_wall),
        "ratio": round((boto3_ms["median"] + added_ms["median"]) / boto3_ms["median"], 3),
    }


def bench_memory(sts: StsEmulator, n: int, kinds: tuple[str, ...]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in kinds:
        with preserved_environ(), Simulation(sts=sts) as sim:
            sim.use(kind)
            os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
            row: dict[str, Any] = {}
            for tool in TOOLS:
                rss = [_child("memory", tool)[0] for _ in range(n)]
                traced = _child("memory-traced", tool)[0]
                row[tool] = {
                    "ok": all(r["ok"] == 1.0 for r in rss),
                    "maxrss_mb": summary([r["maxrss_kb"] / 1024 for r in rss]),
                    "traced_peak_mb": round(traced["traced_peak_kb"] / 1024, 2),
                }
            cp, bc = row["credpick"]["maxrss_mb"], row["botocore"]["maxrss_mb"]
            row["rss_ratio"] = round(cp["median"] / bc["median"], 3)
            results[kind] = row
    return results


def run(quick: bool) -> dict[str, Any]:
    reps = _reps(quick)
    logging.getLogger("credpick").disabled = True  # the stray-key warnings are expected here
    report: dict[str, Any] = {"schema": SCHEMA, "quick": quick, "machine": machine()}
    report["repetitions"] = reps
    with SocketGuard() as guard, StsEmulator() as sts:
        with FaultyEndpoint(sts.url) as proxy:
            report["runtimes"] = {
                kind: bench_runtime(kind, sts, proxy, reps["runtime"]) for kind in RUNTIMES
            }
        report["off_ec2"] = bench_off_ec2(reps["off_ec2_credpick"], reps["off_ec2_botocore"])
        report["import"] = bench_imports(reps["imports"])
        kinds = MEMORY_RUNTIMES[:1] if quick else MEMORY_RUNTIMES
        report["memory"] = bench_memory(sts, reps["memory"], kinds)
        report["blocked_connections"] = list(guard.attempts)
    report["targets"] = targets(report)
    if "dir" in _PYCACHE:
        shutil.rmtree(_PYCACHE.pop("dir"), ignore_errors=True)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = run(args.quick)
    save(report, args.json, time.perf_counter() - started)
    print(header(report, "quick run" if args.quick else "full run"))
    print(table(report))
    return verdict(report, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
