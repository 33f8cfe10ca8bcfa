"""Read small credential files without blocking, and never more than a cap.

Token files, SSO caches and the shared files are chosen by whoever controls
the environment. A FIFO would block ``open()`` forever, ``/dev/zero`` or a huge
file would be read whole, and a directory or socket fails in odd ways. Every
file credpick reads for credentials goes through :func:`read_bytes`.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

#: Caps, in bytes: a header token (IMDS, the container endpoint), a web
#: identity token (STS accepts 20,000 characters), a JSON cache entry, and
#: the shared config and credentials files.
HEADER_TOKEN = 4096
WEB_IDENTITY_TOKEN = 20_000
JSON_CACHE = 64 * 1024
SHARED_FILE = 1024 * 1024

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class FileProblem(Exception):
    """Why a file cannot be used, in words that follow "which": ``"does not exist"``.

    Internal: callers turn it into their own error, naming the variable.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _kind(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISBLK(mode):
        return "is a block device, not a regular file"
    return None


def _open(name: str) -> int | str:
    """A descriptor, or why the file cannot be opened."""
    if "\0" in name:
        return "holds a NUL byte, which no file name can contain"
    try:
        return os.open(name, _FLAGS)
    except FileNotFoundError:
        return "does not exist"
    except IsADirectoryError:
        return "is a directory"
    except PermissionError:
        return "cannot be read (PermissionError)"
    except OSError as exc:  # ENXIO for a socket, ELOOP...
        return f"cannot be opened ({type(exc).__name__})"


def _read(fd: int, limit: int) -> bytes | str:
    """The bytes behind ``fd``, or why they cannot be used."""
    info = os.fstat(fd)
    problem = _kind(info.st_mode)
    if problem:
        return problem
    if stat.S_ISCHR(info.st_mode):
        return b""
    if info.st_size > limit:
        return f"is {info.st_size} bytes, over the limit of {limit}"
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # /proc files say size 0 and are read until EOF
        try:
            chunk = os.read(fd, min(65536, limit + 1 - size))
        except BlockingIOError:
            return "cannot be read without blocking"
        except OSError as exc:
            return f"cannot be read ({type(exc).__name__})"
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return f"is over the limit of {limit} bytes"
    return b"".join(chunks)


def read_bytes(path: str | Path, *, limit: int) -> bytes:
    """The file's bytes, at most ``limit`` of them.

    A character device (``/dev/null``, ``/dev/zero``) reads as empty: it is
    how people say "no file", and reading one could never end.

    :class:`FileProblem` is raised outside any ``except`` block, from a frame
    that holds none of the file's bytes, so a caller's error chain is clean.

    Raises:
        FileProblem: The path is missing, not a regular file (a FIFO, a
            directory, a socket), larger than ``limit``, or unreadable.
    """
    fd = _open(os.fspath(path))
    if isinstance(fd, str):
        raise FileProblem(fd)
    try:
        outcome = _read(fd, limit)
    finally:
        os.close(fd)
    if isinstance(outcome, str):
        raise FileProblem(outcome)
    return outcome


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # it holds the bytes: stays in this frame
        return None


def read_text(path: str | Path, *, limit: int) -> str:
    """:func:`read_bytes`, decoded as UTF-8.

    Raises:
        FileProblem: As :func:`read_bytes`, or the bytes are not UTF-8.
    """
    text = _decode(read_bytes(path, limit=limit))
    if text is None:
        raise FileProblem("cannot be read as UTF-8 text")
    return text


# What a header may carry: printable ASCII, spaces only inside; no CR, LF or NUL.
_HEADER_VALUE = r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?"
_HEADER_TEXT = re.compile(_HEADER_VALUE)
_HEADER_BYTES = re.compile(_HEADER_VALUE.encode())


def is_header_value(value: str | bytes) -> bool:
    """Whether ``value`` can be sent as an HTTP header value, as it is."""
    if isinstance(value, bytes):
        return _HEADER_BYTES.fullmatch(value) is not None
    return _HEADER_TEXT.fullmatch(value) is not None


def token_problem(token: str, *, limit: int = WEB_IDENTITY_TOKEN) -> str | None:
    """Why a token (already stripped) cannot be sent, in words that follow "which"."""
    if not token:
        return "is empty"
    if len(token) > limit:
        return f"holds a token over the limit of {limit} characters"
    if not all(" " <= ch <= "~" for ch in token):
        return "holds a token that is not printable ASCII"
    return None


def read_token(path: str, *, limit: int = WEB_IDENTITY_TOKEN) -> tuple[str, str | None]:
    """The stripped token in ``path`` (``""`` if unusable), and why it is unusable.

    Read through :func:`read_text`: a FIFO, a directory or a huge file
    is a reason, never a hang; a character device reads as empty.
    """
    try:
        token = read_text(path, limit=limit).strip()
    except FileProblem as problem:
        return "", problem.reason
    problem_ = token_problem(token, limit=limit)
    return ("", problem_) if problem_ else (token, None)
