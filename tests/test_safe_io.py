"""read_bytes: hostile files give a FileProblem at once, never a hang or a huge read."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from credpick._safe_io import FileProblem, read_bytes, read_text


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "t").write_bytes(b"token")
    assert read_bytes(tmp_path / "t", limit=5) == b"token"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(FileProblem, match="FIFO"):
        read_bytes(fifo, limit=100)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_character_devices_read_as_empty(device: str) -> None:
    assert read_bytes(device, limit=10) == b""


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(FileProblem, match="over the limit"):
        read_bytes(tmp_path / "big", limit=10)


def test_a_proc_file_is_capped_although_its_size_says_zero() -> None:
    with pytest.raises(FileProblem, match="over the limit"):
        read_bytes("/proc/self/maps", limit=10)


def test_a_symlink_is_followed_and_still_capped(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 100)
    (tmp_path / "link").symlink_to(tmp_path / "big")
    with pytest.raises(FileProblem, match="over the limit"):
        read_bytes(tmp_path / "link", limit=10)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "directory"),
        (lambda p: Path(str(p) + "\0x"), "NUL"),
    ],
)
def test_missing_directories_and_nul_bytes(tmp_path: Path, make: object, reason: str) -> None:
    path = make(tmp_path / "x")  # type: ignore[operator]
    with pytest.raises(FileProblem, match=reason):
        read_bytes(path, limit=10)


def test_a_unix_socket_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        with pytest.raises(FileProblem, match=r"cannot be opened|socket"):
            read_bytes(path, limit=10)


def test_text_must_be_utf8(tmp_path: Path) -> None:
    (tmp_path / "t").write_bytes(b"\xff\xfe")
    with pytest.raises(FileProblem, match="UTF-8"):
        read_text(tmp_path / "t", limit=10)
