"""Installs credpick's socket guard in a child process when asked to."""

import os

if os.environ.get("CREDPICK_SOCKET_GUARD") == "1":
    from credpick.testing._guard import SocketGuard

    SocketGuard().__enter__()  # for the whole life of the process
