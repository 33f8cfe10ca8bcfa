"""EC2 instance profile, end to end against the IMDS emulator."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import time_machine
from botocore.utils import InstanceMetadataFetcher

import credpick
from credpick import Policy, SourceKind, Status, Timeouts
from credpick.sources import _imds_settings
from credpick.sources import imds as imds_source
from credpick.testing import (
    ImdsEmulator,
    Simulation,
    refusing_endpoint,
    silent_endpoint,
    unroutable_endpoint,
)

from ..helpers import STATIC_ENV, assert_no_secret, write
from ..security._leaks import assert_clean_error


@pytest.fixture
def imds(credpick_runtime: Simulation) -> ImdsEmulator:
    """A healthy instance metadata service, and botocore pointed at it."""
    emulator = credpick_runtime.use("ec2-instance-profile").emulator
    assert isinstance(emulator, ImdsEmulator)
    return emulator


def paths(emulator: Any) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emulator.requests]


def test_session_uses_botocores_three_requests(imds: Any) -> None:
    session = credpick.session()
    frozen = session.get_credentials().get_frozen_credentials()
    assert frozen.access_key == imds.credentials.access_key_id
    assert frozen.secret_key == imds.credentials.secret_access_key
    assert session.get_credentials().method == "iam-role"
    assert paths(imds) == [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/credpick-test-role"),
    ]


def test_verdict_is_cached_for_the_process(imds: Any) -> None:
    credpick.session()
    imds.clear_requests()
    credpick.detect()
    assert imds.requests == []
    credpick.session()
    assert len(imds.requests) == 1  # the credentials only


def test_stray_static_key_on_an_instance_is_ignored(
    imds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    session = credpick.session()
    assert session.get_credentials().method == "iam-role"
    d = credpick.detect()
    assert [(c.kind, c.status) for c in d.candidates] == [
        (SourceKind.EC2_INSTANCE_PROFILE, Status.CHOSEN),
        (SourceKind.STATIC, Status.IGNORED),
    ]


def test_credentials_refresh_from_the_instance(imds: Any) -> None:
    session = credpick.session()
    credentials = session.get_credentials()
    first = imds.credentials
    imds.rotate(expires_in=dt.timedelta(hours=12))
    # Five minutes before the first credentials expire, botocore must refresh.
    with time_machine.travel(first.expiration - dt.timedelta(minutes=5)):
        frozen = credentials.get_frozen_credentials()
    assert frozen.access_key == imds.credentials.access_key_id != first.access_key_id


def test_imdsv1_only_is_refused_by_default(imds: Any) -> None:
    imds.set_mode("imdsv1-only")
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session()
    assert info.value.kind == "ec2-instance-profile"
    assert "IMDSv1" in str(info.value) and "allow_imdsv1=True" in str(info.value)


def test_imdsv1_only_works_when_allowed(imds: Any) -> None:
    imds.set_mode("imdsv1-only")
    session = credpick.session(policy=Policy(allow_imdsv1=True))
    assert (
        session.get_credentials().get_frozen_credentials().access_key
        == imds.credentials.access_key_id
    )


def test_hanging_token_request_names_the_hop_limit(imds: Any) -> None:
    imds.set_mode("token-hangs")
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(timeouts=Timeouts(imds_read=0.3))
    assert "hop-limit" in str(info.value) and "timed out" in str(info.value)


@pytest.mark.parametrize("mode", ["error", "malformed"])
def test_broken_metadata_fails_closed(
    imds: Any, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    imds.set_mode(mode)
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session()
    assert info.value.kind == "ec2-instance-profile"
    assert_no_secret(str(info.value))
    assert imds.credentials.secret_access_key not in str(info.value)


def test_instance_without_role_lets_static_keys_through(
    imds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    imds.set_mode("no-role")
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.STATIC
    assert d.candidates[1].status is Status.UNAVAILABLE


@pytest.mark.parametrize("make_endpoint", ["refusing", "unroutable", "silent"])
def test_a_configured_endpoint_that_fails_is_a_failure_not_absence(
    monkeypatch: pytest.MonkeyPatch, make_endpoint: str
) -> None:
    # AWS_EC2_METADATA_SERVICE_ENDPOINT says a metadata service is there:
    # silence from it is a broken source, never "not on EC2".
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")

    def run(url: str) -> credpick.Detection:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
        return credpick.detect(timeouts=Timeouts(imds_connect=0.1, imds_read=0.2))

    if make_endpoint == "refusing":
        url = refusing_endpoint()
        d = run(url)
    else:
        with (unroutable_endpoint if make_endpoint == "unroutable" else silent_endpoint)() as url:
            d = run(url)
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.error.kind == "ec2-instance-profile"
    assert url in str(d.error)
    if make_endpoint != "silent":
        assert "AWS_EC2_METADATA_SERVICE_ENDPOINT is set" in str(d.error)


@pytest.mark.parametrize("make_endpoint", ["refusing", "unroutable"])
def test_no_answer_without_signs_of_ec2_means_no_candidate(
    monkeypatch: pytest.MonkeyPatch, make_endpoint: str
) -> None:
    # No endpoint set and no hardware signs (unreadable DMI, as in many
    # containers): the default address not answering means "not on EC2".
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")

    def run(url: str) -> credpick.Detection:
        monkeypatch.setitem(_imds_settings.MODES, "ipv4", url + "/")
        return credpick.detect(timeouts=Timeouts(imds_connect=0.1, imds_read=0.2))

    if make_endpoint == "refusing":
        d = run(refusing_endpoint())
    else:
        with unroutable_endpoint() as url:
            d = run(url)
    assert isinstance(d.error, credpick.NoCredentialsFound)
    assert d.candidates == ()


def test_hardware_that_is_not_ec2_skips_the_probe(make_context: Any, tmp_path: Path) -> None:
    # No endpoint override: a probe would hit 169.254.169.254 and trip the socket guard.
    write(tmp_path / "root" / "sys/class/dmi/id/sys_vendor", "QEMU\n")
    ctx = make_context({"AWS_EC2_METADATA_DISABLED": None})
    assert "QEMU" in (imds_source.skip_reason(ctx) or "").upper()
    d = credpick.detect(context=ctx)
    assert "not Amazon EC2" in " ".join(d.looked)


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("sys/class/dmi/id/sys_vendor", "Amazon EC2"),
        ("sys/hypervisor/uuid", "ec2e1916-9099-7caf-fd21-012345abcdef"),
    ],
)
def test_ec2_hardware_means_probe(
    make_context: Any, tmp_path: Path, path: str, content: str
) -> None:
    write(tmp_path / "root" / path, content)
    if path.startswith("sys/hypervisor"):
        write(tmp_path / "root" / "sys/class/dmi/id/sys_vendor", "Xen")
    assert imds_source.skip_reason(make_context({"AWS_EC2_METADATA_DISABLED": None})) is None


def test_disabled_skips_the_probe(make_context: Any) -> None:
    assert imds_source.skip_reason(make_context()) == "AWS_EC2_METADATA_DISABLED=true"


def test_secrets_stay_out_of_every_report(imds: Any) -> None:
    session = credpick.session()
    d = credpick.detect()
    secret = imds.credentials.secret_access_key
    token = imds.credentials.token
    for text in (d.explain(), repr(d), str(d.to_dict()), repr(session.get_credentials())):
        assert secret not in text and token not in text


# -- credpick's own IMDSv2 path: the first fetch and every refresh ---------------------


def test_no_fetch_goes_through_botocores_fetcher(
    imds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's fetcher falls back to IMDSv1 and has per-read timeouts only.
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("botocore's InstanceMetadataFetcher was used")

    monkeypatch.setattr(InstanceMetadataFetcher, "__init__", refuse)
    credentials = credpick.session().get_credentials()
    first = imds.credentials
    imds.rotate(expires_in=dt.timedelta(hours=12))
    with time_machine.travel(first.expiration - dt.timedelta(minutes=5)):
        assert credentials.get_frozen_credentials().access_key == imds.credentials.access_key_id
    tokens = [r.header("X-aws-ec2-metadata-token") for r in imds.requests if r.method == "GET"]
    assert tokens and all(tokens)  # every GET, the refresh's too, carried a token


def test_a_refresh_that_meets_imdsv1_only_is_refused(imds: Any) -> None:
    credentials = credpick.session().get_credentials()
    first = imds.credentials
    imds.set_mode("imdsv1-only")
    imds.clear_requests()
    with (
        time_machine.travel(first.expiration - dt.timedelta(minutes=5)),
        pytest.raises(credpick.SourceFailed) as info,
    ):
        credentials.get_frozen_credentials()
    assert info.value.kind == "ec2-instance-profile"
    assert "IMDSv1" in str(info.value) and "allow_imdsv1=True" in str(info.value)
    assert paths(imds) == [("PUT", "/latest/api/token")]  # never a tokenless GET
    assert_clean_error(info.value)


def test_a_refresh_may_use_imdsv1_when_the_policy_allows(imds: Any) -> None:
    credentials = credpick.session(policy=Policy(allow_imdsv1=True)).get_credentials()
    first = imds.credentials
    imds.set_mode("imdsv1-only")
    imds.rotate(expires_in=dt.timedelta(hours=12))
    with time_machine.travel(first.expiration - dt.timedelta(minutes=5)):
        assert credentials.get_frozen_credentials().access_key == imds.credentials.access_key_id


def test_a_refresh_against_a_hanging_service_is_bounded(imds: Any) -> None:
    credentials = credpick.session(timeouts=Timeouts(imds_read=0.3)).get_credentials()
    first = imds.credentials
    imds.set_mode("token-hangs")
    start = time.monotonic()
    with (
        time_machine.travel(first.expiration - dt.timedelta(minutes=5)),
        pytest.raises(credpick.SourceFailed) as info,
    ):
        credentials.get_frozen_credentials()
    assert time.monotonic() - start < 10  # a hang guard: without a deadline, 30 s
    assert "hop-limit" in str(info.value) and imds.endpoint in str(info.value)
    assert_clean_error(info.value)


def test_an_expired_probe_token_is_renewed_once_for_the_first_fetch(imds: Any) -> None:
    credpick.detect()
    imds.reset()  # forgets every token it issued, as after six hours
    session = credpick.session()
    assert session.get_credentials().get_frozen_credentials().access_key == (
        imds.credentials.access_key_id
    )
    creds_path = "/latest/meta-data/iam/security-credentials/credpick-test-role"
    assert paths(imds) == [
        ("GET", creds_path),  # 401: the probe's token has expired
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", creds_path),
    ]


def test_expired_credentials_are_stretched_as_botocore_does(
    imds: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Static stability: during an outage the service serves the last set, expired.
    imds.rotate(expires_in=dt.timedelta(hours=-1))
    caplog.set_level(logging.WARNING, logger="credpick")
    credentials = credpick.session().get_credentials()
    assert credentials.get_frozen_credentials().access_key == imds.credentials.access_key_id
    left = credentials._expiry_time - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=16) < left <= dt.timedelta(minutes=25)
    assert any("static stability" in r.getMessage() for r in caplog.records)


def test_instance_credentials_for_other_sources(imds: Any) -> None:
    ctx = credpick.Context.from_process()
    provider = imds_source.instance_credentials(ctx, Policy())
    credentials = provider.load()
    assert credentials.get_frozen_credentials().access_key == imds.credentials.access_key_id
    assert credentials.method == "iam-role"
    imds_source.clear_cache()
    imds.set_mode("imdsv1-only")
    with pytest.raises(credpick.SourceFailed) as info:
        imds_source.instance_credentials(ctx, Policy()).load()
    assert "IMDSv1" in str(info.value)
    allowed = imds_source.instance_credentials(ctx, Policy(allow_imdsv1=True)).load()
    assert allowed.get_frozen_credentials().access_key == imds.credentials.access_key_id


def test_instance_credentials_fail_closed_when_nothing_answers(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_context({"AWS_EC2_METADATA_DISABLED": None})
    monkeypatch.setitem(_imds_settings.MODES, "ipv4", refusing_endpoint() + "/")
    with pytest.raises(credpick.SourceFailed) as info:
        imds_source.instance_credentials(ctx, Policy()).load()
    assert "cannot be reached (connection refused)" in str(info.value)
    with pytest.raises(credpick.SourceFailed) as disabled:
        imds_source.instance_credentials(make_context(), Policy()).load()
    assert "AWS_EC2_METADATA_DISABLED=true" in str(disabled.value)


# -- every negative verdict is asked again ----------------------------------------------


@pytest.mark.parametrize("mode", ["no-role", "imdsv1-only", "token-hangs"])
def test_a_negative_verdict_is_asked_again_after_a_while(
    imds: Any, make_context: Any, mode: str
) -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint}
    ctx = make_context(env, clock=lambda: now[0], timeouts=Timeouts(imds_read=0.3))
    imds.set_mode(mode)
    first = imds_source.probe(ctx)
    assert first.state != "v2"
    assert first.retry_after == now[0] + imds_source.RETRY_AFTER
    imds.set_mode("healthy")
    assert imds_source.probe(ctx).state == first.state  # cached until then
    now[0] += imds_source.RETRY_AFTER
    assert imds_source.probe(ctx).state == "v2"


def test_not_on_ec2_is_asked_again_after_a_while(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    monkeypatch.setitem(_imds_settings.MODES, "ipv4", refusing_endpoint() + "/")
    ctx = make_context({"AWS_EC2_METADATA_DISABLED": None}, clock=lambda: now[0])
    assert imds_source.probe(ctx).retry_after == now[0] + imds_source.RETRY_AFTER
    now[0] += dt.timedelta(minutes=6)
    assert imds_source.probe(ctx).retry_after == now[0] + imds_source.RETRY_AFTER


def test_a_configured_endpoint_that_fails_is_asked_again_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Where the service must exist, a failure is not cached: the next call asks.
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connects are refused
        monkeypatch.setenv(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT", f"http://127.0.0.1:{sock.getsockname()[1]}/"
        )
        fast = Timeouts(imds_connect=0.25, imds_read=0.2)
        first = credpick.detect(timeouts=fast)
        sock.listen(8)  # now it accepts, and never answers
        second = credpick.detect(timeouts=fast)
    assert "connection refused" in first.candidates[0].reason
    assert "timed out" in second.candidates[0].reason


# -- fork safety ---------------------------------------------------------------------------


def test_a_child_forked_during_a_probe_can_detect(imds: Any) -> None:
    # The parent's probe is in flight (its token request held) when it forks:
    # the child must not wait on a lock or a probe that only the parent has.
    imds.set_mode("token-hangs")
    parent = threading.Thread(
        target=lambda: credpick.detect(timeouts=Timeouts(imds_read=15.0)), daemon=True
    )
    parent.start()
    for _ in range(200):
        if any(r.method == "PUT" for r in imds.requests):
            break
        time.sleep(0.025)
    assert imds_source._state.flights, "the parent's probe is not in flight"
    imds.set_mode("healthy")
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, and never return to pytest
        code = 1
        try:
            code = 4 if imds_source._state.flights else 3
            d = credpick.detect(timeouts=Timeouts(imds_read=2.0))
            if code == 3 and d.chosen is not None and d.chosen.status is Status.CHOSEN:
                code = 0
        finally:
            os._exit(code)
    status = None
    for _ in range(400):  # 20 s: a hang guard; the child needs well under a second
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung in credpick.detect()")
    imds.stop()  # releases the parent's held request
    parent.join(timeout=20)
    assert os.waitstatus_to_exitcode(status) == 0, "child exit code (4: probe state kept)"


def test_an_https_endpoint_works_end_to_end(
    imds: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A TLS proxy in front of the metadata service: every request over the
    # bounded client's TLS reads, the refresh's too.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    httpd = imds._httpd
    httpd.socket = server.wrap_socket(httpd.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint.replace("http:", "https:")
    )
    credentials = credpick.session().get_credentials()
    assert credentials.get_frozen_credentials().secret_key == imds.credentials.secret_access_key
    first = imds.credentials
    imds.rotate(expires_in=dt.timedelta(hours=12))
    with time_machine.travel(first.expiration - dt.timedelta(minutes=5)):
        assert credentials.get_frozen_credentials().access_key == imds.credentials.access_key_id
