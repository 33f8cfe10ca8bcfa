"""Keys passed in code (``credpick.session(aws_access_key_id=...)``): a candidate
the policy judges like any other, whose secret and token stay out of every
candidate, report, log record and error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest

import credpick
from credpick import Candidate, Policy, SourceKind, Status
from credpick._model import Provenance, Root, RootKind

from .helpers import (
    MARKERS,
    ROLE_ARN,
    SESSION_TOKEN,
    STATIC_ENV,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_KEY_ID,
    TEMP_SECRET,
    assert_no_secret,
    write,
)
from .security._leaks import ALL_MARKERS, assert_clean_error

LONG = {"aws_access_key_id": STATIC_KEY_ID, "aws_secret_access_key": STATIC_SECRET}
TEMP = {
    "aws_access_key_id": TEMP_KEY_ID,
    "aws_secret_access_key": TEMP_SECRET,
    "aws_session_token": SESSION_TOKEN,
}
ORIGIN = "keys passed in code"
FIX = "pass no keys in code; use a role (instance profile, task role, IRSA, SSO) and delete the key"


def explicit_static(**fields: Any) -> Candidate:
    values: dict[str, Any] = {
        "kind": SourceKind.STATIC,
        "status": Status.CHOSEN,
        "origin": ORIGIN,
        "evidence": ("aws_access_key_id=AKIA...MPLE", "aws_secret_access_key= given"),
        "reason": f"long-lived {ORIGIN}",
        "fix": FIX,
        "long_lived": True,
        "explicit": True,
        "key_id": "AKIA...MPLE",
        "provenance": Provenance(
            Root(kind=RootKind.EXPLICIT_KEYS, origin=ORIGIN, long_lived=True, key_id="AKIA...MPLE")
        ),
    }
    values.update(fields)
    return Candidate(**values)


def web_identity(home: Path) -> dict[str, str]:
    token = write(home / "token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    return {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN}


def test_long_lived_keys_passed_in_code_are_picked_when_alone(make_context: Any) -> None:
    d = credpick.detect(context=make_context(), **LONG)
    assert d.candidates == (explicit_static(),)
    creds = credpick.session(context=make_context(), **LONG).get_credentials()
    plain = boto3.Session(**LONG).get_credentials()  # what boto3 makes of the same keys
    assert plain is not None
    assert (creds.method, creds.access_key, creds.secret_key, creds.token) == (
        plain.method,
        plain.access_key,
        plain.secret_key,
        plain.token,
    )
    assert (creds.method, creds.access_key) == ("explicit", STATIC_KEY_ID)


def test_keys_passed_in_code_beat_the_environments(make_context: Any) -> None:
    other = {**STATIC_ENV, "AWS_ACCESS_KEY_ID": "AKIAI44QH8DHBEXAMPLE"}
    creds = credpick.session(context=make_context(other), **LONG).get_credentials()
    assert creds.method == "explicit" and creds.access_key == STATIC_KEY_ID


def test_long_lived_keys_in_code_are_refused_beside_a_role(make_context: Any, home: Path) -> None:
    ctx = make_context(web_identity(home))
    with pytest.raises(credpick.StaticKeysRefused) as caught:
        credpick.session(context=ctx, **LONG)
    error = caught.value
    assert "web-identity" in str(error) and ORIGIN in str(error)
    assert_clean_error(error, ALL_MARKERS + MARKERS)
    d = credpick.detect(context=ctx, **LONG)  # detect tells the same verdict
    assert isinstance(d.error, credpick.StaticKeysRefused)
    assert d.chosen == explicit_static(
        status=Status.REFUSED, reason="web-identity (environment) is available"
    )
    assert error.fix == "drop the key and use web-identity (environment)"


@pytest.mark.parametrize("env", [{}, {"with-role": "1"}])
def test_long_lived_keys_in_code_are_refused_under_forbid(
    make_context: Any, home: Path, env: dict[str, str]
) -> None:
    ctx = make_context(web_identity(home) if env else {})
    with pytest.raises(credpick.StaticKeysRefused) as caught:
        credpick.session(context=ctx, policy=Policy(static_keys="forbid"), **LONG)
    assert "forbids long-lived keys" in str(caught.value)
    assert_clean_error(caught.value, ALL_MARKERS + MARKERS)


def test_temporary_keys_in_code_are_env_session_and_picked_beside_a_role(
    make_context: Any, home: Path
) -> None:
    ctx = make_context(web_identity(home))
    d = credpick.detect(context=ctx, **TEMP)
    assert d.error is None and d.chosen is not None
    assert d.chosen.reason == "temporary keys passed in code" and d.chosen.fix is None
    assert (d.chosen.kind, d.chosen.explicit, d.chosen.long_lived) == (
        SourceKind.ENV_SESSION,
        True,
        False,
    )
    assert d.chosen.evidence == (
        "aws_access_key_id=ASIA...MPLE",
        "aws_secret_access_key= given",
        "aws_session_token= given",
    )
    creds = credpick.session(context=ctx, **TEMP).get_credentials()
    assert (creds.method, creds.access_key, creds.secret_key, creds.token) == (
        "explicit",
        TEMP_KEY_ID,
        TEMP_SECRET,
        SESSION_TOKEN,
    )


def test_an_akia_id_with_a_token_in_code_is_still_long_lived(make_context: Any) -> None:
    d = credpick.detect(context=make_context(), aws_session_token=SESSION_TOKEN, **LONG)
    assert d.chosen is not None and d.chosen.kind is SourceKind.STATIC and d.chosen.long_lived


def _only(*names: str) -> dict[str, str]:
    # Built in this helper's frame: the test's own frame (in the traceback) holds no key.
    return {name: {**LONG, **TEMP, **LONG}[name] for name in names}


@pytest.mark.parametrize(
    ("names", "missing"),
    [
        (("aws_access_key_id",), "aws_secret_access_key="),
        (("aws_secret_access_key",), "aws_access_key_id="),
        (("aws_session_token",), "aws_access_key_id and aws_secret_access_key="),
    ],
)
def test_half_a_pair_is_a_configuration_error_naming_the_argument(
    make_context: Any, names: tuple[str, ...], missing: str
) -> None:
    with pytest.raises(credpick.ConfigurationError) as caught:
        credpick.session(context=make_context(), **_only(*names))
    assert str(caught.value).startswith(f"{missing} is missing")
    assert_clean_error(caught.value, ALL_MARKERS + MARKERS)
    d = credpick.detect(context=make_context(), **_only(*names))
    assert isinstance(d.error, credpick.ConfigurationError)


def test_empty_keys_count_as_none_as_in_boto3(make_context: Any) -> None:
    d = credpick.detect(
        context=make_context(STATIC_ENV), aws_access_key_id="", aws_secret_access_key=""
    )
    assert d.chosen is not None and d.chosen.origin == "environment"


def test_no_marker_secret_anywhere(make_context: Any, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("", "botocore", "credpick", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name or None)
    ctx = make_context()
    session = credpick.session(context=ctx, **TEMP)
    d = credpick.detect(context=ctx, **TEMP)
    shown = [repr(d), d.explain(), json.dumps(d.to_dict()), repr(d.candidates)]
    shown += [repr(session), repr(session._session)]
    shown += [record.getMessage() for record in caplog.records]
    shown += [repr(record.args) for record in caplog.records]
    assert_no_secret(*shown)
    assert all(marker not in text for text in shown for marker in ALL_MARKERS)
    # Not even in the fields a repr leaves out (params): the candidate holds no secret.
    assert d.chosen is not None
    assert_no_secret(repr(attrs.asdict(d.chosen)), repr(attrs.asdict(d.chosen.provenance.root)))
