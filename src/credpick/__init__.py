"""credpick: pick the safest AWS credentials a process can use."""

from ._context import Context, Timeouts
from ._detect import detect
from ._model import Candidate, Detection, SourceKind, Status
from ._policy import Policy
from ._session import session
from .exceptions import (
    ConfigurationError,
    CredpickError,
    NoCredentialsFound,
    PolicyViolation,
    SourceFailed,
    StaticKeysRefused,
)

__version__ = "0.1.0"

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
