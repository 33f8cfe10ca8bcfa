"""The plain values that flow through credpick: kinds, candidates, provenance.

What a detection decided (:class:`~credpick.Detection`) and the policy it applied
(:class:`~credpick.Policy`) are in :mod:`credpick._detection`, which builds on these.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from . import _validate
from ._kinds import RANK as RANK
from ._kinds import ROLE_RANK_MAX as ROLE_RANK_MAX
from ._kinds import SourceKind as SourceKind
from ._kinds import SourceKindName as SourceKindName
from ._mask import ensure_masked, scrub

if TYPE_CHECKING:
    # A role chain's links: only assume-role chains make them, so their module
    # loads with that source, not on every session's path.
    from ._link import Link


class Status(str, enum.Enum):
    """What credpick made of a candidate.

    .. versionadded:: 0.1.0
    """

    #: Picked: the session is built from it.
    CHOSEN = "chosen"
    #: Usable, but a safer source was picked.
    AVAILABLE = "available"
    #: Long-lived keys left unused because a role is possible.
    IGNORED = "ignored"
    #: Refused by the policy.
    REFUSED = "refused"
    #: Detected, but broken: picking it raises :class:`credpick.SourceFailed`.
    FAILED = "failed"
    #: Seen, but not a source (for example an instance without a role).
    UNAVAILABLE = "unavailable"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Status:
        _validate.unknown("Status", "", value, [s.value for s in cls])


class RootKind(str, enum.Enum):
    """What delivers a candidate's first credentials: the root of its chain.

    .. versionadded:: 0.2.0
    """

    ENV_KEYS = "environment-keys"
    PROFILE_KEYS = "profile-keys"
    CONTAINER_ENDPOINT = "container-endpoint"
    INSTANCE_METADATA = "instance-metadata"
    TOKEN_FILE = "token-file"
    OIDC_TOKEN = "oidc-token-endpoint"
    PROGRAM = "program"
    SSO_CACHE = "sso-cache"
    LOGIN_CACHE = "login-cache"
    #: ``AWS_CREDENTIAL_FILE`` or a boto2 config file (``~/.boto``, ``/etc/boto.cfg``).
    LEGACY_FILE = "legacy-file"
    #: Keys passed to :func:`credpick.session` in code.
    EXPLICIT_KEYS = "explicit-keys"


def _freeze(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _scrub_all(lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(scrub(line) for line in lines)


def _scrub_opt(text: str | None) -> str | None:
    return None if text is None else scrub(text)


def account_of(role_arn: str | None) -> str | None:
    """The account id in a role ARN, or ``None``."""
    parts = (role_arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


@attrs.frozen
class Root:
    """What delivers a chain's first credentials.

    Attributes:
        kind: What it is.
        origin: Where it is, e.g. ``"environment"``, ``"profile 'base'"``.
        long_lived: Whether its credentials are long-lived; ``None`` when that is
            known only once they are loaded (a program, a sidecar endpoint).
        key_id: The masked access key id, when known without a network call.
        role_arn: The role it delivers, when known.
        account: The account, when known.
        source: The source kind whose builder delivers it, for a root that is
            a source of its own (``credential_source``, ``source_profile`` keys).

    .. versionadded:: 0.2.0
    """

    kind: RootKind
    origin: str = attrs.field(converter=scrub)
    long_lived: bool | None = False
    key_id: str | None = attrs.field(default=None, converter=ensure_masked)
    role_arn: str | None = attrs.field(default=None, converter=_scrub_opt)
    account: str | None = None
    source: SourceKind | None = None
    # Non-secret builder inputs of the root's own source (an endpoint, a probe state).
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze, repr=False, eq=False)

    def describe(self) -> str:
        """``kind (origin)`` with the key, role and whether long-lived."""
        notes = [self.key_id] if self.key_id else []
        if self.role_arn:
            notes.append(f"role {self.role_arn}")
        elif self.account:
            notes.append(f"account {self.account}")
        notes.append(
            {True: "long-lived", False: "temporary", None: "checked when loaded"}[self.long_lived]
        )
        return f"{self.kind.value} ({self.origin}; {', '.join(notes)})"

    def to_dict(self) -> dict[str, Any]:
        shown = attrs.asdict(self, filter=lambda a, _: a.name not in ("source", "params"))
        return {**shown, "kind": self.kind.value}


@attrs.frozen
class Provenance:
    """A candidate's chain: its root, then every role assumed on top, in order.

    .. versionadded:: 0.2.0
    """

    root: Root
    links: tuple[Link, ...] = ()

    @property
    def long_lived(self) -> bool:
        """Whether a long-lived key is known to feed the chain."""
        return self.root.long_lived is True or any(link.long_lived for link in self.links)

    @property
    def known(self) -> bool:
        """Whether detection already knows if the chain is long-lived."""
        return self.root.long_lived is not None

    def describe(self) -> str:
        return " -> ".join([self.root.describe(), *(link.describe() for link in self.links)])

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root.to_dict(), "links": [link.to_dict() for link in self.links]}


_ROOTS: Mapping[SourceKind, tuple[RootKind, bool | None]] = MappingProxyType(
    {
        SourceKind.LAMBDA: (RootKind.ENV_KEYS, False),
        SourceKind.ECS: (RootKind.CONTAINER_ENDPOINT, None),
        SourceKind.EKS_POD_IDENTITY: (RootKind.CONTAINER_ENDPOINT, None),
        SourceKind.CONTAINER: (RootKind.CONTAINER_ENDPOINT, None),
        SourceKind.WEB_IDENTITY: (RootKind.TOKEN_FILE, False),
        SourceKind.GITHUB_OIDC: (RootKind.OIDC_TOKEN, False),
        SourceKind.EC2_INSTANCE_PROFILE: (RootKind.INSTANCE_METADATA, False),
        SourceKind.SSO: (RootKind.SSO_CACHE, False),
        SourceKind.LOGIN: (RootKind.LOGIN_CACHE, False),
        SourceKind.CREDENTIAL_PROCESS: (RootKind.PROGRAM, None),
        SourceKind.ENV_SESSION: (RootKind.ENV_KEYS, False),
    }
)


def _default_provenance(c: Candidate) -> Provenance:
    """The chain a source module need not spell out: the kind says it."""
    kind, long_lived = _ROOTS.get(c.kind, (RootKind.ENV_KEYS, c.long_lived))
    if c.kind is SourceKind.STATIC and c.profile is not None:
        kind = RootKind.PROFILE_KEYS
    # A kind's credentials are long-lived if detection already saw it (keys in a file).
    long_lived = True if c.long_lived else long_lived
    return Provenance(
        Root(
            kind=kind,
            origin=c.origin,
            long_lived=long_lived,
            key_id=c.key_id,
            role_arn=c.role_arn,
            account=account_of(c.role_arn),
        )
    )


@attrs.frozen
class Candidate:
    """One credential source credpick found, and its verdict.

    Attributes:
        kind: The source kind.
        status: The verdict.
        origin: Where it was found, e.g. ``"environment"`` or ``"profile 'dev'"``.
        evidence: What was seen: variable names, file paths, masked key ids.
        reason: Why it got its status.
        fix: What to do when it is ignored, refused or failed.
        long_lived: Whether it yields long-lived keys (an IAM user's ``AKIA`` key).
        explicit: Whether the caller asked for it (``profile_name=``, ``AWS_PROFILE``,
            ``role_arn=``, explicit keys).
        key_id: The masked access key id, when known without a network call.
        role_arn: The role it assumes, when known.
        profile: The profile it came from, if any.
        provenance: Its chain: the root that delivers the first credentials,
            and every role assumed on top (see :class:`Provenance`).
        role_available: On the chosen candidate: the role-based source
            (``kind (origin)``) that makes long-lived keys refusable.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``provenance`` and ``role_available``.
    """

    kind: SourceKind
    status: Status = Status.AVAILABLE
    origin: str = attrs.field(default="environment", converter=scrub)
    evidence: tuple[str, ...] = attrs.field(default=(), converter=_scrub_all)
    reason: str = attrs.field(default="", converter=scrub)
    fix: str | None = attrs.field(default=None, converter=_scrub_opt)
    long_lived: bool = False
    explicit: bool = False
    key_id: str | None = None
    role_arn: str | None = attrs.field(default=None, converter=_scrub_opt)
    profile: str | None = attrs.field(default=None, converter=_scrub_opt)
    # Non-secret inputs for the builder (a token file path, a URI...). Secrets
    # are never stored here: builders read them from the environment or files.
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_freeze, repr=False, eq=False)
    provenance: Provenance = attrs.field(
        default=attrs.Factory(_default_provenance, takes_self=True)
    )
    role_available: str | None = attrs.field(default=None, eq=False)

    @property
    def rooted_in_long_lived(self) -> bool:
        """Whether long-lived keys deliver it, or feed its chain, as far as detection knows."""
        return self.long_lived or self.provenance.long_lived

    @property
    def rank(self) -> int:
        """The kind's default rank: 1 is safest."""
        return RANK[self.kind]

    @property
    def role_based(self) -> bool:
        """Whether this source gives role credentials (ranks 1-5)."""
        return self.rank <= ROLE_RANK_MAX

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form of this candidate."""
        return {
            "kind": self.kind.value,
            "status": self.status.value,
            "rank": self.rank,
            "origin": self.origin,
            "long_lived": self.long_lived,
            "explicit": self.explicit,
            "key_id": self.key_id,
            "role_arn": self.role_arn,
            "profile": self.profile,
            "evidence": list(self.evidence),
            "reason": self.reason,
            "fix": self.fix,
            "provenance": self.provenance.to_dict(),
        }

    def attempt_line(self) -> str:
        """One line for error messages: ``kind (origin): status: reason``."""
        line = f"{self.kind.value} ({self.origin}): {self.status.value}"
        return f"{line}: {self.reason}" if self.reason else line
