"""A socket guard: only loopback, never the real metadata addresses or AWS.

Installed by credpick's own test suite, by the pytest plugin, and in child
processes through ``CREDPICK_SOCKET_GUARD=1`` plus :data:`SITE_DIR` on
``PYTHONPATH`` (its ``sitecustomize`` installs the guard at start-up).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SITE_DIR", "NonLoopbackConnection", "SocketGuard", "is_loopback"]

#: Put this folder on ``PYTHONPATH`` to guard a child process.
SITE_DIR = Path(__file__).resolve().parent / "_site"
ENV_FLAG = "CREDPICK_SOCKET_GUARD"


class NonLoopbackConnection(BaseException):
    """Code under test tried to reach an address other than loopback.

    A ``BaseException``, so no ``except Exception`` in the code under test can
    swallow it; the guard also records every attempt.
    """


def is_loopback(address: Any) -> bool:
    """Whether a socket address stays on this machine."""
    if not (isinstance(address, tuple) and address):
        return True  # AF_UNIX paths never leave the machine
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _is_aws_name(host: Any) -> bool:
    return isinstance(host, str) and host.lower().rstrip(".").endswith("amazonaws.com")


class SocketGuard:
    """Refuse and record non-loopback connects and ``*.amazonaws.com`` lookups.

    Use as a context manager; the previous socket functions come back on exit.
    """

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._lock = threading.Lock()
        self._saved: list[tuple[Any, str, Any]] = []

    def _refuse(self, what: str) -> NonLoopbackConnection:
        with self._lock:
            self.attempts.append(what)
        return NonLoopbackConnection(f"blocked by credpick's socket guard: {what}")

    def _wrap_connect(self, real: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
                raise guard._refuse(repr(address))
            return real(sock, address)

        return connect

    def __enter__(self) -> SocketGuard:
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if _is_aws_name(host):
                raise self._refuse(str(host))
            return real_getaddrinfo(host, *args, **kwargs)

        patches = [
            (socket.socket, "connect", self._wrap_connect(socket.socket.connect)),
            (socket.socket, "connect_ex", self._wrap_connect(socket.socket.connect_ex)),
            (socket, "getaddrinfo", getaddrinfo),
        ]
        for owner, name, new in patches:
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, new)
        return self

    def __exit__(self, *exc: object) -> None:
        while self._saved:
            owner, name, old = self._saved.pop()
            setattr(owner, name, old)
