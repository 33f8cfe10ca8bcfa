"""Installs credpick's socket guard in a child process when asked to.

The guard module is loaded by path, so the child does not import credpick
(and its emulators) just to be guarded.
"""

import os

if os.environ.get("CREDPICK_SOCKET_GUARD") == "1":
    import importlib.util
    import sys

    _path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "_guard.py")
    _spec = importlib.util.spec_from_file_location("_credpick_socket_guard", _path)
    if _spec is not None and _spec.loader is not None:
        _module = importlib.util.module_from_spec(_spec)
        sys.modules["_credpick_socket_guard"] = _module
        _spec.loader.exec_module(_module)
        _module.SocketGuard().__enter__()  # for the whole life of the process
