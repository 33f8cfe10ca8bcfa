"""A socket guard: only loopback, or at least never the real metadata addresses or AWS.

Two policies:

- ``"loopback"``: refuse every connection that leaves the machine and every
  ``*.amazonaws.com`` lookup. credpick's own suite and the tour use it.
- ``"aws"``: refuse only what reaches real AWS: the metadata and container
  credential addresses and AWS host names. The pytest plugin uses it, so a
  project's own test servers (a database in a container, say) keep working.

Installed by credpick's own test suite, by the pytest plugin, and in child
processes through ``CREDPICK_SOCKET_GUARD=1`` plus :data:`SITE_DIR` on
``PYTHONPATH`` (its ``sitecustomize`` installs the guard at start-up). This
module imports nothing but the standard library: ``sitecustomize`` loads it by
path, without importing credpick.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "AWS_ADDRESSES",
    "SITE_DIR",
    "GuardPolicy",
    "NonLoopbackConnection",
    "RealAwsConnection",
    "SocketGuard",
    "is_loopback",
    "refusal",
]

#: Put this folder on ``PYTHONPATH`` to guard a child process.
SITE_DIR = Path(__file__).resolve().parent / "_site"
ENV_FLAG = "CREDPICK_SOCKET_GUARD"

GuardPolicy = Literal["loopback", "aws"]

#: The addresses that only ever mean real AWS, and what answers there.
AWS_ADDRESSES: dict[str, str] = {
    "169.254.169.254": "the EC2 instance metadata service",
    "fd00:ec2::254": "the EC2 instance metadata service (IPv6)",
    "169.254.170.2": "the ECS container credentials endpoint",
    "169.254.170.23": "the EKS Pod Identity agent",
    "fd00:ec2::23": "the EKS Pod Identity agent (IPv6)",
}
# amazonaws.com.cn is AWS China; api.aws carries the dual-stack endpoints.
_AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "api.aws")


class NonLoopbackConnection(BaseException):
    """Code under test tried to reach an address other than loopback.

    A ``BaseException``, so no ``except Exception`` in the code under test can
    swallow it; the guard also records every attempt.
    """


class RealAwsConnection(NonLoopbackConnection):
    """Code under test tried to reach real AWS or a real metadata address.

    .. versionadded:: 0.1.0
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


def _aws_address(address: Any) -> str | None:
    """What real AWS endpoint ``address`` is, or None."""
    if not (isinstance(address, tuple) and address):
        return None
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is the same host
    return AWS_ADDRESSES.get(str(ip))


def _is_aws_name(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    name = host.lower().rstrip(".")
    return any(name == d or name.endswith("." + d) for d in _AWS_DOMAINS)


def refusal(address: Any, policy: GuardPolicy) -> str | None:
    """Why the guard refuses a connect to ``address``, or None if it allows it.

    Args:
        address: A socket address, as passed to ``socket.connect``.
        policy: ``"loopback"`` or ``"aws"``.

    Returns:
        A short description of the refused destination, or None.
    """
    what = _aws_address(address)
    if what is not None:
        return f"{what} at {address[0]} port {address[1]}"
    if policy == "loopback" and not is_loopback(address):
        return repr(address)
    return None


class SocketGuard:
    """Refuse and record connects and lookups that ``policy`` forbids.

    Use as a context manager; the previous socket functions come back on exit.
    Guards nest: each one wraps whatever the socket functions were before it.

    Args:
        policy: ``"loopback"`` (the default) refuses everything but loopback;
            ``"aws"`` refuses only the metadata addresses and AWS host names.

    Attributes:
        attempts: One line per refused attempt, oldest first; clear it in a
            test that provoked an attempt on purpose.

    .. versionadded:: 0.1.0
    """

    def __init__(self, policy: GuardPolicy = "loopback") -> None:
        if policy not in ("loopback", "aws"):
            raise ValueError(f"policy must be 'loopback' or 'aws', not {policy!r}")
        self.policy: GuardPolicy = policy
        self.attempts: list[str] = []
        self._lock = threading.Lock()
        self._saved: list[tuple[Any, str, Any]] = []

    def __repr__(self) -> str:
        return f"SocketGuard(policy={self.policy!r}, attempts={len(self.attempts)})"

    def _refuse(self, what: str, detail: str | None = None) -> NonLoopbackConnection:
        with self._lock:
            self.attempts.append(what)
        error = RealAwsConnection if self.policy == "aws" else NonLoopbackConnection
        return error(
            f"blocked by credpick's socket guard: {detail or what}; "
            "tests reach AWS only through the loopback emulators in credpick.testing"
        )

    def _wrap_connect(self, real: Callable[..., Any]) -> Callable[..., Any]:
        guard = self

        def connect(sock: socket.socket, address: Any) -> Any:
            __tracebackhide__ = True  # pytest: the caller's frame is the one to see
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                why = refusal(address, guard.policy)
                if why is not None:
                    raise guard._refuse(why)
            return real(sock, address)

        return connect

    def __enter__(self) -> SocketGuard:
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            if _is_aws_name(host):
                raise self._refuse(str(host), f"{host} (an AWS host name)")
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
