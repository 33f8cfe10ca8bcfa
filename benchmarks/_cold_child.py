"""One cold start, measured from inside: benchmarks/coldstart.py runs it fresh each time.

    python benchmarks/_cold_child.py TOOL

TOOL is ``credpick`` (``import credpick; credpick.session()...``), ``botocore``
(``import boto3; boto3.Session()...``), ``botocore+attrs`` (the same, after
``import attrs``) or ``bare`` (nothing: the interpreter alone). Prints one
JSON object: phase times, garbage collections per generation (and their
time), peak RSS. Never a credential value.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # the script's first line: the interpreter is up

import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

_GC_MS = [0.0, 0.0, 0.0]
_GC_START: list[float] = []


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    # Time each collection, per generation: a full (gen 2) one on the path is
    # the cost botocore's own process may never pay.
    if phase == "start":
        _GC_START.append(time.perf_counter())
    elif _GC_START:
        _GC_MS[info["generation"]] += (time.perf_counter() - _GC_START.pop()) * 1000


gc.callbacks.append(_on_gc)


def _vm_hwm_kb() -> float | None:
    """``VmHWM``: Linux carries ``ru_maxrss`` over ``exec``, so a child may
    report its parent's peak there; this one is the process's own."""
    try:
        # UTF-8, not ASCII: its codec is loaded already, so this read adds no
        # import to what -X importtime counts as the session's.
        with open("/proc/self/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def _log_every_import() -> None:
    """Under ``-X importtime``, route ``importlib.import_module`` through the
    import statement's path, which that log sees; the functional form bypasses
    it, so the source modules credpick's registry loads by name were missing
    from the import share. Same modules, same order: only the route differs."""
    import importlib
    import importlib.util

    def import_module(name: str, package: str | None = None) -> Any:
        full = importlib.util.resolve_name(name, package) if name.startswith(".") else name
        __import__(full)
        return sys.modules[full]

    importlib.import_module = import_module


if sys._xoptions.get("importtime"):
    _log_every_import()


_DETECT_MS: list[float] = []
#: Collections per generation once the first credentials are in hand.
_AFTER_FIRST: list[int] = []


def _credpick() -> tuple[Any, float, float]:
    import credpick
    from credpick import _session

    t_import = time.perf_counter()
    # Time detection apart from the build, for the profile: the wrapper costs
    # two clock reads.
    detect = _session.detect

    def timed_detect(**kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return detect(**kwargs)
        finally:
            _DETECT_MS.append((time.perf_counter() - start) * 1000)

    _session.detect = timed_detect
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    t_first = time.perf_counter()
    _AFTER_FIRST.extend(s["collections"] for s in gc.get_stats())
    credpick.session().get_credentials().get_frozen_credentials()
    return frozen, t_import, t_first


def _botocore(with_attrs: bool) -> tuple[Any, float, float]:
    import boto3

    if with_attrs:
        import attrs  # noqa: F401
    t_import = time.perf_counter()
    frozen = boto3.Session().get_credentials().get_frozen_credentials()
    t_first = time.perf_counter()
    _AFTER_FIRST.extend(s["collections"] for s in gc.get_stats())
    boto3.Session().get_credentials().get_frozen_credentials()
    return frozen, t_import, t_first


def main(tool: str) -> dict[str, Any]:
    if tool == "bare":
        frozen = None
        t_boto3 = t_import = t_first = t_second = time.perf_counter()
    else:
        import boto3  # noqa: F401 - both sides pay it first, timed apart

        t_boto3 = time.perf_counter()
        if tool == "credpick":
            frozen, t_import, t_first = _credpick()
        else:
            frozen, t_import, t_first = _botocore(with_attrs=tool == "botocore+attrs")
        t_second = time.perf_counter()
    stats = gc.get_stats()
    return {
        "ok": tool == "bare" or bool(frozen and frozen.access_key),
        "script_ms": (t_second - T0) * 1000,
        "boto3_ms": (t_boto3 - T0) * 1000,
        "import_ms": (t_import - t_boto3) * 1000,  # credpick's modules, or attrs
        "first_ms": (t_first - t_import) * 1000,  # first session to frozen credentials
        "second_ms": (t_second - t_first) * 1000,  # a second one, same process
        "detect_ms": _DETECT_MS[:1],  # credpick's first detection (in first_ms)
        "gc_collections": [s["collections"] for s in stats],
        "gc_ms": [round(ms, 3) for ms in _GC_MS],
        "gc_collections_first": _AFTER_FIRST or [0, 0, 0],
        "ru_maxrss_kb": float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "vm_hwm_kb": _vm_hwm_kb(),
        "modules": sorted(
            m for m in sys.modules if m.split(".")[0] in ("credpick", "attr", "attrs")
        ),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
