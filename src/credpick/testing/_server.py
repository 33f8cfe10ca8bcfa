"""Shared loopback HTTP server the endpoint emulators are built on."""

from __future__ import annotations

import contextlib
import enum
import json
import socket
import socketserver
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
from typing_extensions import Self

from credpick.testing._fakes import RecordedRequest

__all__ = ["Hang", "LoopbackServer", "Request", "Response", "json_response", "text_response"]

_LOOPBACK = "127.0.0.1"


class Hang(enum.Enum):
    """Returned by a route to hold the connection open without answering."""

    HANG = "hang"


@attrs.frozen
class Request:
    """What a route sees of an incoming request.

    ``headers`` has lower-cased names; ``query`` keeps the first value of each
    parameter.
    """

    method: str
    target: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=False)

    def header(self, name: str) -> str | None:
        """Return a header value by case-insensitive name, or None."""
        return self.headers.get(name.lower())


@attrs.frozen
class Response:
    """A complete HTTP reply; Content-Length is always set from ``body``."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


def text_response(status: int, body: str) -> Response:
    """Build a ``text/plain`` response.

    Args:
        status: HTTP status code.
        body: Text to send, UTF-8 encoded.

    Returns:
        The response.
    """
    return Response(status=status, body=body.encode())


def json_response(
    status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """Build an ``application/json`` response.

    Args:
        status: HTTP status code.
        payload: JSON-serialisable value.
        headers: Extra response headers.

    Returns:
        The response.
    """
    return Response(
        status=status,
        body=json.dumps(payload).encode(),
        content_type="application/json",
        headers=headers,
    )


class _Handler(BaseHTTPRequestHandler):
    # Without this every small reply waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server: _Httpd

    def log_message(self, format: str, *args: Any) -> None:
        """Stay silent; tests read ``LoopbackServer.requests`` instead."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        raw_headers = dict(self.headers.items())
        owner = self.server.owner
        owner._record(
            RecordedRequest(
                method=self.command,
                path=self.path,
                headers=raw_headers,
                client_address=str(self.client_address[0]),
            )
        )
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        request = Request(
            method=self.command,
            target=self.path,
            path=split.path,
            query=MappingProxyType(query),
            headers=MappingProxyType({k.lower(): v for k, v in raw_headers.items()}),
            body=body,
        )
        try:
            reply = owner._handle(request)
        except Exception as exc:  # a bug in a route should fail the client, not the thread
            reply = text_response(500, f"emulator error: {type(exc).__name__}")
        if reply is Hang.HANG:
            owner._wait_released()
            self.close_connection = True
            return
        head = self.command == "HEAD"
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        # A HEAD reply may carry the length of the body it does not send.
        if not (head and any(n.lower() == "content-length" for n, _ in reply.headers)):
            self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(reply.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _dispatch


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default queue of 5 overflows on a burst of connects; Linux
    # then drops SYNs and clients wait a 1 s retransmit, which no real endpoint does.
    request_queue_size = 128

    def __init__(self, owner: LoopbackServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((_LOOPBACK, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that
        # can take seconds on some hosts; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = _LOOPBACK
        self.server_port = int(self.server_address[1])

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        # Clients that give up (timeouts) or a stop() mid-reply are expected.
        pass

    def close_connections(self) -> None:
        """Unblock keep-alive handlers so their threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class LoopbackServer:
    """An HTTP server on 127.0.0.1 with an ephemeral port and a request log.

    Subclasses implement ``_handle``; the server runs on daemon threads and
    :meth:`stop` never waits on a handler that is deliberately hanging.
    """

    #: Upper bound, in seconds, for how long a hanging route holds a connection.
    hang_timeout: float = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._httpd: _Httpd | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "not running"
        return f"{type(self).__name__}({where})"

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 on an ephemeral port and serve in a daemon thread.

        Returns:
            This server, so ``emu = ImdsEmulator().start()`` works.

        Raises:
            RuntimeError: If the server is already running.
        """
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._release = threading.Event()
        httpd = _Httpd(self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # keeps shutdown() fast
            name=f"credpick-{type(self).__name__}",
            daemon=True,
        )
        thread.start()
        self._httpd, self._thread = httpd, thread
        return self

    def stop(self) -> None:
        """Stop serving, release hanging handlers and close every connection.

        Safe to call twice or on a server that never started.
        """
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        self._release.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` was not."""
        return self._httpd is not None

    # -- addresses ---------------------------------------------------------

    @property
    def host(self) -> str:
        """Always ``127.0.0.1``."""
        return _LOOPBACK

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not running; call start() first")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:43210``."""
        return f"http://{self.host}:{self.port}"

    # -- request log -------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Restore the state given to the constructor and clear the log.

        Credentials are re-issued with the constructor's lifetime, so a reset
        emulator never serves credentials that expired in an earlier test.
        """
        with self._lock:
            self._requests.clear()
            self._reset_state()

    # -- subclass hooks ----------------------------------------------------

    def _reset_state(self) -> None:
        """Restore subclass state; called with ``self._lock`` held."""

    def _handle(self, request: Request) -> Response | Hang:
        raise NotImplementedError

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    def _wait_released(self) -> None:
        self._release.wait(self.hang_timeout)
