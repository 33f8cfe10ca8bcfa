"""Connect within one deadline: name resolution, TCP, a proxy's tunnel and TLS included.

Socket timeouts bound each ``recv``, and ``getaddrinfo`` takes none at all: a
slow resolver or a proxy that trickles its ``CONNECT`` reply holds a connect
step for as long as it likes (CPython gives a TLS handshake one deadline, the
socket timeout, but that comes on top of the lookup and the tunnel).
:class:`Connecting` runs the step in a daemon worker thread and waits for it
until the deadline. When the step is late, the sockets it created are shut down
(so a worker blocked in a read wakes up), a socket it creates later is closed
at once, and one it returns later is closed; the caller gets the timeout error
it asked for. One thread start per new connection (about 0.3 ms in all); a reused
keep-alive connection never comes here, and neither does a plain-http connect to
an address literal (:func:`is_address`), which its socket timeout bounds whole.

Used by :mod:`credpick._http` (botocore's connections) and
:mod:`credpick.sources._imds_http` (the metadata endpoint). Standard library only,
so the metadata path imports nothing more.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


def is_address(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address literal: resolving it waits for nothing.

    A plain TCP connect to one is bounded whole by its socket timeout, so a
    caller may skip the worker there (the metadata service, the ECS agent).
    """
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


class _Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=_Closable)


class _Outcome(Generic[S]):
    """What the worker hands back: its socket or its error, and whether it is done."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: S | None = None
        self.error: BaseException | None = None


class Connecting:
    """One connect step with a whole deadline; one instance per connection attempt.

    The step must pass every socket it creates through :meth:`adopt` (before
    using it), so that a late step can be cut short.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._late = False
        self._held: list[socket.socket] = []

    def adopt(self, sock: socket.socket) -> socket.socket:
        """In the worker: watch ``sock``; if the step is already late, close it and stop."""
        with self._lock:
            if not self._late:
                # A duplicate of the descriptor: the worker's TLS wrapper takes
                # over (detaches) the one it was given, and shutting this one
                # down still ends the connection both share.
                self._held.append(sock.dup())
                return sock
        sock.close()
        raise TimeoutError("the connect deadline has passed")

    def run(self, seconds: float, step: Callable[[], S], late: Callable[[], BaseException]) -> S:
        """``step()``'s socket if it connects within ``seconds``; else raise ``late()``.

        An error the step raised is raised here, in the caller's thread and
        outside any ``except`` block, so it carries no context of this module.
        """
        outcome: _Outcome[S] = _Outcome()
        # In the caller's context: a log record made while connecting stays
        # inside credpick's redaction boundary (credpick._redact), if one is open.
        context = contextvars.copy_context()
        worker = threading.Thread(
            target=context.run,
            args=(self._work, step, outcome),
            name="credpick-connect",
            daemon=True,
        )
        worker.start()
        del context, worker  # no frame of a raised error keeps the caller's context
        finished = outcome.done.wait(max(seconds, 0.0))
        with self._lock:
            if not finished:
                finished = outcome.done.is_set()  # it may have ended just now
            if not finished:
                self._late = True
            held, self._held = self._held, []
        for dup in held:
            if not finished:
                _shut(dup)
            dup.close()
        if not finished:
            raise late()
        error, value = outcome.error, outcome.value
        outcome.error = outcome.value = None
        if error is not None:
            try:
                raise error
            finally:
                del error  # no cycle through this frame
        assert value is not None
        return value

    def _work(self, step: Callable[[], S], outcome: _Outcome[S]) -> None:
        value: S | None = None
        try:
            value = step()
        except BaseException as exc:  # handed to the caller, or dropped if it left
            with self._lock:
                if not self._late:
                    outcome.error = exc
                    outcome.done.set()
            del exc
            return
        with self._lock:
            if not self._late:
                outcome.value = value
                outcome.done.set()
                return
        value.close()  # connected after the caller gave up: nobody will use it


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected yet, or already closed
        sock.shutdown(socket.SHUT_RDWR)
