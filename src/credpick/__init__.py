"""credpick: pick the safest AWS credentials a process can use.

Names are imported on first use (PEP 562), so ``import credpick`` costs next
to nothing until a process actually asks for credentials.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import (
    ConfigurationError,
    CredpickError,
    NoCredentialsFound,
    PolicyViolation,
    SourceFailed,
    StaticKeysRefused,
)

if TYPE_CHECKING:
    from ._audit import audit
    from ._audit_report import AuditReport, Flag, KeyFinding, render_audit
    from ._chain import AssumeRole
    from ._context import Context, Timeouts
    from ._detect import detect
    from ._model import Candidate, Detection, SourceKind, Status
    from ._policy import Policy
    from ._request_guard import guard
    from ._scan import IdKind, ScanFinding, ScanReport, render_scan, scan
    from ._session import session
    from ._wrap import wrap

__version__ = "0.1.0"

_LAZY = {
    "AssumeRole": "._chain",
    "AuditReport": "._audit_report",
    "Candidate": "._model",
    "Context": "._context",
    "Detection": "._model",
    "Flag": "._audit_report",
    "IdKind": "._scan",
    "KeyFinding": "._audit_report",
    "Policy": "._policy",
    "ScanFinding": "._scan",
    "ScanReport": "._scan",
    "SourceKind": "._model",
    "Status": "._model",
    "Timeouts": "._context",
    "audit": "._audit",
    "detect": "._detect",
    "guard": "._request_guard",
    "render_audit": "._audit_report",
    "render_scan": "._scan",
    "scan": "._scan",
    "session": "._session",
    "wrap": "._wrap",
}

__all__ = [
    "AssumeRole",
    "AuditReport",
    "Candidate",
    "ConfigurationError",
    "Context",
    "CredpickError",
    "Detection",
    "Flag",
    "IdKind",
    "KeyFinding",
    "NoCredentialsFound",
    "Policy",
    "PolicyViolation",
    "ScanFinding",
    "ScanReport",
    "SourceFailed",
    "SourceKind",
    "StaticKeysRefused",
    "Status",
    "Timeouts",
    "__version__",
    "audit",
    "detect",
    "guard",
    "render_audit",
    "render_scan",
    "scan",
    "session",
    "wrap",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'credpick' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
