"""Hostile connect phases: resolution, a proxy's tunnel and TLS end by the deadline too.

Socket timeouts bound each ``recv`` and ``getaddrinfo`` takes none, so before
``credpick._connect`` a call could be held before its first byte was sent: by
a name that never resolves, by a proxy that trickles its ``CONNECT`` reply, or
by a TLS server that trickles its handshake (a byte every 0.2 s: no single read
ever times out). Each must end in a ``SourceFailed`` naming the source, within
a generous bound (the bug was unbounded), with no secret in the error; a name
that resolves in time still gets credentials.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Context, Timeouts
from credpick._connect import Connecting, is_address
from credpick._http import API_REPLY, BoundedSession, Failure, Reply, get
from credpick.testing._fakes import FakeCredentials
from credpick.testing._faults import sts_credentials
from credpick.testing._hostile import HostileEndpoint
from tests.helpers import STATIC_KEY_ID
from tests.security._leaks import AUTHORIZATION_TOKEN, BEARER_TOKEN, assert_clean_error
from tests.security._watchdog import bounded
from tests.security.test_endpoints import _env
from tests.security.test_imds_attacks import MARKERS as IMDS_MARKERS
from tests.security.test_imds_attacks import TEMP_KEY_ID, HostileImds

#: A name that never resolves (until teardown), and one that resolves, late, to loopback.
SLOW = "credpick-slow.test"
NEAR = "credpick-near.test"
NEAR_DELAY = 0.3
FAST = Timeouts(http=0.5, connect=0.5, imds_connect=0.25, imds_read=0.5)
#: For the happy paths: the resolver's delay is well under every deadline.
PROMPT = Timeouts(http=5.0, connect=2.0, imds_connect=2.0, imds_read=2.0)
#: Seconds. Generous: the verdicts take about 1 to 3 s; the bug is unbounded.
BOUND = 10.0
#: The watchdog: past BOUND, so a slow verdict fails on its time, a hang on this.
WATCHDOG = 15.0
#: Under every connect timeout, so that no single read times out.
TRICKLE = 0.2

KINDS = ("container", "github-oidc", "web-identity")


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """``getaddrinfo`` that blocks on SLOW until teardown and answers NEAR late;
    the names asked, in order."""
    real = socket.getaddrinfo
    release = threading.Event()
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == SLOW:
            asked.append(host)
            release.wait()
            raise socket.gaierror(socket.EAI_NONAME, "released at teardown")
        if host == NEAR:
            asked.append(host)
            time.sleep(NEAR_DELAY)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked
    release.set()


def _fails(ctx: Context, seconds: float = BOUND) -> tuple[credpick.SourceFailed, float]:
    """``credpick.session()``'s SourceFailed and how long it took, under a watchdog."""

    def call() -> credpick.SourceFailed:
        with pytest.raises(credpick.SourceFailed) as info:
            credpick.session(context=ctx)
        return info.value

    start = time.monotonic()
    error = bounded(call, WATCHDOG)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    return error, elapsed


def _clean(error: credpick.SourceFailed) -> None:
    assert STATIC_KEY_ID not in str(error)  # never a fallback to the stray key
    assert error.__cause__ is None and error.__context__ is None
    assert_clean_error(error)


def _imds_env(url: str) -> dict[str, str | None]:
    return {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": url}


# -- name resolution ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_name_that_never_resolves_gives_a_bounded_verdict(
    kind: str, resolver: list[str], make_context: Any, tmp_path: Path
) -> None:
    error, _ = _fails(make_context(_env(kind, f"https://{SLOW}", tmp_path), timeouts=FAST))
    assert SLOW in resolver  # it was asked, and held
    assert error.kind == kind
    _clean(error)


def test_a_metadata_name_that_never_resolves_gives_a_bounded_verdict(
    resolver: list[str], make_context: Any
) -> None:
    error, _ = _fails(make_context(_imds_env(f"http://{SLOW}/"), timeouts=FAST))
    assert SLOW in resolver
    assert error.kind == "ec2-instance-profile"
    assert "no connection within 0.25 s" in str(error)
    _clean(error)
    assert_clean_error(error, IMDS_MARKERS)


def test_sts_at_a_name_that_resolves_in_time_gives_credentials(
    resolver: list[str], make_context: Any, tmp_path: Path
) -> None:
    reply = sts_credentials(FakeCredentials.issue())
    with HostileEndpoint("reply", body=reply.body, content_type="text/xml") as sts:
        env = _env("web-identity", f"http://{NEAR}:{sts.port}", tmp_path)
        session = bounded(lambda: credpick.session(context=make_context(env, timeouts=PROMPT)))
        key = bounded(lambda: session.get_credentials().get_frozen_credentials().access_key)
        assert sts.heads and sts.heads[0].startswith(b"POST ")
    assert resolver == [NEAR] and key.startswith("ASIA")


def test_the_metadata_service_at_a_name_that_resolves_in_time_gives_credentials(
    resolver: list[str], make_context: Any
) -> None:
    with HostileImds("/never-asked", "content") as imds:
        ctx = make_context(_imds_env(f"http://{NEAR}:{imds.port}/"), timeouts=PROMPT)
        session = bounded(lambda: credpick.session(context=ctx))
        key = bounded(lambda: session.get_credentials().get_frozen_credentials().access_key)
    assert set(resolver) == {NEAR} and key == TEMP_KEY_ID


# -- a proxy that trickles its CONNECT reply -----------------------------------------


@pytest.fixture
def slow_proxy() -> Iterator[HostileEndpoint]:
    """Reads the ``CONNECT`` request, then trickles an endless reply head."""
    with HostileEndpoint("slow-headers", delay=TRICKLE, max_seconds=60) as proxy:
        yield proxy


def test_github_through_a_trickling_proxy_gives_a_bounded_verdict(
    slow_proxy: HostileEndpoint, make_context: Any, tmp_path: Path
) -> None:
    env = _env("github-oidc", "https://token.credpick-github.test", tmp_path)
    env["HTTPS_PROXY"] = slow_proxy.url  # GitHub's proxy comes from the context
    error, _ = _fails(make_context(env, timeouts=FAST))
    assert slow_proxy.heads and slow_proxy.heads[0].startswith(b"CONNECT ")
    assert all(BEARER_TOKEN.encode() not in head for head in slow_proxy.heads)
    assert error.kind == "github-oidc"
    _clean(error)


def test_sts_through_a_trickling_proxy_gives_a_bounded_verdict(
    slow_proxy: HostileEndpoint, make_context: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", slow_proxy.url)  # botocore reads the process's
    env = _env("web-identity", "https://sts.credpick-proxied.test", tmp_path)
    error, _ = _fails(make_context(env, timeouts=FAST))
    assert slow_proxy.heads and slow_proxy.heads[0].startswith(b"CONNECT ")
    assert error.kind == "web-identity"
    _clean(error)


# -- a TLS server that trickles its handshake ----------------------------------------


class TricklingTls(HostileEndpoint):
    """Reads the ClientHello, then announces a 16 KiB handshake record and sends
    its body one byte per ``delay``: the handshake never completes."""

    def _handle(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self.max_seconds
        try:
            conn.settimeout(0.2)
            with self._lock:
                self.heads.append(_recv_some(conn))
            conn.sendall(b"\x16\x03\x03\x40\x00")  # handshake record, 16384 bytes
            self._trickle(conn, b"\x02" + b"\x00" * 16383, deadline)
        except OSError:
            pass
        finally:
            conn.close()


def _recv_some(conn: socket.socket) -> bytes:
    try:
        return conn.recv(4096)
    except TimeoutError:
        return b""


@pytest.fixture
def slow_tls() -> Iterator[TricklingTls]:
    with TricklingTls("hold", delay=TRICKLE, max_seconds=60) as server:
        yield server


def test_container_endpoint_with_a_trickling_handshake_gives_a_bounded_verdict(
    slow_tls: TricklingTls, make_context: Any, tmp_path: Path
) -> None:
    env = _env("container", f"https://127.0.0.1:{slow_tls.port}", tmp_path)
    error, _ = _fails(make_context(env, timeouts=FAST))
    assert slow_tls.heads and slow_tls.heads[0][:1] == b"\x16"  # a ClientHello came
    assert all(AUTHORIZATION_TOKEN.encode() not in head for head in slow_tls.heads)
    assert error.kind == "container"
    _clean(error)


def test_sts_with_a_trickling_handshake_gives_a_bounded_verdict(
    slow_tls: TricklingTls, make_context: Any, tmp_path: Path
) -> None:
    env = _env("web-identity", f"https://127.0.0.1:{slow_tls.port}", tmp_path)
    error, _ = _fails(make_context(env, timeouts=FAST))
    assert slow_tls.heads
    assert error.kind == "web-identity"
    _clean(error)


def test_metadata_service_with_a_trickling_handshake_gives_a_bounded_verdict(
    slow_tls: TricklingTls, make_context: Any
) -> None:
    ctx = make_context(_imds_env(f"https://127.0.0.1:{slow_tls.port}/"), timeouts=FAST)
    error, _ = _fails(ctx)
    assert slow_tls.heads
    assert error.kind == "ec2-instance-profile"
    assert "no connection within 0.25 s" in str(error)
    _clean(error)
    assert_clean_error(error, IMDS_MARKERS)


# -- the transport itself: its deadline, and what a late connect leaves behind ------


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate()}


def test_a_late_tunnel_leaves_no_worker_behind(slow_proxy: HostileEndpoint) -> None:
    proxies = {"https": slow_proxy.url}
    session = BoundedSession(total=0.5, cap=API_REPLY, timeout=(0.5, 0.5), proxies=proxies)
    url = "https://token.credpick-github.test/x"
    result = bounded(lambda: get(session, url, {}, attempts=1), WATCHDOG)
    assert isinstance(result, Failure) and result.retryable
    # The tunnel's socket was shut down: the worker, blocked reading a reply the
    # proxy would trickle for a minute more (no single read times out), ends at once.
    deadline = time.monotonic() + 5
    while "credpick-connect" in _threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "credpick-connect" not in _threads()


def test_a_late_name_connects_nothing_once_it_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = socket.getaddrinfo
    made: list[socket.socket] = []
    real_socket = socket.socket

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == SLOW:
            release.wait()
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    class Recorded(real_socket):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    with HostileEndpoint("reply", body=b"{}") as server:
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        session = BoundedSession(total=0.3, cap=API_REPLY, timeout=(0.3, 0.3))
        result = bounded(lambda: get(session, f"http://{SLOW}:{server.port}/x", {}, attempts=1))
        assert result == Failure("connect timed out", retryable=True)
        monkeypatch.setattr(socket, "socket", Recorded)
        release.set()
        deadline = time.monotonic() + 5
        while "credpick-connect" in _threads() and time.monotonic() < deadline:
            time.sleep(0.02)
    assert "credpick-connect" not in _threads()
    assert made and all(sock.fileno() == -1 for sock in made)  # made late, then closed at once


def test_keep_alive_reuse_starts_no_thread(
    resolver: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.dumps({"ok": True}).encode()
    started: list[str] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    with _KeepAlive(body) as server:
        session = BoundedSession(total=2.0, cap=API_REPLY, timeout=(1.0, 2.0))
        monkeypatch.setattr(threading.Thread, "start", start)
        url = f"http://{NEAR}:{server.port}/x"  # a name: its lookup needs the worker
        replies = [get(session, url, {}, attempts=1) for _ in range(3)]
        session.close()
    assert [getattr(r, "status", r) for r in replies] == [200, 200, 200]
    assert started == ["credpick-connect"]  # one connection, one connect worker
    assert server.connections == 1 and resolver == [NEAR]


def test_plain_http_to_an_address_needs_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # The metadata service and the ECS agent: its socket timeout bounds the connect.
    started: list[str] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    with _KeepAlive(b"{}") as server:
        session = BoundedSession(total=2.0, cap=API_REPLY, timeout=(1.0, 2.0))
        monkeypatch.setattr(threading.Thread, "start", start)
        reply = get(session, f"{server.url}/x", {}, attempts=1)
        session.close()
    assert isinstance(reply, Reply) and reply.status == 200
    assert started == []


class _KeepAlive:
    """A loopback HTTP/1.1 server that keeps each connection open between replies."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _KeepAlive:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        self._thread.join(5)

    def _serve(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        self.connections += 1
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(self.body), self.body)
        with conn:
            conn.settimeout(5)
            data = b""
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                data += chunk
                while b"\r\n\r\n" in data:
                    _, data = data.split(b"\r\n\r\n", 1)
                    conn.sendall(reply)


# -- the helper on its own --------------------------------------------------------------


class _Closes:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()


def test_a_step_that_fails_raises_its_own_error_with_no_context() -> None:
    def step() -> _Closes:
        raise ConnectionRefusedError(f"refused, with {BEARER_TOKEN} in a local")

    with pytest.raises(ConnectionRefusedError) as info:
        Connecting().run(1.0, step, TimeoutError)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_socket_returned_after_the_deadline_is_closed() -> None:
    release, made = threading.Event(), _Closes()

    def step() -> _Closes:
        release.wait()
        return made

    with pytest.raises(TimeoutError):
        Connecting().run(0.05, step, lambda: TimeoutError("late"))
    release.set()
    assert made.closed.wait(5)


def test_a_socket_created_after_the_deadline_is_closed_at_once() -> None:
    connecting, release = Connecting(), threading.Event()

    def step() -> _Closes:
        release.wait()
        return _Closes()

    with pytest.raises(TimeoutError, match="late"):
        connecting.run(0.05, step, lambda: TimeoutError("late"))
    a, b = socket.socketpair()
    with b, pytest.raises(TimeoutError):
        connecting.adopt(a)  # as the worker does once its lookup returns
    assert a.fileno() == -1
    release.set()


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", True),
        ("169.254.169.254", True),
        ("fd00:ec2::254", True),
        ("::1", True),
        ("localhost", False),
        (SLOW, False),
        ("169.254.169.254.nip.io", False),
        ("", False),
    ],
)
def test_only_an_address_literal_skips_the_worker(host: str, address: bool) -> None:
    assert is_address(host) is address
