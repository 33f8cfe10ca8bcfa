"""Property: any wrong type or value given to a public function or value class gives
a CredpickError (a ConfigurationError, for a bad argument), never a bare Python error.

Every call runs against an isolated context (the suite's autouse isolation, and
``make_context`` where a function takes one): nothing reads the machine's AWS set-up
and the metadata service is off.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import credpick
import credpick.migrate
from credpick import (
    AssumeRole,
    Context,
    CredpickError,
    Policy,
    SourceKind,
    Status,
    Timeouts,
)
from credpick.migrate import AuditReport, Flag, IdKind, ScanReport
from credpick.testing import Simulation

from .helpers import ROLE_ARN, SESSION_TOKEN, TEMP_KEY_ID, TEMP_SECRET

# Wrong for nearly every argument; the few draws that happen to be right must
# still end in a result or a CredpickError.
WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.text(max_size=3)),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=3)), max_size=2),
    st.sampled_from([object(), Path("no-such-path"), dt.datetime(2026, 1, 1), b"", 0j]),
)


class _StopAtIam:
    """A session-like object: audit() got past its checks; the test ends there."""

    region_name = "us-east-1"

    def client(self, *args: Any, **kwargs: Any) -> Any:
        raise CredpickError("the arguments were accepted; no IAM in this test")


Call = Callable[[Any], object]


def _empty_audit() -> AuditReport:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return AuditReport(
        keys=(),
        users=0,
        generated_at=None,
        now=now,
        rotation_days=90,
        multicloud_rotation_days=30,
        multicloud_tag="credpick:multi-cloud",
        unused_days=14,
        detail="flagged",
    )


def _calls(ctx: Context, home: Path, sim: Simulation) -> dict[str, Call]:
    """Each public entry point, with one argument to be replaced by the drawn value."""
    temporary = boto3.Session(
        aws_access_key_id=TEMP_KEY_ID,
        aws_secret_access_key=TEMP_SECRET,
        aws_session_token=SESSION_TOKEN,
        region_name="us-east-1",
    )
    report = _empty_audit()
    calls: dict[str, Call] = {
        "Policy(static_keys)": lambda v: Policy(static_keys=v),
        "Policy(allow_imdsv1)": lambda v: Policy(allow_imdsv1=v),
        "Policy(hook)": lambda v: Policy(hook=v),
        "Context(env)": lambda v: Context(env=v, home=home),
        "Context(home)": lambda v: Context(env={}, home=v),
        "Context(root)": lambda v: Context(env={}, home=home, root=v),
        "Context(clock)": lambda v: Context(env={}, home=home, clock=v),
        "Context(clock result)": lambda v: Context(env={}, home=home, clock=lambda: v).now(),
        "Context(timeouts)": lambda v: Context(env={}, home=home, timeouts=v),
        "Context(profile_name)": lambda v: Context(env={}, home=home, profile_name=v),
        "Context(role_arn)": lambda v: Context(env={}, home=home, role_arn=v),
        "AssumeRole(role_arn)": lambda v: AssumeRole(v),
        "SourceKind": lambda v: SourceKind(v),
        "Status": lambda v: Status(v),
        "Flag": lambda v: Flag(v),
        "IdKind": lambda v: IdKind(v),
        "detect(context)": lambda v: credpick.detect(context=v),
        "session(context)": lambda v: credpick.session(context=v),
        "wrap(session)": lambda v: credpick.wrap(v),
        "wrap(policy)": lambda v: credpick.wrap(temporary, policy=v),
        "wrap(replace)": lambda v: credpick.wrap(temporary, replace=v),
        "wrap(assume_role)": lambda v: credpick.wrap(temporary, assume_role=v),
        "guard(session)": lambda v: credpick.guard(v),
        "guard(policy)": lambda v: credpick.guard(boto3.Session(), policy=v),
        "audit(session)": lambda v: credpick.migrate.audit(v),
        "scan(paths)": lambda v: credpick.migrate.scan(v),
        "render_audit(report)": lambda v: credpick.migrate.render_audit(v),
        "render_audit(show_all)": lambda v: credpick.migrate.render_audit(report, show_all=v),
        "render_scan(report)": lambda v: credpick.migrate.render_scan(v),
        "Simulation.use(kind)": lambda v: sim.use(v),
    }
    for name in ("imds_connect", "imds_read", "http", "connect", "attempts", "process"):
        calls[f"Timeouts({name})"] = lambda v, name=name: Timeouts(**{name: v})
    for name in ("external_id", "session_name", "duration_seconds", "source_identity", "tags"):
        calls[f"AssumeRole({name})"] = lambda v, name=name: AssumeRole(ROLE_ARN, **{name: v})
    for name in (
        "policy",
        "profile_name",
        "role_arn",
        "region_name",
        "timeouts",
        "assume_role",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ):
        calls[f"detect({name})"] = lambda v, name=name: credpick.detect(context=ctx, **{name: v})
        calls[f"session({name})"] = lambda v, name=name: credpick.session(context=ctx, **{name: v})
    for name in (
        "rotation_days",
        "multicloud_rotation_days",
        "multicloud_tag",
        "unused_days",
        "now",
        "detail",
        "max_workers",
    ):
        calls[f"audit({name})"] = lambda v, name=name: credpick.migrate.audit(
            _StopAtIam(), **{name: v}
        )
    for name in ("include_env", "environ", "ignore", "max_bytes"):
        calls[f"scan({name})"] = lambda v, name=name: credpick.migrate.scan(
            [str(home)], **{name: v}
        )
    return calls


# The values credpick hands out (Candidate, Detection, a candidate's provenance,
# the reports and findings) are built by credpick, not by callers, and are not
# in this table.
NOT_INPUTS = {
    "Candidate", "Detection", "KeyFinding", "ScanFinding", "ScanReport", "AuditReport",
    "Provenance", "Root", "Link", "RootKind", "LinkKind",
}  # fmt: skip


def test_every_public_callable_is_in_the_table(
    make_context: Any, home: Path, credpick_runtime: Simulation
) -> None:
    names = {n.split("(")[0].split(".")[0] for n in _calls(make_context(), home, credpick_runtime)}
    public = set(credpick.__all__) | set(credpick.migrate.__all__)
    errors = {n for n in public if n.endswith(("Error", "Found", "Failed", "Violation", "Refused"))}
    assert public - errors - NOT_INPUTS - {"__version__"} <= names | {"Simulation"}
    assert {"Simulation", "Timeouts", "AssumeRole", "session", "detect", "scan", "audit"} <= names


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=st.data(), value=WRONG)
def test_wrong_arguments_give_only_credpick_errors(
    target: st.DataObject,
    value: Any,
    make_context: Any,
    home: Path,
    credpick_runtime: Simulation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(home)  # scan(".") reads an empty home, not the checkout
    calls = _calls(make_context(), home, credpick_runtime)
    name = target.draw(st.sampled_from(sorted(calls)), label="call")
    if name == "Simulation.use(kind)":  # a real kind would start its emulator
        assume(not (isinstance(value, str) and value.strip().lower() in set(SourceKind)))
    with contextlib.suppress(CredpickError):  # the one kind a caller has to expect
        calls[name](value)


def test_a_report_is_not_a_bad_argument() -> None:
    # The table's fixed arguments are valid: the property tests the drawn one only.
    assert credpick.migrate.render_audit(_empty_audit())
    assert credpick.migrate.render_scan(ScanReport((), 0, ()))
