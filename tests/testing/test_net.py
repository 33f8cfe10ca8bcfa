"""TCP-level failure endpoints: refused, unroutable (SYN dropped) and silent."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from botocore.utils import InstanceMetadataFetcher

from credpick.testing import refusing_endpoint, silent_endpoint, unroutable_endpoint


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port is not None
    return parts.hostname, parts.port


def test_refusing_endpoint_refuses_immediately_and_is_stable() -> None:
    url = refusing_endpoint()
    assert url == refusing_endpoint()
    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address(url), timeout=1)
    assert time.monotonic() - started < 0.5


def test_unroutable_endpoint_connect_times_out_repeatedly() -> None:
    with unroutable_endpoint() as url:
        for _ in range(3):
            sock = socket.socket()
            sock.settimeout(0.2)
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                sock.connect(address(url))
            assert 0.15 < time.monotonic() - started < 1
            sock.close()


def test_unroutable_endpoint_makes_botocore_imds_give_up_after_its_timeout() -> None:
    with unroutable_endpoint() as url:
        fetcher = InstanceMetadataFetcher(
            timeout=0.2, num_attempts=1, config={"ec2_metadata_service_endpoint": url}, env={}
        )
        started = time.monotonic()
        assert fetcher.retrieve_iam_role_credentials() == {}
        assert time.monotonic() - started < 2


def test_unroutable_endpoint_releases_its_port_on_exit() -> None:
    with unroutable_endpoint() as url:
        host, port = address(url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, port), timeout=1)


def test_silent_endpoint_accepts_but_never_replies() -> None:
    with silent_endpoint() as url:
        socks = [socket.create_connection(address(url), timeout=1) for _ in range(3)]
        for sock in socks:
            sock.settimeout(0.2)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises(TimeoutError):
                sock.recv(1)
            sock.close()


def test_silent_endpoint_closes_held_connections_on_exit() -> None:
    with silent_endpoint() as url:
        sock = socket.create_connection(address(url), timeout=1)
        time.sleep(0.1)  # usually enough for the accept loop to take it
    sock.settimeout(1)
    try:
        assert sock.recv(1) == b""  # accepted, then closed
    except ConnectionResetError:
        pass  # still queued when the listener closed: reset instead
    finally:
        sock.close()
