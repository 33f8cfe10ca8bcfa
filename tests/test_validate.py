"""Bad arguments and malformed endpoint variables: one ConfigurationError line each.

Every case asserts the type (a ConfigurationError, which is also a ValueError), that
the message names the argument or variable, and, where one is close, the suggestion.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import boto3
import pytest

import credpick
from credpick import (
    AssumeRole,
    ConfigurationError,
    Context,
    Policy,
    SourceKind,
    Status,
    Timeouts,
    _validate,
)
from credpick._cli import main
from credpick.migrate import Flag, IdKind, audit, render_audit, render_scan, scan
from credpick.testing import Simulation

from .helpers import ROLE_ARN, STATIC_ENV, STATIC_SECRET, assert_no_secret, write

BAD_ENDPOINTS = [":99999", "http://[::1/", "http://127.0.0.1:abc/", "http://127.0.0.1:99999/"]


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0]


def raised(call: Any, *args: Any, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, ValueError)  # catchable as before
    assert info.value.fix  # always a fix
    return info.value


# -- the value classes --------------------------------------------------------------


def test_policy_static_keys_suggests_the_close_value() -> None:
    exc = raised(Policy, static_keys="refuse")  # type: ignore[arg-type]
    assert first_line(exc) == (
        "Policy(static_keys='refuse') is not one of 'refuse-when-role', 'forbid', 'allow': "
        "did you mean 'refuse-when-role'?"
    )
    assert exc.fix == "pass static_keys='refuse-when-role'"
    assert "did you mean 'forbid'?" in str(raised(Policy, static_keys="Forbid"))  # type: ignore[arg-type]
    assert "did you mean" not in str(raised(Policy, static_keys="sometimes"))  # type: ignore[arg-type]


def test_policy_allow_imdsv1_is_a_bool_not_a_word() -> None:
    exc = raised(Policy, allow_imdsv1="no")  # type: ignore[arg-type]
    assert first_line(exc) == (
        "Policy(allow_imdsv1='no') is not True or False: did you mean allow_imdsv1=False?"
    )
    assert "allow_imdsv1=True" in str(raised(Policy, allow_imdsv1="yes"))  # type: ignore[arg-type]
    assert "allow_imdsv1" in str(raised(Policy, allow_imdsv1=1))  # type: ignore[arg-type]


def test_policy_hook_must_be_callable_at_construction() -> None:
    exc = raised(Policy, hook="x")  # type: ignore[arg-type]
    assert first_line(exc) == "Policy(hook='x') is not a callable or None"
    assert Policy(hook=lambda d: None).hook is not None


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        (-1, None),
        (0, None),
        (math.nan, None),
        (math.inf, None),
        ("1", "imds_connect=1"),
        (True, None),
    ],
)
def test_timeouts_are_positive_finite_numbers(value: object, suggestion: str | None) -> None:
    exc = raised(Timeouts, imds_connect=value)  # type: ignore[arg-type]
    assert first_line(exc).startswith(f"Timeouts(imds_connect={value!r}) is not a positive")
    assert (
        (f"did you mean {suggestion}?" in str(exc))
        if suggestion
        else "did you mean" not in str(exc)
    )


@pytest.mark.parametrize("value", [0, 11, 1.5, True, "2"])
def test_timeouts_attempts_is_a_whole_number(value: object) -> None:
    exc = raised(Timeouts, attempts=value)  # type: ignore[arg-type]
    assert first_line(exc).startswith(
        f"Timeouts(attempts={value!r}) is not a whole number from 1 to 10"
    )


def test_context_env_must_be_a_mapping_of_str(home: Path) -> None:
    assert "Context(env=None) is not a mapping of str to str" in str(
        raised(Context, env=None, home=home)
    )  # type: ignore[arg-type]
    exc = raised(Context, env={"AWS_SECRET_ACCESS_KEY": 5}, home=home)  # type: ignore[dict-item]
    assert "the value of 'AWS_SECRET_ACCESS_KEY' is an int, not a str" in str(exc)
    exc = raised(Context, env={"AWS_SECRET_ACCESS_KEY": STATIC_SECRET.encode()}, home=home)  # type: ignore[dict-item]
    assert_no_secret(str(exc), exc.evidence)
    assert "key 1 is not a str" in str(raised(Context, env={1: "x"}, home=home))  # type: ignore[dict-item]


def test_context_paths_clock_and_names_are_checked(home: Path) -> None:
    assert "Context(home=None) is not a path" in str(raised(Context, env={}, home=None))  # type: ignore[arg-type]
    assert "Context(root=5) is not a path" in str(raised(Context, env={}, home=home, root=5))  # type: ignore[arg-type]
    assert "Context(clock='now') is not a callable" in str(
        raised(Context, env={}, home=home, clock="now")
    )  # type: ignore[arg-type]
    assert "Context(timeouts=5) is not a credpick.Timeouts" in str(
        raised(Context, env={}, home=home, timeouts=5)
    )  # type: ignore[arg-type]
    assert "Context(profile_name=5)" in str(raised(Context, env={}, home=home, profile_name=5))  # type: ignore[arg-type]


def test_a_clock_that_returns_a_string_is_named_where_it_is_read(
    make_context: Any, home: Path
) -> None:
    ctx = make_context(clock=lambda: "12:00")
    exc = raised(ctx.now)
    assert first_line(exc) == "Context(clock=...) returned '12:00', not a timezone-aware datetime"
    naive = raised(make_context(clock=dt.datetime.now).now)
    assert "returned a datetime, not a timezone-aware datetime" in first_line(naive)
    # Where detection reads the clock (a cached SSO token), it is the detection's error.
    write(
        home / ".aws" / "config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = r\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n",
    )
    cache = home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json"
    write(cache, json.dumps({"accessToken": "t", "expiresAt": "2099-01-01T00:00:00Z"}))
    detection = credpick.detect(context=make_context({"AWS_PROFILE": "dev"}, clock=lambda: "x"))
    assert isinstance(detection.error, ConfigurationError)
    assert "Context(clock=...) returned 'x'" in str(detection.error)


def test_assume_role_values_are_checked() -> None:
    assert "AssumeRole(role_arn=5) is not a role ARN" in str(raised(AssumeRole, 5))  # type: ignore[arg-type]
    long = "arn:" + "x" * 500
    assert len(first_line(raised(AssumeRole, long))) < 200  # the value is shortened


def test_a_kind_given_as_a_string_gets_the_close_kind() -> None:
    exc = raised(SourceKind, "ec2")
    assert first_line(exc).startswith("SourceKind('ec2') is not one of 'lambda',")
    assert first_line(exc).endswith("did you mean 'ec2-instance-profile'?")
    assert "did you mean 'eks-pod-identity'?" in str(raised(SourceKind, "eks"))
    assert "did you mean 'static'?" in str(raised(SourceKind, "Static "))
    assert "did you mean 'chosen'?" in str(raised(Status, "choosen"))
    assert "did you mean 'never-used'?" in str(raised(Flag, "never_used"))
    assert "did you mean 'long-lived'?" in str(raised(IdKind, "long"))
    assert SourceKind("static") is SourceKind.STATIC  # the values still work


def test_simulation_use_names_the_close_kind() -> None:
    with Simulation() as sim:
        exc = raised(sim.use, "ec2")
    assert "did you mean 'ec2-instance-profile'?" in str(exc)


# -- session() and detect() ---------------------------------------------------------


@pytest.mark.parametrize("call", [credpick.session, credpick.detect])
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"policy": "forbid"},
            "(policy='forbid') is not a credpick.Policy or None: "
            "did you mean policy=credpick.Policy(static_keys='forbid')?",
        ),
        (
            {"policy": {"static_keys": "forbid"}},
            "(policy=a dict) is not a credpick.Policy or None: did you mean policy=credpick.Policy(...)?",
        ),
        (
            {"timeouts": 5},
            "(timeouts=5) is not a credpick.Timeouts or None: "
            "did you mean timeouts=credpick.Timeouts(...)?",
        ),
        ({"context": "x"}, "(context='x') is not a credpick.Context or None"),
        ({"region_name": 5}, "(region_name=5) is not a str or None"),
        ({"profile_name": 5}, "(profile_name=5) is not a str or None"),
        ({"role_arn": 5}, "(role_arn=5) is not a str or None"),
    ],
)
def test_wrong_argument_types_name_the_argument(
    call: Any, kwargs: dict[str, Any], expected: str
) -> None:
    exc = raised(call, **kwargs)
    assert first_line(exc) == call.__name__ + expected


@pytest.mark.parametrize("call", [credpick.session, credpick.detect])
def test_a_key_of_the_wrong_type_is_named_but_never_shown(call: Any) -> None:
    exc = raised(
        call, aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key=STATIC_SECRET.encode()
    )
    assert first_line(exc) == f"{call.__name__}(aws_secret_access_key=a bytes) is not a str or None"
    assert exc.__traceback__ is not None
    frame_locals = []
    tb = exc.__traceback__.tb_next  # past this test's own frame, which holds the key
    while tb is not None:
        frame_locals.extend(repr(v) for v in tb.tb_frame.f_locals.values())
        tb = tb.tb_next
    assert not any(STATIC_SECRET in text for text in frame_locals)


def test_wrap_and_guard_check_policy_and_replace() -> None:
    session = boto3.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x")
    exc = raised(credpick.wrap, session, policy="forbid")
    assert "wrap(policy='forbid')" in str(exc) and "Policy(static_keys='forbid')" in str(exc)
    assert "wrap(replace='yes') is not True or False" in str(
        raised(credpick.wrap, session, replace="yes")
    )
    assert "guard(policy='allow')" in str(raised(credpick.guard, session, policy="allow"))
    assert "boto3.Session" in str(raised(credpick.wrap, "x"))


# -- credpick.migrate ---------------------------------------------------------------


class _NoIam:
    """A session-like object; reaching IAM at all would be a bug in these tests."""

    region_name = "us-east-1"

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("audit() reached IAM with bad arguments")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("x",), {}, "audit(session='x') is not a boto3.Session or None"),
        (
            (_NoIam(),),
            {"rotation_days": "90"},
            "audit(rotation_days='90') is not a whole number of 1 or more: did you mean rotation_days=90?",
        ),
        (
            (_NoIam(),),
            {"rotation_days": -5},
            "audit(rotation_days=-5) is not a whole number of 1 or more",
        ),
        (
            (_NoIam(),),
            {"max_workers": True},
            "audit(max_workers=True) is not a whole number of 1 or more",
        ),
        (
            (_NoIam(),),
            {"detail": "flaged"},
            "audit(detail='flaged') is not one of 'flagged', 'all': did you mean 'flagged'?",
        ),
        (
            (_NoIam(),),
            {"now": "2026-01-01"},
            "audit(now='2026-01-01') is not a timezone-aware datetime or None",
        ),
        (
            (_NoIam(),),
            {"now": dt.datetime(2026, 1, 1)},
            "audit(now=a datetime) is not timezone-aware",
        ),
        ((_NoIam(),), {"multicloud_tag": None}, "audit(multicloud_tag=None) is not a str"),
    ],
)
def test_audit_names_the_bad_argument(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert first_line(raised(audit, *args, **kwargs)) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((None,), {}, "scan(paths=None) is not an iterable of paths"),
        (([None],), {}, "scan(paths=None) is not a path"),
        (
            (["."],),
            {"max_bytes": "1"},
            "scan(max_bytes='1') is not a whole number of 1 or more: did you mean max_bytes=1?",
        ),
        ((["."],), {"include_env": "yes"}, "scan(include_env='yes') is not True or False"),
        ((["."],), {"environ": {"A": 1}}, "scan(environ=a dict) is not a mapping of str to str"),
        (
            (["."],),
            {"ignore": "node_modules"},
            "scan(ignore='node_modules') is not an iterable of directory names",
        ),
    ],
)
def test_scan_names_the_bad_argument(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert first_line(raised(scan, *args, **kwargs)).startswith(expected)


def test_the_renderers_check_their_report() -> None:
    assert "render_audit(report='x') is not a credpick.migrate.AuditReport" in str(
        raised(render_audit, "x")
    )
    assert "render_scan(report=None) is not a credpick.migrate.ScanReport" in str(
        raised(render_scan, None)
    )


# -- endpoint variables ---------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_ENDPOINTS)
def test_a_malformed_metadata_endpoint_is_the_detections_error(
    value: str, make_context: Any, socket_guard: list[str]
) -> None:
    ctx = make_context(
        {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": value}
    )
    detection = credpick.detect(context=ctx)  # never raises
    assert isinstance(detection.error, ConfigurationError)
    assert first_line(detection.error).startswith(
        f"AWS_EC2_METADATA_SERVICE_ENDPOINT={value!r} is not a valid endpoint URL: it "
    )
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" in (detection.error.fix or "")
    exc = raised(credpick.session, context=ctx)
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" in first_line(exc)
    assert socket_guard == []  # nothing was dialled


def test_an_endpoint_with_user_info_is_named_without_it(make_context: Any) -> None:
    ctx = make_context(
        {
            "AWS_EC2_METADATA_DISABLED": None,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://user:{STATIC_SECRET}@127.0.0.1:1/?t=tok",
        }
    )
    error = credpick.detect(context=ctx).error
    assert isinstance(error, ConfigurationError)
    assert "user info" in str(error) and STATIC_SECRET not in str(error) and "tok" not in str(error)


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
@pytest.mark.parametrize("value", BAD_ENDPOINTS)
def test_a_malformed_sts_endpoint_fails_the_web_identity_session(
    variable: str, value: str, make_context: Any, tmp_path: Path
) -> None:
    token = write(tmp_path / "token", "eyJhbGciOi.fake.token")
    ctx = make_context(
        {"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN, variable: value}
    )
    assert credpick.detect(context=ctx).error is None  # detection calls no STS
    exc = raised(credpick.session, context=ctx, region_name="us-east-1")
    assert first_line(exc).startswith(f"{variable}={value!r} is not a valid endpoint URL")


def test_the_specific_endpoint_variable_wins_and_ignore_turns_both_off(make_context: Any) -> None:
    good = "http://127.0.0.1:4566/"
    ctx = make_context({"AWS_ENDPOINT_URL_STS": good, "AWS_ENDPOINT_URL": ":1"})
    assert ctx.endpoint_url("sts") == good
    assert "AWS_ENDPOINT_URL=':1'" in str(raised(ctx.endpoint_url, "iam"))
    ignored = make_context(
        {"AWS_ENDPOINT_URL": ":1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    )
    assert ignored.endpoint_url("sts") is None


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"])
def test_audit_names_a_malformed_iam_endpoint(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:abc/")
    exc = raised(audit, _NoIam())
    assert first_line(exc) == (
        f"{variable}='http://127.0.0.1:abc/' is not a valid endpoint URL: "
        "it cannot be parsed (a bad host or port)"
    )


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
def test_whoami_names_a_malformed_sts_endpoint_in_one_line(
    variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in STATIC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv(variable, "http://[::1/")
    code = main(["whoami"])
    err = capsys.readouterr().err
    assert code != 0
    # The command line shows every URL-shaped text through its display form.
    assert f"{variable}=" in err and "is not a valid endpoint URL: it cannot be parsed" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# -- token caches ---------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[1, 2]", "5", '"token"', "null"])
def test_a_token_cache_that_is_not_an_object_is_a_failed_candidate(
    body: str, make_context: Any, home: Path
) -> None:
    write(
        home / ".aws" / "config",
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = r\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n"
        "[profile web]\nlogin_session = arn:aws:iam::123456789012:user/dev\n",
    )
    write(home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(b'corp').hexdigest()}.json", body)
    login = hashlib.sha256(b"arn:aws:iam::123456789012:user/dev").hexdigest()
    write(home / ".aws" / "login" / "cache" / f"{login}.json", body)
    for profile, kind, fix in (
        ("dev", SourceKind.SSO, "aws sso login"),
        ("web", SourceKind.LOGIN, "aws login"),
    ):
        detection = credpick.detect(context=make_context({"AWS_PROFILE": profile}))
        (candidate,) = [c for c in detection.candidates if c.kind is kind]
        assert candidate.status is Status.FAILED
        assert "is not a JSON object" in candidate.reason
        assert candidate.fix is not None and fix in candidate.fix


# -- the shared checks ----------------------------------------------------------------


def test_close_match_prefers_a_prefix_then_spelling() -> None:
    kinds = [k.value for k in SourceKind]
    assert _validate.close_match("ec2", kinds) == "ec2-instance-profile"
    assert _validate.close_match("webidentity", kinds) == "web-identity"
    assert _validate.close_match("e", kinds) is None  # ambiguous and too far
    assert _validate.close_match(5, kinds) is None
    assert _validate.close_match("credential_process", kinds) == "credential-process"


def test_given_values_are_short_and_masked() -> None:
    assert _validate.given("x" * 100) == "'" + "x" * 36 + "..."
    assert "AKIAIOSFODNN7EXAMPLE" not in _validate.given("AKIAIOSFODNN7EXAMPLE")
    assert _validate.given(object()) == "an object"
    assert _validate.given(STATIC_SECRET, secret=True) == "a str"
