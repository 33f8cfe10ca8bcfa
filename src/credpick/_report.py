"""Render decisions: for people (``explain``), for machines (``to_dict``), and
for the audit trail (one structured INFO record per decision).

Candidates hold no secret by construction (masked key ids, variable names,
paths, role ARNs), so rendering them is safe; audit fields are scrubbed again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from typing import Any

from ._mask import display_url, scrub
from ._model import Detection, Status

logger = logging.getLogger("credpick")

_MARK = {
    Status.CHOSEN: "*",
    Status.AVAILABLE: "+",
    Status.IGNORED: "-",
    Status.REFUSED: "x",
    Status.FAILED: "!",
    Status.UNAVAILABLE: ".",
}
_HEADERS = ("STATUS", "KIND", "RANK", "ORIGIN", "REASON")


# Anything shaped like a URL inside shown text: its user info, query and
# fragment may hold tokens, so it is shown through display_url.
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s;,'\"<>]+")


def shown(text: str) -> str:
    """``text`` with key ids masked and every URL in it as :func:`display_url` shows it."""
    return scrub(_URL.sub(lambda m: display_url(m.group(0)), text))


def _shown_all(value: Any) -> Any:
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list | tuple):
        return [_shown_all(v) for v in value]
    if isinstance(value, dict):
        return {k: _shown_all(v) for k, v in value.items()}
    return value


def _region_line(detection: Detection) -> str:
    if detection.region_source is None:
        return "region: none (set AWS_REGION, or pass region_name=)"
    if detection.region is None:
        return f"region: from {detection.region_source}, fetched when a client first needs it"
    return f"region: {detection.region} (from {detection.region_source})"


def explain(detection: Detection) -> str:
    """One screen: the verdict, the region, then a table with one row per
    candidate (the chosen one marked ``*``), each with its reason."""
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
    lines.extend(f"  then assumes {link.describe()}" for link in detection.chain)
    lines.append(_region_line(detection))
    if not detection.candidates:
        lines.append("  no credential source found")
        return shown("\n".join(lines))
    rows = [
        (c.status.value, c.kind.value, str(c.rank), c.origin, c.reason)
        for c in detection.candidates
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS[:-1])]
    indent = " " * (3 + widths[0] + 2)  # under KIND: long evidence keeps its width

    def row(mark: str, cells: tuple[str, ...]) -> str:
        fixed = "  ".join(v.ljust(w) for v, w in zip(cells[:-1], widths, strict=True))
        return f"{mark}  {fixed}  {cells[-1]}".rstrip()

    lines.append("")
    lines.append(row(" ", _HEADERS))
    for c, cells in zip(detection.candidates, rows, strict=True):
        lines.append(row(_MARK[c.status], cells))
        if c.evidence:
            lines.append(f"{indent}evidence: {'; '.join(c.evidence)}")
        lines.append(f"{indent}chain: {c.provenance.describe()}")
        if c.fix and c.status is not Status.CHOSEN:
            lines.append(f"{indent}fix: {c.fix}")
    return shown("\n".join(lines))


def to_dict(detection: Detection) -> dict[str, Any]:
    """JSON-safe dict; the shape is part of the public API."""
    error = detection.error
    shape = {
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
        "region": detection.region,
        "region_source": detection.region_source,
        "assume_role": [link.to_dict() for link in detection.chain],
        "candidates": [c.to_dict() for c in detection.candidates],
        "looked": list(detection.looked),
    }
    result: dict[str, Any] = _shown_all(shape)
    return result


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def audit(event: str, decision: str, message: str, fields: Mapping[str, Any]) -> None:
    """Log one decision at INFO on the ``credpick`` logger.

    The record carries ``extra={"credpick": {...}}``: ``event`` (``session``,
    ``wrap`` or ``guard``), ``decision``, and the given fields (kind, evidence,
    masked key id, role, expiry, region...). Callers pass no secret; every
    string is scrubbed of key ids again here, in case one slipped in.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    record: dict[str, Any] = {"event": event, "decision": decision}
    record.update({k: _clean(v) for k, v in fields.items() if v is not None and v != ()})
    logger.info("credpick %s: %s", event, shown(message), extra={"credpick": record})
