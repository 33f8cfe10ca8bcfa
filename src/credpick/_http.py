"""One bounded transport: botocore's own HTTP session, with a deadline and a size cap.

Socket timeouts bound each ``recv``, not a reply: an endpoint that trickles a
byte every half second never trips a 5 s read timeout. :class:`BoundedSession`
is botocore's ``URLLib3Session`` (its TLS verification, CA bundle and proxy
handling untouched) whose connections wrap their socket, after TLS, in
:class:`_DeadlineSocket`. During each ``send`` that wrapper lowers every read's
timeout to the time left until the deadline and counts the bytes read, so a
whole attempt (connect, headers and body) ends by ``Timeouts.http`` and never
reads more than its cap. The connect itself (name resolution, TCP, a proxy's
tunnel, the TLS handshake) runs in a worker thread (:mod:`credpick._connect`)
that the send waits for only until the same deadline.

It serves the STS, SSO and SSO-OIDC clients (:func:`bound_client`), the
container endpoint and GitHub's token endpoint (:func:`get`).
"""

from __future__ import annotations

import contextvars
import io
import socket
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import botocore.awsrequest
import botocore.exceptions as bex
import urllib3.exceptions
from botocore.httpsession import URLLib3Session

from ._connect import Connecting, is_address

#: Caps on a reply's body, in bytes: a container credentials document, an
#: STS / SSO / SSO-OIDC reply, GitHub's token reply.
CREDENTIALS_DOCUMENT = 64 * 1024
API_REPLY = 64 * 1024
GITHUB_TOKEN_REPLY = 64 * 1024
#: Room for the status line and headers on top of a body cap.
_HEAD_ROOM = 16 * 1024
#: Pause between attempts of :func:`get`: long enough to let a restarting
#: agent come back, short enough to keep a verdict within a few seconds.
PAUSE = 0.2


class ReplyTooLarge(Exception):
    """A reply (head and body) went past its cap; internal to this module."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the reply is over {cap} bytes")
        self.cap = cap


@attrs.define
class _Budget:
    deadline: float
    left: int
    cap: int

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ReplyTooLarge(self.cap)


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "credpick_http_budget", default=None
)


class _DeadlineSocket:
    """A connected socket whose reads stop at the current send's deadline and cap.

    Outside a bounded send (no budget) it behaves as the socket it wraps.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = sock.gettimeout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _arm(self) -> _Budget | None:
        budget = _BUDGET.get()
        if budget is None:
            return None
        left = budget.time_left()
        if left <= 0:
            raise TimeoutError("the deadline of this attempt has passed")
        self._sock.settimeout(left if self._timeout is None else min(left, self._timeout))
        return budget

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        budget = self._arm()
        data = self._sock.recv(bufsize, flags)
        if budget is not None:
            budget.take(len(data))
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        budget = self._arm()
        n = self._sock.recv_into(buffer, nbytes or len(buffer), flags)
        if budget is not None:
            budget.take(n)
        return n

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any) -> Any:
        # http.client reads the reply through makefile("rb"): make it read
        # through this wrapper, as socket.makefile would through the socket.
        if mode != "rb" or kwargs:
            sock: Any = self._sock
            return sock.makefile(mode, buffering, **kwargs)
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        self._sock._io_refs += 1  # type: ignore[attr-defined]  # as socket.makefile does
        if buffering == 0:
            return raw
        return io.BufferedReader(raw, buffering or io.DEFAULT_BUFFER_SIZE)


class _BoundedConnection:
    """Mixin for urllib3 connections: connect within the time left, then wrap.

    Within a bounded send the whole connect (name resolution, TCP, a proxy's
    ``CONNECT``, the TLS handshake) runs under :class:`~credpick._connect.Connecting`
    with the time left as its deadline; a late one is urllib3's own
    ``ConnectTimeoutError``, so botocore retries and words it as before.
    """

    timeout: Any
    sock: Any
    host: str
    _tunnel_host: str | None
    _credpick_tls = False
    _credpick_connecting: Connecting | None = None

    def connect(self) -> None:
        budget = _BUDGET.get()
        if budget is not None:
            left = max(budget.time_left(), 0.001)
            given = self.timeout
            self.timeout = min(given, left) if isinstance(given, int | float) else left
        self._credpick_connecting = None
        if budget is None or self._bounded_by_its_timeout():
            super().connect()  # type: ignore[misc]
            self.sock = _DeadlineSocket(self.sock)
            return
        # Kept after a late return: the worker may reach _new_conn only then.
        connecting = self._credpick_connecting = Connecting()
        sock = connecting.run(left, self._connect_step, lambda: self._late(left))
        self.sock = _DeadlineSocket(sock)

    def _bounded_by_its_timeout(self) -> bool:
        # Plain TCP to an address (no lookup, no tunnel, no TLS): the socket
        # timeout, at most the time left, bounds it whole. No worker needed.
        return not self._credpick_tls and not self._tunnel_host and is_address(self.host)

    def _connect_step(self) -> Any:
        try:
            super().connect()  # type: ignore[misc]
        except BaseException:
            _close(self.sock)  # a late or failed step leaves no socket open
            raise
        return self.sock

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        connecting = self._credpick_connecting
        return sock if connecting is None else connecting.adopt(sock)

    def _late(self, left: float) -> BaseException:
        # The words of urllib3's own connect timeout (``_new_conn``).
        return urllib3.exceptions.ConnectTimeoutError(
            self, f"Connection to {self.host} timed out. (connect timeout={left:.3g})"
        )


def _close(sock: Any) -> None:
    if sock is not None:
        sock.close()


class _HTTPConnection(_BoundedConnection, botocore.awsrequest.AWSHTTPConnection):  # type: ignore[misc]
    pass


class _HTTPSConnection(_BoundedConnection, botocore.awsrequest.AWSHTTPSConnection):  # type: ignore[misc]
    _credpick_tls = True


class _HTTPPool(botocore.awsrequest.AWSHTTPConnectionPool):  # type: ignore[misc]
    ConnectionCls = _HTTPConnection


class _HTTPSPool(botocore.awsrequest.AWSHTTPSConnectionPool):  # type: ignore[misc]
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class BoundedSession(URLLib3Session):  # type: ignore[misc]
    """botocore's HTTP session; each ``send`` ends by ``total`` seconds and reads
    at most ``cap`` bytes of body (plus room for the head).

    Args:
        total: Deadline of one send, connect and whole reply included.
        cap: Largest body accepted, in bytes.
        **kwargs: As ``URLLib3Session`` (``timeout=(connect, read)``, ``proxies``...).
    """

    def __init__(self, *, total: float, cap: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bound(total, cap)

    def _bound(self, total: float, cap: int) -> None:
        self._credpick_total = total
        self._credpick_cap = cap
        self._pool_classes_by_scheme = _POOLS
        self._manager.pool_classes_by_scheme = _POOLS
        for manager in self._proxy_managers.values():
            manager.pool_classes_by_scheme = _POOLS

    @classmethod
    def adopt(cls, session: URLLib3Session, *, total: float, cap: int) -> BoundedSession:
        """The same session (verify, CA bundle, proxies, client cert), bounded."""
        bounded = cls.__new__(cls)
        bounded.__dict__.update(session.__dict__)
        bounded._bound(total, cap)
        return bounded

    def send(self, request: Any) -> Any:
        budget = _Budget(
            time.monotonic() + self._credpick_total,
            self._credpick_cap + _HEAD_ROOM,
            self._credpick_cap,
        )
        token = _BUDGET.set(budget)
        try:
            response = super().send(request)
        finally:
            _BUDGET.reset(token)
        # The socket count stops a flood early; this makes the body cap exact.
        if not request.stream_output and len(response.content) > self._credpick_cap:
            raise bex.HTTPClientError(error=ReplyTooLarge(self._credpick_cap))
        return response


def bound_client(client: Any, *, total: float, cap: int = API_REPLY) -> Any:
    """Put a botocore client's requests on a :class:`BoundedSession`.

    botocore offers no hook for its HTTP session class, so the endpoint's
    session is replaced by a bounded copy of itself before any request.
    """
    # A private attribute since botocore's first release; read with a fallback so
    # a botocore that moves it keeps its per-operation timeouts instead of crashing.
    endpoint: Any = getattr(client, "_endpoint", None)
    session = getattr(endpoint, "http_session", None)
    if isinstance(session, URLLib3Session):
        endpoint.http_session = BoundedSession.adopt(session, total=total, cap=cap)
    return client


# -- one GET, tried a few times, that never raises ---------------------------------


@attrs.frozen
class Reply:
    """An HTTP answer; the body may hold credentials, so it is never shown."""

    status: int
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class Failure:
    """Why no answer came, from the error's type only (messages can quote a URL)."""

    reason: str
    retryable: bool


def describe(exc: BaseException) -> Failure:
    """A transport error, in words; retryable when a later try could work."""
    if isinstance(exc, bex.HTTPClientError) and isinstance(exc.kwargs.get("error"), ReplyTooLarge):
        return Failure(str(exc.kwargs["error"]), retryable=False)
    if isinstance(exc, bex.SSLError):
        return Failure("TLS failed", retryable=False)
    if isinstance(exc, bex.ConnectTimeoutError):
        return Failure("connect timed out", retryable=True)
    if isinstance(exc, bex.ReadTimeoutError):
        return Failure("no whole reply before the deadline", retryable=True)
    if isinstance(exc, bex.EndpointConnectionError):
        return Failure("connection refused", retryable=True)
    if isinstance(exc, bex.ConnectionClosedError):
        return Failure("connection closed or reset", retryable=True)
    return Failure(f"the request failed ({type(exc).__name__})", retryable=True)


def _once(session: BoundedSession, url: str, headers: Mapping[str, str]) -> Reply | Failure:
    request = botocore.awsrequest.AWSRequest(method="GET", url=url, headers=dict(headers))
    try:
        response = session.send(request.prepare())
        return Reply(int(response.status_code), bytes(response.content))
    except bex.BotoCoreError as exc:
        return describe(exc)


def get(
    session: BoundedSession,
    url: str,
    headers: Mapping[str, str],
    *,
    attempts: int,
    pause: float = PAUSE,
) -> Reply | Failure:
    """GET ``url`` up to ``attempts`` times; the last answer, or why none came.

    Tried again: a retryable failure, HTTP 429 and 5xx. Never raises (the
    headers may hold a token, and a raised error would keep this frame), and
    never follows a redirect: a 3xx is returned like any other answer.
    """
    result: Reply | Failure = Failure("not tried", retryable=False)
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        result = _once(session, url, headers)
        if isinstance(result, Reply) and result.status != 429 and result.status < 500:
            break
        if isinstance(result, Failure) and not result.retryable:
            break
    return result


def proxies_for(env: Mapping[str, str], url: str) -> dict[str, str]:
    """The ``HTTP(S)_PROXY`` for ``url`` from ``env`` (not ``os.environ``),
    unless ``NO_PROXY`` covers its host: what urllib and botocore would use."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    proxy = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY")
    if not proxy:
        return {}
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    host = rest.split("/", 1)[0]
    bypass: Callable[..., bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if no_proxy and bypass(host, {"no": no_proxy}):
        return {}
    return {scheme: proxy}
