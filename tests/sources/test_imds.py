"""EC2 instance profile, end to end against the IMDS emulator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import time_machine

import credpick
from credpick import Policy, SourceKind, Status, Timeouts
from credpick.sources import imds as imds_source
from credpick.testing import (
    ImdsEmulator,
    Simulation,
    refusing_endpoint,
    silent_endpoint,
    unroutable_endpoint,
)

from ..helpers import STATIC_ENV, assert_no_secret, write


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
        monkeypatch.setattr(imds_source, "DEFAULT_ENDPOINT", url + "/")
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
