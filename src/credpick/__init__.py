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
    from ._context import Context, Timeouts
    from ._detect import detect
    from ._model import Candidate, Detection, SourceKind, Status
    from ._policy import Policy
    from ._session import session

__version__ = "0.1.0"

_LAZY = {
    "Candidate": "._model",
    "Context": "._context",
    "Detection": "._model",
    "Policy": "._policy",
    "SourceKind": "._model",
    "Status": "._model",
    "Timeouts": "._context",
    "detect": "._detect",
    "session": "._session",
}

__all__ = [
    "Candidate",
    "ConfigurationError",
    "Context",
    "CredpickError",
    "Detection",
    "NoCredentialsFound",
    "Policy",
    "PolicyViolation",
    "SourceFailed",
    "SourceKind",
    "StaticKeysRefused",
    "Status",
    "Timeouts",
    "__version__",
    "detect",
    "session",
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
