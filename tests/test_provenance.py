"""Each candidate carries its chain: the root that delivers the first credentials,
then every role assumed on top; reports show it, and it holds no secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import attrs
import pytest

import credpick
from credpick import SourceKind
from credpick._keys import is_long_lived, why_refused
from credpick._link import Link, LinkKind
from credpick._model import Candidate, Provenance, Root, RootKind
from credpick.testing import Simulation

from .helpers import (
    SESSION_TOKEN,
    STATIC_ENV,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_ENV,
    TEMP_KEY_ID,
    assert_no_secret,
    write,
)
from .security._leaks import assert_clean_error

OPS = "arn:aws:iam::123456789012:role/ops"
BASE = "arn:aws:iam::210987654321:role/base"


def _chained_profiles(home: Path) -> None:
    """ops assumes a role over mid, which assumes one over base's AKIA key."""
    write(
        home / ".aws" / "credentials",
        f"[base]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    write(
        home / ".aws" / "config",
        f"[profile mid]\nrole_arn = {BASE}\nsource_profile = base\n\n"
        f"[profile ops]\nrole_arn = {OPS}\nsource_profile = mid\n",
    )


# -- the rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key_id", "token", "expected"),
    [
        (STATIC_KEY_ID, None, True),
        (STATIC_KEY_ID, SESSION_TOKEN, True),  # an AKIA id is long-lived, token or not
        (TEMP_KEY_ID, None, True),  # no token: nothing expires it
        (TEMP_KEY_ID, SESSION_TOKEN, False),
        (TEMP_KEY_ID, "", True),
    ],
)
def test_the_long_lived_rule(key_id: str, token: str | None, expected: bool) -> None:
    assert is_long_lived(key_id, token) is expected


def test_why_refused() -> None:
    assert why_refused("forbid", None) == "the policy forbids long-lived keys"
    assert why_refused("refuse-when-role", "ecs (environment)") == "ecs (environment) is available"
    assert why_refused("refuse-when-role", None) is None
    assert why_refused("allow", "ecs (environment)") is None


# -- chains as values ----------------------------------------------------------


def test_a_source_profile_chain_is_resolved_to_its_root(home: Path, make_context: Any) -> None:
    _chained_profiles(home)
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}))
    c = d.candidates[0]
    assert c.kind is SourceKind.ASSUME_ROLE
    root = c.provenance.root
    assert root.kind is RootKind.PROFILE_KEYS and root.long_lived is True
    assert root.key_id == "AKIA...MPLE" and "profile 'base'" in root.origin
    assert [(link.kind, link.role_arn) for link in c.provenance.links] == [
        (LinkKind.SOURCE_PROFILE, BASE),
        (LinkKind.SOURCE_PROFILE, OPS),
    ]
    assert [link.account for link in c.provenance.links] == ["210987654321", "123456789012"]
    assert c.rooted_in_long_lived and not c.long_lived  # the key is the root's, not its own


def test_a_source_profile_loop_ends(home: Path, make_context: Any) -> None:
    write(
        home / ".aws" / "config",
        f"[profile a]\nrole_arn = {OPS}\nsource_profile = b\n\n"
        f"[profile b]\nrole_arn = {BASE}\nsource_profile = a\n",
    )
    d = credpick.detect(context=make_context({"AWS_PROFILE": "a"}))
    assert d.candidates[0].kind is SourceKind.ASSUME_ROLE  # a verdict, not a RecursionError


def test_a_temporary_source_profile_is_a_temporary_root(home: Path, make_context: Any) -> None:
    write(
        home / ".aws" / "credentials",
        f"[base]\naws_access_key_id = {TEMP_KEY_ID}\naws_secret_access_key = x\n"
        f"aws_session_token = {SESSION_TOKEN}\n",
    )
    write(home / ".aws" / "config", f"[profile ops]\nrole_arn = {OPS}\nsource_profile = base\n")
    d = credpick.detect(
        context=make_context({"AWS_PROFILE": "ops"}), policy=credpick.Policy(static_keys="forbid")
    )
    assert d.ok and d.candidates[0].provenance.root.long_lived is False


@pytest.mark.parametrize(
    ("env", "kind", "long_lived"),
    [
        (STATIC_ENV, RootKind.ENV_KEYS, True),
        (TEMP_ENV, RootKind.ENV_KEYS, False),
    ],
)
def test_environment_roots(
    make_context: Any, env: dict[str, str], kind: RootKind, long_lived: bool
) -> None:
    d = credpick.detect(context=make_context(env))
    root = d.candidates[0].provenance.root
    assert root.kind is kind and root.long_lived is long_lived


def test_a_program_and_a_sidecar_are_known_only_once_loaded(
    home: Path, make_context: Any, credpick_runtime: Simulation
) -> None:
    credpick_runtime.use("container")
    write(home / ".aws" / "config", "[default]\ncredential_process = /bin/false\n")
    d = credpick.detect()
    roots = {c.kind: c.provenance.root for c in d.candidates}
    assert roots[SourceKind.CREDENTIAL_PROCESS].kind is RootKind.PROGRAM
    assert roots[SourceKind.CONTAINER].kind is RootKind.CONTAINER_ENDPOINT
    assert all(r.long_lived is None for r in roots.values())
    assert not any(c.rooted_in_long_lived for c in d.candidates)


def test_existing_candidates_keep_working_without_a_chain() -> None:
    c = Candidate(kind=SourceKind.STATIC, long_lived=True, key_id="AKIA...MPLE")
    assert c.provenance == Provenance(
        Root(kind=RootKind.ENV_KEYS, origin="environment", long_lived=True, key_id="AKIA...MPLE")
    )
    assert c.rooted_in_long_lived
    assert not Candidate(kind=SourceKind.SSO).rooted_in_long_lived


def test_a_root_never_keeps_a_raw_key_id() -> None:
    root = Root(kind=RootKind.ENV_KEYS, origin=f"x {STATIC_KEY_ID}", key_id=STATIC_KEY_ID)
    assert_no_secret(repr(root), json.dumps(root.to_dict()), root.describe())
    link = Link(LinkKind.SOURCE_PROFILE, OPS, origin=f"profile {STATIC_KEY_ID}")
    assert_no_secret(repr(link), json.dumps(link.to_dict()))
    assert attrs.evolve(root, key_id=TEMP_KEY_ID).key_id == "ASIA...MPLE"


# -- reports -------------------------------------------------------------------


def test_to_dict_and_explain_show_the_chain(home: Path, make_context: Any) -> None:
    _chained_profiles(home)
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}))
    data = d.to_dict()
    chain = data["candidates"][0]["provenance"]
    assert chain["root"]["kind"] == "profile-keys" and chain["root"]["long_lived"] is True
    assert chain["root"]["key_id"] == "AKIA...MPLE"
    assert [link["role_arn"] for link in chain["links"]] == [BASE, OPS]
    text = d.explain()
    line = next(ln for ln in text.splitlines() if "chain:" in ln)
    assert "profile-keys" in line and "AKIA...MPLE, long-lived" in line
    assert line.index(BASE) < line.index(OPS)
    assert_no_secret(text, data, repr(d))


def test_explain_says_a_sidecar_is_judged_when_loaded(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("container")
    text = credpick.detect().explain()
    assert "chain: container-endpoint (environment; checked when loaded)" in text


def test_the_warning_for_an_allowed_long_lived_root_names_it(
    home: Path, make_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _chained_profiles(home)
    with caplog.at_level(logging.WARNING, logger="credpick"):
        d = credpick.detect(context=make_context({"AWS_PROFILE": "ops"}))
    assert d.ok
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "AKIA...MPLE from profile 'base'" in record.getMessage()
    assert "the root of assume-role (profile 'ops')" in record.getMessage()
    assert_no_secret(record.getMessage())


def test_the_plugin_watch_applies_the_rule_and_keeps_no_secret() -> None:
    import boto3

    from credpick.testing import StaticKeyWatch

    client = boto3.client(
        "sts",
        aws_access_key_id=STATIC_KEY_ID,
        aws_secret_access_key=STATIC_SECRET,
        aws_session_token=SESSION_TOKEN,  # a token does not make an AKIA key temporary
        region_name="us-east-1",
    )
    with StaticKeyWatch() as watch, pytest.raises(credpick.StaticKeysRefused) as info:
        client.get_caller_identity()
    assert watch.violations == [info.value]
    assert_clean_error(info.value)


def test_an_ignored_chain_warns_with_its_root(
    home: Path, make_context: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _chained_profiles(home)
    write(home / ".aws" / "config", f"[default]\nrole_arn = {OPS}\nsource_profile = base\n")
    token = write(tmp_path / "token", "header.payload.sig")
    env = {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": BASE}
    with caplog.at_level(logging.WARNING, logger="credpick"):
        d = credpick.detect(context=make_context(env))
    assert d.ok and d.chosen is not None and d.chosen.kind is SourceKind.WEB_IDENTITY
    ignored = next(c for c in d.candidates if c.kind is SourceKind.ASSUME_ROLE)
    assert ignored.status is credpick.Status.IGNORED
    assert any("AKIA...MPLE from profile 'base'" in r.getMessage() for r in caplog.records)


def _metadata(key_id: str) -> Any:
    """A refresh function answering with this key id: the secret stays in its frame."""
    return lambda: {"access_key": key_id, "secret_key": STATIC_SECRET, "token": SESSION_TOKEN}


def test_a_refresh_that_is_not_credentials_is_left_to_botocore() -> None:
    from credpick._obtained import judging

    candidate = Candidate(kind=SourceKind.CONTAINER)
    forbid = credpick.Policy(static_keys="forbid")
    assert judging(lambda: None, candidate, forbid)() is None
    assert judging(_metadata(TEMP_KEY_ID), candidate, forbid)()["token"] == SESSION_TOKEN


def test_a_refresh_into_akia_is_refused_clean() -> None:
    from credpick._obtained import judging

    candidate = Candidate(kind=SourceKind.CONTAINER)
    forbid = credpick.Policy(static_keys="forbid")
    with pytest.raises(credpick.StaticKeysRefused) as info:
        judging(_metadata(STATIC_KEY_ID), candidate, forbid)()
    assert "on refresh" in str(info.value)
    assert_clean_error(info.value)


def test_the_audit_record_carries_the_chain_and_the_account(
    credpick_runtime: Any, caplog: pytest.LogCaptureFixture
) -> None:
    credpick_runtime.use("sso")
    with caplog.at_level(logging.INFO, logger="credpick"):
        credpick.session()
    (record,) = [r for r in caplog.records if hasattr(r, "credpick")]
    fields = record.credpick
    assert fields["account"] == "123456789012"
    assert fields["provenance"]["root"]["kind"] == "sso-cache"
    json.dumps(fields)  # JSON-safe, as every audit field


def test_explain_shows_the_account_of_a_root_without_a_role(credpick_runtime: Any) -> None:
    pytest.importorskip("awscrt")
    credpick_runtime.use("login")
    assert "account 123456789012" in credpick.detect().explain()
