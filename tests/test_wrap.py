"""credpick.wrap: keep, refuse or replace a session someone else built."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest

import credpick
from credpick import Policy
from credpick.testing import RuntimeHandle, Simulation

from .helpers import (
    SESSION_TOKEN,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_KEY_ID,
    TEMP_SECRET,
    assert_no_secret,
    write,
)


@pytest.fixture
def instance() -> Iterator[Simulation]:
    """An emulated EC2 instance with an instance profile."""
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        yield sim


@pytest.fixture
def stray_key(instance: Simulation) -> RuntimeHandle:
    """A long-lived AKIA key left in the environment of that instance."""
    return instance.use("static")


def _explicit_static(**kwargs: Any) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=STATIC_KEY_ID, aws_secret_access_key=STATIC_SECRET, **kwargs
    )


def _no_leak(handle: RuntimeHandle, *texts: object) -> None:
    assert_no_secret(*texts)
    for text in texts:
        rendered = str(text)
        for value in handle.env.values():
            assert value not in rendered


# -- the done-when cases ----------------------------------------------------


def test_stray_key_on_an_instance_is_refused_naming_the_instance_profile(
    stray_key: RuntimeHandle,
) -> None:
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.wrap(boto3.Session())
    err = info.value
    assert "ec2-instance-profile" in str(err)
    assert "environment variables" in err.reason
    assert err.kind == "static"
    assert "AKIA..." in err.reason
    _no_leak(stray_key, str(err), repr(err), err.evidence, err.fix)


def test_replace_returns_an_instance_profile_session_in_the_same_region(
    stray_key: RuntimeHandle, caplog: pytest.LogCaptureFixture
) -> None:
    original = boto3.Session(region_name="eu-west-3")
    with caplog.at_level(logging.INFO, logger="credpick"):
        replaced = credpick.wrap(original, replace=True)
    assert replaced is not original
    assert replaced.get_credentials().method == "iam-role"
    assert replaced.region_name == "eu-west-3"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "replaced" in r.msg]
    assert len(warnings) == 1 and warnings[0].name == "credpick"
    _no_leak(stray_key, caplog.text)


# -- compliant sessions are kept ---------------------------------------------


def test_a_compliant_default_chain_session_is_returned_as_is(instance: Simulation) -> None:
    session = boto3.Session()
    assert credpick.wrap(session) is session
    assert session.get_credentials().method == "iam-role"


def test_temporary_explicit_keys_are_kept(instance: Simulation) -> None:
    session = boto3.Session(
        aws_access_key_id=TEMP_KEY_ID,
        aws_secret_access_key=TEMP_SECRET,
        aws_session_token=SESSION_TOKEN,
    )
    assert credpick.wrap(session) is session


def test_long_lived_keys_without_a_role_are_kept_by_default() -> None:
    with Simulation() as sim:
        sim.use("static")
        session = boto3.Session()
        assert credpick.wrap(session) is session
        with pytest.raises(credpick.StaticKeysRefused) as info:
            credpick.wrap(session, policy=Policy(static_keys="forbid"))
    assert "forbids" in info.value.reason


def test_allow_keeps_keys_even_next_to_a_role(stray_key: RuntimeHandle) -> None:
    session = boto3.Session()
    assert credpick.wrap(session, policy=Policy(static_keys="allow")) is session


# -- every way a session gets its keys ---------------------------------------


def test_explicit_keys_are_refused_as_keys_passed_in_code(instance: Simulation) -> None:
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.wrap(_explicit_static())
    assert "keys passed in code" in info.value.reason
    assert "AKIA...MPLE" in info.value.reason
    assert_no_secret(str(info.value))


def test_a_profile_with_keys_is_refused(instance: Simulation) -> None:
    write(
        instance.credentials_file,
        f"[dev]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.wrap(boto3.Session(profile_name="dev"))
    assert "shared credentials file" in info.value.reason
    assert_no_secret(str(info.value))


def test_a_botocore_session_is_accepted_and_wrapped(instance: Simulation) -> None:
    bs = botocore.session.Session()
    wrapped = credpick.wrap(bs)
    assert isinstance(wrapped, boto3.Session)
    assert wrapped._session is bs
    bs.set_credentials(STATIC_KEY_ID, STATIC_SECRET)
    with pytest.raises(credpick.StaticKeysRefused):
        credpick.wrap(bs)
    replaced = credpick.wrap(bs, replace=True)
    assert replaced.get_credentials().method == "iam-role"


# -- failures ----------------------------------------------------------------


def test_no_credentials_at_all() -> None:
    with Simulation(), pytest.raises(credpick.NoCredentialsFound):
        credpick.wrap(boto3.Session())


def test_an_unknown_profile_is_a_configuration_error(instance: Simulation) -> None:
    session = boto3.Session()
    session._session.set_config_variable("profile", "ghost")
    with pytest.raises(credpick.ConfigurationError) as info:
        credpick.wrap(session)
    assert "ghost" in str(info.value)


def test_a_misspelt_profile_gets_the_close_match(instance: Simulation) -> None:
    write(instance.config_file, "[profile prod]\nregion = eu-west-1\n")
    session = boto3.Session()
    session._session.set_config_variable("profile", "prodd")
    with pytest.raises(credpick.ConfigurationError) as info:
        credpick.wrap(session)
    assert info.value.reason == "the session's profile 'prodd' is not defined; did you mean 'prod'?"
    assert info.value.fix == "build the session with profile_name='prod'"


def test_not_a_session_is_a_configuration_error() -> None:
    with pytest.raises(credpick.ConfigurationError):
        credpick.wrap(boto3.client("sts", region_name="us-east-1"))


def test_replace_fails_closed_when_credpick_cannot_do_better() -> None:
    with Simulation() as sim:
        sim.use("static")
        with pytest.raises(credpick.StaticKeysRefused):
            credpick.wrap(boto3.Session(), policy=Policy(static_keys="forbid"), replace=True)


def test_replacement_honours_the_policy(stray_key: RuntimeHandle) -> None:
    def no_instances(detection: credpick.Detection) -> None:
        raise credpick.PolicyViolation("no instance roles here")

    with pytest.raises(credpick.PolicyViolation) as info:
        credpick.wrap(boto3.Session(), policy=Policy(hook=no_instances), replace=True)
    assert "no instance roles" in str(info.value)


# -- audit trail -------------------------------------------------------------


def test_each_decision_is_one_structured_info_record(
    stray_key: RuntimeHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="credpick"):
        with pytest.raises(credpick.StaticKeysRefused):
            credpick.wrap(boto3.Session())
        credpick.wrap(boto3.Session(), replace=True)
    audits = [r.credpick for r in caplog.records if hasattr(r, "credpick")]
    wraps = [a for a in audits if a["event"] == "wrap"]
    assert [a["decision"] for a in wraps] == ["refused", "replaced"]
    assert wraps[0]["role_source"] == "ec2-instance-profile"
    assert wraps[0]["key_id"].startswith("AKIA...")
    assert [a["kind"] for a in audits if a["event"] == "session"] == ["ec2-instance-profile"]
    _no_leak(stray_key, caplog.text, audits)
