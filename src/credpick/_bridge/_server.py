"""The container credential endpoint, on loopback only, for ``serve`` and ``exec``.

The protocol ECS and EKS Pod Identity speak: ``GET`` with the token in the
``Authorization`` header (raw, no scheme), answered with JSON ``AccessKeyId``,
``SecretAccessKey``, ``Token`` and ``Expiration``. Every SDK's container provider
reads it from ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and
``AWS_CONTAINER_AUTHORIZATION_TOKEN``.

Hostile clients are bounded: the request head must arrive whole within
``head_timeout`` seconds (a slow-loris trickling bytes is cut off at the deadline,
not per byte) and within ``MAX_HEAD`` bytes; at most ``max_clients`` connections
are served at once, and the rest are closed unanswered. Only the reply to an
authorised ``GET`` holds credentials; each request is logged, masked.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

from .._mask import shown
from ..exceptions import ConfigurationError, CredpickError
from ._pick import Current

log = logging.getLogger("credpick")

PATH = "/credpick/v1/credentials"
#: The request line and headers, at most; a longer head is refused with 431.
MAX_HEAD = 16 * 1024
HEAD_TIMEOUT = 5.0
MAX_CLIENTS = 32
#: Credentials with no expiry of their own (temporary keys from the environment)
#: are served as expiring this far ahead, stamped afresh on every request; the
#: client then asks again well before, as its refresh window says.
UNKNOWN_EXPIRY = dt.timedelta(hours=1)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


def loopback_host(host: str) -> str:
    """``host`` if it is a loopback IP address, else a ``ConfigurationError``."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigurationError(
            f"--host {host!r} is not a loopback address: the endpoint serves credentials "
            "to anyone who can reach it and holds the token",
            fix="use 127.0.0.1 (the default), or ::1; for docker see docs/bridge.md",
        )
    return host


def container_json(now: Current, clock: Callable[[], dt.datetime]) -> bytes:
    """The container protocol's reply for ``now``."""
    expiry = now.stamp or (clock() + UNKNOWN_EXPIRY).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "AccessKeyId": now.access_key,
        "SecretAccessKey": now.secret_key,
        "Token": now.token or "",
        "Expiration": expiry,
    }
    return json.dumps(doc).encode()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class _Closed(Exception):
    """The client went away, or sent nothing usable in time: close without a word."""


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: CredentialServer) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.owner._slots.acquire(blocking=False):  # too many at once: drop it
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner._slots.release()


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        owner = self.server.owner
        sock: socket.socket = self.request
        try:
            head = _read_head(sock, time.monotonic() + owner.head_timeout)
        except _Closed:
            return
        status, body, method, target = owner._answer(head)
        peer = self.client_address[0] if self.client_address else "?"
        _log_request(peer, method, target, status)
        reply = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{'Allow: GET' + chr(13) + chr(10) if status == 405 else ''}"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        ).encode("ascii") + body
        sock.settimeout(owner.head_timeout)
        try:
            sock.sendall(reply)
            _linger(sock, time.monotonic() + owner.head_timeout)
        except OSError:
            return


def _linger(sock: socket.socket, deadline: float) -> None:
    """Close gently: stop sending, then read and drop what the client still sends
    (bounded), so an unread request does not turn into a reset that loses the reply."""
    sock.shutdown(socket.SHUT_WR)
    dropped = 0
    while dropped <= 4 * MAX_HEAD and (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            return
        dropped += len(chunk)


def _read_head(sock: socket.socket, deadline: float) -> bytes | int:
    """The request head, or a status (408, 431) when it is late or too large."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return 408
        if len(data) > MAX_HEAD:
            return 431
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return 408
        except OSError as exc:
            raise _Closed from exc
        if not chunk:
            raise _Closed
        data += chunk
    end = data.index(b"\r\n\r\n")
    return bytes(data[:end]) if end <= MAX_HEAD else 431


def _log_request(peer: str, method: str, target: str, status: int) -> None:
    # The target without its query (which could carry anything), short and masked;
    # never a header: the token is in one.
    path = target.split("?", 1)[0][:80]
    log.info(
        "serve: %s %s from %s: %d", _printable(method[:10]), shown(_printable(path)), peer, status
    )


def _printable(text: str) -> str:
    """No control character from a client reaches a log line (a forged second line)."""
    return "".join(c if c.isprintable() and c != " " else "?" for c in text)


def _listen(host: str, port: int, owner: CredentialServer) -> _TCPServer:
    problem = None
    try:
        return _TCPServer((host, port), owner)
    except OSError as exc:  # in use, or not ours to take
        problem = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    raise ConfigurationError(
        f"cannot listen on {host} port {port}: {problem}",
        fix="choose another --port, or leave it out for a free one",
    )


class CredentialServer:
    """The endpoint, serving what ``source()`` returns on each authorised request.

    Args:
        source: Called on every authorised ``GET``: the credentials as they are now
            (botocore's refreshable credentials refresh themselves inside it).
        host: A loopback address to bind.
        port: The port; 0 picks a free one.
        token: The authorization token; a fresh ``secrets.token_urlsafe(32)`` by default.
    """

    def __init__(
        self,
        source: Callable[[], Current],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        head_timeout: float = HEAD_TIMEOUT,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self._source = source
        self._clock = clock
        self.token = token or secrets.token_urlsafe(32)
        self.head_timeout = head_timeout
        self._slots = threading.BoundedSemaphore(max_clients)
        self._tcp = _listen(loopback_host(host), port, self)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # never the token
        return f"CredentialServer(url={self.url!r})"

    @property
    def address(self) -> tuple[str, int]:
        """The address the socket is bound to."""
        host, port = self._tcp.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The full URI clients are given."""
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}{PATH}"

    def env(self) -> dict[str, str]:
        """The two variables that point a client's container provider here."""
        return {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.url,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": self.token,
        }

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called from another."""
        self._tcp.serve_forever(poll_interval=0.2)

    def start(self) -> CredentialServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="credpick-serve", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._tcp.shutdown()
            self._thread.join()
            self._thread = None
        self._tcp.server_close()

    def __enter__(self) -> CredentialServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, head: bytes | int) -> tuple[int, bytes, str, str]:
        """(status, body, method, target) for a request head."""
        if isinstance(head, int):
            return head, b"{}", "-", "-"
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return 400, b"{}", "-", "-"
        method, target = parts[0], parts[1]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                return 400, b"{}", method, target
            headers[name.strip().lower()] = value.strip()
        if method != "GET":
            return 405, b"{}", method, target
        if target.split("?", 1)[0] != PATH:
            return 404, b"{}", method, target
        given = headers.get("authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.token.encode()):
            return 401, b'{"message": "missing or wrong Authorization"}', method, target
        return self._credentials(method, target)

    def _credentials(self, method: str, target: str) -> tuple[int, bytes, str, str]:
        failure: CredpickError | None = None
        try:
            return 200, container_json(self._source(), self._clock), method, target
        except CredpickError as exc:  # a refresh failed, or the policy refused the new keys
            failure = exc
        reason = shown(failure.reason)
        log.warning("serve: cannot serve credentials: %s", reason)
        body = json.dumps({"code": "CredpickError", "message": reason}).encode()
        return 500, body, method, target
