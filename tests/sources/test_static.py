"""Long-lived keys (the static source and the environment's key variables), pinned whole.

Each test compares the detected candidate with the one expected, field by field
(``Candidate`` equality), and builds the session where the store matters: these
were the survivors of the mutation run (docs/reliability.md, "Mutation testing").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Candidate, SourceKind, Status

from ..helpers import STATIC_KEY_ID, STATIC_SECRET, TEMP_KEY_ID, TEMP_SECRET, write

FIX = "use a role (instance profile, task role, IRSA, SSO) and delete the key"
ENV_FIX = f"unset AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; {FIX}"
TOKEN_FIX = (
    "the session token issued with the key (they come as a set, from sts assume-role "
    "or aws configure export-credentials)"
)
HALF_FIX = "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither"
#: A second long-lived key, so a session shows which profile it was built from.
DEV_KEY_ID = "AKIAI44QH8DHBEXAMPLE"
DEV_SECRET = "MARKER-SECRET-static-dev-je7MtGbClwBF"


def only(d: credpick.Detection) -> Candidate:
    assert len(d.candidates) == 1, d.candidates
    return d.candidates[0]


def env_key(status: Status = Status.CHOSEN, **fields: Any) -> Candidate:
    values: dict[str, Any] = {
        "kind": SourceKind.STATIC,
        "status": status,
        "origin": "environment",
        "evidence": ("AWS_ACCESS_KEY_ID=AKIA...MPLE", "AWS_SECRET_ACCESS_KEY is set"),
        "reason": "long-lived key in AWS_ACCESS_KEY_ID",
        "fix": ENV_FIX,
        "long_lived": True,
        "key_id": "AKIA...MPLE",
    }
    values.update(fields)
    return Candidate(**values)


def file_key(where: str, profile: str = "default", **fields: Any) -> Candidate:
    values: dict[str, Any] = {
        "kind": SourceKind.STATIC,
        "status": Status.CHOSEN,
        "origin": f"profile '{profile}'",
        "evidence": (f"aws_access_key_id=AKIA...MPLE in {where}",),
        "reason": f"long-lived key in {where}",
        "fix": f"remove the keys from {where}; {FIX}",
        "long_lived": True,
        "key_id": "AKIA...MPLE",
        "profile": profile,
    }
    values.update(fields)
    return Candidate(**values)


def keys(key_id: str = STATIC_KEY_ID, secret: str = STATIC_SECRET, extra: str = "") -> str:
    return f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n{extra}"


# -- the environment ---------------------------------------------------------------


def test_env_keys_are_static(make_context: Any) -> None:
    env = {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}
    assert only(credpick.detect(context=make_context(env))) == env_key()


def test_env_keys_say_where_they_are_stored(make_context: Any) -> None:
    # params and origin are what build() and explain() read; Candidate's equality skips params.
    env = {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}
    found = only(credpick.detect(context=make_context(env)))
    assert (found.origin, dict(found.params)) == ("environment", {"store": "env"})
    half = only(credpick.detect(context=make_context({"AWS_ACCESS_KEY_ID": STATIC_KEY_ID})))
    assert (half.status, half.origin) == (Status.FAILED, "environment")


def test_an_akia_id_with_a_session_token_is_still_long_lived(make_context: Any) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": STATIC_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": STATIC_SECRET,
        "AWS_SESSION_TOKEN": "MARKER-TOKEN-session-abcdef",
    }
    evidence = (
        "AWS_ACCESS_KEY_ID=AKIA...MPLE",
        "AWS_SECRET_ACCESS_KEY is set",
        "AWS_SESSION_TOKEN is set",
    )
    assert only(credpick.detect(context=make_context(env))) == env_key(evidence=evidence)


def test_an_asia_id_without_a_token_is_not_trusted_as_temporary(make_context: Any) -> None:
    # Still judged long-lived (fail closed); the words say the token is missing.
    env = {"AWS_ACCESS_KEY_ID": TEMP_KEY_ID, "AWS_SECRET_ACCESS_KEY": TEMP_SECRET}
    expected = env_key(
        evidence=("AWS_ACCESS_KEY_ID=ASIA...MPLE", "AWS_SECRET_ACCESS_KEY is set"),
        key_id="ASIA...MPLE",
        reason="AWS_SESSION_TOKEN is missing: AWS_ACCESS_KEY_ID holds a temporary (ASIA) key, "
        "which needs its session token",
        fix=f"set AWS_SESSION_TOKEN to {TOKEN_FIX}, or unset AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    )
    assert only(credpick.detect(context=make_context(env))) == expected
    d = credpick.detect(context=make_context(env), policy=credpick.Policy(static_keys="forbid"))
    assert d.error is not None and d.error.reason == (
        "key ASIA...MPLE (temporary, but its session token is missing) from environment "
        "refused: the policy forbids long-lived keys"
    )


def test_an_asia_id_passed_in_code_without_a_token_says_so(make_context: Any) -> None:
    d = credpick.detect(
        context=make_context(), aws_access_key_id=TEMP_KEY_ID, aws_secret_access_key=TEMP_SECRET
    )
    c = only(d)
    assert c.long_lived and c.kind is SourceKind.STATIC
    assert c.reason == (
        "aws_session_token= is missing: aws_access_key_id= holds a temporary (ASIA) key, "
        "which needs its session token"
    )
    assert c.fix == f"pass aws_session_token= with {TOKEN_FIX}, or pass no keys"


def test_the_legacy_security_token_makes_asia_keys_temporary(make_context: Any) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": TEMP_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": TEMP_SECRET,
        "AWS_SECURITY_TOKEN": "MARKER-TOKEN-session-abcdef",
    }
    c = only(credpick.detect(context=make_context(env)))
    assert c.kind is SourceKind.ENV_SESSION and not c.long_lived
    assert c.evidence == (
        "AWS_ACCESS_KEY_ID=ASIA...MPLE",
        "AWS_SECRET_ACCESS_KEY is set",
        "AWS_SECURITY_TOKEN is set",
    )


@pytest.mark.parametrize(
    ("env", "evidence", "key_id", "reason"),
    [
        (
            {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID},
            ("AWS_ACCESS_KEY_ID=AKIA...MPLE",),
            "AKIA...MPLE",
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        ),
        (
            {"AWS_SECRET_ACCESS_KEY": STATIC_SECRET},
            ("AWS_SECRET_ACCESS_KEY is set",),
            None,
            "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
        ),
    ],
    ids=["id-only", "secret-only"],
)
def test_half_a_pair_in_the_environment_fails_closed(
    make_context: Any, env: dict[str, str], evidence: tuple[str, ...], key_id: Any, reason: str
) -> None:
    d = credpick.detect(context=make_context(env))
    expected = env_key(Status.FAILED, evidence=evidence, key_id=key_id, reason=reason, fix=HALF_FIX)
    assert only(d) == expected
    assert isinstance(d.error, credpick.SourceFailed) and d.error.reason == reason


def test_env_keys_build_botocores_env_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", STATIC_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    credentials = credpick.session().get_credentials()
    assert credentials.method == "env" and credentials.access_key == STATIC_KEY_ID


# -- the shared files ----------------------------------------------------------------


def test_keys_in_the_config_files_profile_are_detected_as_static(
    make_context: Any, home: Path
) -> None:
    config = write(home / ".aws" / "config", "[default]\n" + keys())
    where = f"profile 'default' of {config}"
    assert only(credpick.detect(context=make_context())) == file_key(where)


def test_keys_in_the_config_file_build_botocores_config_provider(home: Path) -> None:
    write(home / ".aws" / "config", "[default]\n" + keys())
    credentials = credpick.session().get_credentials()
    assert credentials.method == "config-file" and credentials.access_key == STATIC_KEY_ID


def test_keys_in_the_credentials_file_are_static(make_context: Any, home: Path) -> None:
    path = write(home / ".aws" / "credentials", "[default]\n" + keys())
    assert only(credpick.detect(context=make_context())) == file_key(f"[default] of {path}")


def test_a_named_profile_is_explicit_and_builds_from_that_profile(
    make_context: Any, home: Path
) -> None:
    path = write(
        home / ".aws" / "credentials",
        "[default]\n" + keys() + "[dev]\n" + keys(DEV_KEY_ID, DEV_SECRET),
    )
    d = credpick.detect(context=make_context(), profile_name="dev")
    where = f"[dev] of {path}"
    expected = file_key(
        where,
        "dev",
        evidence=(f"aws_access_key_id=AKIA...MPLE in {where}",),
        explicit=True,
        key_id="AKIA...MPLE",
    )
    assert only(d) == expected
    credentials = credpick.session(profile_name="dev").get_credentials()
    assert credentials.method == "shared-credentials-file"
    assert credentials.access_key == DEV_KEY_ID


def test_a_named_config_profile_builds_from_that_profile(home: Path) -> None:
    write(
        home / ".aws" / "config",
        "[default]\n" + keys() + "[profile dev]\n" + keys(DEV_KEY_ID, DEV_SECRET),
    )
    credentials = credpick.session(profile_name="dev").get_credentials()
    assert credentials.method == "config-file" and credentials.access_key == DEV_KEY_ID


@pytest.mark.parametrize("token_key", ["aws_session_token", "aws_security_token"])
def test_asia_keys_with_a_token_in_a_file_are_temporary(
    make_context: Any, home: Path, token_key: str
) -> None:
    path = write(
        home / ".aws" / "credentials",
        "[default]\n" + keys(TEMP_KEY_ID, TEMP_SECRET, f"{token_key} = MARKER-TOKEN-session\n"),
    )
    where = f"[default] of {path}"
    expected = file_key(
        where,
        evidence=(f"aws_access_key_id=ASIA...MPLE in {where}",),
        reason=f"temporary key in {where}",
        fix=None,
        long_lived=False,
        key_id="ASIA...MPLE",
    )
    assert only(credpick.detect(context=make_context())) == expected


@pytest.mark.parametrize("token_key", ["aws_session_token", "aws_security_token"])
def test_an_akia_id_with_a_token_in_a_file_is_still_long_lived(
    make_context: Any, home: Path, token_key: str
) -> None:
    path = write(
        home / ".aws" / "credentials",
        "[default]\n" + keys(extra=f"{token_key} = MARKER-TOKEN-session\n"),
    )
    c = only(credpick.detect(context=make_context()))
    assert c == file_key(f"[default] of {path}")


def test_an_asia_id_without_a_token_in_a_file_is_long_lived(make_context: Any, home: Path) -> None:
    path = write(home / ".aws" / "credentials", "[default]\n" + keys(TEMP_KEY_ID, TEMP_SECRET))
    c = only(credpick.detect(context=make_context()))
    where = f"[default] of {path}"
    assert c.long_lived and c.reason == (
        f"aws_session_token is missing: {where} holds a temporary (ASIA) key, "
        "which needs its session token"
    )
    assert c.fix == f"add aws_session_token to {where}: set it to {TOKEN_FIX}, or remove the keys"


@pytest.mark.parametrize("missing", ["aws_secret_access_key", "aws_access_key_id"])
def test_half_a_pair_in_a_file_fails_closed(make_context: Any, home: Path, missing: str) -> None:
    present = {
        "aws_access_key_id": f"aws_access_key_id = {STATIC_KEY_ID}\n",
        "aws_secret_access_key": f"aws_secret_access_key = {STATIC_SECRET}\n",
    }
    (other,) = (v for k, v in present.items() if k != missing)
    path = write(home / ".aws" / "credentials", "[dev]\n" + other)
    d = credpick.detect(context=make_context(), profile_name="dev")
    where = f"[dev] of {path}"
    has_id = missing == "aws_secret_access_key"
    expected = file_key(
        where,
        "dev",
        status=Status.FAILED,
        evidence=(f"aws_access_key_id=AKIA...MPLE in {where}" if has_id else where,),
        reason=f"{where} has only half a key pair: {missing} is missing",
        fix=f"add {missing} to {where}, or remove the other key",
        explicit=True,
        key_id="AKIA...MPLE" if has_id else None,
    )
    assert only(d) == expected
    assert isinstance(d.error, credpick.SourceFailed) and d.error.kind == "static"


def test_a_profile_without_keys_is_no_candidate(make_context: Any, home: Path) -> None:
    write(home / ".aws" / "credentials", "[default]\nregion = us-east-1\n")
    write(home / ".aws" / "config", "[default]\nregion = us-east-1\n")
    d = credpick.detect(context=make_context())
    assert d.candidates == () and isinstance(d.error, credpick.NoCredentialsFound)


def test_env_keys_come_before_file_keys(make_context: Any, home: Path) -> None:
    path = write(home / ".aws" / "credentials", "[default]\n" + keys())
    env = {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}
    d = credpick.detect(context=make_context(env))
    assert d.candidates == (
        env_key(),
        file_key(f"[default] of {path}", status=Status.AVAILABLE),
    )


def test_a_session_builds_from_the_contexts_keys_not_the_processs(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", DEV_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", DEV_SECRET)
    env = {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}
    frozen = credpick.session(context=make_context(env)).get_credentials()
    assert frozen.method == "env"
    assert (frozen.access_key, frozen.secret_key) == (STATIC_KEY_ID, STATIC_SECRET)
