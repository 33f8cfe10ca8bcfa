"""The shared LoopbackServer base: lifecycle, HTTP/1.1 hygiene, request log."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request

import pytest

from credpick.testing import LoopbackServer
from credpick.testing._server import Hang, Request, Response, text_response


class Echo(LoopbackServer):
    """Answers the path back; ``/hang`` hangs and ``/boom`` raises."""

    def _handle(self, request: Request) -> Response | Hang:
        if request.path == "/hang":
            return Hang.HANG
        if request.path == "/boom":
            raise ValueError("route bug")
        return text_response(200, f"{request.method} {request.path} {dict(request.query)}")


def test_binds_loopback_on_an_ephemeral_port() -> None:
    with Echo() as server:
        assert server._httpd is not None
        assert server._httpd.server_address[0] == "127.0.0.1"
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"


def test_address_before_start_is_an_error() -> None:
    server = Echo()
    assert not server.running
    assert "not running" in repr(server)
    with pytest.raises(RuntimeError, match="start"):
        _ = server.url


def test_start_twice_is_an_error_but_stop_twice_is_fine() -> None:
    server = Echo().start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        server.stop()
    server.stop()
    assert not server.running


def test_can_restart_after_stop() -> None:
    server = Echo()
    with server:
        first = server.url
    with server:
        assert urllib.request.urlopen(server.url + "/x", timeout=2).status == 200
    assert first.startswith("http://127.0.0.1:")


def test_keep_alive_replies_are_http11_with_content_length_and_no_nagle_stall() -> None:
    with Echo() as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=2)
        started = time.monotonic()
        for i in range(40):
            conn.request("GET", f"/n?i={i}")
            response = conn.getresponse()
            body = response.read()
            assert response.version == 11
            assert int(response.headers["Content-Length"]) == len(body)
            assert body == f"GET /n {{'i': '{i}'}}".encode()
        # 40 replies would take >1.5 s with delayed-ACK stalls.
        assert time.monotonic() - started < 1.0
        conn.close()


def test_stop_closes_idle_keep_alive_connections() -> None:
    server = Echo().start()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=2)
    conn.request("GET", "/a")
    conn.getresponse().read()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/b")
        conn.getresponse()
    conn.close()


def test_stop_releases_a_hanging_request_promptly() -> None:
    server = Echo().start()
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(urllib.request.urlopen(server.url + "/hang", timeout=10).status)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not server.requests:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    thread.join(timeout=5)
    assert time.monotonic() - started < 1.0
    assert len(outcome) == 1
    assert isinstance(outcome[0], Exception)


def test_a_route_that_raises_answers_500() -> None:
    with Echo() as server, pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url + "/boom", timeout=2)
    assert info.value.code == 500


def test_request_log_is_complete_under_concurrency_and_reset_clears_it() -> None:
    with Echo() as server:

        def call(i: int) -> None:
            urllib.request.urlopen(f"{server.url}/c?i={i}", timeout=5).read()

        threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        paths = sorted(r.path for r in server.requests)
        assert paths == sorted(f"/c?i={i}" for i in range(20))
        assert {r.client_address for r in server.requests} == {"127.0.0.1"}
        server.requests.clear()  # a snapshot: does not touch the log
        assert len(server.requests) == 20
        server.clear_requests()
        assert server.requests == []
        urllib.request.urlopen(server.url + "/d", timeout=2).read()
        server.reset()
        assert server.requests == []


def test_serving_writes_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with Echo() as server:
        urllib.request.urlopen(server.url + "/quiet", timeout=2).read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(server.url + "/boom", timeout=2)
    assert capfd.readouterr().err == ""
