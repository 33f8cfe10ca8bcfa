"""SocketGuard's two policies: loopback only (this suite), or only real AWS refused (the plugin)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from credpick.testing import NonLoopbackConnection, RealAwsConnection, SocketGuard
from credpick.testing._guard import refusal

AWS_ADDRESSES = [
    ("169.254.169.254", 80),
    ("169.254.170.2", 80),
    ("169.254.170.23", 80),
    ("fd00:ec2::254", 80, 0, 0),
    ("fd00:ec2::23", 80, 0, 0),
    ("::ffff:169.254.169.254", 80, 0, 0),
]


@pytest.mark.parametrize("address", AWS_ADDRESSES)
@pytest.mark.parametrize("policy", ["loopback", "aws"])
def test_the_metadata_addresses_are_refused_by_both(
    address: tuple[object, ...], policy: str
) -> None:
    assert refusal(address, policy) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address", [("10.0.0.5", 5432), ("192.0.2.10", 443), ("db.internal", 5432)]
)
def test_only_the_loopback_policy_refuses_other_hosts(address: tuple[object, ...]) -> None:
    # Decided without connecting: a project's own test servers stay reachable under "aws".
    assert refusal(address, "aws") is None
    assert refusal(address, "loopback") == repr(address)


def test_loopback_is_allowed_by_both() -> None:
    for policy in ("loopback", "aws"):
        assert refusal(("127.0.0.1", 80), policy) is None  # type: ignore[arg-type]
        assert refusal(("::1", 80, 0, 0), policy) is None  # type: ignore[arg-type]


def test_the_description_names_the_service() -> None:
    assert refusal(("169.254.170.23", 80), "aws") == (
        "the EKS Pod Identity agent at 169.254.170.23 port 80"
    )


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="'loopback' or 'aws'"):
        SocketGuard(policy="everything")  # type: ignore[arg-type]


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)

    def accept_one() -> None:
        with contextlib.suppress(OSError):
            server.accept()[0].close()

    thread = threading.Thread(target=accept_one, daemon=True)
    thread.start()
    yield server.getsockname()
    thread.join(timeout=5)
    server.close()


def test_the_aws_guard_refuses_aws_and_lets_loopback_through(
    listener: tuple[str, int],
) -> None:
    with SocketGuard(policy="aws") as guard:
        with socket.create_connection(listener, timeout=2):
            pass
        with socket.socket() as s, pytest.raises(RealAwsConnection, match="metadata service"):
            s.connect(("169.254.169.254", 80))
        with pytest.raises(RealAwsConnection, match="an AWS host name"):
            socket.getaddrinfo("s3.eu-west-1.amazonaws.com", 443)
        with pytest.raises(RealAwsConnection):
            socket.getaddrinfo("sts.cn-north-1.amazonaws.com.cn", 443)
        assert socket.getaddrinfo("localhost", 80)
    assert guard.attempts == [
        "the EC2 instance metadata service at 169.254.169.254 port 80",
        "s3.eu-west-1.amazonaws.com",
        "sts.cn-north-1.amazonaws.com.cn",
    ]
    assert issubclass(RealAwsConnection, NonLoopbackConnection)
    assert not issubclass(RealAwsConnection, Exception)  # `except Exception` cannot hide it


def test_guards_nest_and_restore(socket_guard: list[str]) -> None:
    before = (socket.socket.connect, socket.getaddrinfo)
    with SocketGuard(policy="aws"):
        assert socket.socket.connect is not before[0]
    assert (socket.socket.connect, socket.getaddrinfo) == before
