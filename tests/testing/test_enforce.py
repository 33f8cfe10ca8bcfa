"""StaticKeyWatch: every request signed with a long-lived key is refused, nothing else."""

from __future__ import annotations

from typing import Any

import boto3
import botocore
import botocore.config
import pytest
from botocore.signers import RequestSigner

import credpick
from credpick.testing import Simulation, StaticKeyWatch, StsEmulator

from ..helpers import STATIC_KEY_ID, STATIC_SECRET, TEMP_KEY_ID, TEMP_SECRET, assert_no_secret

ONE_TRY = botocore.config.Config(retries={"total_max_attempts": 1})


def client(service: str, url: str, **kwargs: Any) -> Any:
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=url, config=ONE_TRY, **kwargs
    )


def keyed(service: str, url: str) -> Any:
    return client(
        service, url, aws_access_key_id=STATIC_KEY_ID, aws_secret_access_key=STATIC_SECRET
    )


def test_a_request_signed_with_keys_in_code_is_refused(sts: StsEmulator) -> None:
    with StaticKeyWatch() as watch, pytest.raises(credpick.StaticKeysRefused) as info:
        keyed("sts", sts.url).get_caller_identity()
    error = info.value
    assert watch.violations == [error]
    assert str(error).startswith(
        "static: the sts client signed GetCallerIdentity with a long-lived access key "
        "(AKIA...MPLE) from keys passed in code"
    )
    assert "client: sts" in error.evidence and "operation: GetCallerIdentity" in error.evidence
    assert any(e.startswith("called at: ") and "test_enforce.py:" in e for e in error.evidence)
    assert error.fix and "credpick.session()" in error.fix
    assert_no_secret(str(error), repr(error), error.evidence, repr(watch))


def test_clients_built_before_the_watch_are_covered(sts: StsEmulator) -> None:
    early = keyed("sts", sts.url)
    with StaticKeyWatch(), pytest.raises(credpick.StaticKeysRefused):
        early.get_caller_identity()
    assert early.get_caller_identity()["Account"]  # and only while the watch is on


def test_keys_from_the_environment_name_their_origin(
    credpick_runtime: Simulation, sts: StsEmulator
) -> None:
    credpick_runtime.use("static")
    with StaticKeyWatch(), pytest.raises(credpick.StaticKeysRefused, match="from environment"):
        client("sts", sts.url).get_caller_identity()


def test_a_presigned_url_is_a_signature_too(sts: StsEmulator) -> None:
    s3 = keyed("s3", sts.url)
    with StaticKeyWatch(), pytest.raises(credpick.StaticKeysRefused, match="signed GetObject"):
        s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})


def test_web_identity_is_unsigned_and_its_role_is_temporary(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("web-identity")
    credpick_runtime.use("static")  # a stray key is ignored, so never signs
    with StaticKeyWatch() as watch:
        session = credpick.session()  # AssumeRoleWithWebIdentity: unsigned
        assert "credpick-test-role" in session.client("sts").get_caller_identity()["Arn"]
    assert watch.violations == []


def test_temporary_keys_and_unsigned_clients_pass(sts: StsEmulator) -> None:
    temporary = client(
        "sts",
        sts.url,
        aws_access_key_id=TEMP_KEY_ID,
        aws_secret_access_key=TEMP_SECRET,
        aws_session_token="MARKER-TOKEN-session-abcdef",
    )
    anonymous = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=sts.url,
        aws_access_key_id=STATIC_KEY_ID,
        aws_secret_access_key=STATIC_SECRET,
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    with StaticKeyWatch() as watch:
        assert temporary.get_caller_identity()["Account"]
        assert anonymous.list_buckets()["Buckets"] == []
    assert watch.violations == []


def test_an_assumed_role_sourced_from_keys_is_refused(credpick_runtime: Simulation) -> None:
    # The AssumeRole call itself is signed with the source profile's AKIA key.
    credpick_runtime.use("assume-role")
    with StaticKeyWatch() as watch, pytest.raises(credpick.StaticKeysRefused, match="AssumeRole"):
        credpick.session()
    assert "from a source_profile's keys (the AssumeRole call)" in str(watch.violations[0])


def test_watches_nest_and_the_innermost_records(sts: StsEmulator) -> None:
    sign, auth = RequestSigner.sign, RequestSigner.get_auth_instance
    with StaticKeyWatch() as outer:
        patched = RequestSigner.sign
        assert patched is not sign
        with StaticKeyWatch() as inner, pytest.raises(credpick.StaticKeysRefused):
            keyed("sts", sts.url).get_caller_identity()
        assert RequestSigner.sign is patched  # one patch, shared
        assert (len(inner.violations), outer.violations) == (1, [])
        with pytest.raises(credpick.StaticKeysRefused):
            keyed("sts", sts.url).get_caller_identity()
        assert len(outer.violations) == 1
    assert (RequestSigner.sign, RequestSigner.get_auth_instance) == (sign, auth)
