"""One URL parser for every trust decision: the one the transport uses.

A check that parses a URL one way while the transport parses it another is a
bypass: ``http://10.0.0.1\\@127.0.0.1/`` is host 127.0.0.1 to ``urllib.parse``
and host 10.0.0.1 to urllib3, which connects. So every decision about where
a token may go is made on :func:`urllib3.util.parse_url`'s reading, and the
forms on which parsers disagree (backslashes, user info, percent signs or
whitespace in the authority) are refused outright rather than interpreted.
"""

from __future__ import annotations

import ipaddress
import re

import attrs
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

#: Longest URL credpick accepts for a credential endpoint.
MAX_LENGTH = 2048
#: http is allowed only to these hosts (and any loopback address): botocore's rule.
CONTAINER_HTTP_HOSTS = frozenset({"localhost", "169.254.170.2", "169.254.170.23", "fd00:ec2::23"})
ECS_AGENT = "169.254.170.2"

_PRINTABLE = re.compile(r"[\x21-\x7e]*")
# Where parsers disagree, or that no credential endpoint needs.
_AUTHORITY_REFUSED = {"@": "user info ('@')", "%": "a percent sign", "\\": "a backslash"}


class UrlRefused(Exception):
    """Why a URL is refused, in words that follow "it": ``"has no host"``.

    Internal: callers turn it into a candidate's reason or a SourceFailed.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class Url:
    """A URL as the transport reads it; ``host`` is lowercase, without brackets."""

    scheme: str
    host: str
    port: int | None
    path: str
    query: str | None = attrs.field(default=None, repr=False)  # may hold a token

    @property
    def display(self) -> str:
        """``scheme://host[:port]/path``: no user info, query or fragment."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = f"{host}:{self.port}" if self.port is not None else host
        return f"{self.scheme}://{netloc}{self.path}"

    @property
    def is_loopback(self) -> bool:
        """A loopback IP address (127.0.0.0/8, ::1) or ``localhost``."""
        if self.host == "localhost":
            return True
        ip = _ip(self.host)
        return ip is not None and ip.is_loopback


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse(url: object) -> Url:
    """Parse an http(s) URL strictly, as urllib3 will read it.

    Raises:
        UrlRefused: Not text, too long, not printable ASCII (whitespace and
            control characters included), a backslash anywhere, a scheme
            other than http or https, user info, a percent sign or an empty
            host in the authority, a port of 0, or a fragment.
    """
    if not isinstance(url, str) or not url:
        raise UrlRefused("is empty")
    if len(url) > MAX_LENGTH:
        raise UrlRefused(f"is over {MAX_LENGTH} characters")
    if not _PRINTABLE.fullmatch(url):
        raise UrlRefused("holds whitespace, control or non-ASCII characters")
    if "\\" in url:
        raise UrlRefused("holds a backslash, which parsers read differently")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise UrlRefused("is not an http or https URL")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    for char, what in _AUTHORITY_REFUSED.items():
        if char in authority:
            raise UrlRefused(f"holds {what} in its host part")
    if "#" in rest:
        raise UrlRefused("holds a fragment ('#')")
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise UrlRefused("cannot be parsed (a bad host or port)") from None
    host = (parsed.host or "").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise UrlRefused("has no host")
    if parsed.port == 0:
        raise UrlRefused("has port 0")
    return Url(
        scheme=(parsed.scheme or "").lower(),
        host=host,
        port=parsed.port,
        path=parsed.path or "",
        query=parsed.query,
    )


def container_url(url: object) -> Url:
    """A container credential endpoint, by botocore's rule.

    https goes anywhere; http only to a loopback address, ``localhost``, the
    ECS agent (169.254.170.2) or the EKS Pod Identity agent (169.254.170.23,
    fd00:ec2::23).

    Raises:
        UrlRefused: :func:`parse` refuses it, or it is http to another host.
    """
    parsed = parse(url)
    if parsed.scheme == "https" or parsed.is_loopback or _allowed_http_host(parsed.host):
        return parsed
    raise UrlRefused(
        f"uses http to host {parsed.host}, which botocore refuses (http is allowed only "
        "to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23)"
    )


def _allowed_http_host(host: str) -> bool:
    ip = _ip(host)
    return (ip.compressed if ip is not None else host) in CONTAINER_HTTP_HOSTS


def relative_container_path(path: object) -> str:
    """``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI``: a path on the ECS agent, only.

    botocore appends it to ``http://169.254.170.2``: ``@host/...`` would make
    ``host`` the endpoint, and ``//host/...`` a network-path reference.

    Raises:
        UrlRefused: It does not start with a single ``/``, or holds ``@``, a
            backslash, whitespace, control or non-ASCII characters.
    """
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise UrlRefused("does not start with a single '/' (it must be a path)")
    if not _PRINTABLE.fullmatch(path):
        raise UrlRefused("holds whitespace, control or non-ASCII characters")
    for char, what in (("@", "an '@'"), ("\\", "a backslash"), ("#", "a '#'")):
        if char in path:
            raise UrlRefused(f"holds {what}, which could change the host")
    full = parse(f"http://{ECS_AGENT}{path}")
    if full.host != ECS_AGENT or full.port is not None:  # defence in depth
        raise UrlRefused("does not stay on the ECS agent's address")
    return path


def display(url: str) -> str:
    """A URL for evidence: the transport's host, no user info, query or fragment.

    Lenient where :func:`parse` is strict (user info is dropped, not refused),
    but a URL on which parsers could disagree shows as ``(not a valid URL)``.
    """
    if not isinstance(url, str) or not _PRINTABLE.fullmatch(url) or "\\" in url:
        return "(not a valid URL)"
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return "(not a valid URL)"
    host = (parsed.host or "").lower().strip("[]")
    if not parsed.scheme or not host or "%" in host:
        return "(not a valid URL)"
    return Url(parsed.scheme.lower(), host, parsed.port, parsed.path or "").display
