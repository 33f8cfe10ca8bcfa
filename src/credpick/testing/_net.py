"""Loopback endpoints that fail at the TCP level, for timeout and fallback tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

__all__ = ["refusing_endpoint", "silent_endpoint", "unroutable_endpoint"]

_LOOPBACK = "127.0.0.1"
_MAX_FILLERS = 16
_PROBE_SECONDS = 0.05

_reserved_lock = threading.Lock()
_reserved: socket.socket | None = None


def _url(sock: socket.socket) -> str:
    return f"http://{_LOOPBACK}:{sock.getsockname()[1]}"


def refusing_endpoint() -> str:
    """Return the URL of a loopback port where every connect is refused.

    The port is held by a socket that is bound but never listens, for the life
    of the process: the kernel answers SYNs with RST, and no other program
    can take the port meanwhile (binding then closing would race).

    Returns:
        ``http://127.0.0.1:PORT``; the same URL on every call.
    """
    global _reserved
    with _reserved_lock:
        if _reserved is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((_LOOPBACK, 0))
            _reserved = sock
        return _url(_reserved)


def _connects_quickly(address: tuple[str, int]) -> socket.socket | None:
    """Connect with a short timeout; return the socket if the handshake completed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(_PROBE_SECONDS)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        return None
    return sock


@contextlib.contextmanager
def unroutable_endpoint() -> Iterator[str]:
    """Yield a loopback URL where ``connect()`` hangs like a dropped SYN.

    A listener with backlog 0 is never accepted from; connections are added
    until one fails to complete within 50 ms. Linux (checked on 6.x with
    ``tcp_abort_on_overflow=0``) admits exactly one connection to a
    backlog-0 queue and then drops further SYNs silently, so clients hit
    their connect timeout instead of getting a refusal.

    Yields:
        ``http://127.0.0.1:PORT``.

    Raises:
        RuntimeError: If the kernel kept completing handshakes.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind((_LOOPBACK, 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(_MAX_FILLERS):
            filler = _connects_quickly(address)
            if filler is None:
                break
            fillers.append(filler)
        else:
            raise RuntimeError("could not fill the accept queue; connect() would not hang")
        yield _url(listener)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@contextlib.contextmanager
def silent_endpoint() -> Iterator[str]:
    """Yield a loopback URL that accepts connections but never replies.

    Clients connect and send, then wait until their read timeout.

    Yields:
        ``http://127.0.0.1:PORT``.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((_LOOPBACK, 0))
    listener.listen(64)
    listener.settimeout(0.05)  # lets the accept loop notice the stop flag
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept_forever, name="credpick-silent", daemon=True)
    thread.start()
    try:
        yield _url(listener)
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
        for conn in held:
            conn.close()
