"""The policy's rules, pinned through ``credpick.detect``: what is a role, what is refused, and why.

Written against the mutants that survived the suite (docs/reliability.md, "Mutation
testing"): each test names the rule it holds, and fails if the rule changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Policy, SourceKind, Status
from credpick.testing import ImdsEmulator, Simulation

from .helpers import ROLE_ARN, STATIC_ENV, STATIC_SECRET, TEMP_ENV, assert_no_secret, write

WEB_IDENTITY = "web-identity (environment)"
ENV_KEY_FIX = (
    "unset AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; use a role (instance profile, task role, "
    "IRSA, SSO) and delete the key"
)
FORBIDS = "the policy forbids long-lived keys"
OPT_IN = "or opt in with credpick.Policy(allow_imdsv1=True)"
#: GitHub Actions with id-token: write but no role named: a role-based kind, not a source.
OIDC_WITHOUT_ROLE = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/_apis/token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
}


@pytest.fixture
def irsa(tmp_path: Path) -> dict[str, str]:
    token = write(tmp_path / "irsa-token", "eyJhbGciOi.fake.token")
    return {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN}


def statuses(d: credpick.Detection) -> list[tuple[str, str]]:
    return [(c.kind.value, c.status.value) for c in d.candidates]


def dev_keys(home: Path) -> Path:
    return write(
        home / ".aws" / "credentials",
        f"[dev]\naws_access_key_id = {STATIC_ENV['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {STATIC_SECRET}\n",
    )


# -- what counts as a role ------------------------------------------------------


def test_an_unavailable_role_based_candidate_is_not_a_role(make_context: Any) -> None:
    d = credpick.detect(context=make_context({**OIDC_WITHOUT_ROLE, **STATIC_ENV}))
    assert d.ok and d.error is None
    assert d.chosen is not None and d.chosen.kind is SourceKind.STATIC
    assert d.chosen.status is Status.CHOSEN
    assert statuses(d) == [("static", "chosen"), ("github-oidc", "unavailable")]


def test_an_unavailable_role_is_not_named_when_keys_are_forbidden(make_context: Any) -> None:
    d = credpick.detect(
        context=make_context({**OIDC_WITHOUT_ROLE, **STATIC_ENV}),
        policy=Policy(static_keys="forbid"),
    )
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.error.reason == f"long-lived key AKIA...MPLE from environment refused: {FORBIDS}"
    assert d.error.fix == ENV_KEY_FIX  # no role to switch to
    assert "github-oidc" not in d.error.reason


def test_an_unavailable_candidate_is_never_picked(make_context: Any) -> None:
    d = credpick.detect(context=make_context(OIDC_WITHOUT_ROLE))
    assert d.chosen is None
    assert isinstance(d.error, credpick.NoCredentialsFound)
    assert d.error.attempts[0] == (
        "github-oidc (environment): unavailable: the job can mint OIDC tokens, but no role is named"
    )


# -- long-lived keys next to a role ----------------------------------------------


def test_stray_keys_next_to_a_role_are_ignored_and_say_which_role(
    make_context: Any, irsa: dict[str, str]
) -> None:
    d = credpick.detect(context=make_context({**irsa, **STATIC_ENV}))
    assert d.ok
    static = d.candidates[1]
    assert static.status is Status.IGNORED
    assert static.reason == f"{WEB_IDENTITY} is available"
    assert static.fix == ENV_KEY_FIX and static.key_id == "AKIA...MPLE"


def test_forbid_refuses_stray_keys_next_to_a_role(make_context: Any, irsa: dict[str, str]) -> None:
    d = credpick.detect(
        context=make_context({**irsa, **STATIC_ENV}), policy=Policy(static_keys="forbid")
    )
    assert d.ok and d.chosen is not None and d.chosen.kind is SourceKind.WEB_IDENTITY
    assert d.candidates[1].status is Status.REFUSED
    assert d.candidates[1].reason == FORBIDS
    assert d.candidates[1].fix == ENV_KEY_FIX


def test_allow_leaves_stray_keys_available(make_context: Any, irsa: dict[str, str]) -> None:
    d = credpick.detect(
        context=make_context({**irsa, **STATIC_ENV}), policy=Policy(static_keys="allow")
    )
    assert statuses(d) == [("web-identity", "chosen"), ("static", "available")]
    assert d.candidates[1].reason == "long-lived key in AWS_ACCESS_KEY_ID"


def test_temporary_keys_next_to_a_role_keep_their_verdict_under_forbid(
    make_context: Any, irsa: dict[str, str]
) -> None:
    d = credpick.detect(
        context=make_context({**irsa, **TEMP_ENV}), policy=Policy(static_keys="forbid")
    )
    assert statuses(d) == [("web-identity", "chosen"), ("env-session", "available")]


def test_a_broken_key_pair_next_to_a_role_is_ignored_not_failed(
    make_context: Any, irsa: dict[str, str]
) -> None:
    d = credpick.detect(context=make_context({**irsa, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}))
    assert d.ok
    assert statuses(d) == [("web-identity", "chosen"), ("static", "ignored")]


def test_an_explicit_key_profile_is_refused_next_to_a_role(
    make_context: Any, home: Path, irsa: dict[str, str]
) -> None:
    dev_keys(home)
    d = credpick.detect(context=make_context(irsa), profile_name="dev")
    error = d.error
    assert isinstance(error, credpick.StaticKeysRefused)
    assert error.reason == (
        f"long-lived key AKIA...MPLE from profile 'dev' refused: {WEB_IDENTITY} is available"
    )
    assert error.kind == "static"
    assert error.fix == f"drop the key and use {WEB_IDENTITY}"
    assert d.chosen is not None and d.chosen.status is Status.REFUSED
    assert d.chosen.reason == f"{WEB_IDENTITY} is available"
    assert error.evidence == d.chosen.evidence and len(error.evidence) == 1
    assert error.attempts == (
        f"static (profile 'dev'): refused: {WEB_IDENTITY} is available",
        "web-identity (environment): available: assumes the role with a projected OIDC token "
        "(EKS IRSA)",
    )
    assert_no_secret(str(error), repr(error), d.explain())


def test_forbid_names_the_policy_even_when_a_role_exists(
    make_context: Any, home: Path, irsa: dict[str, str]
) -> None:
    dev_keys(home)
    d = credpick.detect(
        context=make_context(irsa), profile_name="dev", policy=Policy(static_keys="forbid")
    )
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.error.reason == f"long-lived key AKIA...MPLE from profile 'dev' refused: {FORBIDS}"
    assert d.error.fix == f"drop the key and use {WEB_IDENTITY}"


def test_allow_uses_an_explicit_key_profile_next_to_a_role(
    make_context: Any, home: Path, irsa: dict[str, str]
) -> None:
    dev_keys(home)
    d = credpick.detect(
        context=make_context(irsa), profile_name="dev", policy=Policy(static_keys="allow")
    )
    assert d.ok and d.chosen is not None
    assert d.chosen.kind is SourceKind.STATIC and d.chosen.status is Status.CHOSEN
    assert d.chosen.profile == "dev" and d.chosen.explicit


def test_forbid_alone_uses_the_keys_own_fix(make_context: Any) -> None:
    d = credpick.detect(context=make_context(STATIC_ENV), policy=Policy(static_keys="forbid"))
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.error.reason == f"long-lived key AKIA...MPLE from environment refused: {FORBIDS}"
    assert d.error.kind == "static"
    assert d.error.evidence == ("AWS_ACCESS_KEY_ID=AKIA...MPLE", "AWS_SECRET_ACCESS_KEY is set")
    assert d.error.fix == ENV_KEY_FIX
    assert d.error.attempts == (f"static (environment): refused: {FORBIDS}",)
    assert d.chosen is not None and d.chosen.reason == FORBIDS


def test_a_refused_key_without_an_id_reads_cleanly(make_context: Any) -> None:
    d = credpick.detect(
        context=make_context({"AWS_SECRET_ACCESS_KEY": STATIC_SECRET}),
        policy=Policy(static_keys="forbid"),
    )
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.error.reason == f"long-lived key (unknown) from environment refused: {FORBIDS}"


def test_a_refused_root_without_an_id_reads_cleanly(make_context: Any, home: Path) -> None:
    write(
        home / ".aws" / "config",
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
        "credential_source = Environment\n",
    )
    d = credpick.detect(
        context=make_context({"AWS_PROFILE": "ops", "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}),
        policy=Policy(static_keys="forbid"),
    )
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.error.reason == (
        "long-lived key (unknown) from environment (the root of assume-role (profile 'ops')) "
        f"refused: {FORBIDS}"
    )
    assert_no_secret(str(d.error))


# -- errors are built from the pick ----------------------------------------------


def test_nothing_found_is_one_error_with_every_place_looked(make_context: Any) -> None:
    d = credpick.detect(context=make_context())
    error = d.error
    assert isinstance(error, credpick.NoCredentialsFound)
    assert error.reason == "no AWS credentials found"
    assert error.fix == "run on a role-based runtime, or configure a profile (aws configure sso)"
    assert error.attempts == d.looked
    assert d.candidates == () and d.chosen is None


def test_a_failed_pick_is_source_failed_with_its_own_facts(
    make_context: Any, tmp_path: Path
) -> None:
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "missing"), "AWS_ROLE_ARN": ROLE_ARN}
    d = credpick.detect(context=make_context({**env, **STATIC_ENV}))
    error = d.error
    assert isinstance(error, credpick.SourceFailed)
    assert d.chosen is not None and d.chosen.status is Status.FAILED
    assert error.kind == "web-identity"
    assert error.reason == d.chosen.reason and "does not exist" in error.reason
    assert error.evidence == d.chosen.evidence and error.evidence
    assert error.fix == d.chosen.fix and error.fix
    assert error.attempts == (
        d.chosen.attempt_line(),
        f"static (environment): ignored: {WEB_IDENTITY} is available",
    )


# -- the IMDSv1 gate ---------------------------------------------------------------


@pytest.fixture
def imds(credpick_runtime: Simulation) -> ImdsEmulator:
    emulator = credpick_runtime.use("ec2-instance-profile").emulator
    assert isinstance(emulator, ImdsEmulator)
    return emulator


def test_a_healthy_instance_passes_the_gate(imds: ImdsEmulator) -> None:
    d = credpick.detect()
    assert d.ok and d.chosen is not None
    assert d.chosen.kind is SourceKind.EC2_INSTANCE_PROFILE and d.chosen.status is Status.CHOSEN


def test_imdsv1_only_fails_with_how_to_require_v2(imds: ImdsEmulator) -> None:
    imds.set_mode("imdsv1-only")
    d = credpick.detect()
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.error.kind == "ec2-instance-profile"
    assert d.chosen is not None and d.chosen.status is Status.FAILED
    assert d.chosen.reason == "the instance answers only IMDSv1, and the policy requires IMDSv2"
    assert d.chosen.fix == (
        "require IMDSv2 on the instance (aws ec2 modify-instance-metadata-options "
        f"--http-tokens required) {OPT_IN}"
    )


def test_imdsv1_only_is_used_when_allowed(imds: ImdsEmulator) -> None:
    imds.set_mode("imdsv1-only")
    d = credpick.detect(policy=Policy(allow_imdsv1=True))
    assert d.ok and d.chosen is not None and d.chosen.status is Status.CHOSEN


def test_a_token_timeout_fails_and_offers_the_opt_in(imds: ImdsEmulator) -> None:
    imds.set_mode("token-hangs")
    timeouts = credpick.Timeouts(imds_read=0.3)
    allowed = credpick.detect(policy=Policy(allow_imdsv1=True), timeouts=timeouts)
    assert allowed.chosen is not None and allowed.chosen.status is not Status.FAILED
    hop_fix = allowed.chosen.fix
    assert hop_fix and "hop-limit" in hop_fix
    d = credpick.detect(timeouts=timeouts)
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.chosen is not None and d.chosen.status is Status.FAILED
    assert d.chosen.fix == f"{hop_fix}; {OPT_IN}"
    assert d.chosen.reason == allowed.chosen.reason


@pytest.mark.parametrize("static_keys", ["forbid", "refuse-when-role"])
def test_a_verdict_is_said_once_in_attempts_and_explain(
    make_context: Any, irsa: dict[str, str], static_keys: str
) -> None:
    # The status column already says "refused"/"ignored": the reason must not repeat it.
    d = credpick.detect(
        context=make_context({**irsa, **STATIC_ENV}), policy=Policy(static_keys=static_keys)
    )
    forbid = credpick.detect(context=make_context(STATIC_ENV), policy=Policy(static_keys="forbid"))
    assert forbid.error is not None
    lines = [c.attempt_line() for c in d.candidates + forbid.candidates]
    text = "\n".join([*lines, *forbid.error.attempts, d.explain(), forbid.explain()])
    for status in ("refused", "ignored"):
        assert f"{status}: {status}" not in text
        assert f"  {status}: " not in d.explain() + forbid.explain()
    assert "static (environment): refused: the policy forbids long-lived keys" in text
