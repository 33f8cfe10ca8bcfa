"""The suite's own socket guard really blocks non-loopback addresses."""

from __future__ import annotations

import socket

import pytest

from credpick.testing._guard import NonLoopbackConnection
from credpick.testing._guard import is_loopback as _loopback


@pytest.mark.parametrize(
    "address",
    [("169.254.169.254", 80), ("169.254.170.2", 80), ("169.254.170.23", 80), ("10.0.0.1", 443)],
)
def test_link_local_and_private_addresses_are_not_loopback(address: tuple[str, int]) -> None:
    assert not _loopback(address)
    assert _loopback(("127.0.0.1", 80)) and _loopback(("::1", 80, 0, 0))


def test_amazonaws_names_do_not_resolve(socket_guard: list[str]) -> None:
    with pytest.raises(NonLoopbackConnection):
        socket.getaddrinfo("sts.amazonaws.com", 443)
    assert socket_guard == ["sts.amazonaws.com"]
    socket_guard.clear()  # the attempt was the point; don't fail at teardown


def test_connecting_to_the_metadata_address_is_blocked(socket_guard: list[str]) -> None:
    with socket.socket() as s, pytest.raises(NonLoopbackConnection):
        s.connect(("169.254.169.254", 80))
    assert len(socket_guard) == 1
    socket_guard.clear()


def test_ipv6_metadata_address_is_blocked() -> None:
    assert not _loopback(("fd00:ec2::254", 80, 0, 0))


def test_child_processes_are_guarded_too() -> None:
    import subprocess
    import sys

    code = (
        "import socket; s = socket.socket(); s.settimeout(0.1); s.connect(('169.254.169.254', 80))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "NonLoopbackConnection" in result.stderr
