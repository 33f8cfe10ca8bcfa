"""A loopback endpoint that attacks its client at the byte level.

The emulators answer like AWS does, and :class:`~credpick.testing.FaultyEndpoint`
fails like AWS does. This one behaves like an attacker or a broken proxy: it
trickles its reply one byte at a time (slow-loris), sends a reply far larger
than any credential document, redirects to another host, answers in the wrong
content, or speaks plain HTTP where TLS was expected. It records the raw
request head of every connection, so a test can prove no token reached it.

Every connection it serves ends by itself within ``max_seconds``, so a client
without a deadline makes a test slow, never hung forever.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from types import TracebackType
from typing import Literal

from typing_extensions import Self

__all__ = ["HostileEndpoint", "HostileMode"]

HostileMode = Literal["slow-headers", "slow-body", "huge", "redirect", "reply", "hold", "reset"]

_LOOPBACK = "127.0.0.1"


class HostileEndpoint:
    """A raw TCP server on 127.0.0.1 that misbehaves in one way.

    Args:
        mode: ``"slow-headers"`` trickles a status line and headers one byte
            per ``delay``; ``"slow-body"`` sends valid headers, then the body one
            byte per ``delay``; ``"huge"`` answers 200 with ``size`` bytes of
            ``body`` repeated; ``"redirect"`` answers ``status`` (302) with
            ``Location: location``; ``"reply"`` sends ``body`` as it is, with
            ``status`` and ``content_type``; ``"hold"`` reads the request and
            never answers; ``"reset"`` closes the connection at once.
        body: The body, or what ``huge`` and the slow modes repeat.
        status: The status code of ``reply`` and ``redirect``.
        content_type: The content type of ``reply``.
        location: The ``Location`` of ``redirect``.
        size: How many bytes ``huge`` sends.
        delay: Seconds between bytes in the slow modes.
        max_seconds: Longest any one connection is served.
        tls: A server-side TLS context: speak https (the raw modes run inside TLS).
    """

    def __init__(
        self,
        mode: HostileMode,
        *,
        body: bytes = b"x",
        status: int = 200,
        content_type: str = "application/json",
        location: str = "",
        size: int = 64 * 1024 * 1024,
        delay: float = 0.5,
        max_seconds: float = 30.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.mode = mode
        self.body = body
        self.status = status
        self.content_type = content_type
        self.location = location
        self.size = size
        self.delay = delay
        self.max_seconds = max_seconds
        self.tls = tls
        self.heads: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._sock is not None, "start() first"
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with ``tls``), without a trailing slash."""
        return f"{'https' if self.tls else 'http'}://{_LOOPBACK}:{self.port}"

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((_LOOPBACK, 0))
        sock.listen(64)
        sock.settimeout(0.1)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="hostile-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _read_head(self, conn: socket.socket, deadline: float) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536 and time.monotonic() < deadline:
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                break
            data += chunk
        return data

    def _trickle(self, conn: socket.socket, data: bytes, deadline: float) -> None:
        for i in range(len(data)):
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            conn.sendall(data[i : i + 1])
            self._stop.wait(self.delay)

    def _handle(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self.max_seconds
        try:
            if self.tls is not None:
                conn.settimeout(5.0)
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(0.2)
            head = self._read_head(conn, deadline)
            with self._lock:
                self.heads.append(head)
            self._answer(conn, deadline)
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, deadline: float) -> None:
        mode = self.mode
        if mode == "reset":
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            return
        if mode == "hold":
            while not self._stop.is_set() and time.monotonic() < deadline:
                self._stop.wait(0.1)
            return
        if mode == "slow-headers":
            endless = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 1_000_000
            self._trickle(conn, endless, deadline)
            return
        if mode == "slow-body":
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {1_000_000}\r\n\r\n"
            ).encode()
            conn.sendall(head)
            self._trickle(conn, (self.body * 1_000_000)[:1_000_000], deadline)
            return
        if mode == "huge":
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {self.size}\r\n\r\n"
            ).encode()
            conn.sendall(head)
            block = (self.body * (65536 // max(1, len(self.body)) + 1))[:65536]
            sent = 0
            while sent < self.size and not self._stop.is_set() and time.monotonic() < deadline:
                n = min(len(block), self.size - sent)
                conn.sendall(block[:n])
                sent += n
            return
        if mode == "redirect":
            reply = (
                f"HTTP/1.1 {302 if self.status == 200 else self.status} Found\r\nLocation: {self.location}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n"
            ).encode()
            conn.sendall(reply)
            return
        reply = (
            f"HTTP/1.1 {self.status} Reply\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
        ).encode() + self.body
        conn.sendall(reply)
