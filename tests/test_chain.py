"""Role chaining (``assume_role=``), end to end against moto's STS on loopback."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from typing import Any

import boto3
import botocore.exceptions
import pytest
import time_machine
from botocore.credentials import AssumeRoleCredentialFetcher

import credpick
from credpick import AssumeRole, Policy
from credpick._chain import default_session_name
from credpick.sources._base import BuildInputs
from credpick.testing import RuntimeHandle, Simulation, StsRejecting

from .helpers import STATIC_ENV, TEMP_ENV, assert_no_secret

ACCOUNT_A, ACCOUNT_B = "111122223333", "444455556666"
ROLE_A = f"arn:aws:iam::{ACCOUNT_A}:role/reports-reader"
ROLE_B = f"arn:aws:iam::{ACCOUNT_B}:role/vendor/data-export"
EXTERNAL_ID = "MARKER-external-id-7d1c"


def assumed(account: str) -> list[Any]:
    """moto's record of every AssumeRole into ``account``, oldest first."""
    from moto.sts.models import sts_backends

    return list(sts_backends[account]["aws"].assumed_roles)


def identity(session: boto3.Session) -> str:
    arn: str = session.client("sts").get_caller_identity()["Arn"]
    return arn


@pytest.fixture
def sts_callers(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The access key id each STS client credpick creates signs with, in order."""
    seen: list[str | None] = []
    real = BuildInputs.client_creator

    def spy(self: BuildInputs) -> Any:
        create = real(self)

        def recording(service_name: str, **kwargs: Any) -> Any:
            if service_name == "sts":
                seen.append(kwargs.get("aws_access_key_id"))
            return create(service_name, **kwargs)

        return recording

    monkeypatch.setattr(BuildInputs, "client_creator", spy)
    return seen


@pytest.fixture
def instance(sts: Any, credpick_runtime: Simulation) -> RuntimeHandle:
    """An EC2 instance with an instance profile, and moto's STS."""
    return credpick_runtime.use("ec2-instance-profile")


# -- one role, two roles -----------------------------------------------------


def test_one_role_from_the_instance_profile(
    instance: RuntimeHandle, sts_callers: list[str | None]
) -> None:
    session = credpick.session(assume_role=AssumeRole(ROLE_A))
    credentials = session.get_credentials()
    assert credentials.method == "assume-role"
    (record,) = assumed(ACCOUNT_A)
    assert credentials.get_frozen_credentials().access_key == record.access_key_id
    assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/reports-reader/")
    assert len(sts_callers) == 1 and (sts_callers[0] or "").startswith("ASIA")  # the instance's


def test_a_chain_of_two_roles_ends_in_the_last(
    instance: RuntimeHandle, sts_callers: list[str | None]
) -> None:
    session = credpick.session(assume_role=[AssumeRole(ROLE_A), AssumeRole(ROLE_B)])
    (first,) = assumed(ACCOUNT_A)
    (second,) = assumed(ACCOUNT_B)
    assert sts_callers[1] == first.access_key_id  # link 2 was signed by link 1
    assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_B}:assumed-role/data-export/")
    assert session.get_credentials().get_frozen_credentials().access_key == second.access_key_id


def test_role_arn_for_web_identity_and_assume_role_together(
    sts: Any, credpick_runtime: Simulation
) -> None:
    irsa = credpick_runtime.use("web-identity")
    session = credpick.session(role_arn=irsa.role_arn, assume_role=AssumeRole(ROLE_A))
    assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/reports-reader/")
    detection = credpick.detect(role_arn=irsa.role_arn, assume_role=AssumeRole(ROLE_A))
    assert detection.chosen is not None and detection.chosen.kind == "web-identity"


def test_external_id_and_the_other_parameters_are_sent(instance: RuntimeHandle) -> None:
    link = AssumeRole(
        ROLE_A,
        external_id=EXTERNAL_ID,
        session_name="nightly-export",
        duration_seconds=900,
        source_identity="alice",
        tags={"team": "data"},
    )
    sent: list[dict[str, Any]] = []
    real = AssumeRoleCredentialFetcher._assume_role_kwargs
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            AssumeRoleCredentialFetcher,
            "_assume_role_kwargs",
            lambda self: sent.append(real(self)) or sent[-1],
        )
        session = credpick.session(assume_role=link)
    (record,) = assumed(ACCOUNT_A)
    assert record.external_id == EXTERNAL_ID  # what moto received
    assert record.session_name == "nightly-export"
    assert round((record.expiration - record.access_key.create_date).total_seconds()) == 900
    assert sent == [
        {
            "RoleArn": ROLE_A,
            "RoleSessionName": "nightly-export",
            "ExternalId": EXTERNAL_ID,
            "DurationSeconds": 900,
            "SourceIdentity": "alice",
            "Tags": [{"Key": "team", "Value": "data"}],
        }
    ]
    assert identity(session).endswith("/reports-reader/nightly-export")


# -- the default session name -------------------------------------------------


@pytest.mark.parametrize(
    ("runtime", "name"),
    [("lambda", "credpick-lambda-credpick-simulated"), ("ecs", "credpick-ecs-credpick-simulated")],
)
def test_default_session_name_says_where_it_runs(
    sts: Any, credpick_runtime: Simulation, runtime: str, name: str
) -> None:
    credpick_runtime.use(runtime)
    session = credpick.session(assume_role=AssumeRole(ROLE_A))
    assert identity(session).endswith(f"/reports-reader/{name}")


def test_default_session_name_has_the_github_run_id(
    instance: RuntimeHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "9876543210")
    session = credpick.session(assume_role=[AssumeRole(ROLE_A), AssumeRole(ROLE_B)])
    assert identity(session).endswith("/data-export/credpick-github-9876543210")
    assert assumed(ACCOUNT_A)[0].session_name == "credpick-github-9876543210"


def test_default_session_name_is_sanitized_and_short(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = make_context({"AWS_LAMBDA_FUNCTION_NAME": "billing:prod fn/" + "x" * 80})
    name = default_session_name(odd)
    assert name.startswith("credpick-lambda-billing-prod-fn-xxx") and len(name) == 64
    fargate = make_context({"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"})
    assert default_session_name(fargate) == "credpick-aws-ecs-fargate"
    monkeypatch.setattr("socket.gethostname", lambda: "build box.example.com")
    assert default_session_name(make_context()) == "credpick-build-box.example.com"
    AssumeRole(ROLE_A, session_name=name)  # STS's own constraints hold


# -- refresh ------------------------------------------------------------------


def test_a_short_lived_role_refreshes_across_expiry(
    instance: RuntimeHandle, sts_callers: list[str | None]
) -> None:
    session = credpick.session(assume_role=AssumeRole(ROLE_A, duration_seconds=900))
    credentials = session.get_credentials()
    first = credentials.get_frozen_credentials().access_key
    with time_machine.travel(dt.timedelta(minutes=9)):  # 6 of 15 minutes left
        assert credentials.get_frozen_credentials().access_key == first
    assert len(assumed(ACCOUNT_A)) == 1  # no AssumeRole before every request
    with time_machine.travel(dt.timedelta(minutes=16)):  # past moto's expiry
        second = credentials.get_frozen_credentials().access_key
        assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/")
    records = assumed(ACCOUNT_A)
    assert len(records) == 2 and second == records[1].access_key_id != first
    assert sts_callers[0] == sts_callers[1]  # both signed by the (unexpired) instance keys


def test_every_link_of_a_chain_refreshes(
    instance: RuntimeHandle, sts_callers: list[str | None]
) -> None:
    chain = [AssumeRole(ROLE_A, duration_seconds=900), AssumeRole(ROLE_B, duration_seconds=900)]
    credentials = credpick.session(assume_role=chain).get_credentials()
    with time_machine.travel(dt.timedelta(minutes=16)):
        last = credentials.get_frozen_credentials().access_key
    a, b = assumed(ACCOUNT_A), assumed(ACCOUNT_B)
    assert (len(a), len(b)) == (2, 2) and last == b[1].access_key_id
    assert sts_callers[-1] == a[1].access_key_id  # the new link 2, from the new link 1


def test_a_failed_refresh_fails_closed(
    instance: RuntimeHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = credpick.session(assume_role=AssumeRole(ROLE_A, duration_seconds=900))
    base = session.get_credentials().get_frozen_credentials().access_key

    def denied(self: Any) -> Any:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole"
        )

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "_get_credentials", denied)
    with (
        time_machine.travel(dt.timedelta(minutes=16)),
        pytest.raises(credpick.SourceFailed) as info,
    ):
        session.client("sts").get_caller_identity()
    assert info.value.kind == "assume-role" and ROLE_A in info.value.reason
    assert len(assumed(ACCOUNT_A)) == 1 and base == assumed(ACCOUNT_A)[0].access_key_id


# -- errors and the policy ----------------------------------------------------


@pytest.mark.parametrize("external_id", [None, EXTERNAL_ID])
def test_access_denied_names_the_role_and_the_fix(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch, external_id: str | None
) -> None:
    credpick_runtime.use("ec2-instance-profile")
    with StsRejecting(code="AccessDenied") as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", fake.url)
        with pytest.raises(credpick.SourceFailed) as info:
            credpick.session(assume_role=AssumeRole(ROLE_A, external_id=external_id))
    err = info.value
    assert fake.actions == ["AssumeRole"]
    assert err.kind == "assume-role" and "AccessDenied" in err.reason and ROLE_A in err.reason
    assert err.fix is not None and f"trust policy of {ROLE_A}" in err.fix
    assert "ec2-instance-profile (instance metadata)" in err.fix
    assert ("check the external id" if external_id else "pass AssumeRole(external_id=") in err.fix
    assert err.__cause__ is None  # STS's message is not carried along
    assert_no_secret(str(err), repr(err))
    assert EXTERNAL_ID not in str(err) + repr(err)


def test_a_failing_second_link_names_it_and_its_caller(
    instance: RuntimeHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = AssumeRoleCredentialFetcher._get_credentials

    def deny_b(self: Any) -> Any:
        if self._role_arn == ROLE_B:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole"
            )
        return real(self)

    monkeypatch.setattr(AssumeRoleCredentialFetcher, "_get_credentials", deny_b)
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(assume_role=[AssumeRole(ROLE_A), AssumeRole(ROLE_B)])
    err = info.value
    assert ROLE_B in err.reason and err.fix and f"allow {ROLE_A} to call" in err.fix
    assert any(e.startswith("link 2 of 2") for e in err.evidence)


def test_policy_still_judges_the_base(
    credpick_runtime: Simulation, sts: Any, sts_callers: list[str | None]
) -> None:
    credpick_runtime.use("static")
    with pytest.raises(credpick.StaticKeysRefused):
        credpick.session(policy=Policy(static_keys="forbid"), assume_role=AssumeRole(ROLE_A))
    credpick_runtime.use("ec2-instance-profile")  # a role next to the key
    session = credpick.session(assume_role=AssumeRole(ROLE_A))
    assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/")
    assert len(sts_callers) == 1 and (sts_callers[0] or "").startswith("ASIA")  # not the key


def test_explicit_static_keys_are_refused_where_a_role_is_possible(
    credpick_runtime: Simulation,
    sts: Any,
    sts_callers: list[str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credpick_runtime.use("ec2-instance-profile")
    credpick_runtime.use("static", where="credentials-file")
    monkeypatch.setenv("AWS_PROFILE", "default")
    with pytest.raises(credpick.StaticKeysRefused):
        credpick.session(assume_role=AssumeRole(ROLE_A))
    assert sts_callers == [] and assumed(ACCOUNT_A) == []


def test_static_keys_the_policy_allows_can_assume_a_role(
    sts: Any, monkeypatch: pytest.MonkeyPatch, sts_callers: list[str | None]
) -> None:
    for name, value in STATIC_ENV.items():
        monkeypatch.setenv(name, value)
    session = credpick.session(policy=Policy(static_keys="allow"), assume_role=AssumeRole(ROLE_A))
    assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/")
    assert sts_callers == [STATIC_ENV["AWS_ACCESS_KEY_ID"]]


def test_the_hook_sees_the_chain(instance: RuntimeHandle) -> None:
    def vendor_roles_need_an_external_id(detection: credpick.Detection) -> None:
        if any(":role/vendor/" in r.role_arn and not r.external_id for r in detection.chain):
            raise credpick.PolicyViolation("vendor roles need an external id")

    policy = Policy(hook=vendor_roles_need_an_external_id)
    with pytest.raises(credpick.PolicyViolation):
        credpick.session(policy=policy, assume_role=AssumeRole(ROLE_B))
    assert assumed(ACCOUNT_B) == []


# -- AssumeRole itself ------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"role_arn": "reports-reader"},
        {"role_arn": "arn:aws:iam::1234:role/x"},
        {"role_arn": "arn:aws:iam::123456789012:user/x"},
        {"role_arn": ROLE_A, "duration_seconds": 899},
        {"role_arn": ROLE_A, "duration_seconds": 43201},
        {"role_arn": ROLE_A, "duration_seconds": True},
        {"role_arn": ROLE_A, "duration_seconds": 900.0},
        {"role_arn": ROLE_A, "session_name": "has space"},
        {"role_arn": ROLE_A, "session_name": "x" * 65},
        {"role_arn": ROLE_A, "source_identity": "a"},
        {"role_arn": ROLE_A, "tags": {"team": 1}},
        {"role_arn": ROLE_A, "tags": [("team", "data")]},
        {"role_arn": ROLE_A, "tags": {f"k{i}": "v" for i in range(51)}},
        {"role_arn": ROLE_A, "external_id": "MARKER-external id with spaces"},
    ],
)
def test_assume_role_refuses_what_sts_would(kwargs: dict[str, Any]) -> None:
    with pytest.raises(credpick.ConfigurationError) as info:
        AssumeRole(**kwargs)
    assert info.value.fix
    assert "MARKER-external" not in str(info.value)  # an external id is never echoed


def test_assume_role_is_a_frozen_value_that_hides_the_external_id() -> None:
    link = AssumeRole(ROLE_B, external_id=EXTERNAL_ID, tags={"team": "data"})
    assert EXTERNAL_ID not in repr(link) and EXTERNAL_ID not in json.dumps(link.to_dict())
    assert link == AssumeRole(ROLE_B, external_id=EXTERNAL_ID, tags={"team": "data"})
    assert hash(link) == hash(AssumeRole(ROLE_B, external_id=EXTERNAL_ID, tags={"team": "data"}))
    with pytest.raises(AttributeError):
        link.role_arn = ROLE_A  # type: ignore[misc]
    assert AssumeRole(f"arn:aws-cn:iam::{ACCOUNT_A}:role/a/b/c").role_arn.endswith("/c")


@pytest.mark.parametrize("value", [ROLE_A, [ROLE_A], 42])
def test_assume_role_argument_must_hold_assume_role_values(
    instance: RuntimeHandle, value: Any
) -> None:
    with pytest.raises(credpick.ConfigurationError):
        credpick.session(assume_role=value)
    assert isinstance(credpick.detect(assume_role=value).error, credpick.ConfigurationError)


# -- the report and the audit trail --------------------------------------------


def test_detection_reports_the_chain_without_assuming_it(
    instance: RuntimeHandle, sts_callers: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    chain = [
        AssumeRole(ROLE_A),
        AssumeRole(ROLE_B, external_id=EXTERNAL_ID, duration_seconds=900, tags={"team": "x"}),
    ]
    d = credpick.detect(assume_role=chain)
    assert sts_callers == [] and d.ok
    assert [link.role_arn for link in d.chain] == [ROLE_A, ROLE_B]
    lines = d.explain().splitlines()
    assert lines[1] == f"  then assumes {ROLE_A} (session name 'credpick-github-77')"
    assert lines[2] == (
        f"  then assumes {ROLE_B} (external id set, session name 'credpick-github-77', "
        "900 s, session tags: team)"
    )
    data = d.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["assume_role"][1] == {
        "role_arn": ROLE_B,
        "external_id": True,
        "session_name": "credpick-github-77",
        "duration_seconds": 900,
        "source_identity": None,
        "tags": ["team"],
    }
    assert credpick.detect().to_dict()["assume_role"] == []
    for text in (d.explain(), json.dumps(data), repr(d)):
        assert EXTERNAL_ID not in text


def test_no_secret_in_reports_errors_or_logs(
    instance: RuntimeHandle, caplog: pytest.LogCaptureFixture
) -> None:
    chain = [AssumeRole(ROLE_A), AssumeRole(ROLE_B, external_id=EXTERNAL_ID)]
    with caplog.at_level(logging.DEBUG, logger="credpick"):
        session = credpick.session(assume_role=chain)
        d = credpick.detect(assume_role=chain)
    (record,) = [r for r in caplog.records if getattr(r, "credpick", {}).get("event") == "session"]
    fields = record.credpick  # type: ignore[attr-defined]
    assert fields["assume_role"] == [ROLE_A, ROLE_B] and fields["method"] == "assume-role"
    assert f"then assumes {ROLE_B} (external id set" in record.getMessage()
    secrets = [EXTERNAL_ID]
    for r in assumed(ACCOUNT_A) + assumed(ACCOUNT_B):
        secrets += [r.secret_access_key, r.session_token, r.access_key_id]
    frozen = session.get_credentials().get_frozen_credentials()
    assert fields["key_id"] == f"{frozen.access_key[:4]}...{frozen.access_key[-4:]}"
    outputs = [caplog.text, json.dumps(fields), d.explain(), json.dumps(d.to_dict()), repr(d)]
    outputs.append(repr(session.get_credentials()))
    for text in outputs:
        for secret in secrets:
            assert secret not in text
    assert_no_secret(*outputs)


# -- wrap ---------------------------------------------------------------------


def test_wrap_chains_from_a_compliant_session(
    instance: RuntimeHandle, caplog: pytest.LogCaptureFixture
) -> None:
    original = boto3.Session(region_name="eu-west-1")  # the default chain: the instance profile
    with caplog.at_level(logging.INFO, logger="credpick"):
        chained = credpick.wrap(original, assume_role=AssumeRole(ROLE_A))
    assert chained is not original and chained.region_name == "eu-west-1"
    assert chained.get_credentials().method == "assume-role"
    assert original.get_credentials().method == "iam-role"  # left as it was
    assert identity(chained).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/reports-reader/")
    (record,) = [r for r in caplog.records if getattr(r, "credpick", {}).get("event") == "wrap"]
    assert record.credpick["decision"] == "kept"  # type: ignore[attr-defined]
    assert record.credpick["assume_role"] == [ROLE_A]  # type: ignore[attr-defined]


def test_wrap_chains_from_the_replacement_never_from_the_refused_key(
    instance: RuntimeHandle, credpick_runtime: Simulation, sts_callers: list[str | None]
) -> None:
    stray = credpick_runtime.use("static")
    with pytest.raises(credpick.StaticKeysRefused):
        credpick.wrap(boto3.Session(), assume_role=AssumeRole(ROLE_A))
    assert sts_callers == []
    replaced = credpick.wrap(boto3.Session(), replace=True, assume_role=AssumeRole(ROLE_A))
    assert identity(replaced).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/")
    assert sts_callers and stray.env["AWS_ACCESS_KEY_ID"] not in sts_callers


def test_wrap_fails_closed_when_the_role_is_denied(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    credpick_runtime.use("ec2-instance-profile")
    with StsRejecting(code="AccessDenied") as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", fake.url)
        with pytest.raises(credpick.SourceFailed) as info:  # no region to sign for
            credpick.wrap(boto3.Session(), assume_role=AssumeRole(ROLE_A))
        assert info.value.fix == "set AWS_REGION, or pass region_name="
        with pytest.raises(credpick.SourceFailed) as info:
            credpick.wrap(boto3.Session(region_name="eu-west-1"), assume_role=AssumeRole(ROLE_A))
    assert fake.actions == ["AssumeRole"]
    assert info.value.kind == "assume-role" and info.value.fix
    assert "allow the wrapped session (key ASIA..." in info.value.fix


# -- cost ---------------------------------------------------------------------


def test_a_session_without_a_chain_imports_nothing_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TEMP_ENV.items():  # env-session: no network at all
        monkeypatch.setenv(name, value)
    code = "import sys, credpick; credpick.session(); print('credpick._chain' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_profile_that_assumes_a_role_can_be_the_base(
    sts: Any, credpick_runtime: Simulation
) -> None:
    """A profile that itself assumes a role (source_profile) is the base; ours comes after."""
    ops = credpick_runtime.use("assume-role")
    session = credpick.session(assume_role=AssumeRole(ROLE_A))
    assert identity(session).startswith(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/")
    assert ops.role_arn and any(r.role_arn == ops.role_arn for r in assumed("123456789012"))
