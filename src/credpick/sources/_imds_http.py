"""A bounded HTTP client for the instance metadata service, and nothing else.

Every request has one deadline for the whole connect (name resolution, TCP and
TLS, in a worker thread: :mod:`credpick._connect`) and then one for the whole reply
(status line, headers and body), not for each socket read: an endpoint that
trickles one byte every half second cannot extend it. Every reply is capped,
so a huge one is refused after ``cap`` bytes instead of being read whole.
Redirects are never followed (``http.client`` does not follow them).

Failures are returned as values (:class:`Failure`), never raised: callers
build their own errors from its structured fields, outside any ``except``
block, and no reply body outlives the helper frame that read it.
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from .._connect import Connecting, is_address
from .._mask import display_url

#: Caps on what the metadata service may send back, in bytes.
TOKEN_CAP = 4096
ROLE_NAME_CAP = 64 + 2  # IAM's 64 characters, and a line ending
CREDENTIALS_CAP = 64 * 1024
REGION_CAP = 64 + 2

#: How a connection failed, for verdicts and messages.
REFUSED = "refused"
CONNECT_TIMEOUT = "connect-timeout"
RESET = "reset"
TLS = "tls"
TIMEOUT = "timeout"
TOO_LARGE = "too-large"
BROKEN = "broken"


@attrs.frozen
class Reply:
    """A complete reply within the deadline and the cap."""

    status: int
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class Failure:
    """Why a request got no complete reply.

    ``what`` is one of the constants above; ``cause`` says it in a few
    words, from structured facts only (an exception's type, a limit).
    """

    what: str
    cause: str
    endpoint: str

    @property
    def unreachable(self) -> bool:
        """Nothing answered: no TCP connection, or no TLS session."""
        return self.what in (REFUSED, CONNECT_TIMEOUT, TLS)

    @property
    def detail(self) -> str:
        return f"{display_url(self.endpoint)}: {self.cause}"


class _Deadline:
    """A socket whose every send and receive shares one deadline.

    ``http.client`` only sees ``sendall``, ``makefile`` and ``close``; each
    receive gets the time left, so the sum of the waits cannot pass it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = 0.0
        self._readers = 0
        self._closing = False

    def _arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("metadata request deadline")
        self._sock.settimeout(left)

    def sendall(self, data: bytes) -> None:
        self._arm()
        self._sock.sendall(data)

    def recv_into(self, buffer: Any) -> int:
        self._arm()
        # No size argument: a TLS socket reads 0 bytes when told 0.
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_Reader(self))

    def release(self) -> None:
        self._readers -= 1
        if self._closing and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        # As socket.socket does: http.client closes the connection while a
        # response it handed out still reads from it; close after that read.
        self._closing = True
        if self._readers <= 0:
            self._sock.close()

    def force_close(self) -> None:
        self._sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: _Deadline) -> None:
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.release()
        super().close()


def _describe(exc: BaseException, conn: Connection, connecting: bool) -> Failure:
    """A failure in words, from the exception's type only (never its message)."""
    name = type(exc).__name__
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        what, cause = TLS, f"TLS handshake failed ({name})"
    elif isinstance(exc, TimeoutError) and connecting:
        what, cause = CONNECT_TIMEOUT, f"no connection within {conn.connect_timeout} s"
    elif isinstance(exc, TimeoutError):
        what, cause = TIMEOUT, f"no complete reply within {conn.deadline} s"
    elif isinstance(exc, ConnectionRefusedError):
        what, cause = REFUSED, "connection refused"
    elif connecting:
        what, cause = REFUSED, f"cannot connect ({name})"
    elif isinstance(exc, ConnectionError | http.client.RemoteDisconnected):
        what, cause = RESET, f"connection dropped ({name})"
    else:
        what, cause = BROKEN, f"not a valid HTTP reply ({name})"
    return Failure(what, cause, conn.endpoint)


def _connect(conn: http.client.HTTPConnection, seconds: float) -> socket.socket:
    """Connect ``conn`` (resolution, TCP and TLS) within ``seconds`` in all, or
    raise ``TimeoutError``, which :func:`_describe` words as a connect timeout."""
    if not isinstance(conn, http.client.HTTPSConnection) and is_address(conn.host):
        conn.connect()  # plain TCP to an address: its socket timeout bounds it whole
        assert conn.sock is not None
        return conn.sock
    connecting = Connecting()
    create = socket.create_connection

    def created(*args: Any, **kwargs: Any) -> socket.socket:
        return connecting.adopt(create(*args, **kwargs))

    # http.client makes its socket through this attribute (since Python 3.4):
    # watched, a late handshake can be cut short. Without it, only closed late.
    if hasattr(conn, "_create_connection"):
        conn._create_connection = created

    def step() -> socket.socket:
        try:
            conn.connect()
        except BaseException:
            if conn.sock is not None:
                conn.sock.close()
            raise
        assert conn.sock is not None
        return conn.sock

    return connecting.run(seconds, step, lambda: TimeoutError("metadata connect deadline"))


class Connection:
    """One keep-alive connection to a metadata endpoint, reopened when closed.

    Args:
        endpoint: The base URL (``http://169.254.169.254/``).
        connect_timeout: Seconds for the whole connect: name resolution, the
            TCP and (over https) the TLS handshake.
        deadline: Seconds for each whole request once connected.
        attempts: Tries of each request. A reply of 5xx or 429 and a dropped
            connection are transient and tried again, at once.
        retry_timeouts: Try timeouts and connection failures again too (when
            ``metadata_service_num_attempts`` asked for it, as botocore does).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        connect_timeout: float,
        deadline: float,
        attempts: int = 1,
        retry_timeouts: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.deadline = deadline
        self.attempts = max(1, attempts)
        self.retry_timeouts = retry_timeouts
        self._conn: http.client.HTTPConnection | None = None
        self._sock: _Deadline | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._sock is not None:
            self._sock.force_close()  # even if a capped reply was left unread
        self._conn = self._sock = None

    def _open(self) -> Failure | None:
        try:
            parts = urlsplit(self.endpoint)
            https = parts.scheme == "https"
            cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
            # The port always explicit: http.client would read the last
            # ":254" of a bare IPv6 host ("fd00:ec2::254") as the port.
            port = parts.port or (443 if https else 80)
            conn = cls(parts.hostname or "", port, timeout=self.connect_timeout)
            sock = _connect(conn, self.connect_timeout)
        except (OSError, ValueError) as exc:
            return _describe(exc, self, connecting=True)
        self._sock = _Deadline(sock)
        conn.sock = self._sock
        self._conn = conn
        return None

    def request(
        self, method: str, path: str, headers: Mapping[str, str], *, cap: int
    ) -> Reply | Failure:
        """Send one request; the reply, or why there is none.

        A reply over ``cap`` bytes is a failure, and so is a reply that is
        not complete within the deadline. Each try has its own deadline, so
        the whole request ends within ``attempts`` of them.
        """
        outcome = self._once(method, path, headers, cap=cap)
        for _ in range(self.attempts - 1):
            if not self._transient(outcome):
                break
            outcome = self._once(method, path, headers, cap=cap)
        return outcome

    def _transient(self, outcome: Reply | Failure) -> bool:
        if isinstance(outcome, Reply):
            return outcome.status >= 500 or outcome.status == 429
        if outcome.what == RESET:
            return True
        return self.retry_timeouts and outcome.what in (TIMEOUT, CONNECT_TIMEOUT, REFUSED)

    def _once(
        self, method: str, path: str, headers: Mapping[str, str], *, cap: int
    ) -> Reply | Failure:
        if self._conn is None:
            failed = self._open()
            if failed is not None:
                return failed
        assert self._conn is not None and self._sock is not None
        self._sock.deadline = time.monotonic() + self.deadline
        outcome = self._exchange(self._conn, method, path, headers, cap)
        if isinstance(outcome, Failure) or self._conn.sock is None:
            self.close()  # a failed or closing connection is never reused
        return outcome

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        headers: Mapping[str, str],
        cap: int,
    ) -> Reply | Failure:
        too_large = Failure(TOO_LARGE, f"reply larger than {cap} bytes", self.endpoint)
        try:
            conn.request(method, path, headers=dict(headers))
            response = conn.getresponse()
            if response.length is not None and response.length > cap:
                return too_large
            body = response.read(cap + 1)
            if len(body) > cap:
                return too_large
            if not response.isclosed():
                conn.close()  # a reply not read to its end leaves the connection unusable
            return Reply(response.status, body)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return _describe(exc, self, connecting=False)
