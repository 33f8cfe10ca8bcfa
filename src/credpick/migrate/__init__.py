"""credpick.migrate: find long-lived access keys and retire them.

The migration toolkit, apart from picking credentials: :func:`audit` lists the
account's IAM keys with their last use and a verdict each, :func:`scan` finds
key ids in files and the environment, and :func:`render_audit` and
:func:`render_scan` show their reports. The ``credpick audit`` and
``credpick scan`` commands run them (see ``docs/migration.md``).

Names are imported on first use (PEP 562), as in :mod:`credpick`.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _lazy

if TYPE_CHECKING:
    from ._audit import audit
    from ._audit_report import AuditReport, Flag, KeyFinding, render_audit
    from ._scan import IdKind, ScanFinding, ScanReport, render_scan, scan

_LAZY = {
    "AuditReport": "._audit_report",
    "Flag": "._audit_report",
    "IdKind": "._scan",
    "KeyFinding": "._audit_report",
    "ScanFinding": "._scan",
    "ScanReport": "._scan",
    "audit": "._audit",
    "render_audit": "._audit_report",
    "render_scan": "._scan",
    "scan": "._scan",
}

__all__ = [
    "AuditReport",
    "Flag",
    "IdKind",
    "KeyFinding",
    "ScanFinding",
    "ScanReport",
    "audit",
    "render_audit",
    "render_scan",
    "scan",
]


# Hidden from type checkers: a module-level __getattr__ would type every name,
# typos included, as Any. They see the real imports under TYPE_CHECKING instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        return _lazy.attribute(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(__all__)
