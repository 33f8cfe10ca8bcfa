"""What an audit finds: the values, the rules that flag a key, and rendering.

No IAM calls here (those are in ``_audit.py``), so the rules and the report
can be tested and rendered without botocore.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .. import _validate
from .._mask import ensure_masked
from ..exceptions import ConfigurationError

#: The credential report's name for the account's root user.
ROOT_USER = "<root_account>"


class Flag(str, enum.Enum):
    """Why an access key needs attention. Only active keys are flagged.

    .. versionadded:: 0.1.0
    """

    #: The root user has an active access key.
    ROOT_KEY = "root-key"
    #: Older than the rotation limit (90 days; 30 for multi-cloud users).
    ROTATION_OVERDUE = "rotation-overdue"
    #: Nothing used it for ``unused_days`` or more: safe to deactivate.
    UNUSED = "unused"
    #: Never used at all (brand-new keys too; ``unused`` says when it matters).
    NEVER_USED = "never-used"
    #: The user has two active keys: a rotation left half done, or a shared user.
    TWO_ACTIVE_KEYS = "two-active-keys"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Flag:
        _validate.unknown("Flag", "", value, [f.value for f in cls])


#: Flags that make :meth:`AuditReport.exit_code` nonzero unless told otherwise; the
#: others only warn: a new key, or a rotation in progress, is normal for a while.
DEFAULT_FAIL_ON: frozenset[Flag] = frozenset({Flag.ROOT_KEY, Flag.ROTATION_OVERDUE, Flag.UNUSED})

# What to do about each flag, for the people reading the table.
ADVICE: Mapping[Flag, str] = MappingProxyType(
    {
        Flag.ROOT_KEY: "delete the root user's access keys; nothing should sign as root",
        Flag.ROTATION_OVERDUE: "replace the key with a role (docs/migration.md), or rotate it",
        Flag.UNUSED: "deactivate it (update-access-key --status Inactive), then delete it",
        Flag.NEVER_USED: "if nothing is about to use it, delete it",
        Flag.TWO_ACTIVE_KEYS: "finish the rotation: deactivate the older key",
    }
)


def _freeze(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(counts))


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@attrs.frozen
class KeyFinding:
    """One access key, what IAM says about it, and its flags.

    Attributes:
        user: The IAM user name; ``"<root_account>"`` for the root user.
        key_id: The masked key id (``AKIA...WXYZ``), or ``None`` when it was not
            looked up (keys with no flag, and root keys, which IAM does not list).
        slot: The key's column in the credential report (1 or 2), if it is there.
        status: ``"Active"`` or ``"Inactive"``.
        created: When the key was created (UTC).
        last_used: When it last signed a request, or ``None`` if never.
        last_used_service: The service it last called, when IAM says.
        last_used_region: The region it last called, when IAM says.
        multi_cloud: Whether the user carries the multi-cloud tag; ``None`` when
            the tag was not looked up because no key is old enough for it to matter.
        rotation_limit_days: The rotation limit that applies, ``None`` when unknown.
        age_days: Whole days since ``created``.
        idle_days: Whole days since the last use (or since creation, if never used).
        flags: Why the key needs attention; empty when it does not.

    .. versionadded:: 0.1.0
    """

    user: str
    key_id: str | None = attrs.field(converter=ensure_masked)
    slot: int | None
    status: str
    created: dt.datetime | None
    last_used: dt.datetime | None
    last_used_service: str | None
    last_used_region: str | None
    multi_cloud: bool | None
    rotation_limit_days: int | None
    age_days: int | None
    idle_days: int | None
    flags: tuple[Flag, ...]

    @property
    def active(self) -> bool:
        """Whether the key can sign requests."""
        return self.status == "Active"

    @property
    def label(self) -> str:
        """The masked id, else ``"key 1"``/``"key 2"`` as the credential report says."""
        if self.key_id:
            return self.key_id
        return f"key {self.slot}" if self.slot else "key ?"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; the key id is masked."""
        return {
            "user": self.user,
            "key_id": self.key_id,
            "slot": self.slot,
            "status": self.status,
            "created": _iso(self.created),
            "age_days": self.age_days,
            "last_used": _iso(self.last_used),
            "last_used_service": self.last_used_service,
            "last_used_region": self.last_used_region,
            "idle_days": self.idle_days,
            "multi_cloud": self.multi_cloud,
            "rotation_limit_days": self.rotation_limit_days,
            "flags": [f.value for f in self.flags],
        }


def parse_fail_on(fail_on: Collection[Flag | str] | str | None) -> frozenset[Flag]:
    """Turn ``fail_on`` (flags, flag strings, ``"all"`` or ``None``) into flags.

    Raises:
        ConfigurationError: A value is not a flag.
    """
    if fail_on is None:
        return DEFAULT_FAIL_ON
    if isinstance(fail_on, str):
        fail_on = tuple(fail_on.split(",")) if fail_on != "all" else tuple(Flag)
    flags = set()
    known = {f.value: f for f in Flag}
    for value in fail_on:
        # A lookup, not Flag(value): its ValueError would become the context.
        flag = known.get(value.strip()) if isinstance(value, str) else None
        if flag is None:
            raise ConfigurationError(
                f"fail_on: {value!r} is not an audit flag",
                fix=f"use some of: {', '.join(f.value for f in Flag)}, or 'all'",
            )
        flags.add(flag)
    return frozenset(flags)


@attrs.frozen
class AuditReport:
    """Every access key in the account, flagged; from :func:`credpick.audit`.

    Attributes:
        keys: One finding per key, flagged keys first.
        users: How many IAM users were audited (the root user not counted).
        generated_at: When IAM generated the credential report; IAM reuses a
            report for up to 4 hours, so keys created since may be missing.
        now: The time ages were measured against.
        rotation_days: The rotation limit for ordinary users.
        multicloud_rotation_days: The limit for users carrying ``multicloud_tag``.
        multicloud_tag: The user tag that marks multi-cloud users.
        unused_days: Days without use after which a key is flagged ``unused``.
        detail: ``"flagged"`` or ``"all"``: which keys were looked up one by one.
        api_calls: IAM calls made, by operation name.

    .. versionadded:: 0.1.0
    """

    keys: tuple[KeyFinding, ...]
    users: int
    generated_at: dt.datetime | None
    now: dt.datetime
    rotation_days: int
    multicloud_rotation_days: int
    multicloud_tag: str
    unused_days: int
    detail: str
    api_calls: Mapping[str, int] = attrs.field(factory=dict, converter=_freeze)

    @property
    def flagged(self) -> tuple[KeyFinding, ...]:
        """Keys with at least one flag."""
        return tuple(k for k in self.keys if k.flags)

    def failing(
        self, fail_on: Collection[Flag | str] | str | None = None
    ) -> tuple[KeyFinding, ...]:
        """Keys carrying a flag in ``fail_on``; see :meth:`exit_code` for its values."""
        wanted = parse_fail_on(fail_on)
        return tuple(k for k in self.keys if wanted.intersection(k.flags))

    def exit_code(self, fail_on: Collection[Flag | str] | str | None = None) -> int:
        """``1`` when a key carries a flag in ``fail_on``, else ``0``.

        By default ``root-key``, ``rotation-overdue`` and ``unused`` fail;
        ``never-used`` and ``two-active-keys`` only warn. Pass ``"all"`` to
        fail on every flag.

        Args:
            fail_on: Flags, their strings, a comma-separated string, or ``"all"``;
                ``None`` for :data:`DEFAULT_FAIL_ON`.

        Returns:
            The process exit code for ``credpick audit``.

        Raises:
            ConfigurationError: ``fail_on`` names something that is not a flag.

        .. versionadded:: 0.1.0
        """
        return 1 if self.failing(fail_on) else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; key ids are masked and no secret is held."""
        counts = {f.value: sum(f in k.flags for k in self.keys) for f in Flag}
        return {
            "generated_at": _iso(self.generated_at),
            "now": _iso(self.now),
            "users": self.users,
            "settings": {
                "rotation_days": self.rotation_days,
                "multicloud_rotation_days": self.multicloud_rotation_days,
                "multicloud_tag": self.multicloud_tag,
                "unused_days": self.unused_days,
                "detail": self.detail,
            },
            "flag_counts": counts,
            "fail_on_default": sorted(f.value for f in DEFAULT_FAIL_ON),
            "keys": [k.to_dict() for k in self.keys],
            "api_calls": dict(self.api_calls),
        }


# --- the rules: from what IAM says about a key to its flags -----------------


@attrs.frozen
class KeyState:
    """One key as IAM described it. Internal: the raw id never leaves the audit."""

    slot: int | None
    key_id: str | None = attrs.field(repr=False)
    active: bool
    created: dt.datetime | None
    last_used: dt.datetime | None = None
    service: str | None = None
    region: str | None = None
    in_report: bool = True


@attrs.frozen
class Limits:
    """The audit's settings and clock, as the rules need them."""

    now: dt.datetime
    rotation: int
    multicloud: int
    unused: int
    tag: str

    def tag_matters(self, keys: Iterable[KeyState]) -> bool:
        """Whether an active key is old enough for the user's tag to decide its flag."""
        limit = dt.timedelta(days=min(self.rotation, self.multicloud))
        return any(k.active and k.created and self.now - k.created > limit for k in keys)


def _days(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else max(delta.days, 0)


def judge(
    user: str, keys: Iterable[KeyState], lim: Limits, multi_cloud: bool | None
) -> list[KeyFinding]:
    """Flag one user's keys. ``multi_cloud=None``: the tag was not looked up."""
    keys = list(keys)
    if user == ROOT_USER:
        limit: int | None = lim.rotation  # the root user carries no tags
    elif multi_cloud is None:
        limit = None  # not looked up because no key is old enough for it to matter
    else:
        limit = lim.multicloud if multi_cloud else lim.rotation
    two_active = sum(k.active for k in keys) >= 2
    out = []
    for k in keys:
        age = lim.now - k.created if k.created else None
        since = k.last_used or k.created
        idle = lim.now - since if since else None
        flags = set()
        if k.active:  # an inactive key cannot sign anything: listed, never flagged
            if user == ROOT_USER:
                flags.add(Flag.ROOT_KEY)
            if limit is not None and age is not None and age > dt.timedelta(days=limit):
                flags.add(Flag.ROTATION_OVERDUE)
            if idle is not None and idle >= dt.timedelta(days=lim.unused):
                flags.add(Flag.UNUSED)
            if k.last_used is None:
                flags.add(Flag.NEVER_USED)
            if two_active:
                flags.add(Flag.TWO_ACTIVE_KEYS)
        out.append(
            KeyFinding(
                user=user,
                key_id=k.key_id,
                slot=k.slot,
                status="Active" if k.active else "Inactive",
                created=k.created,
                last_used=k.last_used,
                last_used_service=k.service,
                last_used_region=k.region,
                multi_cloud=multi_cloud,
                rotation_limit_days=limit,
                age_days=_days(age),
                idle_days=_days(idle),
                flags=tuple(f for f in Flag if f in flags),
            )
        )
    return out


def _last_used(key: KeyFinding) -> str:
    if key.last_used is None:
        return "never"
    where = ", ".join(x for x in (key.last_used_service, key.last_used_region) if x)
    ago = f"{key.idle_days}d ago" if key.idle_days is not None else key.last_used.date()
    return f"{ago} ({where})" if where else str(ago)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def render_audit(
    report: AuditReport,
    *,
    show_all: bool = False,
    fail_on: Collection[Flag | str] | str | None = None,
) -> str:
    """A table for people: flagged keys (or every key), then what to do.

    Args:
        report: The audit report.
        show_all: List keys without flags too.
        fail_on: The flags that fail the run, as for :meth:`AuditReport.exit_code`;
            the "failing" count and the line that names them follow it.

    Returns:
        The text, without a trailing newline.

    Raises:
        ConfigurationError: ``report`` is not an :class:`AuditReport`, or
            ``show_all`` not a bool.

    .. versionadded:: 0.1.0
    """
    _validate.instance(
        "render_audit", "report", report, AuditReport, "a credpick.migrate.AuditReport"
    )
    _validate.boolean("render_audit", "show_all", show_all)
    shown = report.keys if show_all else report.flagged
    at = report.generated_at
    when = f"credential report of {at:%Y-%m-%d %H:%M} UTC" if at else "no report time"
    keys, users = _count(len(report.keys), "access key"), _count(report.users, "user")
    wanted = parse_fail_on(fail_on)
    flagged, failing = len(report.flagged), len(report.failing(wanted))
    lines = [f"credpick audit: {keys} of {users} ({when}); {flagged} flagged, {failing} failing"]
    rows = [("USER", "KEY", "STATUS", "AGE", "LAST USED", "FLAGS")]
    for k in shown:
        age = f"{k.age_days}d" if k.age_days is not None else "?"
        flags = ", ".join(f.value for f in k.flags) or "-"
        rows.append((k.user, k.label, k.status, age, _last_used(k), flags))
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            cells = [c.ljust(w) for c, w in zip(r[:5], widths, strict=True)]
            lines.append("  ".join([*cells, r[5]]).rstrip())
    hidden = len(report.keys) - len(shown)
    if hidden:
        lines.append(f"({hidden} keys without flags not shown)")
    lines.append(
        f"limits: rotate after {report.rotation_days} days ({report.multicloud_rotation_days} "
        f"for users tagged {report.multicloud_tag}); unused after {report.unused_days} days"
    )
    which = "failing by default" if wanted == DEFAULT_FAIL_ON else "failing on"
    lines.append(f"{which}: {', '.join(sorted(f.value for f in wanted))}")
    present = [f for f in Flag if any(f in k.flags for k in report.keys)]
    if present:
        lines.append("what to do:")
        width = max(len(f.value) for f in present)
        lines.extend(f"  {f.value:<{width}}  {ADVICE[f]}" for f in present)
    return "\n".join(lines)
