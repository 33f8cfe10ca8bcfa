"""``credpick serve``: the endpoint in the foreground, until SIGINT or SIGTERM.

It prints the two ``export`` lines first (the token is in the second: that is
the one place it is shown, and it is never logged), then serves.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TextIO

from ._pick import Options, pick, reader, temporary
from ._server import CredentialServer, loopback_host


@contextlib.contextmanager
def _stopping_on_signals(server: CredentialServer) -> Iterator[None]:
    """SIGINT and SIGTERM stop the server (from a thread: ``shutdown()`` waits for
    the serving loop, which runs in this one)."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server._tcp.shutdown, daemon=True).start()

    saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def run(options: Options, out: TextIO, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Pick, print the exports, serve until SIGINT or SIGTERM.

    Raises:
        CredpickError: The policy refused, no credentials could be loaded, or
            ``host`` is not loopback; nothing was printed.
    """
    loopback_host(host)  # before any work
    credentials = temporary(pick(options))
    server = CredentialServer(reader(credentials), host=host, port=port)
    try:
        for name, value in server.env().items():
            out.write(f"export {name}={shlex.quote(value)}\n")
        out.flush()
        with _stopping_on_signals(server):
            server.serve_forever()
    finally:
        server.stop()
