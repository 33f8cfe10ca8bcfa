"""Redact botocore's and urllib3's log records while credpick drives them.

At DEBUG, botocore logs whole requests and replies: STS's XML (secret key,
session token), the SSO portal's JSON, the web identity token in the
``AssumeRoleWithWebIdentity`` form body, bearer and authorization headers,
canonical requests and signatures. :func:`boundary` marks the code where
credpick loads or refreshes credentials; every record a watched logger makes
inside it has its secrets replaced by ``<redacted>`` before any handler or
filter sees it.

The mechanism is a wrapper around the log record factory
(:func:`logging.setLogRecordFactory`): a filter on the ``botocore`` logger
never sees records of ``botocore.endpoint`` or ``botocore.auth`` (filters run
only on the logger that emits), and filters on every child logger would miss
loggers created later. The factory makes every record, for every logger and
every handler. It acts only in a context (a :class:`contextvars.ContextVar`)
that is inside the boundary, so other threads' records are left alone; it is
installed when the first boundary opens and removed when the last one closes.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

from . import _envvars as ev
from . import _safe_io
from ._mask import scrub

if TYPE_CHECKING:
    from ._context import Context

REDACTED = "<redacted>"
#: Loggers whose records are redacted inside the boundary.
WATCHED = ("botocore", "urllib3", "boto3", "s3transfer", "aiobotocore", "aiohttp")
_MIN_KNOWN = 8  # shorter "secrets" would redact ordinary words

# Field names that carry a secret, in every spelling the wire formats use:
# STS XML, SSO/container/IMDS JSON, form bodies, header dicts, canonical requests.
_KEY = (
    r"(?:aws_)?secret_?access_?key|(?:aws_)?session_?token|x-amz-security-token"
    r"|security_?token|web_?identity_?token|access_?token|refresh_?token|client_?secret"
    r"|id_?token|x-amz-sso_bearer_token|x-aws-ec2-metadata-token|x-amz-signature"
    r"|x-amz-credential|signature|authorization(?:_?token)?|password|token"
)
# Not inside a longer word, but right after an escaped newline ("\\r\\nToken:") too.
_FIELD = rf"(?:(?<![A-Za-z0-9])|(?<=\\[nrt]))(?P<k>{_KEY})(?![A-Za-z0-9])"
_NORMALISED = re.compile(r"[-_]")
_SECRET_NAMES = frozenset(
    _NORMALISED.sub("", name.lower())
    for name in (
        "SecretAccessKey",
        "SessionToken",
        "Token",
        "accessToken",
        "refreshToken",
        "clientSecret",
        "idToken",
        "WebIdentityToken",
        "Authorization",
        "AuthorizationToken",
        "Password",
        "x-amz-security-token",
        "x-amz-sso_bearer_token",
        "x-aws-ec2-metadata-token",
        "X-Amz-Signature",
        "Signature",
        "aws_secret_access_key",
        "aws_session_token",
    )
)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    # Compiled on first use, not at import: these four take about 3 ms to
    # compile, and most processes never redact a record.
    return (
        # <SecretAccessKey>...</SecretAccessKey>
        re.compile(rf"(?P<head><{_FIELD}(?:\s[^>]*)?>)(?P<v>[^<]+)", re.I),
        # "Token": "..." and 'Authorization': b'...', also JSON escaped inside a string
        re.compile(
            rf"(?P<head>{_FIELD}\\*[\"']?\s*[:=]\s*b?(?P<q>\\*[\"']))(?P<v>.*?)(?P<tail>(?P=q))",
            re.I,
        ),
        # the same, cut short by a truncated reply: an opening quote, no closing one
        re.compile(
            rf"(?P<head>{_FIELD}\\*[\"']?\s*[:=]\s*b?\\*[\"'])(?P<v>[^\s\"'\\<>&,;]+)", re.I
        ),
        # x-amz-security-token:VALUE (canonical headers), WebIdentityToken=VALUE&,
        # Authorization: Bearer VALUE, Signature:\nHEX
        re.compile(
            rf"(?P<head>{_FIELD}\s*[:=]\s*)"
            r"(?P<v>(?:(?:Bearer|Basic|AWS4-HMAC-SHA256)\s+)?[^\s\"'\\<>&,;)}\]]+)",
            re.I,
        ),
    )


def _sub(match: re.Match[str]) -> str:
    if match.group("v") == REDACTED:
        return match.group(0)
    return match.group("head") + REDACTED + (match.groupdict().get("tail") or "")


# The user info of a URL ("http://user:password@host/"), which botocore quotes
# in its connection errors.
# Compiled on first use, as _patterns(): only a record or reply being redacted needs it.
@functools.cache
def _userinfo() -> re.Pattern[str]:
    return re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@\"'<>]*@")


def redact_text(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with secret fields, URL user info, the ``known`` values and key ids masked."""
    for value in sorted({k for k in known if len(k) >= _MIN_KNOWN}, key=len, reverse=True):
        for form in {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}:
            text = text.replace(form, REDACTED)
    for pattern in _patterns():
        text = pattern.sub(_sub, text)
    if "@" in text:
        text = _userinfo().sub(rf"\g<scheme>{REDACTED}@", text)
    return scrub(text)


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED
            if isinstance(k, str) and _NORMALISED.sub("", k.lower()) in _SECRET_NAMES
            else _redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


@functools.cache
def _form() -> re.Pattern[bytes]:
    return re.compile(rb"[\w.~%+\-]+=[\w.~%+\-]*(?:&[\w.~%+\-]+=[\w.~%+\-]*)*")


def redact_body(body: bytes, known: Iterable[str] = ()) -> bytes:
    """A reply or request body, redacted: JSON by field, XML and forms by
    pattern; anything else cannot be parsed, so only its size is kept."""
    text = body.decode("utf-8", "replace")
    stripped = body.strip()
    if stripped.startswith((b"{", b"[")):
        with contextlib.suppress(ValueError):  # truncated JSON: the patterns still apply
            text = json.dumps(_redact_json(json.loads(text)))
    elif not (stripped.startswith(b"<") or _form().fullmatch(stripped) or not stripped):
        return f"<{len(body)} bytes withheld: not JSON, XML or a form>".encode()
    return redact_text(text, known).encode()


class _Scope:
    """The values credpick knows are secret, for one boundary (and those nested in it)."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def add(self, values: Iterable[object]) -> None:
        self.known.update(v for v in values if isinstance(v, str) and len(v) >= _MIN_KNOWN)


_ACTIVE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "credpick_redact", default=None
)
_lock = threading.Lock()
_users = 0
_installed = False
_previous: Callable[..., logging.LogRecord] = logging.LogRecord


def _arg(value: object, known: set[str]) -> object:
    # A body is redacted as a body; anything else by the text it formats to.
    return redact_body(bytes(value), known) if isinstance(value, bytes | bytearray) else value


def _redact(record: logging.LogRecord, scope: _Scope) -> None:
    known = scope.known
    try:
        args = record.args
        if isinstance(args, tuple) and args:
            message = str(record.msg) % tuple(_arg(a, known) for a in args)
        else:
            message = record.getMessage()
    except Exception:  # the handler would have failed too; keep the template only
        message = f"{record.msg!s} (arguments withheld: they could not be formatted)"
    record.msg, record.args = redact_text(message, known), ()
    if record.exc_info:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_info, record.exc_text = None, redact_text(text, known)


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _previous(*args, **kwargs)
    scope = _ACTIVE.get()
    if scope is not None and record.name.startswith(WATCHED):
        _redact(record, scope)
    return record


def _install() -> None:
    global _users, _installed, _previous
    with _lock:
        _users += 1
        if not _installed:
            _previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_factory)
            _installed = True


def _uninstall() -> None:
    global _users, _installed
    with _lock:
        _users -= 1
        # Someone may have wrapped the factory since: then ours stays in their
        # chain, inert outside a boundary, and is not installed twice.
        if _users == 0 and logging.getLogRecordFactory() is _factory:
            logging.setLogRecordFactory(_previous)
            _installed = False


def remember(*values: object) -> None:
    """Add values to redact wherever they appear, in the current boundary."""
    scope = _ACTIVE.get()
    if scope is not None:
        scope.add(values)


def active() -> bool:
    """Whether this context is inside a boundary."""
    return _ACTIVE.get() is not None


@contextlib.contextmanager
def boundary(known: Iterable[object] = ()) -> Iterator[None]:
    """Redact watched loggers' records made in this context until the block ends.

    Args:
        known: Secret values credpick already holds (a token read from a
            file, the previous credentials); redacted in any form.
    """
    scope = _ACTIVE.get() or _Scope()  # a nested boundary shares its outer scope
    scope.add(known)
    token = _ACTIVE.set(scope)
    _install()
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        _uninstall()


def credentials_secrets(credentials: Any) -> tuple[object, ...]:
    """The secret key and token of botocore credentials, without refreshing them."""
    return tuple(
        getattr(credentials, name, None)
        for name in ("_secret_key", "_token", "secret_key", "token")
        if name in getattr(credentials, "__dict__", {})
    )


_SECRET_VARIABLES = (
    ev.SECRET_ACCESS_KEY,
    ev.SESSION_TOKEN,
    ev.LEGACY_SECRET_KEY,
    ev.LEGACY_SECURITY_TOKEN,
    ev.CONTAINER_AUTH_TOKEN,
    ev.GITHUB_TOKEN_REQUEST_TOKEN,
)
_TOKEN_FILES = (
    (ev.WEB_IDENTITY_TOKEN_FILE, _safe_io.WEB_IDENTITY_TOKEN),
    (ev.CONTAINER_AUTH_TOKEN_FILE, _safe_io.HEADER_TOKEN),
)


def context_secrets(ctx: Context) -> list[str]:
    """The secrets a context holds: secret variables and the token files' contents.

    Read on every load and refresh, as botocore reads them: the files rotate.
    A file that cannot be read is skipped; the source reports it.
    """
    found = [v for name in _SECRET_VARIABLES if (v := ctx.get(name))]
    for name, limit in _TOKEN_FILES:
        if path := ctx.get(name):
            try:
                found.append(_safe_io.read_text(path, limit=limit).strip())
            except (_safe_io.FileProblem, ValueError):
                continue
    return found
