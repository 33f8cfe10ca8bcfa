"""The instance metadata source against a hostile or broken metadata endpoint.

Each case points credpick at a loopback endpoint that answers like IMDSv2 on
every path but one, where it attacks: a reply trickled one byte at a time, a
huge reply, wrong content, a redirect. Others make the endpoint unreachable
where the metadata service must exist (an endpoint set explicitly, or
hardware that says EC2). In every case a stray long-lived key sits in the
environment, and the outcome must be a ``SourceFailed`` about the metadata
service, within a generous bound, with no secret anywhere in the error.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Policy, Timeouts
from credpick._mask import display_url
from credpick.sources import _imds_settings
from credpick.sources import imds as imds_source
from credpick.testing import refusing_endpoint, unroutable_endpoint
from credpick.testing._hostile import HostileEndpoint, HostileMode
from tests.helpers import SESSION_TOKEN, STATIC_ENV, STATIC_KEY_ID, TEMP_KEY_ID, TEMP_SECRET, write
from tests.security._leaks import Records, assert_clean_error, leaks

TOKEN = "MARKER-IMDS-TOKEN-9a9a"
ROLE = "credpick-test-role"
TOKEN_PATH = "/latest/api/token"
ROLE_PATH = "/latest/meta-data/iam/security-credentials/"
CREDS_PATH = ROLE_PATH + ROLE
STEPS = {"token": TOKEN_PATH, "role": ROLE_PATH, "credentials": CREDS_PATH}
MARKERS = (TOKEN, TEMP_SECRET, SESSION_TOKEN, STATIC_KEY_ID, "MARKER-BODY")
#: Short timeouts, so each bounded case ends in about a second.
FAST = Timeouts(imds_connect=0.25, imds_read=0.5)
#: Seconds: a hang guard, not a benchmark (the bug held a probe for 20 to 65 s).
BOUND = 10.0


def _document(**changes: Any) -> bytes:
    doc = {
        "Code": "Success",
        "LastUpdated": "2026-01-01T00:00:00Z",
        "Type": "AWS-HMAC",
        "AccessKeyId": TEMP_KEY_ID,
        "SecretAccessKey": TEMP_SECRET,
        "Token": SESSION_TOKEN,
        "Expiration": "2099-01-01T00:00:00Z",
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def _reply(status: int, body: bytes, content_type: str = "text/plain") -> bytes:
    head = (
        f"HTTP/1.1 {status} Reply\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class HostileImds(HostileEndpoint):
    """IMDSv2 on every path but ``target``, where it misbehaves as ``mode``.

    Extra modes: ``"slow-small"`` trickles a reply whose whole length is
    within every cap (so only a deadline ends it), ``"endless"`` streams a
    body with no length until the client stops reading, and ``"content"``
    answers 200 with ``body`` as it is.
    """

    def __init__(self, target: str, mode: str, **kwargs: Any) -> None:
        parent: HostileMode = (
            mode if mode in ("slow-headers", "huge", "redirect", "hold") else "reply"
        )  # type: ignore[assignment]
        super().__init__(parent, **kwargs)
        self.target = target
        self.attack = mode

    def _handle(self, conn: socket.socket) -> None:
        deadline = time.monotonic() + self.max_seconds
        conn.settimeout(0.2)
        try:
            if self.attack == "greet":  # plain HTTP at once, where TLS is expected
                conn.sendall(_reply(400, b"MARKER-BODY"))
            head = self._read_head(conn, deadline)
            with self._lock:
                self.heads.append(head)
            parts = head.split(b" ", 2)
            path = parts[1].decode("latin-1") if len(parts) > 1 else ""
            if path != self.target:
                conn.sendall(_healthy(path))
            elif self.attack == "slow-small":
                self._trickle(conn, _reply(200, b"x" * 40), deadline)
            elif self.attack == "endless":
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                while time.monotonic() < deadline and not self._stop.is_set():
                    conn.sendall(b"MARKER-BODY " * 4096)
            elif self.attack == "content":
                conn.sendall(_reply(self.status, self.body))
            else:
                self._answer(conn, deadline)
        except OSError:
            pass
        finally:
            conn.close()


def _healthy(path: str) -> bytes:
    if path == TOKEN_PATH:
        return _reply(200, TOKEN.encode())
    if path == ROLE_PATH:
        return _reply(200, ROLE.encode())
    if path == CREDS_PATH:
        return _reply(200, _document(), "application/json")
    return _reply(404, b"Not Found")


@pytest.fixture
def stray(monkeypatch: pytest.MonkeyPatch) -> str:
    """A long-lived key in the environment, and the metadata service enabled."""
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    return STATIC_KEY_ID


def _fails(monkeypatch: pytest.MonkeyPatch, url: str, **kwargs: Any) -> credpick.SourceFailed:
    """``credpick.session()`` against ``url``: a SourceFailed about IMDS, in bound, clean."""
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    return _session_fails(**kwargs)


def _session_fails(**kwargs: Any) -> credpick.SourceFailed:
    kwargs.setdefault("timeouts", FAST)
    start = time.monotonic()
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(**kwargs)
    elapsed = time.monotonic() - start
    assert elapsed < BOUND, f"a verdict took {elapsed:.1f} s"
    error = info.value
    assert error.kind == "ec2-instance-profile", str(error)
    assert_clean_error(error)
    assert_clean_error(error, MARKERS)
    assert error.__cause__ is None and error.__context__ is None
    assert STATIC_KEY_ID not in str(error)
    return error


def _hostile(target: str, mode: str, **kwargs: Any) -> contextlib.AbstractContextManager[Any]:
    return HostileImds(STEPS[target], mode, delay=0.2, **kwargs)


# -- slow and huge replies, at each step -------------------------------------------


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("mode", ["slow-headers", "slow-small"])
def test_a_trickling_reply_ends_at_the_deadline(
    stray: str, monkeypatch: pytest.MonkeyPatch, step: str, mode: str
) -> None:
    with _hostile(step, mode) as endpoint:
        url = endpoint.url + "/"
        error = _fails(monkeypatch, url)
    assert "timed out" in str(error) and "within 0.5 s" in str(error)
    assert display_url(url) in str(error)


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("mode", ["huge", "endless"])
def test_a_huge_reply_is_refused_at_its_cap(
    stray: str, monkeypatch: pytest.MonkeyPatch, step: str, mode: str
) -> None:
    with _hostile(step, mode, body=b"MARKER-BODY ") as endpoint:
        url = endpoint.url + "/"
        error = _fails(monkeypatch, url)
    cap = {"token": 4096, "role": 66, "credentials": 65536}[step]
    assert f"larger than {cap} bytes" in str(error)
    assert url in str(error)


# -- wrong content -------------------------------------------------------------------

_WRONG = [
    ("token", b"<html><body>Not a token</body></html>", "not a token"),
    ("token", b"abc\r\nX-Injected: MARKER-BODY", "not a token"),
    ("token", b"abc\x00MARKER-BODY", "not a token"),
    ("token", b"\xff\xfeMARKER-BODY", "not a token"),
    ("role", b"a/b", "not a role-name"),
    ("role", b"..", "not a role-name"),
    ("role", b"../../api/token", "not a role-name"),
    ("role", b"<html>MARKER-BODY</html>", "not a role-name"),
    ("role", b"\xff\xfe", "not a role-name"),
    ("credentials", b"<html><body>MARKER-BODY</body></html>", "not valid JSON"),
    ("credentials", b"[" + _document() + b"]", "not valid JSON"),
    ("credentials", b"\xff\xfe" + _document(), "not valid JSON"),
    ("credentials", _document(SecretAccessKey=12345), "missing fields"),
    ("credentials", _document(Code="MARKER-BODY is here"), "code (not shown)"),
    ("credentials", _document(Expiration="MARKER-BODY tomorrow"), "Expiration"),
]


@pytest.mark.parametrize(("step", "body", "says"), _WRONG)
def test_wrong_content_is_refused_and_never_quoted(
    stray: str, monkeypatch: pytest.MonkeyPatch, step: str, body: bytes, says: str
) -> None:
    with _hostile(step, "content", body=body) as endpoint:
        error = _fails(monkeypatch, endpoint.url + "/")
        heads = list(endpoint.heads)
    assert says in str(error)
    if step == "role":  # an odd role name never goes into a request
        assert {h.split(b" ")[1] for h in heads} == {TOKEN_PATH.encode(), ROLE_PATH.encode()}


# -- redirects are never followed -------------------------------------------------------


@pytest.mark.parametrize("step", list(STEPS))
def test_a_redirect_is_never_followed(
    stray: str, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    with HostileEndpoint("reply") as elsewhere:
        with _hostile(step, "redirect", location=elsewhere.url + "/steal") as endpoint:
            error = _fails(monkeypatch, endpoint.url + "/")
        assert elsewhere.heads == []  # not one request, so no token reached it
    assert "HTTP 302" in str(error)


# -- unreachable where the service must exist ------------------------------------------


@contextlib.contextmanager
def _broken(fault: str) -> Iterator[str]:
    """A base URL where the metadata service is broken in one way."""
    if fault == "refused":
        yield refusing_endpoint() + "/"
    elif fault == "dropped":
        with unroutable_endpoint() as url:
            yield url + "/"
    elif fault == "reset":
        with HostileEndpoint("reset") as endpoint:
            yield endpoint.url + "/"
    else:  # TLS asked of an endpoint that speaks plain HTTP
        with HostileImds(TOKEN_PATH, "greet") as endpoint:
            yield endpoint.url.replace("http://", "https://") + "/"


_CAUSE = {
    "refused": "connection refused",
    "dropped": "no connection within 0.25 s",
    "reset": "connection dropped",
    "tls": "TLS handshake failed",
}


@pytest.mark.parametrize("fault", list(_CAUSE))
def test_a_configured_endpoint_that_is_broken_fails_closed(
    stray: str, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    with _broken(fault) as url:
        error = _fails(monkeypatch, url)
    assert _CAUSE[fault] in str(error)
    assert display_url(url) in str(error)
    if fault != "reset":  # reset is an answer that broke, not silence
        assert "AWS_EC2_METADATA_SERVICE_ENDPOINT is set" in str(error)
    assert error.fix


_SIGNS = {
    "sys/class/dmi/id/sys_vendor": "Amazon EC2\n",
    "sys/class/dmi/id/product_uuid": "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n",
    "sys/class/dmi/id/board_asset_tag": "i-0123456789abcdef0\n",
    "sys/hypervisor/uuid": "ec2e1916-9099-7caf-fd21-012345abcdef\n",
}


def _ec2_context(make_context: Any, tmp_path: Path, sign: str) -> Any:
    root = tmp_path / "ec2-root"
    if sign != "sys/class/dmi/id/sys_vendor":
        write(root / "sys/class/dmi/id/sys_vendor", "Xen\n")  # an old Xen instance
    write(root / sign, _SIGNS[sign])
    return make_context({**STATIC_ENV, "AWS_EC2_METADATA_DISABLED": None}, root=root, timeouts=FAST)


@pytest.mark.parametrize("fault", ["refused", "dropped", "reset"])
@pytest.mark.parametrize("sign", list(_SIGNS))
def test_ec2_hardware_with_a_broken_metadata_service_fails_closed(
    make_context: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sign: str, fault: str
) -> None:
    with _broken(fault) as url:
        # The default address, moved to loopback: no endpoint is configured.
        monkeypatch.setitem(_imds_settings.MODES, "ipv4", url)
        ctx = _ec2_context(make_context, tmp_path, sign)
        detection = credpick.detect(context=ctx)
        error = _session_fails(context=ctx)
    assert detection.chosen is not None and detection.chosen.kind.value == "ec2-instance-profile"
    assert [c.status.value for c in detection.candidates] == ["failed", "ignored"]
    assert _CAUSE[fault] in str(error)
    if fault != "reset":
        assert f"the hardware says EC2 (/{sign})" in str(error)


def test_the_same_broken_address_without_signs_of_ec2_is_absence(
    make_context: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The contrast: no hardware signs, no endpoint set, nothing answers.
    monkeypatch.setitem(_imds_settings.MODES, "ipv4", refusing_endpoint() + "/")
    ctx = make_context({**STATIC_ENV, "AWS_EC2_METADATA_DISABLED": None}, timeouts=FAST)
    detection = credpick.detect(context=ctx)
    assert detection.chosen is not None and detection.chosen.kind.value == "static"


def test_a_fifo_at_a_dmi_path_does_not_hang_detection(make_context: Any, tmp_path: Path) -> None:
    import os

    root = tmp_path / "fifo-root"
    (root / "sys/class/dmi/id").mkdir(parents=True)
    os.mkfifo(root / "sys/class/dmi/id/sys_vendor")
    ctx = make_context({"AWS_EC2_METADATA_DISABLED": None}, root=root)
    assert imds_source.hardware_signs(ctx) == ()
    assert imds_source.skip_reason(ctx) is None  # unreadable, as in a container: probe


# -- logs, and IMDSv1 answers on the way ---------------------------------------------


def test_no_marker_reaches_any_log_record(
    stray: str, monkeypatch: pytest.MonkeyPatch, debug_records: Records
) -> None:
    with _hostile("credentials", "content", body=b"<html>MARKER-BODY</html>") as endpoint:
        _fails(monkeypatch, endpoint.url + "/")
    assert leaks(debug_records.texts, MARKERS) == []


def test_an_imdsv1_answer_is_refused_at_every_step_by_default(
    stray: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _hostile("token", "content", status=403, body=b"Forbidden") as endpoint:
        error = _fails(monkeypatch, endpoint.url + "/")
        heads = list(endpoint.heads)
    assert "IMDSv1" in str(error)
    assert [h.split(b" ")[0] for h in heads] == [b"PUT"]  # no tokenless GET, ever


def test_imdsv1_only_when_the_policy_allows_it(stray: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with _hostile("token", "content", status=403, body=b"Forbidden") as endpoint:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url + "/")
        session = credpick.session(policy=Policy(allow_imdsv1=True), timeouts=FAST)
        heads = list(endpoint.heads)
    assert session.get_credentials().get_frozen_credentials().access_key == TEMP_KEY_ID
    assert not any(b"x-aws-ec2-metadata-token:" in h.lower() for h in heads[1:])


@pytest.mark.parametrize("mode", ["slow-small", "endless", "huge"])
def test_a_hostile_region_reply_is_no_region(
    stray: str, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:

    with HostileImds("/latest/meta-data/placement/region", mode, delay=0.2) as endpoint:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url + "/")
        ctx = credpick.Context.from_process(timeouts=FAST)
        start = time.monotonic()
        assert imds_source.region(ctx) is None
    assert time.monotonic() - start < BOUND
