"""detect()'s own rules: when the metadata service is probed, what is logged, what is passed on.

Written against the mutants of ``credpick._detect`` that survived the suite
(docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Policy, SourceKind, Status
from credpick.testing import ImdsEmulator, Simulation
from credpick.testing._hostile import HostileEndpoint

from .helpers import ROLE_ARN, STATIC_ENV, STATIC_SECRET, write

SAFER = "ec2-instance-profile: not probed (a safer source decided)"
DISABLED = "ec2-instance-profile: not probed (AWS_EC2_METADATA_DISABLED=true)"
WEB_IDENTITY = "web-identity (environment)"
OIDC_WITHOUT_ROLE = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:1/_apis/token",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
}
SSO_PROFILE = (
    "sso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n"
    "sso_account_id = 111122223333\nsso_role_name = r\n"
)


@pytest.fixture
def irsa(tmp_path: Path) -> dict[str, str]:
    token = write(tmp_path / "irsa-token", "eyJhbGciOi.fake.token")
    return {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN}


@pytest.fixture
def imds(credpick_runtime: Simulation) -> ImdsEmulator:
    emulator = credpick_runtime.use("ec2-instance-profile").emulator
    assert isinstance(emulator, ImdsEmulator)
    return emulator


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "credpick"]


# -- every place looked, once, in order ------------------------------------------


def test_every_source_is_looked_at_once_and_the_probe_last(make_context: Any) -> None:
    d = credpick.detect(context=make_context())
    kinds = [line.split(":")[0] for line in d.looked]
    network_last = [k.value for k in SourceKind if k is not SourceKind.EC2_INSTANCE_PROFILE]
    assert kinds == [*network_last, "ec2-instance-profile"]
    assert d.looked[-1] == DISABLED


# -- when the metadata service is probed --------------------------------------------


def test_a_platform_role_decides_without_a_probe(make_context: Any, irsa: dict[str, str]) -> None:
    assert credpick.detect(context=make_context(irsa)).looked[-1] == SAFER


def test_an_unavailable_safer_source_does_not_stop_the_probe(make_context: Any, home: Path) -> None:
    write(home / ".aws" / "config", "[profile work]\n" + SSO_PROFILE)
    d = credpick.detect(context=make_context({**OIDC_WITHOUT_ROLE, "AWS_PROFILE": "work"}))
    # github-oidc (unavailable) is seen first; the explicit SSO profile still decides.
    assert d.looked[-1] == SAFER
    d = credpick.detect(context=make_context(OIDC_WITHOUT_ROLE))
    assert d.looked[-1] == DISABLED


def test_an_explicit_key_profile_does_not_stop_the_probe(make_context: Any, home: Path) -> None:
    write(
        home / ".aws" / "credentials",
        f"[dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    d = credpick.detect(context=make_context({"AWS_PROFILE": "dev"}))
    assert d.looked[-1] == DISABLED


def test_the_instance_role_beats_a_default_sso_profile(imds: ImdsEmulator, home: Path) -> None:
    write(home / ".aws" / "config", "[default]\n" + SSO_PROFILE)
    d = credpick.detect()
    # Not logged in: the SSO profile is broken, and ranked below the instance anyway.
    assert [(c.kind, c.status) for c in d.candidates] == [
        (SourceKind.EC2_INSTANCE_PROFILE, Status.CHOSEN),
        (SourceKind.SSO, Status.FAILED),
    ]
    assert d.ok and d.looked[-1] == f"ec2-instance-profile: probed {imds.endpoint}"


def test_the_probe_adds_to_what_was_found(
    imds: ImdsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    d = credpick.detect()
    assert [(c.kind, c.status) for c in d.candidates] == [
        (SourceKind.EC2_INSTANCE_PROFILE, Status.CHOSEN),
        (SourceKind.STATIC, Status.IGNORED),
    ]


# -- configuration errors ------------------------------------------------------------


def test_an_unknown_profile_says_where_to_define_it(make_context: Any, home: Path) -> None:
    ctx = make_context({"AWS_PROFILE": "nope"})
    d = credpick.detect(context=ctx, region_name="eu-west-1", policy=Policy(static_keys="allow"))
    error = d.error
    assert isinstance(error, credpick.ConfigurationError)
    assert error.reason == "profile 'nope' (from AWS_PROFILE) is not defined"
    assert error.evidence == (str(ctx.config_file), str(ctx.credentials_file))
    assert error.fix == f"add [profile nope] to {ctx.config_file}, or fix AWS_PROFILE"
    assert d.candidates == () and d.looked == () and d.chosen is None
    assert d.policy == Policy(static_keys="allow")
    assert (d.region, d.region_source) == ("eu-west-1", "region_name=")


@pytest.mark.parametrize("typed", ["prodd", "Prod", "prod ", "pro"])
@pytest.mark.parametrize("how", ["AWS_PROFILE", "profile_name="])
def test_a_mistyped_profile_gets_a_close_match(
    make_context: Any, home: Path, typed: str, how: str
) -> None:
    write(home / ".aws" / "config", "[profile dev]\n[profile prod]\nregion = eu-west-1\n")
    write(home / ".aws" / "credentials", "[staging]\n")
    if how == "AWS_PROFILE":
        d = credpick.detect(context=make_context({"AWS_PROFILE": typed}))
    else:
        d = credpick.detect(context=make_context(), profile_name=typed)
    error = d.error
    assert isinstance(error, credpick.ConfigurationError)
    assert error.reason == f"profile '{typed}' (from {how}) is not defined; did you mean 'prod'?"
    assert error.fix == f"set {how} to 'prod', or add [profile {typed}] to {home}/.aws/config"


def test_a_profile_nothing_like_any_other_gets_no_suggestion(make_context: Any, home: Path) -> None:
    write(home / ".aws" / "config", "[profile prod]\n")
    d = credpick.detect(context=make_context({"AWS_PROFILE": "zzzzzz"}))
    assert d.error is not None and "did you mean" not in str(d.error)


def test_a_mistyped_source_profile_gets_a_close_match(make_context: Any, home: Path) -> None:
    write(
        home / ".aws" / "config",
        "[profile base]\n[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\n"
        "source_profile = Base\n",
    )
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}))
    assert d.error is not None
    assert d.error.reason == (
        "source_profile 'Base' of profile 'ops' is not defined; did you mean 'base'?"
    )


def test_a_broken_detection_still_reports_the_chain(make_context: Any) -> None:
    link = credpick.AssumeRole("arn:aws:iam::123456789012:role/next")
    d = credpick.detect(context=make_context({"AWS_PROFILE": "nope"}), assume_role=link)
    assert isinstance(d.error, credpick.ConfigurationError)
    assert [c.role_arn for c in d.chain] == [link.role_arn]


def test_the_chain_is_reported(make_context: Any, irsa: dict[str, str]) -> None:
    links = [
        credpick.AssumeRole("arn:aws:iam::123456789012:role/a"),
        credpick.AssumeRole("arn:aws:iam::123456789012:role/b", session_name="b-session"),
    ]
    d = credpick.detect(context=make_context(irsa), assume_role=links)
    assert d.ok
    assert [(c.role_arn, c.session_name) for c in d.chain][1] == (links[1].role_arn, "b-session")
    assert [c.role_arn for c in d.chain] == [link.role_arn for link in links]


def test_role_arn_needs_a_token_even_when_a_profile_names_that_role(
    make_context: Any, home: Path
) -> None:
    ops = "arn:aws:iam::111122223333:role/ops"
    write(
        home / ".aws" / "config",
        f"[profile ops]\nrole_arn = {ops}\ncredential_source = Environment\n",
    )
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}), role_arn=ops)
    error = d.error
    assert isinstance(error, credpick.ConfigurationError)
    assert error.reason == (
        f"role_arn={ops} needs a web identity token to assume it with, and none was found"
    )
    assert error.evidence == ("no AWS_WEB_IDENTITY_TOKEN_FILE", "no ACTIONS_ID_TOKEN_REQUEST_URL")
    assert error.fix == (
        "run where a web identity token is available (EKS IRSA, GitHub Actions with "
        "id-token: write), or drop role_arn="
    )


# -- arguments without a context read this process --------------------------------------


def test_profile_name_and_role_arn_reach_the_process_context(
    home: Path, irsa: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "arn:aws:iam::123456789012:role/other"
    for k, v in irsa.items():
        monkeypatch.setenv(k, v)
    d = credpick.detect(role_arn=other)
    assert d.chosen is not None and d.chosen.role_arn == other and d.chosen.explicit
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE")
    write(home / ".aws" / "config", "[profile work]\n" + SSO_PROFILE)
    d = credpick.detect(profile_name="work")
    assert d.chosen is not None and d.chosen.profile == "work" and d.chosen.explicit


# -- what is logged -----------------------------------------------------------------------


def test_an_ignored_key_is_logged_masked_with_the_role_that_won(
    make_context: Any, irsa: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        credpick.detect(context=make_context({**irsa, **STATIC_ENV}))
    assert messages(caplog) == [
        f"long-lived key AKIA...MPLE from environment ignored: {WEB_IDENTITY} is available; "
        "remove it"
    ]


def test_an_ignored_key_without_an_id_is_logged_as_unknown(
    make_context: Any, irsa: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        credpick.detect(context=make_context({**irsa, "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}))
    assert messages(caplog) == [
        f"long-lived key (unknown) from environment ignored: {WEB_IDENTITY} is available; remove it"
    ]


def test_a_used_key_is_logged_masked(make_context: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        credpick.detect(context=make_context(STATIC_ENV))
    assert messages(caplog) == [
        "using long-lived key AKIA...MPLE from environment: no role-based source is available"
    ]


def test_a_refused_key_is_not_logged_as_used(
    make_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        d = credpick.detect(context=make_context(STATIC_ENV), policy=Policy(static_keys="forbid"))
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert messages(caplog) == []


# -- the hook -------------------------------------------------------------------------------


def test_a_hook_refusal_replaces_the_pick_and_keeps_the_rest(
    make_context: Any, irsa: dict[str, str]
) -> None:
    def refuse(detection: credpick.Detection) -> None:
        raise credpick.PolicyViolation("not this one", kind="web-identity")

    d = credpick.detect(context=make_context({**irsa, **STATIC_ENV}), policy=Policy(hook=refuse))
    assert isinstance(d.error, credpick.PolicyViolation)
    assert [(c.kind, c.status) for c in d.candidates] == [
        (SourceKind.WEB_IDENTITY, Status.REFUSED),
        (SourceKind.STATIC, Status.IGNORED),
    ]
    assert d.chosen is d.candidates[0]
    assert d.chosen.reason == "by the policy hook: not this one"
    assert "refused: refused" not in d.chosen.attempt_line()


# -- timeouts= with a context -----------------------------------------------------------------


def test_timeouts_passed_with_a_context_reach_the_probe(
    make_context: Any, imds: ImdsEmulator
) -> None:
    env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.endpoint}
    d = credpick.detect(context=make_context(env), timeouts=credpick.Timeouts(imds_read=5.0))
    assert d.ok and d.chosen is not None
    assert d.chosen.kind is SourceKind.EC2_INSTANCE_PROFILE


# The probe's verdict names its own deadline: a structured fact, no clock read by the test.
SHORT = credpick.Timeouts(imds_read=0.3)
WITHIN_SHORT = "no complete reply within 0.3 s"


def _silent_probe_reason(d: credpick.Detection) -> str:
    (probed,) = [c for c in d.candidates if c.kind is SourceKind.EC2_INSTANCE_PROFILE]
    assert probed.status is Status.FAILED
    return probed.reason


def test_timeouts_without_a_context_reach_the_probe(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HostileEndpoint("hold") as silent:
        monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", silent.url)
        d = credpick.detect(timeouts=SHORT)
    assert WITHIN_SHORT in _silent_probe_reason(d)


def test_timeouts_with_a_context_replace_the_contexts_own(make_context: Any) -> None:
    with HostileEndpoint("hold") as silent:
        env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": silent.url}
        d = credpick.detect(context=make_context(env), timeouts=SHORT)
    assert WITHIN_SHORT in _silent_probe_reason(d)


def test_a_profile_name_with_a_context_keeps_the_contexts_timeouts(
    make_context: Any, home: Path
) -> None:
    write(home / ".aws" / "config", "[profile work]\nregion = us-east-1\n")
    with HostileEndpoint("hold") as silent:
        env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": silent.url}
        d = credpick.detect(context=make_context(env, timeouts=SHORT), profile_name="work")
    assert WITHIN_SHORT in _silent_probe_reason(d)


def test_nothing_found_lists_every_place_looked(make_context: Any) -> None:
    d = credpick.detect(context=make_context())
    assert isinstance(d.error, credpick.NoCredentialsFound) and d.looked
    report = d.explain()
    assert report.endswith("\n".join(["looked at:", *(f"  - {p}" for p in d.looked)]))
    assert "ec2-instance-profile: not probed (AWS_EC2_METADATA_DISABLED=true)" in report
    for place in d.looked:
        assert place in d.error.attempts and place in str(d.error)


def test_a_pick_does_not_list_the_places_looked(make_context: Any) -> None:
    d = credpick.detect(context=make_context(STATIC_ENV))
    assert d.ok and "looked at:" not in d.explain()
