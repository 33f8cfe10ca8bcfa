"""credpick: pick the safest AWS credentials a process can use.

Names are imported on first use (PEP 562), so ``import credpick`` costs next
to nothing until a process actually asks for credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _lazy
from .exceptions import (
    ConfigurationError,
    CredpickError,
    NoCredentialsFound,
    PolicyViolation,
    SourceFailed,
    StaticKeysRefused,
)

if TYPE_CHECKING:
    from ._context import Context, Timeouts
    from ._detect import detect
    from ._detection import Detection, Policy
    from ._kinds import SourceKind
    from ._link import Link, LinkKind
    from ._model import Candidate, Provenance, Root, RootKind, Status
    from ._request_guard import guard
    from ._role import AssumeRole
    from ._session import session
    from ._wrap import wrap

    # Compatibility: explicit re-exports (X as X), kept out of __all__.
    from .migrate import (
        AuditReport as AuditReport,
    )
    from .migrate import (
        Flag as Flag,
    )
    from .migrate import (
        IdKind as IdKind,
    )
    from .migrate import (
        KeyFinding as KeyFinding,
    )
    from .migrate import (
        ScanFinding as ScanFinding,
    )
    from .migrate import (
        ScanReport as ScanReport,
    )
    from .migrate import (
        audit as audit,
    )
    from .migrate import (
        render_audit as render_audit,
    )
    from .migrate import (
        render_scan as render_scan,
    )
    from .migrate import (
        scan as scan,
    )

__version__ = "0.1.0"

_LAZY = {
    "AssumeRole": "._role",
    "AuditReport": ".migrate",
    "Candidate": "._model",
    "Context": "._context",
    "Detection": "._detection",
    "Flag": ".migrate",
    "IdKind": ".migrate",
    "KeyFinding": ".migrate",
    "Policy": "._detection",
    "ScanFinding": ".migrate",
    "ScanReport": ".migrate",
    "Link": "._link",
    "LinkKind": "._link",
    "Provenance": "._model",
    "Root": "._model",
    "RootKind": "._model",
    "SourceKind": "._kinds",
    "Status": "._model",
    "Timeouts": "._context",
    "audit": ".migrate",
    "detect": "._detect",
    "guard": "._request_guard",
    "render_audit": ".migrate",
    "render_scan": ".migrate",
    "scan": ".migrate",
    "session": "._session",
    "wrap": "._wrap",
}

# What picking credentials needs. The migration toolkit's names (credpick.migrate)
# still resolve here, for compatibility, but are not part of this list.
__all__ = [
    "AssumeRole",
    "Candidate",
    "ConfigurationError",
    "Context",
    "CredpickError",
    "Detection",
    "Link",
    "LinkKind",
    "NoCredentialsFound",
    "Policy",
    "PolicyViolation",
    "Provenance",
    "Root",
    "RootKind",
    "SourceFailed",
    "SourceKind",
    "StaticKeysRefused",
    "Status",
    "Timeouts",
    "__version__",
    "detect",
    "guard",
    "session",
    "wrap",
]


# Hidden from type checkers: a module-level __getattr__ would type every name,
# typos included, as Any. They see the real imports under TYPE_CHECKING instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        return _lazy.attribute(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(__all__)
