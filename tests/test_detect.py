"""Ranking and policy, over in-memory contexts: no network, no files outside tmp."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Policy, SourceKind, Status

from .helpers import ROLE_ARN, STATIC_ENV, STATIC_SECRET, TEMP_ENV, assert_no_secret, write


def kinds(detection: credpick.Detection) -> list[str]:
    return [c.kind.value for c in detection.candidates]


@pytest.fixture
def irsa(tmp_path: Path) -> dict[str, str]:
    token = write(tmp_path / "irsa-token", "eyJhbGciOi.fake.token")
    return {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN}


def test_nothing_found_lists_every_place_looked(make_context: Any) -> None:
    d = credpick.detect(context=make_context())
    assert d.chosen is None
    assert isinstance(d.error, credpick.NoCredentialsFound)
    message = str(d.error)
    for kind in SourceKind:
        assert kind.value in message
    assert "AWS_EC2_METADATA_DISABLED=true" in message


def test_stray_static_key_is_ignored_when_a_role_exists(
    make_context: Any, irsa: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        d = credpick.detect(context=make_context({**irsa, **STATIC_ENV}))
    assert d.chosen is not None and d.chosen.kind is SourceKind.WEB_IDENTITY
    assert d.ok
    static = d.candidates[-1]
    assert static.kind is SourceKind.STATIC and static.status is Status.IGNORED
    assert "web-identity" in static.reason
    assert "AKIA...MPLE" in caplog.text and "remove it" in caplog.text
    assert_no_secret(caplog.text, d.explain(), d.to_dict(), repr(d))


def test_static_alone_is_used_with_a_warning(
    make_context: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        d = credpick.detect(context=make_context(STATIC_ENV))
    assert d.ok and d.chosen is not None
    assert d.chosen.kind is SourceKind.STATIC and d.chosen.long_lived
    assert "no role-based source" in caplog.text


def test_forbid_refuses_static_even_alone(make_context: Any) -> None:
    d = credpick.detect(context=make_context(STATIC_ENV), policy=Policy(static_keys="forbid"))
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.chosen is not None and d.chosen.status is Status.REFUSED
    assert STATIC_SECRET not in str(d.error)


def test_allow_keeps_static_available_but_prefers_roles(
    make_context: Any, irsa: dict[str, str]
) -> None:
    d = credpick.detect(
        context=make_context({**irsa, **STATIC_ENV}), policy=Policy(static_keys="allow")
    )
    assert d.chosen is not None and d.chosen.kind is SourceKind.WEB_IDENTITY
    assert d.candidates[-1].status is Status.AVAILABLE


def test_explicit_profile_with_keys_is_refused_when_a_role_exists(
    make_context: Any, home: Path, irsa: dict[str, str]
) -> None:
    write(
        home / ".aws" / "credentials",
        f"[dev]\naws_access_key_id = {STATIC_ENV['AWS_ACCESS_KEY_ID']}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    ctx = make_context({**irsa, "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials")})
    d = credpick.detect(context=ctx, profile_name="dev")
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert "web-identity" in str(d.error)
    assert_no_secret(str(d.error), d.explain(), d.to_dict())


def test_explicit_role_based_profile_beats_the_ranking(
    make_context: Any, home: Path, irsa: dict[str, str]
) -> None:
    write(
        home / ".aws" / "config",
        "[profile ops]\nrole_arn = arn:aws:iam::111122223333:role/ops\ncredential_source = Environment\n",
    )
    d = credpick.detect(context=make_context({**irsa, "AWS_PROFILE": "ops"}))
    assert d.chosen is not None and d.chosen.kind is SourceKind.ASSUME_ROLE
    assert d.chosen.explicit
    assert kinds(d) == ["assume-role", "web-identity"]


def test_unknown_profile_is_a_configuration_error(make_context: Any) -> None:
    d = credpick.detect(context=make_context({"AWS_PROFILE": "nope"}))
    assert isinstance(d.error, credpick.ConfigurationError)
    assert "nope" in str(d.error) and "AWS_PROFILE" in str(d.error)


def test_malformed_config_names_the_file(make_context: Any, home: Path) -> None:
    path = write(home / ".aws" / "config", "this is [not ini\n= =\n")
    d = credpick.detect(context=make_context())
    assert isinstance(d.error, credpick.ConfigurationError)
    assert str(path) in str(d.error)
    with pytest.raises(credpick.ConfigurationError):
        credpick.session(context=make_context())


def test_broken_best_source_fails_closed(make_context: Any, tmp_path: Path) -> None:
    env = {
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "missing"),
        "AWS_ROLE_ARN": ROLE_ARN,
        **STATIC_ENV,
    }
    d = credpick.detect(context=make_context(env))
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.error.kind == "web-identity"
    assert "does not exist" in str(d.error)
    assert d.candidates[-1].status is Status.IGNORED  # never falls back to the key
    with pytest.raises(credpick.SourceFailed):
        credpick.session(context=make_context(env))


def test_hook_can_refuse(make_context: Any, irsa: dict[str, str]) -> None:
    def only_prod(detection: credpick.Detection) -> None:
        assert detection.chosen is not None
        if "prod" not in (detection.chosen.role_arn or ""):
            raise credpick.PolicyViolation(
                "role is not a prod role", kind=detection.chosen.kind.value
            )

    d = credpick.detect(context=make_context(irsa), policy=Policy(hook=only_prod))
    assert isinstance(d.error, credpick.PolicyViolation)
    assert d.chosen is not None and d.chosen.status is Status.REFUSED


def test_to_dict_shape(make_context: Any, irsa: dict[str, str]) -> None:
    import json

    data = credpick.detect(context=make_context({**irsa, **STATIC_ENV})).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["chosen"] == "web-identity"
    first = data["candidates"][0]
    assert {"kind", "status", "long_lived", "evidence"} <= set(first)
    assert [c["status"] for c in data["candidates"]] == ["chosen", "ignored"]


def test_explain_has_one_line_per_candidate(make_context: Any, irsa: dict[str, str]) -> None:
    text = credpick.detect(context=make_context({**irsa, **STATIC_ENV})).explain()
    assert text.splitlines()[0].startswith("credpick picked web-identity")
    assert sum(line.startswith(("* ", "- ")) for line in text.splitlines()) == 2


def test_policy_rejects_unknown_mode() -> None:
    with pytest.raises(credpick.ConfigurationError, match=r"Policy\(static_keys='sometimes'\)"):
        Policy(static_keys="sometimes")  # type: ignore[arg-type]


def test_role_arn_argument_beats_aws_role_arn(make_context: Any, irsa: dict[str, str]) -> None:
    other = "arn:aws:iam::123456789012:role/other"
    d = credpick.detect(context=make_context(irsa), role_arn=other)
    assert d.chosen is not None and d.chosen.role_arn == other and d.chosen.explicit


def test_temporary_env_keys_are_env_session(make_context: Any) -> None:
    d = credpick.detect(context=make_context(TEMP_ENV))
    assert d.chosen is not None and d.chosen.kind is SourceKind.ENV_SESSION
    assert not d.chosen.long_lived


def test_lambda(make_context: Any) -> None:
    d = credpick.detect(context=make_context({**TEMP_ENV, "AWS_LAMBDA_FUNCTION_NAME": "fn"}))
    assert d.chosen is not None and d.chosen.kind is SourceKind.LAMBDA
    assert kinds(d) == ["lambda"]


def test_half_key_pair_is_a_failed_static_candidate(make_context: Any) -> None:
    d = credpick.detect(context=make_context({"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"}))
    assert isinstance(d.error, credpick.SourceFailed)
    assert "AWS_SECRET_ACCESS_KEY" in str(d.error)


def test_role_arn_without_a_token_is_an_error_not_ignored(make_context: Any) -> None:
    d = credpick.detect(context=make_context(STATIC_ENV), role_arn=ROLE_ARN)
    assert isinstance(d.error, credpick.ConfigurationError)
    assert "role_arn=" in str(d.error) and "web identity" in str(d.error)


def test_the_readme_snippet_warns_once(
    credpick_runtime: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # session() detects, then detect().explain() detects again: one warning, as
    # Python's warnings say a thing once; the repeat goes to DEBUG.
    credpick_runtime.use("ec2-instance-profile")
    for name, value in STATIC_ENV.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(logging.DEBUG, logger="credpick"):
        credpick.session()
        credpick.detect().explain()
    ignored = [r for r in caplog.records if "ignored" in r.getMessage()]
    assert [r.levelno for r in ignored] == [logging.WARNING, logging.DEBUG]
    # Another configuration is another warning.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAANOTHERKEY000001")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="credpick"):
        credpick.detect()
    assert [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()] != []


def test_the_once_only_memory_of_warnings_is_bounded_oldest_first(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    import collections

    from credpick import _detect

    monkeypatch.setattr(_detect, "_WARNED", collections.OrderedDict())
    monkeypatch.setattr(_detect, "_WARNED_MAX", 3)
    ctx = credpick.Context(env={}, home=tmp_path)

    def levels(*names: str) -> list[int]:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="credpick"):
            for name in names:
                _detect._warn_once(ctx, "key %s ignored", name)
        return [r.levelno for r in caplog.records]

    assert levels("a", "b", "c") == [logging.WARNING] * 3
    assert levels("a") == [logging.DEBUG]  # three remembered: the cap is not yet passed
    assert levels("d") == [logging.WARNING]  # the fourth pushes out the oldest, "b"
    assert levels("a", "c", "b") == [logging.DEBUG, logging.DEBUG, logging.WARNING]
