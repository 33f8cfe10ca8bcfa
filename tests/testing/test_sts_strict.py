"""The strict front StsEmulator puts before moto: refused tokens, expired keys, and the
assumed role an emulator-issued key belongs to."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError

import credpick
from credpick._cli import main
from credpick.testing import (
    ContainerCredentialsEndpoint,
    FakeCredentials,
    ImdsEmulator,
    Simulation,
    StsEmulator,
)
from credpick.testing._sts_strict import fake_jwt

from ..helpers import ROLE_ARN

MakeClient = Callable[[str, str], Any]
ISS = "https://oidc.eks.us-east-1.amazonaws.com/id/CREDPICKFAKE"


def _part(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any]) -> str:
    return ".".join((_part({"alg": "RS256"}), _part(claims), "c2ln"))


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.timezone.utc).timestamp())
    claims: dict[str, Any] = {"sub": "system:sa", "aud": "sts.amazonaws.com", "iss": ISS}
    claims["exp"] = now + 3600
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _assume(credpick_sts: StsEmulator, make_client: MakeClient, token: str) -> Any:
    return make_client("sts", credpick_sts.url).assume_role_with_web_identity(
        RoleArn=ROLE_ARN, RoleSessionName="strict", WebIdentityToken=token
    )


def _rejected(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _client(boto_session: Any, url: str, creds: FakeCredentials | dict[str, str]) -> Any:
    if isinstance(creds, FakeCredentials):
        key, secret, token = creds.access_key_id, creds.secret_access_key, creds.token
    else:
        key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    return boto_session.create_client(
        "sts",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


@pytest.mark.parametrize(
    "token",
    [
        "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",  # a JWT with no claims at all
        "not-a-jwt",
        "a.b.c",
        _jwt(_claims(sub=None)),
        _jwt(_claims(aud=None)),
        _jwt(_claims(iss=None)),
        _jwt(_claims(exp=None)),
        _jwt(_claims(exp="tomorrow")),
    ],
    ids=[
        "no-claims",
        "not-a-jwt",
        "not-base64-json",
        "no-sub",
        "no-aud",
        "no-iss",
        "no-exp",
        "exp-text",
    ],
)
def test_a_token_without_the_claims_is_invalid_identity_token(
    credpick_sts: StsEmulator, make_client: MakeClient, token: str
) -> None:
    with pytest.raises(ClientError) as info:
        _assume(credpick_sts, make_client, token)
    assert _rejected(info) == ("InvalidIdentityToken", 400)


def test_a_token_past_exp_is_expired_token_exception(
    credpick_sts: StsEmulator, make_client: MakeClient
) -> None:
    past = int(dt.datetime.now(dt.timezone.utc).timestamp()) - 1
    with pytest.raises(ClientError) as info:
        _assume(credpick_sts, make_client, _jwt(_claims(exp=past)))
    assert _rejected(info) == ("ExpiredTokenException", 400)


def test_a_token_with_the_claims_assumes_the_role(
    credpick_sts: StsEmulator, make_client: MakeClient
) -> None:
    token = fake_jwt(sub="system:sa", aud="sts.amazonaws.com", iss=ISS, lifetime=dt.timedelta(1))
    result = _assume(credpick_sts, make_client, token)
    assert result["AssumedRoleUser"]["Arn"].endswith("assumed-role/credpick-test-role/strict")


def test_moto_alone_accepts_a_token_without_claims(make_client: MakeClient) -> None:
    # What the front is for: without it moto lets this through.
    with StsEmulator(strict=False) as loose:
        assert loose.front is None and loose.url == loose.moto_url
        result = _assume(loose, make_client, "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl")
        assert result["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_expired_emulator_credentials_are_expired_token(
    credpick_sts: StsEmulator, boto_session: Any
) -> None:
    with ImdsEmulator(expires_in=dt.timedelta(minutes=-1)) as imds:
        client = _client(boto_session, credpick_sts.url, imds.credentials)
        with pytest.raises(ClientError) as info:
            client.get_caller_identity()
        assert _rejected(info) == ("ExpiredToken", 400)
        fresh = imds.rotate(expires_in=dt.timedelta(hours=1))
        assert _client(boto_session, credpick_sts.url, fresh).get_caller_identity()["Arn"]


def test_moto_issued_credentials_expire_too(
    credpick_sts: StsEmulator, make_client: MakeClient, boto_session: Any
) -> None:
    creds = make_client("sts", credpick_sts.url).assume_role(
        RoleArn=ROLE_ARN, RoleSessionName="short", DurationSeconds=900
    )["Credentials"]
    client = _client(boto_session, credpick_sts.url, creds)
    assert client.get_caller_identity()["Arn"].endswith("assumed-role/credpick-test-role/short")
    with time_machine.travel(dt.timedelta(minutes=16)), pytest.raises(ClientError) as info:
        client.get_caller_identity()
    assert _rejected(info) == ("ExpiredToken", 400)


@pytest.mark.parametrize(
    ("server", "arn"),
    [
        (
            lambda: ImdsEmulator(),
            "arn:aws:sts::123456789012:assumed-role/credpick-test-role/i-0123456789abcdef0",
        ),
        (
            lambda: ContainerCredentialsEndpoint(role_arn="arn:aws:iam::111122223333:role/app"),
            "arn:aws:sts::111122223333:assumed-role/app/credpick-task",
        ),
    ],
    ids=["imds", "container"],
)
def test_get_caller_identity_reports_the_emulators_assumed_role(
    credpick_sts: StsEmulator, boto_session: Any, server: Callable[[], Any], arn: str
) -> None:
    with server() as emu:
        identity = _client(boto_session, credpick_sts.url, emu.credentials).get_caller_identity()
    assert identity["Arn"] == arn
    assert identity["Account"] == arn.split(":")[4]
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(
        ":" + arn.rsplit("/", 1)[-1]
    )


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("ec2-instance-profile", "credpick-test-role/i-0123456789abcdef0"),
        ("ecs", "credpick-test-role/credpick-task"),
        ("sso", "credpick-sso-role/credpick-person"),
        ("lambda", "credpick-lambda-role/credpick-simulated"),
        # The IRSA webhook sets no AWS_ROLE_SESSION_NAME: botocore names the session.
        ("web-identity", "credpick-test-role/botocore-session-"),
    ],
)
def test_whoami_under_a_simulation_shows_the_assumed_role(
    credpick_runtime: Simulation,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    role: str,
) -> None:
    credpick_runtime.use(kind)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", credpick_runtime.sts().url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")  # this suite's runtimes start without one
    assert main(["whoami"]) == 0
    out = capsys.readouterr().out
    end = "" if role.endswith("-") else "\n"  # a generated session name: its prefix
    assert f"arn      arn:aws:sts::123456789012:assumed-role/{role}{end}" in out
    assert "user/moto" not in out


def test_other_services_pass_through_the_front(
    credpick_runtime: Simulation, credpick_sts: StsEmulator
) -> None:
    credpick_runtime.use("ec2-instance-profile")
    s3 = credpick.session().client("s3", endpoint_url=credpick_sts.url)
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="daily.txt", Body=b"all green")
    assert s3.head_object(Bucket="reports", Key="daily.txt")["ContentLength"] == 9
    assert s3.get_object(Bucket="reports", Key="daily.txt")["Body"].read() == b"all green"
