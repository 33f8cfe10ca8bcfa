"""credpick.audit end to end, against moto's IAM on 127.0.0.1.

moto's API cannot backdate a key, but its server runs in this process, so the
tests reach its backend (``iam_backends[account]["aws"]``) and set each key's
``create_date`` and ``last_used`` directly.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends

from credpick import ConfigurationError, CredpickError
from credpick.migrate._audit import PERMISSIONS, audit
from credpick.migrate._audit_report import DEFAULT_FAIL_ON, Flag, parse_fail_on, render_audit
from credpick.testing import Simulation

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "migration.md"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
FAKE = {"aws_access_key_id": "AKIAFAKE0AUDIT0TESTS", "aws_secret_access_key": "FAKE-SECRET-audit"}
ROOT_ROW = (
    "<root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00,not_supported,"
    "{used},not_supported,not_supported,true,true,{rotated},{used},us-east-1,iam,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
)


def masked(raw: str) -> str:
    return f"{raw[:4]}...{raw[-4:]}"


def days_ago(days: float) -> dt.datetime:
    return (NOW - dt.timedelta(days=days)).replace(tzinfo=None)  # moto keeps naive UTC


class Account:
    """Seeds moto's IAM: users through the API, key ages and use in the backend."""

    def __init__(self, url: str) -> None:
        self.iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", **FAKE)
        self.backend: IAMBackend = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]

    def user(self, name: str, **tags: str) -> str:
        self.iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        return name

    def key(self, user: str, *, age: float, used: float | None = None, active: bool = True) -> str:
        raw = str(self.iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"])
        key = self.backend.users[user].get_access_key_by_id(raw)
        key.create_date = days_ago(age)
        if used is not None:
            key.last_used = AccessKeyLastUsed(days_ago(used), "s3", "eu-west-1")
        if not active:
            self.iam.update_access_key(UserName=user, AccessKeyId=raw, Status="Inactive")
        return raw

    def patch_report(self, monkeypatch: pytest.MonkeyPatch, edit: Callable[[str], str]) -> None:
        """Rewrite the credential report moto serves (a root row, a stale report)."""
        original = IAMBackend.get_credential_report
        monkeypatch.setattr(IAMBackend, "get_credential_report", lambda b: edit(original(b)))


@pytest.fixture
def account(_sts_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    _sts_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", _sts_server.url)
    yield Account(_sts_server.url)


@pytest.fixture
def session() -> Any:
    return boto3.Session(region_name="us-east-1", **FAKE)


def by_user(report: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for key in report.keys:
        out.setdefault(key.user, []).append(key)
    return out


def test_every_seeded_condition_is_reported(
    account: Account, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = account
    alice = a.key(a.user("alice", **{"credpick:multi-cloud": "true"}), age=40, used=1)
    a.key(a.user("bob"), age=40, used=1)  # 40 days is fine without the tag
    carol = a.key(a.user("carol"), age=100, used=2)
    dave = a.key(a.user("dave"), age=20)  # never used, for 20 days
    a.key(a.user("erin"), age=3)  # never used, but new
    frank = a.key(a.user("frank"), age=60, used=20)
    grace = [a.key(a.user("grace"), age=10, used=1), a.key("grace", age=5, used=1)]
    a.key(a.user("heidi"), age=200, active=False)  # inactive: listed, never flagged
    a.key(a.user("ivan", **{"credpick:multi-cloud": "false"}), age=40, used=1)
    root = ROOT_ROW.format(rotated=days_ago(400).isoformat() + "+00:00", used="N/A")
    a.patch_report(monkeypatch, lambda csv: csv.replace("\n", f"\n{root}\n", 1))

    report = audit(session, now=NOW)
    users = by_user(report)

    def flags(user: str) -> list[tuple[str, ...]]:
        return [tuple(f.value for f in k.flags) for k in users[user]]

    assert flags("<root_account>") == [("root-key", "rotation-overdue", "unused", "never-used")]
    assert flags("alice") == [("rotation-overdue",)]
    assert flags("carol") == [("rotation-overdue",)]
    assert flags("dave") == [("unused", "never-used")]
    assert flags("erin") == [("never-used",)]
    assert flags("frank") == [("unused",)]
    assert flags("grace") == [("two-active-keys",), ("two-active-keys",)]
    assert flags("bob") == flags("heidi") == flags("ivan") == [()]

    (ak,) = users["alice"]
    assert (ak.key_id, ak.multi_cloud, ak.rotation_limit_days) == (masked(alice), True, 30)
    assert (ak.age_days, ak.idle_days, ak.last_used_service, ak.last_used_region) == (
        40, 1, "s3", "eu-west-1",
    )  # fmt: skip
    assert ak.created == NOW - dt.timedelta(days=40)
    assert [k.multi_cloud for k in users["bob"] + users["ivan"]] == [False, False]
    assert users["carol"][0].key_id == masked(carol)
    assert users["dave"][0].key_id == masked(dave) and users["dave"][0].last_used is None
    assert users["frank"][0].key_id == masked(frank)
    assert sorted(k.key_id for k in users["grace"]) == sorted(masked(g) for g in grace)
    assert users["heidi"][0].status == "Inactive" and not users["heidi"][0].active
    root_key = users["<root_account>"][0]
    assert (root_key.key_id, root_key.label, root_key.rotation_limit_days) == (None, "key 1", 90)
    # Keys without a flag keep the report's data only: no per-key call for them.
    assert users["bob"][0].key_id is None and users["heidi"][0].key_id is None
    assert report.users == 9 and len(report.keys) == 11
    assert [bool(k.flags) for k in report.keys] == sorted(
        (bool(k.flags) for k in report.keys), reverse=True
    )  # flagged first
    assert report.exit_code() == 1
    assert report.exit_code(fail_on=[Flag.TWO_ACTIVE_KEYS]) == 1
    assert {k.user for k in report.failing()} == {
        "<root_account>",
        "alice",
        "carol",
        "dave",
        "frank",
    }


def test_report_alone_settles_healthy_users_and_exit_code_passes(
    account: Account, session: Any
) -> None:
    for n in range(5):
        account.key(account.user(f"svc{n}"), age=20, used=1)
    report = audit(session, now=NOW)
    assert report.exit_code() == 0 and not report.flagged
    # The credential report was enough: not one per-user call.
    assert set(report.api_calls) == {"GenerateCredentialReport", "GetCredentialReport"}
    account.key(account.user("late-rotation"), age=91, used=1)
    assert audit(session, now=NOW).exit_code() == 1


def test_limits_are_configurable(account: Account, session: Any) -> None:
    a = account
    a.key(a.user("bob"), age=40, used=1)
    a.key(a.user("mc", team="x", cloud="multi"), age=12, used=1)
    assert not audit(session, now=NOW).flagged
    report = audit(session, now=NOW, rotation_days=30, unused_days=1)
    assert [(k.user, k.flags) for k in report.flagged] == [
        ("bob", (Flag.ROTATION_OVERDUE, Flag.UNUSED)),
        ("mc", (Flag.UNUSED,)),
    ]
    report = audit(session, now=NOW, multicloud_tag="cloud", multicloud_rotation_days=10)
    assert [(k.user, k.rotation_limit_days, k.flags) for k in report.flagged] == [
        ("mc", 10, (Flag.ROTATION_OVERDUE,))
    ]


def test_detail_all_looks_every_key_up_and_sees_past_a_stale_report(
    account: Account, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = account
    ok = a.key(a.user("ok"), age=10, used=1)
    late = a.key(a.user("late"), age=1, used=0.5)  # created after the report
    ghost = ROOT_ROW.replace("<root_account>", "ghost").format(
        rotated=days_ago(300).isoformat() + "+00:00", used="N/A"
    )  # deleted since the report
    a.patch_report(
        monkeypatch,
        lambda csv: (
            "\n".join(ln for ln in csv.splitlines() if not ln.startswith("late,")) + f"\n{ghost}\n"
        ),
    )
    flagged_only = audit(session, now=NOW)
    assert [k.user for k in flagged_only.keys] == ["ok"]  # ghost dropped, late not seen yet
    everything = audit(session, now=NOW, detail="all", max_workers=2)
    keys = by_user(everything)
    assert sorted(keys) == ["late", "ok"] and everything.users == 2
    assert keys["ok"][0].key_id == masked(ok) and keys["ok"][0].multi_cloud is False
    assert keys["late"][0].key_id == masked(late) and keys["late"][0].slot is None
    assert keys["late"][0].last_used_service == "s3"  # asked GetAccessKeyLastUsed
    assert everything.api_calls["ListUsers"] == 1


def test_output_is_masked_and_json_safe(account: Account, session: Any) -> None:
    raws = [account.key(account.user(f"u{n}"), age=100 + n, used=30) for n in range(3)]
    report = audit(session, now=NOW)
    text = render_audit(report, show_all=True)
    dumped = json.dumps(report.to_dict())
    for raw in raws:
        assert masked(raw) in text and masked(raw) in dumped
        assert raw not in text and raw not in dumped and raw not in repr(report)
    assert "3 access keys of 3 users" in text and "what to do:" in text
    data = report.to_dict()
    assert data["flag_counts"]["rotation-overdue"] == 3
    assert data["fail_on_default"] == ["root-key", "rotation-overdue", "unused"]
    assert data["keys"][0]["flags"] == ["rotation-overdue", "unused"]


def test_5000_users_audit_in_seconds(account: Account, session: Any) -> None:
    backend = account.backend
    for n in range(5000):
        key = backend.create_access_key(backend.create_user("us-east-1", f"user{n:05d}").name)
        overdue = n % 100 == 0  # 50 users hold a key past the limit
        key.create_date = days_ago(120 if overdue else 20)
        key.last_used = AccessKeyLastUsed(days_ago(1), "sts", "us-east-1")
    start = time.perf_counter()
    report = audit(session, now=NOW)
    elapsed = time.perf_counter() - start
    print(f"\naudit of 5,000 users: {elapsed:.2f} s, calls: {dict(report.api_calls)}")
    assert len(report.keys) == 5000 and report.users == 5000
    assert len(report.flagged) == 50 and all(k.key_id for k in report.flagged)
    assert report.api_calls["ListAccessKeys"] == 50  # only the users with a flagged key
    assert elapsed < 60, "a hang guard, not a benchmark"


def _stubbed(responses: Callable[[Stubber], None]) -> Any:
    client = boto3.client("iam", region_name="us-east-1", **FAKE)
    stubber = Stubber(client)
    responses(stubber)
    stubber.activate()

    class _Session:
        region_name = "us-east-1"

        def client(self, *args: Any, **kwargs: Any) -> Any:
            return client

    return _Session()


def test_a_missing_permission_is_named_with_its_fix() -> None:
    session = _stubbed(
        lambda s: s.add_client_error(
            "generate_credential_report", "AccessDenied", "User: x is not authorized", 403
        )
    )
    with pytest.raises(CredpickError) as caught:
        audit(session)
    err = caught.value
    assert type(err) is CredpickError and err.kind is None
    assert "iam:GenerateCredentialReport" in err.reason
    assert err.fix is not None and "IAMReadOnlyAccess" in err.fix
    assert all(p in err.fix for p in PERMISSIONS)
    assert "not authorized" not in str(err)  # built from the code, not the body
    # Raised outside the except: IAM's reply is reachable through no chain.
    assert err.__cause__ is None and err.__context__ is None


def test_a_session_without_credentials_is_a_credpick_error(account: Account) -> None:
    with pytest.raises(CredpickError, match="no credentials to call IAM") as caught:
        audit(boto3.Session(region_name="us-east-1"))
    assert caught.value.fix is not None and "credpick.session()" in caught.value.fix


def test_a_report_in_progress_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    header = "user,arn,access_key_1_active,access_key_1_last_rotated\n"
    row = f"svc,arn:aws:iam::1:user/svc,true,{(NOW - dt.timedelta(days=5)).isoformat()}\n"

    def responses(s: Stubber) -> None:
        s.add_response("generate_credential_report", {"State": "STARTED"})
        s.add_response("generate_credential_report", {"State": "COMPLETE"})
        s.add_client_error("get_credential_report", "ReportInProgress", http_status_code=404)
        s.add_response("generate_credential_report", {"State": "COMPLETE"})
        s.add_response(
            "get_credential_report",
            {"Content": (header + row).encode(), "ReportFormat": "text/csv", "GeneratedTime": NOW},
        )
        listed = {"UserName": "svc", "AccessKeyId": "AKIAFAKE0STUBBED0KEY", "Status": "Active"}
        listed["CreateDate"] = NOW - dt.timedelta(days=5)
        s.add_response("list_access_keys", {"AccessKeyMetadata": [listed]})

    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    report = audit(_stubbed(responses), now=NOW)
    assert sleeps == [0.1, 0.2]
    assert report.generated_at == NOW
    assert [(k.user, k.key_id, k.age_days, k.flags) for k in report.keys] == [
        ("svc", "AKIA...0KEY", 5, (Flag.NEVER_USED,))
    ]


def test_without_a_session_audit_uses_credpicks_pick(
    _sts_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sts_server.reset()
    with Simulation(monkeypatch=monkeypatch) as sim:
        sim.use("static")
        monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", _sts_server.url)
        report = audit()
    assert report.keys == () and report.exit_code() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rotation_days": 0},
        {"unused_days": -1},
        {"max_workers": 0},
        {"detail": "some"},
        {"now": dt.datetime(2026, 1, 1)},  # naive
    ],
)
def test_bad_arguments_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        audit(_stubbed(lambda s: None), **kwargs)


def test_fail_on_accepts_flags_strings_and_all() -> None:
    assert parse_fail_on(None) == DEFAULT_FAIL_ON
    assert parse_fail_on("root-key, unused") == {Flag.ROOT_KEY, Flag.UNUSED}
    assert parse_fail_on([Flag.NEVER_USED, "two-active-keys"]) == {
        Flag.NEVER_USED,
        Flag.TWO_ACTIVE_KEYS,
    }
    assert parse_fail_on("all") == set(Flag)
    with pytest.raises(ConfigurationError, match="not an audit flag"):
        parse_fail_on(["old"])
