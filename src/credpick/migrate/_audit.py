"""``credpick.audit``: every IAM access key in the account, flagged. Read-only.

Fast on large accounts because the credential report answers most questions
for every user in one call (key active, created, last used: date, region,
service). Per-user calls go only where the report cannot answer: the user's
tag (does the 30-day limit apply?) when a key is old enough for it to matter,
and the exact key ids (ListAccessKeys) of users with a flagged key. Those run
on a bounded thread pool. ``detail="all"`` looks every user up instead.

This module is the one boundary where botocore's errors become
:class:`~credpick.CredpickError`, with the missing permission named.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

import attrs
import botocore.exceptions
from botocore.config import Config

from .. import _validate
from .._context import Context
from ..exceptions import CredpickError
from ._audit_report import ROOT_USER, AuditReport, KeyFinding, KeyState, Limits, judge

if TYPE_CHECKING:
    import boto3

#: Every IAM action audit may call; all are in IAMReadOnlyAccess and SecurityAudit.
PERMISSIONS = (
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:ListUsers",
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:ListUserTags",
)
_ACTIONS = {p.split(":")[1]: p for p in PERMISSIONS}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_REJECTED = {"InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken"}
_REPORT_NOT_READY = {"ReportInProgress", "ReportNotPresent", "ReportExpired"}
_REPORT_WAIT = 300.0  # IAM builds the report in the background; minutes at most.
_ABSENT = {"", "N/A", "not_supported", "no_information"}
_FALSE_TAG = {"false", "no", "0", "off"}
_UTC = dt.timezone.utc


def _op_name(op: str) -> str:
    return "".join(part.title() for part in op.split("_"))


class _Iam:
    """An IAM client that counts calls and translates errors, once, here."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def _count(self, op: str) -> None:
        with self._lock:
            self.calls[_op_name(op)] += 1

    def _guarded(self, op: str, tolerate: Iterable[str], fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            if isinstance(exc, botocore.exceptions.ClientError) and _code(exc) in tolerate:
                return None
            failure = _translate(op, exc)
        raise failure  # outside the except block: IAM's reply stays out of the chain

    def call(self, op: str, *, tolerate: Iterable[str] = (), **kwargs: Any) -> Any:
        """Call ``op``; ``None`` when the error code is in ``tolerate``."""
        self._count(op)
        return self._guarded(op, tolerate, lambda: getattr(self._client, op)(**kwargs))

    def pages(self, op: str, field: str, *, tolerate: Iterable[str] = (), **kwargs: Any) -> Any:
        """Every item of ``field`` over all pages; ``None`` as for :meth:`call`."""

        def collect() -> list[Any]:
            items: list[Any] = []
            for page in self._client.get_paginator(op).paginate(**kwargs):
                self._count(op)
                items.extend(page.get(field, ()))
            return items

        return self._guarded(op, tolerate, collect)


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(op: str, exc: Exception) -> CredpickError:
    # Messages are built from the error code and class, never the response body.
    action = _ACTIONS.get(_op_name(op), f"iam:{_op_name(op)}")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return CredpickError(
            "no credentials to call IAM with",
            fix="run where credpick.session() finds credentials, or pass session=",
        )
    if not isinstance(exc, botocore.exceptions.ClientError):
        return CredpickError(
            f"calling {action} failed: {type(exc).__name__}",
            fix="check the network path to the IAM endpoint (AWS_ENDPOINT_URL_IAM if set)",
        )
    code = _code(exc)
    if code in _DENIED:
        return CredpickError(
            f"IAM denied {action} to this identity",
            evidence=(f"error code {code}",),
            fix=f"grant {action}; the AWS managed policies IAMReadOnlyAccess and SecurityAudit "
            f"hold every permission audit needs ({', '.join(PERMISSIONS)})",
        )
    if code in _REJECTED:
        return CredpickError(
            f"IAM rejected the credentials ({code})",
            fix="check which credentials are used with `credpick explain`",
        )
    return CredpickError(
        f"{action} failed with error code {code or 'unknown'}",
        fix="retry; if it persists, lower max_workers (IAM throttles bursts)",
    )


# --- the credential report --------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value in _ABSENT else value


def _date(value: str | None) -> dt.datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _aware(parsed)


def parse_credential_report(content: bytes | str) -> dict[str, tuple[KeyState, ...]]:
    """Keys per user from the credential report CSV (root as ``<root_account>``).

    Raises:
        CredpickError: The content is not a credential report.
    """
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "user" not in reader.fieldnames:
        raise CredpickError(
            "the IAM credential report is not in the expected CSV format",
            fix="report this to credpick with the report's header line",
        )
    users: dict[str, tuple[KeyState, ...]] = {}
    for row in reader:
        keys = []
        for n in (1, 2):
            active = (row.get(f"access_key_{n}_active") or "").strip().lower() == "true"
            created = _date(row.get(f"access_key_{n}_last_rotated"))
            if created is None and not active:
                continue  # no key in this slot
            keys.append(
                KeyState(
                    slot=n,
                    key_id=None,
                    active=active,
                    created=created,
                    last_used=_date(row.get(f"access_key_{n}_last_used_date")),
                    service=_text(row.get(f"access_key_{n}_last_used_service")),
                    region=_text(row.get(f"access_key_{n}_last_used_region")),
                )
            )
        users[row["user"]] = tuple(keys)
    return users


def _fetch_report(iam: _Iam) -> tuple[bytes, dt.datetime | None]:
    deadline = time.monotonic() + _REPORT_WAIT
    delay = 0.1
    while True:
        state = iam.call("generate_credential_report").get("State")
        if state == "COMPLETE":
            answer = iam.call("get_credential_report", tolerate=_REPORT_NOT_READY)
            if answer is not None:
                when = answer.get("GeneratedTime")
                return answer["Content"], _aware(when) if isinstance(when, dt.datetime) else None
        if time.monotonic() + delay > deadline:
            raise CredpickError(
                f"the IAM credential report was not ready after {_REPORT_WAIT:.0f} s",
                fix="retry in a few minutes; IAM builds the report in the background",
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


# --- per-user lookups -------------------------------------------------------


def _merge(slots: tuple[KeyState, ...], listed: list[Mapping[str, Any]]) -> list[KeyState]:
    """Give the report's keys their ids: match ListAccessKeys by creation second."""
    left = list(slots)
    out = []
    for n, item in enumerate(listed, start=1):
        created = _aware(item["CreateDate"])
        same = [s for s in left if s.created and abs((s.created - created).total_seconds()) < 1]
        match = next((s for s in same if s.slot == n), same[0] if same else None)
        active = item.get("Status") == "Active"
        if match is None:  # created after the report: its use must be asked for
            out.append(KeyState(None, item["AccessKeyId"], active, created, in_report=False))
            continue
        left.remove(match)
        out.append(attrs.evolve(match, key_id=item["AccessKeyId"], active=active, created=created))
    return out  # report slots left unmatched were deleted since: dropped


def _fill_last_used(iam: _Iam, key: KeyState) -> KeyState:
    lacking = key.last_used is not None and (key.service is None or key.region is None)
    if key.key_id is None or (key.in_report and not lacking):
        return key
    answer = iam.call("get_access_key_last_used", AccessKeyId=key.key_id)
    used = answer.get("AccessKeyLastUsed") or {}
    when = used.get("LastUsedDate")
    return attrs.evolve(
        key,
        last_used=_aware(when) if isinstance(when, dt.datetime) else key.last_used,
        service=_text(used.get("ServiceName")) or key.service,
        region=_text(used.get("Region")) or key.region,
    )


def _resolve_user(
    iam: _Iam, user: str, slots: tuple[KeyState, ...], lim: Limits, everything: bool
) -> list[KeyFinding]:
    """Tags and key ids for one user, asked for only when they change the answer."""
    gone = {"NoSuchEntity"}  # deleted since the report: nothing to audit
    keys: list[KeyState] = list(slots)
    listed = False
    if everything or not slots:
        items = iam.pages("list_access_keys", "AccessKeyMetadata", tolerate=gone, UserName=user)
        if items is None:
            return []
        keys, listed = [_fill_last_used(iam, k) for k in _merge(slots, items)], True
    if not keys:
        return []
    multi_cloud = None
    if everything or lim.tag_matters(keys):
        tags = iam.pages("list_user_tags", "Tags", tolerate=gone, UserName=user)
        if tags is None:
            return []
        values = [str(t.get("Value", "")).strip().lower() for t in tags if t.get("Key") == lim.tag]
        multi_cloud = bool(values) and values[0] not in _FALSE_TAG
    findings = judge(user, keys, lim, multi_cloud)
    if not listed and any(f.flags for f in findings):
        items = iam.pages("list_access_keys", "AccessKeyMetadata", tolerate=gone, UserName=user)
        if items is None:
            return []
        keys = [_fill_last_used(iam, k) for k in _merge(slots, items)]
        findings = judge(user, keys, lim, multi_cloud)
    return findings


def _run_all(jobs: list[tuple[Any, ...]], max_workers: int, iam: _Iam) -> list[KeyFinding]:
    out: list[KeyFinding] = []
    if not jobs:
        return out
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="credpick-audit")
    try:
        futures: list[Future[list[KeyFinding]]] = [
            pool.submit(_resolve_user, iam, *job) for job in jobs
        ]
        for future in futures:
            out.extend(future.result())
    finally:
        # On the first error, queued lookups are dropped rather than run.
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _check_arguments(
    session: object,
    numbers: Mapping[str, object],
    multicloud_tag: object,
    now: object,
    detail: object,
) -> None:
    where = "audit"
    # Duck-typed, as audit uses it: a session-like object with client() and region_name.
    if session is not None and not (
        callable(getattr(session, "client", None)) and hasattr(session, "region_name")
    ):
        _validate.fail(where, "session", session, "a boto3.Session or None")
    for name, value in numbers.items():
        _validate.whole(where, name, value, low=1)
    _validate.text(where, "multicloud_tag", multicloud_tag, optional=False)
    _validate.instance(
        where, "now", now, dt.datetime, "a timezone-aware datetime or None", optional=True
    )
    if isinstance(now, dt.datetime) and now.tzinfo is None:
        _validate.fail(where, "now", now, "timezone-aware", fix="pass now= with a tzinfo")
    _validate.choice(where, "detail", detail, ("flagged", "all"))


def audit(
    session: boto3.Session | None = None,
    *,
    rotation_days: int = 90,
    multicloud_rotation_days: int = 30,
    multicloud_tag: str = "credpick:multi-cloud",
    unused_days: int = 14,
    now: dt.datetime | None = None,
    detail: Literal["flagged", "all"] = "flagged",
    max_workers: int = 8,
) -> AuditReport:
    """Audit every IAM user's access keys. Read-only.

    The credential report gives every key's state in one call; IAM reuses a
    report for up to 4 hours (:attr:`AuditReport.generated_at`). Then, on a
    pool of ``max_workers`` threads: ``ListUserTags`` for users with an active
    key older than the stricter limit, and ``ListAccessKeys`` (plus
    ``GetAccessKeyLastUsed`` where the report lacks the last use) for users
    with a flagged key. A user is multi-cloud when it carries ``multicloud_tag``
    with any value but ``false``/``no``/``0``/``off``.

    Args:
        session: The ``boto3.Session`` to call IAM with; :func:`credpick.session` by
            default. ``AWS_ENDPOINT_URL_IAM`` redirects the calls.
        rotation_days: Flag active keys older than this (``rotation-overdue``).
        multicloud_rotation_days: The limit for users tagged ``multicloud_tag``.
        multicloud_tag: The user tag key that marks multi-cloud users.
        unused_days: Flag active keys not used for this many days (``unused``).
        now: The time to measure ages against (aware); the current time by default.
        detail: ``"flagged"`` looks up only what changes a flag; ``"all"`` also
            lists every user (``ListUsers``) and looks up every key's id and tag.
        max_workers: The most IAM calls in flight at once.

    Returns:
        The report: every key, flagged keys first.

    Raises:
        ConfigurationError: An argument is of the wrong type or out of range
            (the message names it), or ``AWS_ENDPOINT_URL_IAM`` (or
            ``AWS_ENDPOINT_URL``) is not a valid URL.
        CredpickError: IAM refused or failed a call; the fix names the permission.
            Without ``session``, also what :func:`credpick.session` raises.

    .. versionadded:: 0.1.0
    """
    _check_arguments(
        session,
        {
            "rotation_days": rotation_days,
            "multicloud_rotation_days": multicloud_rotation_days,
            "unused_days": unused_days,
            "max_workers": max_workers,
        },
        multicloud_tag,
        now,
        detail,
    )
    lim = Limits(
        _aware(now or dt.datetime.now(_UTC)),
        rotation_days,
        multicloud_rotation_days,
        unused_days,
        multicloud_tag,
    )
    if session is None:
        from .._session import session as _credpick_session

        session = _credpick_session()
    config = Config(
        max_pool_connections=max_workers, retries={"mode": "standard", "max_attempts": 8}
    )
    # botocore reads the process's variable when it builds the client: check it
    # first, so a malformed one is a ConfigurationError naming it, not a ValueError.
    Context.from_process().endpoint_url("iam")
    # IAM is global: without a region, sign for us-east-1 as the AWS CLI does.
    region = session.region_name or "us-east-1"
    iam = _Iam(session.client("iam", region_name=region, config=config))
    content, generated_at = _fetch_report(iam)
    report = parse_credential_report(content)
    root = report.pop(ROOT_USER, ())
    findings = judge(ROOT_USER, root, lim, None)
    jobs: list[tuple[Any, ...]] = []
    if detail == "all":
        names = [u["UserName"] for u in iam.pages("list_users", "Users")]
        jobs = [(name, report.get(name, ()), lim, True) for name in names]
        users = len(names)
    else:
        users = len(report)
        for name, slots in report.items():
            quick = judge(name, slots, lim, None)
            if lim.tag_matters(slots) or any(f.flags for f in quick):
                jobs.append((name, slots, lim, False))
            else:
                findings.extend(quick)  # the report alone settles this user
    findings.extend(_run_all(jobs, max_workers, iam))
    findings.sort(key=lambda f: (not f.flags, f.user, f.slot or 3))
    return AuditReport(
        keys=tuple(findings),
        users=users,
        generated_at=generated_at,
        now=lim.now,
        rotation_days=rotation_days,
        multicloud_rotation_days=multicloud_rotation_days,
        multicloud_tag=multicloud_tag,
        unused_days=unused_days,
        detail=detail,
        api_calls=dict(iam.calls),
    )
