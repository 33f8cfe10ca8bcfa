"""The plain values that flow through credpick: kinds, candidates, detections."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from ._mask import scrub

if TYPE_CHECKING:
    from ._chain import AssumeRole
    from ._policy import Policy
    from .exceptions import CredpickError


class SourceKind(str, enum.Enum):
    """Where credentials can come from.

    .. versionadded:: 0.1.0
    """

    LAMBDA = "lambda"
    ECS = "ecs"
    EKS_POD_IDENTITY = "eks-pod-identity"
    WEB_IDENTITY = "web-identity"
    GITHUB_OIDC = "github-oidc"
    EC2_INSTANCE_PROFILE = "ec2-instance-profile"
    SSO = "sso"
    LOGIN = "login"
    ASSUME_ROLE = "assume-role"
    CREDENTIAL_PROCESS = "credential-process"
    CONTAINER = "container"
    ENV_SESSION = "env-session"
    STATIC = "static"

    def __str__(self) -> str:
        return self.value


# The one place that says how safe each kind is: lower is better. Ranks 1-5
# are role-based, and their presence makes long-lived keys refusable.
RANK: Mapping[SourceKind, int] = MappingProxyType(
    {
        SourceKind.LAMBDA: 1,
        SourceKind.ECS: 1,
        SourceKind.EKS_POD_IDENTITY: 1,
        SourceKind.WEB_IDENTITY: 1,
        SourceKind.GITHUB_OIDC: 2,
        SourceKind.EC2_INSTANCE_PROFILE: 3,
        SourceKind.SSO: 4,
        SourceKind.LOGIN: 4,
        SourceKind.ASSUME_ROLE: 5,
        SourceKind.CREDENTIAL_PROCESS: 5,
        SourceKind.CONTAINER: 5,
        SourceKind.ENV_SESSION: 6,
        SourceKind.STATIC: 7,
    }
)
ROLE_RANK_MAX = 5


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


def _freeze(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _scrub_all(lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(scrub(line) for line in lines)


def _scrub_opt(text: str | None) -> str | None:
    return None if text is None else scrub(text)


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

    .. versionadded:: 0.1.0
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
        }

    def attempt_line(self) -> str:
        """One line for error messages: ``kind (origin): status: reason``."""
        line = f"{self.kind.value} ({self.origin}): {self.status.value}"
        return f"{line}: {self.reason}" if self.reason else line


@attrs.frozen
class Detection:
    """What credpick found, what it picked, and why. No session is built.

    Attributes:
        candidates: Every source found, best first, whatever its status.
        chosen: The candidate a session would be built from, or ``None``.
        error: The error :func:`credpick.session` would raise, or ``None``.
        looked: Every place credpick looked, found or not.
        policy: The policy applied.
        region: The region a session would use, if known. ``None`` with
            :attr:`region_source` set means the instance metadata service
            will be asked when a client first needs it.
        region_source: Where the region comes from: ``"region_name="``,
            ``"AWS_REGION"``, ``"AWS_DEFAULT_REGION"``, ``"profile 'NAME' (PATH)"``
            or ``"instance metadata (placement/region)"``; ``None`` if nowhere.
        chain: The roles a session assumes in turn from the chosen source's
            credentials (``assume_role=``), first to last, with their session
            names filled in; empty when none was asked for.

    .. versionadded:: 0.1.0
    """

    candidates: tuple[Candidate, ...]
    chosen: Candidate | None
    error: CredpickError | None
    looked: tuple[str, ...]
    policy: Policy
    region: str | None = attrs.field(default=None, converter=_scrub_opt)
    region_source: str | None = attrs.field(default=None, converter=_scrub_opt)
    chain: tuple[AssumeRole, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a session can be built from this detection."""
        return self.error is None and self.chosen is not None

    def raise_for_error(self) -> None:
        """Raise :attr:`error` if there is one.

        Raises:
            CredpickError: The detection's error.
        """
        if self.error is not None:
            raise self.error

    def explain(self) -> str:
        """A human report: one line per candidate with its evidence and verdict."""
        from ._report import explain

        return explain(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the detection. Holds no secret."""
        from ._report import to_dict

        return to_dict(self)
