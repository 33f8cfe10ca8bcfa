"""The endpoint ``serve`` and ``exec`` run: the token, loopback only, bounded, refreshing, masked."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from credpick._bridge._pick import Current, Options, pick, reader
from credpick._bridge._server import MAX_HEAD, PATH, CredentialServer, loopback_host
from credpick._cli import main
from credpick.exceptions import ConfigurationError, SourceFailed
from credpick.testing import Simulation
from credpick.testing._fakes import SECRET_PREFIX, TOKEN_PREFIX

from ..helpers import TEMP_ENV, TEMP_KEY_ID, assert_no_secret

FIXED = Current(
    access_key=TEMP_KEY_ID,
    secret_key=TEMP_ENV["AWS_SECRET_ACCESS_KEY"],
    token=TEMP_ENV["AWS_SESSION_TOKEN"],
    expiry=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
)


@pytest.fixture
def server() -> Iterator[CredentialServer]:
    with CredentialServer(lambda: FIXED, head_timeout=1.0) as running:
        yield running


def get(
    server: CredentialServer, path: str = PATH, token: str | None = None, method: str = "GET"
) -> tuple[int, dict[str, object]]:
    host, port = server.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": token} if token else {})
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"{}")
    finally:
        conn.close()


def test_the_token_gets_the_credentials_in_the_container_protocol(
    server: CredentialServer,
) -> None:
    status, doc = get(server, token=server.token)
    assert status == 200
    assert doc == {
        "AccessKeyId": TEMP_KEY_ID,
        "SecretAccessKey": TEMP_ENV["AWS_SECRET_ACCESS_KEY"],
        "Token": TEMP_ENV["AWS_SESSION_TOKEN"],
        "Expiration": "2030-01-02T03:04:05Z",
    }


@pytest.mark.parametrize("token", [None, "wrong", "x" * 43])
def test_without_the_token_it_is_401_and_no_credentials(
    server: CredentialServer, token: str | None
) -> None:
    status, doc = get(server, token=token)
    assert status == 401
    assert_no_secret(doc)


def test_a_token_that_only_starts_right_is_refused(server: CredentialServer) -> None:
    assert get(server, token=server.token[:-1])[0] == 401
    assert get(server, token=server.token + "x")[0] == 401


def test_other_paths_and_methods_are_refused(server: CredentialServer) -> None:
    assert get(server, "/", token=server.token)[0] == 404
    assert get(server, "/latest/meta-data/", token=server.token)[0] == 404
    assert get(server, method="POST", token=server.token)[0] == 405
    assert get(server, method="PUT", token=server.token)[0] == 405


def test_it_binds_loopback_only(server: CredentialServer) -> None:
    assert server.address[0] == "127.0.0.1"
    assert server._tcp.socket.getsockname()[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith(PATH)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "localhost.evil", "example.com"])
def test_a_host_beyond_loopback_is_refused(host: str) -> None:
    with pytest.raises(ConfigurationError, match="not a loopback address"):
        loopback_host(host)


def test_serve_with_a_public_host_is_one_line_and_nothing_served(
    capsys: pytest.CaptureFixture[str], credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ecs")
    code = main(["serve", "--host", "0.0.0.0"])
    out, err = capsys.readouterr()
    assert code == 4 and out == ""
    assert err.startswith("credpick serve: --host '0.0.0.0' is not a loopback address")
    assert len(err.splitlines()) == 1


def test_the_repr_holds_no_token_secret_or_whole_key_id(server: CredentialServer) -> None:
    assert server.token not in repr(server)
    assert_no_secret(repr(FIXED))
    assert "ASIA...MPLE" in repr(FIXED)


def test_a_forged_log_line_is_not_possible(
    server: CredentialServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="credpick")
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(b"GET /a\x1b[2J\rserve:\x0bGET HTTP/1.1\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404 ")
    (line,) = [r.getMessage() for r in caplog.records if "serve:" in r.getMessage()]
    assert line == "serve: GET /a?[2J?serve:?GET from 127.0.0.1: 404"


def test_serve_prints_the_two_lines_and_stops_on_sigint(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")
    served = subprocess.Popen(
        [sys.executable, "-m", "credpick", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert served.stdout is not None
    lines = [served.stdout.readline() for _ in range(2)]
    url = lines[0].removeprefix("export AWS_CONTAINER_CREDENTIALS_FULL_URI=").strip()
    token = lines[1].removeprefix("export AWS_CONTAINER_AUTHORIZATION_TOKEN=").strip()
    reply = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": token}))
    assert json.loads(reply.read())["AccessKeyId"].startswith("ASIA")
    served.send_signal(signal.SIGINT)
    out, err = served.communicate(timeout=60)
    assert served.returncode == 0 and out == "" and err == ""


def test_a_huge_head_gets_431_when_sent_at_once(server: CredentialServer) -> None:
    head = b"GET " + PATH.encode() + b" HTTP/1.1\r\nX-Big: " + b"a" * (2 * MAX_HEAD) + b"\r\n\r\n"
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(head)
        reply = sock.recv(200)
    assert reply.startswith(b"HTTP/1.1 431 ")


def test_a_slow_loris_is_cut_off_at_the_head_deadline(server: CredentialServer) -> None:
    """One byte at a time, each well within any per-read timeout: the deadline is for
    the whole head (1 s here), so the server answers 408 while the client still trickles."""
    with socket.create_connection(server.address, timeout=10) as sock:
        sock.sendall(b"GET " + PATH.encode() + b" HTTP/1.1\r\nX-Slow: ")
        reply = b""
        for _ in range(200):  # 200 x 0.05 s: far longer than the deadline
            try:
                sock.sendall(b"a")
            except OSError:
                break
            if select.select([sock], [], [], 0.05)[0]:
                reply = sock.recv(200)
                break
    assert reply.startswith(b"HTTP/1.1 408 ")


def test_a_source_that_fails_is_500_with_the_reason_and_no_secret() -> None:
    def failing() -> Current:
        raise SourceFailed("the container endpoint answered 503", kind="ecs")

    with CredentialServer(failing) as running:
        status, doc = get(running, token=running.token)
    assert status == 500
    assert doc["message"] == ["ecs", "the container endpoint answered 503"][1]


def test_unknown_expiry_is_served_an_hour_ahead() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    unknown = Current(access_key=TEMP_KEY_ID, secret_key="s", token="t", expiry=None)
    with CredentialServer(lambda: unknown, clock=lambda: now) as running:
        assert get(running, token=running.token)[1]["Expiration"] == "2030-01-01T01:00:00Z"


def test_it_refreshes_across_expiry_with_short_lived_credentials(
    credpick_runtime: Simulation,
) -> None:
    """Credentials that expire in 5 minutes are inside botocore's refresh window:
    each request refreshes them, and the endpoint serves what the source has now."""
    handle = credpick_runtime.use("ecs", expires_in=dt.timedelta(minutes=5))
    emulator = handle.emulator
    assert emulator is not None
    credentials = pick(Options()).get_credentials()
    with CredentialServer(reader(credentials)) as running:
        first = get(running, token=running.token)[1]
        rotated = emulator.rotate(expires_in=dt.timedelta(minutes=6))  # type: ignore[attr-defined]
        second = get(running, token=running.token)[1]
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert second["AccessKeyId"] == rotated.access_key_id
    assert second["Expiration"] == rotated.expiration_iso
    assert first["Expiration"] != second["Expiration"]


def test_each_request_is_logged_masked_and_nothing_secret_is(
    credpick_runtime: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="credpick")
    caplog.set_level(logging.DEBUG, logger="botocore")
    credpick_runtime.use("ecs", expires_in=dt.timedelta(minutes=5))  # refreshes every time
    credentials = pick(Options()).get_credentials()
    with CredentialServer(reader(credentials)) as running:
        ok = get(running, token=running.token)
        refused = get(running, "/x?token=AKIAIOSFODNN7EXAMPLE", token="wrong")
    assert ok[0] == 200 and refused[0] == 404
    served = [r.getMessage() for r in caplog.records if "serve:" in r.getMessage()]
    assert served == [
        f"serve: GET {PATH} from 127.0.0.1: 200",
        "serve: GET /x from 127.0.0.1: 404",
    ]
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in (str(ok[1]["SecretAccessKey"]), str(ok[1]["Token"]), running.token):
        assert secret not in text
    assert SECRET_PREFIX not in text and TOKEN_PREFIX not in text


def test_a_flood_of_connections_is_bounded() -> None:
    """More idle connections than slots: the extra ones are closed at once, and the
    endpoint answers again once the idle ones go.

    The head deadline is far longer than the test, so a busy machine cannot free a
    slot early (the slow-loris test checks the deadline itself)."""
    with CredentialServer(lambda: FIXED, head_timeout=120.0, max_clients=2) as running:
        idle = [socket.create_connection(running.address, timeout=10) for _ in range(2)]
        # Accepted in order: the two idle ones hold both slots before the third arrives.
        with socket.create_connection(running.address, timeout=10) as extra:
            extra.sendall(b"GET " + PATH.encode() + b" HTTP/1.1\r\n\r\n")
            assert extra.recv(100) == b""  # closed unanswered
        for sock in idle:
            sock.close()
        assert _answered_once_free(running) == 200


def _answered_once_free(running: CredentialServer) -> int | None:
    # The server frees a slot when it sees the close; until then a request is dropped.
    deadline = time.monotonic() + 60
    while True:
        try:
            return get(running, token=running.token)[0]
        except (ConnectionError, http.client.HTTPException):
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


def test_a_port_in_use_is_one_line_and_exit_4(
    server: CredentialServer, capsys: pytest.CaptureFixture[str], credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ecs")
    code = main(["serve", "--port", str(server.address[1])])
    out, err = capsys.readouterr()
    assert code == 4 and out == ""
    assert err.startswith(f"credpick serve: cannot listen on 127.0.0.1 port {server.address[1]}: ")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_a_port_that_is_not_one_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", port])
    assert exited.value.code == 2
    assert "not a port (0 to 65535)" in capsys.readouterr().err
