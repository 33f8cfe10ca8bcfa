"""StsEmulator (moto) and StsRejecting, exercised with botocore sts clients."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from credpick.testing import GitHubOidcEndpoint, StsEmulator, StsErrorCode, StsRejecting

MakeClient = Callable[[str, str], Any]
ROLE_ARN = "arn:aws:iam::123456789012:role/credpick-test-role"
WEB_IDENTITY_TOKEN = "FAKE-TOKEN-credpick-web-identity"


@pytest.fixture(scope="module")
def moto_sts() -> Iterator[StsEmulator]:
    # One server for the module: importing moto and stopping werkzeug are slow.
    with StsEmulator() as sts:
        yield sts


def test_moto_binds_loopback_and_reports_its_url(moto_sts: StsEmulator) -> None:
    assert moto_sts.running
    assert moto_sts.host == "127.0.0.1"
    assert moto_sts.moto_url == f"http://127.0.0.1:{moto_sts.port}"
    assert moto_sts.front is not None and moto_sts.url == moto_sts.front.url  # the strict front
    assert moto_sts.url in repr(moto_sts)


def test_moto_get_caller_identity(moto_sts: StsEmulator, make_client: MakeClient) -> None:
    identity = make_client("sts", moto_sts.url).get_caller_identity()
    assert identity["Account"] == "123456789012"


def test_moto_assume_role_credentials_work_against_it(
    moto_sts: StsEmulator, make_client: MakeClient, boto_session: Any
) -> None:
    creds = make_client("sts", moto_sts.url).assume_role(
        RoleArn=ROLE_ARN, RoleSessionName="credpick-test"
    )["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assumed = boto_session.create_client(
        "sts",
        region_name="us-east-1",
        endpoint_url=moto_sts.url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert assumed.get_caller_identity()["Arn"].endswith(
        ":assumed-role/credpick-test-role/credpick-test"
    )


def test_moto_assume_role_with_web_identity_accepts_a_github_token(
    moto_sts: StsEmulator, make_client: MakeClient
) -> None:
    with GitHubOidcEndpoint() as github:
        request = urllib.request.Request(
            github.request_url + "&audience=sts.amazonaws.com",
            headers={"Authorization": f"Bearer {github.request_token}"},
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            jwt = json.loads(response.read())["value"]
    result = make_client("sts", moto_sts.url).assume_role_with_web_identity(
        RoleArn=ROLE_ARN, RoleSessionName="gha", WebIdentityToken=jwt
    )
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert result["AssumedRoleUser"]["Arn"].endswith("assumed-role/credpick-test-role/gha")


def test_moto_reset_wipes_state(moto_sts: StsEmulator, make_client: MakeClient) -> None:
    iam = make_client("iam", moto_sts.url)
    iam.create_role(RoleName="to-be-wiped", AssumeRolePolicyDocument="{}")
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["to-be-wiped"]
    moto_sts.reset()
    assert iam.list_roles()["Roles"] == []


def test_moto_address_before_start_is_an_error() -> None:
    sts = StsEmulator()
    assert not sts.running
    with pytest.raises(RuntimeError, match="start"):
        _ = sts.url
    sts.stop()  # harmless


@pytest.mark.parametrize(
    "code", ["InvalidIdentityToken", "ExpiredTokenException", "AccessDenied", "IDPRejectedClaim"]
)
def test_rejecting_sts_raises_client_error_with_the_code(
    make_client: MakeClient, code: StsErrorCode
) -> None:
    with StsRejecting(code=code) as sts:
        client = make_client("sts", sts.url)
        with pytest.raises(ClientError) as info:
            client.assume_role_with_web_identity(
                RoleArn=ROLE_ARN, RoleSessionName="gha", WebIdentityToken=WEB_IDENTITY_TOKEN
            )
        error = info.value.response["Error"]
        assert error["Code"] == code
        assert error["Type"] == "Sender"
        assert error["Message"]
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert info.value.response["ResponseMetadata"]["RequestId"]
        assert sts.actions == ["AssumeRoleWithWebIdentity"]
        (request,) = sts.requests
        assert request.method == "POST"
        assert WEB_IDENTITY_TOKEN not in repr(sts.requests)


def test_rejecting_sts_rejects_every_action_with_a_custom_message(make_client: MakeClient) -> None:
    with StsRejecting(code="AccessDenied", message="nope, not you") as sts:
        with pytest.raises(ClientError, match="nope, not you"):
            make_client("sts", sts.url).get_caller_identity()
        assert sts.actions == ["GetCallerIdentity"]
        sts.reset()
        assert sts.actions == []
        assert sts.requests == []
