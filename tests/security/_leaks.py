"""Where a secret could hide after an error, and one check that looks in all of them.

Error trackers walk ``__cause__`` and ``__context__``, record the locals of
every frame in the traceback, and pickle errors across processes; ``pytest -l``
prints those locals. A marker secret must be in none of them.
"""

from __future__ import annotations

import logging
import pickle
import traceback
from collections.abc import Iterator
from types import TracebackType

from tests.helpers import MARKERS

# Markers for the secrets that are not access keys. Each is a legal header
# value, so it travels exactly as a real token would.
WEB_IDENTITY_TOKEN = "MARKER-WEBID-eyJhbGciOiJSUzI1NiJ9.payload.sig"
BEARER_TOKEN = "MARKER-BEARER-request-token-77aa"
AUTHORIZATION_TOKEN = "MARKER-AUTHZ-container-token-5c5c"
SSO_ACCESS_TOKEN = "MARKER-SSO-access-token-1b1b"
SSO_CLIENT_SECRET = "MARKER-SSO-client-secret-2c2c"
SSO_REFRESH_TOKEN = "MARKER-SSO-refresh-token-3d3d"
PROCESS_OUTPUT = "MARKER-PROCESS-stderr-4e4e"
ALL_MARKERS = (
    *MARKERS,
    WEB_IDENTITY_TOKEN,
    BEARER_TOKEN,
    AUTHORIZATION_TOKEN,
    SSO_ACCESS_TOKEN,
    SSO_CLIENT_SECRET,
    SSO_REFRESH_TOKEN,
    PROCESS_OUTPUT,
)


def chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and every error reachable through ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]


def _frames(tb: TracebackType | None) -> Iterator[str]:
    while tb is not None:
        for name, value in tb.tb_frame.f_locals.items():
            try:
                yield f"{name}={value!r}"
            except Exception:  # a repr that fails is no leak
                continue
        tb = tb.tb_next


def surfaces(exc: BaseException) -> list[str]:
    """Every text an error tracker could record about ``exc``."""
    texts = []
    for e in chain(exc):
        texts.append(str(e))
        texts.append(repr(e))
        texts.extend(str(a) for a in e.args)
        texts.extend(_frames(e.__traceback__))
        for field in ("reason", "evidence", "fix", "attempts", "kind"):
            texts.append(repr(getattr(e, field, None)))
    texts.append("".join(traceback.format_exception(exc)))
    try:
        texts.append(repr(pickle.loads(pickle.dumps(exc))))
    except Exception as pickling:  # an unpicklable error is a bug of its own
        texts.append(f"unpicklable: {pickling!r}")
    return texts


def leaks(texts: list[str], markers: tuple[str, ...] = ALL_MARKERS) -> list[str]:
    """The markers found in any of ``texts``."""
    return sorted({m for m in markers for t in texts if m in t})


def assert_clean_error(exc: BaseException, markers: tuple[str, ...] = ALL_MARKERS) -> None:
    """No marker in the error, its chain, its frames' locals, its traceback or its pickle."""
    found = leaks(surfaces(exc), markers)
    assert not found, f"{found} leaked from {type(exc).__name__}: {exc}"


class Records(logging.Handler):
    """Collects every record of every logger, formatted as a DEBUG handler would."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.__dict__))
