"""credpick.guard: every signed request is checked, cheaply; unsigned ones are not."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.session
import pytest
import time_machine
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials, RefreshableCredentials

import credpick
from credpick import Policy
from credpick import _request_guard as guard_module
from credpick.testing import Simulation

from .helpers import (
    SESSION_TOKEN,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_KEY_ID,
    TEMP_SECRET,
    assert_no_secret,
)

ROOT = Path(__file__).resolve().parent.parent
_XML = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"
    b"<UserId>AROA:s</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
)


class _Raw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield _XML


def stubbed_sts(session: Any, sent: list[Any] | None = None, **kwargs: Any) -> Any:
    """An STS client whose requests are signed for real, then answered in-process."""
    create = getattr(session, "client", None) or session.create_client
    client = create("sts", region_name="us-east-1", endpoint_url="http://127.0.0.1:9", **kwargs)

    def answer(request: Any, **_: Any) -> AWSResponse:
        if sent is not None:
            sent.append(request)
        return AWSResponse("http://127.0.0.1:9/", 200, {}, _Raw())

    client.meta.events.register("before-send", answer)
    return client


def temporary_session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=TEMP_KEY_ID,
        aws_secret_access_key=TEMP_SECRET,
        aws_session_token=SESSION_TOKEN,
        region_name="us-east-1",
    )


@pytest.fixture
def instance() -> Iterator[Simulation]:
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        yield sim


# -- the done-when case: swapped credentials fail on the next request ---------


def test_swapped_to_long_lived_keys_fails_on_the_next_request(
    instance: Simulation, sts: Any
) -> None:
    session = credpick.guard(credpick.session())
    client = session.client("sts", endpoint_url=sts.url)
    assert client.get_caller_identity()["Account"]  # a real, signed request to moto
    # Someone swaps the session's credentials for an IAM user's key.
    session._session.set_credentials(STATIC_KEY_ID, STATIC_SECRET)
    with pytest.raises(credpick.StaticKeysRefused) as info:
        session.client("sts", endpoint_url=sts.url).get_caller_identity()
    text = str(info.value)
    assert "sts.GetCallerIdentity" in text
    assert "AKIA...MPLE from keys passed in code" in text
    assert "ec2-instance-profile" in text
    assert_no_secret(text, repr(info.value), info.value.evidence)


def test_swapping_an_existing_clients_credentials_is_caught(instance: Simulation) -> None:
    session = credpick.guard(credpick.session())
    sent: list[Any] = []
    client = stubbed_sts(session, sent)
    client.get_caller_identity()
    client._request_signer._credentials = Credentials(STATIC_KEY_ID, STATIC_SECRET)
    with pytest.raises(credpick.StaticKeysRefused):
        client.get_caller_identity()
    assert len(sent) == 1  # the refused request never left


def test_credentials_that_refresh_into_long_lived_keys_are_caught(instance: Simulation) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    first = {
        "access_key": TEMP_KEY_ID,
        "secret_key": TEMP_SECRET,
        "token": SESSION_TOKEN,
        "expiry_time": (now + dt.timedelta(hours=1)).isoformat(),
    }
    later = {
        "access_key": STATIC_KEY_ID,
        "secret_key": STATIC_SECRET,
        "token": None,
        "expiry_time": (now + dt.timedelta(days=30)).isoformat(),
    }
    credentials = RefreshableCredentials.create_from_metadata(
        first, refresh_using=lambda: later, method="custom-process"
    )
    session = credpick.guard(boto3.Session(region_name="us-east-1"))
    client = stubbed_sts(session)
    client._request_signer._credentials = credentials
    client.get_caller_identity()
    with (
        time_machine.travel(now + dt.timedelta(minutes=58)),
        pytest.raises(credpick.StaticKeysRefused) as info,
    ):
        client.get_caller_identity()
    assert "a credential_process" in str(info.value)


# -- what is not refused -----------------------------------------------------


def test_unsigned_requests_do_not_trip_it(instance: Simulation) -> None:
    session = credpick.guard(
        boto3.Session(
            aws_access_key_id=STATIC_KEY_ID,
            aws_secret_access_key=STATIC_SECRET,
            region_name="us-east-1",
        )
    )
    sent: list[Any] = []
    stubbed_sts(
        session, sent, config=Config(signature_version=botocore.UNSIGNED)
    ).get_caller_identity()
    assert len(sent) == 1 and "Authorization" not in sent[0].headers
    with pytest.raises(credpick.StaticKeysRefused):
        stubbed_sts(session).get_caller_identity()


def test_temporary_credentials_pass_without_detection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Policy] = []
    monkeypatch.setattr(guard_module, "runtime_role", lambda p: calls.append(p))
    client = stubbed_sts(credpick.guard(temporary_session()))
    for _ in range(3):
        client.get_caller_identity()
    assert calls == []


def test_the_decision_is_cached_per_identity(
    instance: Simulation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = guard_module.runtime_role
    calls: list[Policy] = []

    def counting(policy: Policy) -> Any:
        calls.append(policy)
        return real(policy)

    monkeypatch.setattr(guard_module, "runtime_role", counting)
    session = credpick.guard(
        boto3.Session(
            aws_access_key_id=STATIC_KEY_ID,
            aws_secret_access_key=STATIC_SECRET,
            region_name="us-east-1",
        )
    )
    client = stubbed_sts(session)
    with caplog.at_level(logging.INFO, logger="credpick"):
        for _ in range(5):
            with pytest.raises(credpick.StaticKeysRefused):
                client.get_caller_identity()
    assert len(calls) == 1
    decisions = [
        r.credpick for r in caplog.records if getattr(r, "credpick", {}).get("event") == "guard"
    ]
    assert [d["decision"] for d in decisions] == ["refused"]
    assert decisions[0]["service"] == "sts" and decisions[0]["operation"] == "GetCallerIdentity"
    assert_no_secret(caplog.text)


def test_policies(instance: Simulation) -> None:
    def keyed() -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=STATIC_KEY_ID,
            aws_secret_access_key=STATIC_SECRET,
            region_name="us-east-1",
        )

    stubbed_sts(credpick.guard(keyed(), policy=Policy(static_keys="allow"))).get_caller_identity()
    # Guarding again replaces the policy rather than adding a second check.
    session = credpick.guard(keyed(), policy=Policy(static_keys="allow"))
    credpick.guard(session, policy=Policy(static_keys="forbid"))
    with pytest.raises(credpick.StaticKeysRefused):
        stubbed_sts(session).get_caller_identity()


def test_forbid_refuses_keys_even_without_a_role() -> None:
    session = credpick.guard(
        boto3.Session(
            aws_access_key_id=STATIC_KEY_ID,
            aws_secret_access_key=STATIC_SECRET,
            region_name="us-east-1",
        ),
        policy=Policy(static_keys="forbid"),
    )
    with pytest.raises(credpick.StaticKeysRefused) as info:
        stubbed_sts(session).get_caller_identity()
    assert "forbids" in str(info.value)
    # Without a role and under the default policy, keys are what there is.
    default = credpick.guard(
        boto3.Session(
            aws_access_key_id=STATIC_KEY_ID,
            aws_secret_access_key=STATIC_SECRET,
            region_name="us-east-1",
        )
    )
    stubbed_sts(default).get_caller_identity()


def test_presigned_urls_are_checked_too(instance: Simulation) -> None:
    session = credpick.guard(
        boto3.Session(
            aws_access_key_id=STATIC_KEY_ID,
            aws_secret_access_key=STATIC_SECRET,
            region_name="us-east-1",
        )
    )
    with pytest.raises(credpick.StaticKeysRefused) as info:
        session.client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": "b", "Key": "k"}
        )
    assert "s3.GetObject" in str(info.value)


def test_a_botocore_session_can_be_guarded(instance: Simulation) -> None:
    bs = botocore.session.Session()
    assert credpick.guard(bs) is bs
    bs.set_credentials(STATIC_KEY_ID, STATIC_SECRET)
    with pytest.raises(credpick.StaticKeysRefused):
        stubbed_sts(bs).get_caller_identity()


def test_the_identity_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    class Recording(guard_module._Guard):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(guard_module, "_Guard", Recording)
    monkeypatch.setattr(guard_module, "_MAX_IDENTITIES", 3)
    client = stubbed_sts(credpick.guard(temporary_session()))
    for n in range(10):
        client._request_signer._credentials = Credentials(
            f"ASIA{n:016d}", TEMP_SECRET, SESSION_TOKEN
        )
        client.get_caller_identity()
    assert len(made) == 1 and 1 <= len(made[0]._decisions) <= 3


# -- overhead ----------------------------------------------------------------


def test_the_overhead_benchmark_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "guard_overhead.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "guarded" in result.stdout and "ns/request" in result.stdout
    assert "ns/call" in result.stdout
