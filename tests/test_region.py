"""Where a session's region comes from, and what a credpick session tells
AWS (the user agent app id) and the logs (one audit record)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

import credpick
from credpick import Context
from credpick.sources import imds as imds_source
from credpick.testing import ImdsEmulator

from .helpers import STATIC_ENV, TEMP_ENV, assert_no_secret, write

REGION_PATH = "/latest/meta-data/placement/region"


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImdsEmulator]:
    """An instance in ap-southeast-2, and nothing else naming a region."""
    with ImdsEmulator(region="ap-southeast-2") as emulator:
        monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", emulator.endpoint)
        yield emulator


def region_requests(emulator: ImdsEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.path == REGION_PATH]


# -- the order ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "argument", "expected"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "sa-east-1", ("sa-east-1", "region_name=")),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, None, ("eu-west-1", "AWS_REGION")),
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, None, ("eu-west-2", "AWS_DEFAULT_REGION")),
        ({}, None, (None, None)),
    ],
)  # fmt: skip
def test_argument_then_environment(
    make_context: Any, env: dict[str, str], argument: str | None, expected: tuple[Any, Any]
) -> None:
    d = credpick.detect(context=make_context({**STATIC_ENV, **env}), region_name=argument)
    assert (d.region, d.region_source) == expected


def test_then_the_profiles_region(make_context: Any, home: Any) -> None:
    config = write(home / ".aws" / "config", "[profile dev]\nregion = ca-central-1\n")
    write(
        home / ".aws" / "credentials",
        "[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x-y-z\n",
    )
    ctx = make_context({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "dev"})
    d = credpick.detect(context=ctx)
    assert d.region == "ca-central-1"
    assert d.region_source == f"profile 'dev' ({config})"


def test_then_the_instance_region_fetched_once_when_first_needed(instance: ImdsEmulator) -> None:
    session = credpick.session()
    assert region_requests(instance) == []  # building the session does not ask
    assert len(instance.requests) == 3  # token, role name, credentials
    assert session.region_name == "ap-southeast-2"
    assert session.client("sts").meta.region_name == "ap-southeast-2"
    asked = region_requests(instance)
    assert len(asked) == 1
    assert asked[0].header("x-aws-ec2-metadata-token")  # the probe's token, reused
    assert len(instance.requests) == 4
    credpick.session().client("s3")  # cached for the process
    assert len(region_requests(instance)) == 1
    d = credpick.detect()
    assert (d.region, d.region_source) == ("ap-southeast-2", "instance metadata (placement/region)")


def test_detection_reports_the_instance_as_the_source_before_asking(
    instance: ImdsEmulator,
) -> None:
    d = credpick.detect()
    assert (d.region, d.region_source) == (None, "instance metadata (placement/region)")
    assert "fetched when a client first needs it" in d.explain()
    assert region_requests(instance) == []


def test_a_configured_region_means_the_instance_is_never_asked(
    instance: ImdsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    session = credpick.session()
    session.client("sts")
    assert session.region_name == "us-west-2"
    assert region_requests(instance) == []


def test_the_instance_is_not_asked_when_it_is_not_the_source(
    instance: ImdsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in TEMP_ENV.items():  # Lambda's own keys: rank 1, above the instance
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind.value == "lambda"
    assert (d.region, d.region_source) == (None, None)


def test_an_expired_probe_token_is_renewed_once(instance: ImdsEmulator) -> None:
    ctx = Context.from_process()
    imds_source.probe(ctx)
    instance.reset()  # forgets every token it issued, as after six hours
    assert imds_source.region(ctx) == "ap-southeast-2"
    assert [r.method for r in instance.requests][-3:] == ["GET", "PUT", "GET"]


@pytest.mark.parametrize("body", ["<html>oops</html>", "", "us-east-1; rm -rf /"])
def test_an_odd_answer_is_no_region(monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    with ImdsEmulator(region=body) as emulator:
        monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", emulator.endpoint)
        assert imds_source.region(Context.from_process()) is None


def test_to_dict_and_explain_carry_the_region(make_context: Any) -> None:
    d = credpick.detect(context=make_context({**STATIC_ENV, "AWS_REGION": "eu-north-1"}))
    data = d.to_dict()
    assert (data["region"], data["region_source"]) == ("eu-north-1", "AWS_REGION")
    assert json.loads(json.dumps(data)) == data
    assert "region: eu-north-1 (from AWS_REGION)" in d.explain()


# -- user agent and audit ----------------------------------------------------


def _user_agent(session: Any) -> str:
    seen: list[str] = []
    client = session.client("sts", endpoint_url="http://127.0.0.1:9")

    def capture(request: Any, **_: Any) -> AWSResponse:
        seen.append(request.headers["User-Agent"].decode())
        raise RuntimeError("captured")  # no need to answer

    client.meta.events.register("before-send", capture)
    with pytest.raises(RuntimeError, match="captured"):
        client.get_caller_identity()
    return seen[0]


def test_clients_carry_the_source_kind_in_their_app_id(instance: ImdsEmulator) -> None:
    assert "app/credpick.ec2-instance-profile" in _user_agent(credpick.session())


def test_the_users_own_app_id_is_kept(
    instance: ImdsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", "billing")
    assert "app/billing|credpick.ec2-instance-profile" in _user_agent(credpick.session())


def test_a_session_is_one_audit_record(
    instance: ImdsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="credpick"):
        credpick.session(region_name="eu-west-1")
    records = [r for r in caplog.records if hasattr(r, "credpick")]
    assert len(records) == 1
    fields = records[0].credpick
    assert fields["event"] == "session" and fields["decision"] == "chosen"
    assert fields["kind"] == "ec2-instance-profile"
    assert fields["method"] == "iam-role"
    assert fields["key_id"].startswith("ASIA...")
    assert fields["expiry"].endswith("Z")
    assert (fields["region"], fields["region_source"]) == ("eu-west-1", "region_name=")
    assert "ec2-instance-profile" in records[0].getMessage()
    creds = instance.credentials
    for secret in (creds.secret_access_key, creds.token, creds.access_key_id):
        assert secret not in caplog.text and secret not in json.dumps(fields)
    assert_no_secret(caplog.text)
