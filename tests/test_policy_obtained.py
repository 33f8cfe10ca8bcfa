"""The policy judges the credentials actually used, not the kind that delivered them.

A credential_process or a sidecar can hand back an IAM user's AKIA key; an
assume-role profile can stand on one; a refresh can turn into one. Each is
refused where the policy says so, at the first load and at every refresh,
with the hostile case beside the happy one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
import time_machine

import credpick
from credpick import Policy, SourceKind, Status
from credpick._cli import main
from credpick.testing import ContainerCredentialsEndpoint, Simulation
from credpick.testing._fakes import FakeCredentials

from .helpers import STATIC_KEY_ID, STATIC_SECRET, TEMP_KEY_ID, TEMP_SECRET, write
from .security._leaks import assert_clean_error

FORBID = Policy(static_keys="forbid")
OPS = "arn:aws:iam::123456789012:role/ops"


def _process_profile(home: Path, tmp_path: Path, *, temporary: bool, name: str = "proc") -> None:
    """A profile whose credential_process prints an AKIA key (or an ASIA set)."""
    reply = {"Version": 1, "AccessKeyId": STATIC_KEY_ID, "SecretAccessKey": STATIC_SECRET}
    if temporary:
        reply = {
            "Version": 1,
            "AccessKeyId": TEMP_KEY_ID,
            "SecretAccessKey": TEMP_SECRET,
            "SessionToken": "MARKER-TOKEN-session-abcdef",
            "Expiration": "2999-01-01T00:00:00Z",
        }
    script = write(tmp_path / "creds.py", f"import json\nprint(json.dumps({reply!r}))\n")
    write(
        home / ".aws" / "config",
        f"[profile {name}]\ncredential_process = {sys.executable} {script}\n",
    )


def _serve(emu: ContainerCredentialsEndpoint, key_id: str, token: str) -> None:
    """The endpoint's next answers carry this key id (and token)."""
    fake = FakeCredentials(
        access_key_id=key_id,
        secret_access_key=STATIC_SECRET,
        token=token,
        expiration=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).replace(
            microsecond=0
        ),
    )
    with emu._lock:
        emu._credentials = fake


def _emulator(handle: Any) -> ContainerCredentialsEndpoint:
    emu = handle.emulator
    assert isinstance(emu, ContainerCredentialsEndpoint)
    return emu


# -- credential_process printing an AKIA key ----------------------------------


def test_process_printing_akia_is_refused_under_forbid(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _process_profile(home, tmp_path, temporary=False)
    monkeypatch.setenv("AWS_PROFILE", "proc")
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.session(policy=FORBID)
    assert "credential-process (profile 'proc')" in str(info.value)
    assert "AKIA...MPLE" in str(info.value)
    assert_clean_error(info.value)


def test_process_printing_asia_is_used_under_forbid(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _process_profile(home, tmp_path, temporary=True)
    monkeypatch.setenv("AWS_PROFILE", "proc")
    frozen = credpick.session(policy=FORBID).get_credentials().get_frozen_credentials()
    assert frozen.access_key == TEMP_KEY_ID


def test_process_printing_akia_beside_a_role_is_refused_naming_the_role(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ecs")
    _process_profile(home, tmp_path, temporary=False)
    monkeypatch.setenv("AWS_PROFILE", "proc")  # explicit: beats the task role
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.session()
    assert "ecs (environment) is available" in str(info.value)
    assert info.value.fix is not None and "ecs (environment)" in info.value.fix
    assert_clean_error(info.value)


def test_process_printing_akia_alone_is_allowed_with_a_warning(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _process_profile(home, tmp_path, temporary=False)
    monkeypatch.setenv("AWS_PROFILE", "proc")
    with caplog.at_level(logging.WARNING, logger="credpick"):
        session = credpick.session()
    assert session.get_credentials().get_frozen_credentials().access_key == STATIC_KEY_ID
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("AKIA...MPLE" in w and "credential-process (profile 'proc')" in w for w in warnings)
    assert not any(STATIC_KEY_ID in w or STATIC_SECRET in w for w in warnings)


# -- a container endpoint serving an AKIA key ---------------------------------


def test_container_endpoint_serving_akia_is_refused(credpick_runtime: Simulation) -> None:
    emu = _emulator(credpick_runtime.use("container"))
    _serve(emu, STATIC_KEY_ID, "MARKER-TOKEN-session-abcdef")
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.session(policy=FORBID)
    assert "container (environment)" in str(info.value)
    assert_clean_error(info.value)


def test_container_endpoint_serving_akia_without_a_token_gives_no_session(
    credpick_runtime: Simulation,
) -> None:
    emu = _emulator(credpick_runtime.use("container"))
    _serve(emu, STATIC_KEY_ID, "")
    with pytest.raises(credpick.CredpickError) as info:
        credpick.session(policy=FORBID)
    assert info.value.kind == "container"


def test_container_endpoint_serving_akia_without_a_token_fails_clean(
    credpick_runtime: Simulation,
) -> None:
    emu = _emulator(credpick_runtime.use("container"))
    _serve(emu, STATIC_KEY_ID, "")
    with pytest.raises(credpick.CredpickError) as info:
        credpick.session(policy=FORBID)
    assert_clean_error(info.value)


def test_container_endpoint_serving_asia_is_used(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("container")
    session = credpick.session(policy=FORBID)
    assert session.get_credentials().get_frozen_credentials().access_key.startswith("ASIA")


# -- a refresh that turns long-lived -------------------------------------------


def test_a_refresh_into_akia_is_refused_not_used(credpick_runtime: Simulation) -> None:
    emu = _emulator(credpick_runtime.use("container"))
    credentials = credpick.session(policy=FORBID).get_credentials()
    first = credentials.get_frozen_credentials().access_key
    assert first.startswith("ASIA")
    _serve(emu, STATIC_KEY_ID, "MARKER-TOKEN-session-abcdef")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=55)  # mandatory window
    with (
        time_machine.travel(later, tick=False),
        pytest.raises(credpick.StaticKeysRefused) as info,
    ):
        credentials.get_frozen_credentials()
    assert "on refresh" in str(info.value) and "container (environment)" in str(info.value)
    assert_clean_error(info.value)
    assert credentials.access_key != STATIC_KEY_ID  # never swapped in


def test_a_refresh_into_fresh_temporary_keys_is_used(credpick_runtime: Simulation) -> None:
    emu = _emulator(credpick_runtime.use("container"))
    credentials = credpick.session(policy=FORBID).get_credentials()
    credentials.get_frozen_credentials()
    _serve(emu, TEMP_KEY_ID, "MARKER-TOKEN-session-abcdef")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=55)
    with time_machine.travel(later, tick=False):
        assert credentials.get_frozen_credentials().access_key == TEMP_KEY_ID


# -- assume-role standing on long-lived keys -----------------------------------


def _over_source_profile(home: Path) -> None:
    write(
        home / ".aws" / "credentials",
        f"[base]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    write(home / ".aws" / "config", f"[profile ops]\nrole_arn = {OPS}\nsource_profile = base\n")


def test_assume_role_over_an_akia_source_profile_is_refused_under_forbid(
    home: Path, make_context: Any
) -> None:
    _over_source_profile(home)
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}), policy=FORBID)
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert "AKIA...MPLE from profile 'base'" in str(d.error)
    assert "the root of assume-role (profile 'ops')" in str(d.error)


def test_assume_role_over_an_akia_source_profile_beside_a_role_is_refused(
    home: Path, make_context: Any, tmp_path: Path
) -> None:
    _over_source_profile(home)
    token = write(tmp_path / "token", "header.payload.sig")
    env = {
        "AWS_PROFILE": "ops",
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/pod",
    }
    d = credpick.detect(context=make_context(env))
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert "web-identity (environment) is available" in str(d.error)


def test_assume_role_over_an_akia_source_profile_alone_warns_and_assumes(
    sts: Any, home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _over_source_profile(home)
    monkeypatch.setenv("AWS_PROFILE", "ops")
    with caplog.at_level(logging.WARNING, logger="credpick"):
        session = credpick.session()
    assert "assumed-role/ops" in session.client("sts").get_caller_identity()["Arn"]
    assert any(
        "AKIA...MPLE" in r.getMessage() and "profile 'base'" in r.getMessage()
        for r in caplog.records
    )


def test_credential_source_environment_over_akia_is_refused(make_context: Any, home: Path) -> None:
    write(
        home / ".aws" / "config",
        f"[profile ops]\nrole_arn = {OPS}\ncredential_source = Environment\n",
    )
    env = {
        "AWS_PROFILE": "ops",
        "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": STATIC_SECRET,
    }
    d = credpick.detect(context=make_context(env), policy=FORBID)
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert "AKIA...MPLE from environment" in str(d.error)
    # The environment's keys are the profile's root, not a rival candidate.
    assert [c.kind for c in d.candidates] == [SourceKind.ASSUME_ROLE]


def test_credential_source_environment_over_temporary_keys_is_allowed(
    make_context: Any, home: Path
) -> None:
    write(
        home / ".aws" / "config",
        f"[profile ops]\nrole_arn = {OPS}\ncredential_source = Environment\n",
    )
    env = {
        "AWS_PROFILE": "ops",
        "AWS_ACCESS_KEY_ID": TEMP_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": TEMP_SECRET,
        "AWS_SESSION_TOKEN": "MARKER-TOKEN-session-abcdef",
    }
    d = credpick.detect(context=make_context(env), policy=FORBID)
    assert d.ok and d.chosen is not None and d.chosen.kind is SourceKind.ASSUME_ROLE


# -- credential_source on a platform assumes the configured role ---------------


def _platform_profile(home: Path, source: str) -> None:
    write(home / ".aws" / "config", f"[default]\nrole_arn = {OPS}\ncredential_source = {source}\n")


def test_ecs_credential_source_assumes_the_configured_role(
    sts: Any, home: Path, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ecs")
    _platform_profile(home, "EcsContainer")
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.ASSUME_ROLE
    assert SourceKind.ECS not in [c.kind for c in d.candidates]  # folded into the root
    assert d.chosen.provenance.root.source is SourceKind.ECS
    arn = credpick.session().client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/ops/" in arn


def test_eks_pod_identity_under_ecs_credential_source_assumes_the_configured_role(
    sts: Any, home: Path, credpick_runtime: Simulation
) -> None:
    """EcsContainer stands for any container endpoint: the root is the EKS agent's."""
    credpick_runtime.use("eks-pod-identity")
    _platform_profile(home, "EcsContainer")
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.ASSUME_ROLE
    assert d.chosen.provenance.root.source is SourceKind.EKS_POD_IDENTITY
    arn = credpick.session().client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/ops/" in arn


def test_ecs_credential_source_with_a_broken_endpoint_fails_closed(
    sts: Any, home: Path, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ecs", mode="error")
    _platform_profile(home, "EcsContainer")
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session()
    assert info.value.kind == "assume-role"


def test_ec2_credential_source_assumes_the_configured_role(
    sts: Any, home: Path, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ec2-instance-profile")
    _platform_profile(home, "Ec2InstanceMetadata")
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.ASSUME_ROLE
    assert SourceKind.EC2_INSTANCE_PROFILE not in [c.kind for c in d.candidates]
    arn = credpick.session().client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/ops/" in arn


def test_ec2_credential_source_over_imdsv1_only_is_refused(
    sts: Any, home: Path, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ec2-instance-profile", mode="imdsv1-only")
    _platform_profile(home, "Ec2InstanceMetadata")
    d = credpick.detect()
    assert isinstance(d.error, credpick.SourceFailed) and "IMDSv1" in str(d.error)
    assert d.chosen is not None and d.chosen.kind is SourceKind.ASSUME_ROLE


# -- AWS_ROLE_ARN without a token file -------------------------------------------


def test_role_arn_alone_is_a_failed_web_identity_and_the_stray_key_is_not_picked(
    make_context: Any,
) -> None:
    env = {
        "AWS_ROLE_ARN": OPS,
        "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": STATIC_SECRET,
    }
    d = credpick.detect(context=make_context(env))
    assert isinstance(d.error, credpick.SourceFailed) and d.error.kind == "web-identity"
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in str(d.error)
    assert d.error.fix is not None and "annotation" in d.error.fix
    static = next(c for c in d.candidates if c.kind is SourceKind.STATIC)
    assert static.status is Status.IGNORED


# -- hooks ---------------------------------------------------------------------


@pytest.mark.parametrize(("returned", "shown"), [(False, "False"), (0, "0"), ("no", "'no'")])
def test_a_hook_returning_a_value_refuses(
    credpick_runtime: Simulation, returned: object, shown: str
) -> None:
    credpick_runtime.use("container")
    d = credpick.detect(policy=Policy(hook=lambda _: returned))
    assert type(d.error) is credpick.PolicyViolation
    assert f"returned {shown}" in str(d.error)
    assert d.chosen is not None and d.chosen.status is Status.REFUSED
    with pytest.raises(credpick.PolicyViolation):
        credpick.session(policy=Policy(hook=lambda _: returned))


def test_a_hook_returning_none_accepts(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("container")
    assert credpick.detect(policy=Policy(hook=lambda _: None)).ok


def test_a_hook_raising_is_a_clean_policy_violation(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("container")

    def hook(_: object) -> None:
        raise ValueError(f"boom {STATIC_SECRET}")

    d = credpick.detect(policy=Policy(hook=hook))
    assert type(d.error) is credpick.PolicyViolation
    assert "ValueError" in str(d.error)
    assert d.error.__context__ is None and d.error.__cause__ is None
    with pytest.raises(credpick.PolicyViolation) as info:
        credpick.session(policy=Policy(hook=hook))
    assert_clean_error(info.value)


# -- credpick check --forbid-static agrees with the library -----------------------


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().err


def test_check_forbid_static_refuses_a_process_printing_akia(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _process_profile(home, tmp_path, temporary=False)
    monkeypatch.setenv("AWS_PROFILE", "proc")
    code, err = _check(capsys, "--forbid-static")
    assert code == 1 and "AKIA...MPLE" in err and STATIC_SECRET not in err
    assert _check(capsys)[0] == 0  # the default policy: no role here, the key is allowed


def test_check_forbid_static_accepts_a_process_printing_asia(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _process_profile(home, tmp_path, temporary=True)
    monkeypatch.setenv("AWS_PROFILE", "proc")
    assert _check(capsys, "--forbid-static")[0] == 0


def test_check_refuses_a_process_printing_akia_beside_a_role(
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("ecs")
    _process_profile(home, tmp_path, temporary=False)
    monkeypatch.setenv("AWS_PROFILE", "proc")
    code, err = _check(capsys)
    assert code == 1 and "ecs (environment) is available" in err


def test_check_forbid_static_refuses_a_container_serving_akia(
    capsys: Any, credpick_runtime: Simulation
) -> None:
    emu = _emulator(credpick_runtime.use("container"))
    assert _check(capsys, "--forbid-static")[0] == 0
    _serve(emu, STATIC_KEY_ID, "MARKER-TOKEN-session-abcdef")
    code, err = _check(capsys, "--forbid-static")
    assert code == 1 and "container" in err


def test_check_forbid_static_refuses_assume_role_over_akia(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _over_source_profile(home)
    monkeypatch.setenv("AWS_PROFILE", "ops")
    assert _check(capsys, "--forbid-static")[0] == 1


def test_check_forbid_static_refuses_credential_source_environment_over_akia(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    write(
        home / ".aws" / "config",
        f"[profile ops]\nrole_arn = {OPS}\ncredential_source = Environment\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "ops")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", STATIC_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    code, err = _check(capsys, "--forbid-static")
    assert code == 1 and STATIC_SECRET not in err
    assert json.dumps(credpick.detect(policy=FORBID).to_dict())


def test_check_refuses_assume_role_over_akia_beside_a_role(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("ecs")
    _over_source_profile(home)
    monkeypatch.setenv("AWS_PROFILE", "ops")
    code, err = _check(capsys)
    assert code == 1 and "the root of assume-role (profile 'ops')" in err


def test_ec2_credential_source_off_ec2_fails_closed(
    home: Path, make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _platform_profile(home, "Ec2InstanceMetadata")
    for k, v in {
        "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": STATIC_SECRET,
    }.items():
        monkeypatch.setenv(k, v)
    d = credpick.detect()  # the metadata service is disabled here
    assert isinstance(d.error, credpick.SourceFailed) and d.error.kind == "assume-role"
    assert "Ec2InstanceMetadata" in str(d.error)
    with pytest.raises(credpick.SourceFailed):
        credpick.session()
