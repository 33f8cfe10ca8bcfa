"""Render a detection for people (``explain``) and for machines (``to_dict``).

Candidates hold no secret by construction (masked key ids, variable names,
paths, role ARNs), so rendering them is safe.
"""

from __future__ import annotations

from typing import Any

from ._model import Detection, Status

_MARK = {
    Status.CHOSEN: "*",
    Status.AVAILABLE: "+",
    Status.IGNORED: "-",
    Status.REFUSED: "x",
    Status.FAILED: "!",
    Status.UNAVAILABLE: ".",
}


def explain(detection: Detection) -> str:
    """One screen: the verdict, then one line per candidate with its evidence."""
    lines = []
    chosen = detection.chosen
    if detection.error is not None:
        head = f"credpick: no session ({type(detection.error).__name__}): {detection.error.reason}"
    elif chosen is not None:
        head = f"credpick picked {chosen.kind.value} from {chosen.origin}: {chosen.reason}"
    else:
        head = "credpick: nothing picked"
    lines.append(head)
    if detection.error is not None and detection.error.fix:
        lines.append(f"  fix: {detection.error.fix}")
    if not detection.candidates:
        lines.append("  no credential source found")
    width = max((len(c.kind.value) for c in detection.candidates), default=0)
    for c in detection.candidates:
        lines.append(
            f"{_MARK[c.status]} {c.status.value:<11} {c.kind.value:<{width}}  rank {c.rank}"
            f"  {c.origin}: {c.reason}"
        )
        if c.evidence:
            lines.append(f"  {'':<11} {'':<{width}}  evidence: {'; '.join(c.evidence)}")
        if c.fix and c.status is not Status.CHOSEN:
            lines.append(f"  {'':<11} {'':<{width}}  fix: {c.fix}")
    return "\n".join(lines)


def to_dict(detection: Detection) -> dict[str, Any]:
    """JSON-safe dict; the shape is part of the public API."""
    error = detection.error
    return {
        "chosen": detection.chosen.kind.value if detection.chosen else None,
        "ok": detection.ok,
        "error": None
        if error is None
        else {
            "type": type(error).__name__,
            "kind": error.kind,
            "reason": error.reason,
            "fix": error.fix,
        },
        "policy": {
            "static_keys": detection.policy.static_keys,
            "allow_imdsv1": detection.policy.allow_imdsv1,
            "hook": detection.policy.hook is not None,
        },
        "candidates": [c.to_dict() for c in detection.candidates],
        "looked": list(detection.looked),
    }
