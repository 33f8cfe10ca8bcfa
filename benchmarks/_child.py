"""What benchmarks/run.py measures in fresh processes: import cost and memory.

Run as ``python benchmarks/_child.py MODE [TOOL]``; prints one JSON object.
The parent starts it with credpick's socket guard on (``CREDPICK_SOCKET_GUARD``),
and, for ``memory``, inside an emulated runtime whose variables it inherits.
No credential value is ever printed.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def imports(tool: str) -> dict[str, float]:
    """Milliseconds to import boto3, then (for credpick) everything credpick loads."""
    t0 = time.perf_counter()
    import boto3  # noqa: F401

    t1 = time.perf_counter()
    out = {"boto3_ms": (t1 - t0) * 1000}
    if tool == "credpick-lazy":
        import credpick

        out["credpick_ms"] = (time.perf_counter() - t1) * 1000
    elif tool == "credpick":
        # What a process that calls credpick.session() ends up importing.
        import credpick
        import credpick.sources

        credpick.session  # noqa: B018 - loads the lazy names
        credpick.detect  # noqa: B018
        out["credpick_ms"] = (time.perf_counter() - t1) * 1000
    return out


def _peak_rss_kb() -> float:
    """This process's peak resident set size.

    ``VmHWM`` rather than ``getrusage``: Linux carries ``ru_maxrss`` over
    ``exec``, so a child would report its parent's peak if that was higher.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def memory(tool: str, trace: bool) -> dict[str, float]:
    """Peak memory of a process that imports, then gets usable credentials."""
    if trace:
        import tracemalloc

        tracemalloc.start()
    import boto3

    if tool == "credpick":
        import credpick

        credentials = credpick.session().get_credentials()
    else:
        credentials = boto3.Session().get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    out: dict[str, float] = {
        "ok": float(frozen is not None and bool(frozen.access_key)),
        "maxrss_kb": _peak_rss_kb(),
    }
    if trace:
        out["traced_peak_kb"] = tracemalloc.get_traced_memory()[1] / 1024
    return out


def main(argv: list[str]) -> int:
    mode, tool = argv[0], argv[1]
    if mode == "imports":
        result = imports(tool)
    elif mode in ("memory", "memory-traced"):
        result = memory(tool, trace=mode == "memory-traced")
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
