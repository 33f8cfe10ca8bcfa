"""Render decisions: for people (``explain``), for machines (``to_dict``), and
for the audit trail (one structured INFO record per decision).

Candidates hold no secret by construction (masked key ids, variable names,
paths, role ARNs), so rendering them is safe; audit fields are scrubbed again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from ._detection import explain, to_dict
from ._mask import shown

__all__ = ["audit", "explain", "shown", "to_dict"]  # explain, shown, to_dict: compatibility

logger = logging.getLogger("credpick")


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
