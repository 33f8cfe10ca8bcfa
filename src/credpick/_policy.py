"""The policy: what credpick may pick, applied to ranked candidates."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ._detection import Policy as Policy
from ._detection import StaticKeys as StaticKeys
from ._keys import FORBIDDEN, why_refused
from ._model import Candidate, Status
from .exceptions import (
    CredpickError,
    NoCredentialsFound,
    SourceFailed,
    StaticKeysRefused,
)


def _source_rules(c: Candidate, policy: Policy) -> Candidate:
    """The policy rules a source owns (IMDSv1, in :mod:`credpick.sources.imds`),
    for the candidate's own kind and for the root its chain stands on."""
    from .sources import BY_KIND

    for kind in dict.fromkeys((c.kind, c.provenance.root.source)):
        gate = getattr(BY_KIND.get(kind) if kind else None, "gate", None)
        if gate is not None:
            c = gate(c, policy)
    return c


def _usable(c: Candidate) -> bool:
    return c.status is not Status.UNAVAILABLE


def _describe(c: Candidate) -> str:
    return f"{c.kind.value} ({c.origin})"


def role_possible(c: Candidate) -> bool:
    """A role-based source counts even when broken (an expired SSO token), so a
    long-lived key never wins by default; one fed by a long-lived key does not."""
    return c.role_based and _usable(c) and not c.rooted_in_long_lived


def long_lived_key(c: Candidate) -> str:
    """The long-lived key a candidate rests on, in words: ``key ID from ORIGIN``."""
    root = c.provenance.root
    if c.long_lived or root.long_lived is not True:
        return f"long-lived key {c.key_id or '(unknown)'} from {c.origin}"
    return (
        f"long-lived key {root.key_id or '(unknown)'} from {root.origin} "
        f"(the root of {_describe(c)})"
    )


def apply(
    candidates: Sequence[Candidate], policy: Policy, looked: Sequence[str]
) -> tuple[tuple[Candidate, ...], Candidate | None, CredpickError | None]:
    """Pick one candidate and give every other its verdict.

    An explicit choice (``profile_name=``, ``AWS_PROFILE``, ``role_arn=``)
    beats the ranking; long-lived keys, whether a candidate holds them or
    they feed its chain (an assume-role profile over an ``AKIA`` source
    profile), are never picked where a role is possible; a broken pick is an
    error, never a fallback.
    """
    ranked = sorted((_source_rules(c, policy) for c in candidates), key=lambda c: c.rank)
    roles = [c for c in ranked if role_possible(c)]
    explicit = [c for c in ranked if c.explicit and _usable(c)]
    pool = explicit or [c for c in ranked if _usable(c)]
    pick = pool[0] if pool else None
    # The role that makes long-lived keys refusable: for the others, any (the
    # pick included); for the pick, another one.
    best = roles[0] if roles else None
    role = next((c for c in roles if c is not pick), None)

    def verdict(c: Candidate) -> Candidate:
        if c is pick or not c.rooted_in_long_lived or not _usable(c):
            return c
        if policy.static_keys == "forbid":
            return attrs.evolve(c, status=Status.REFUSED, reason=FORBIDDEN)
        if policy.static_keys == "refuse-when-role" and best is not None:
            return attrs.evolve(
                c, status=Status.IGNORED, reason=f"ignored: {_describe(best)} is available"
            )
        return c

    others = [verdict(c) for c in ranked if c is not pick]
    error: CredpickError | None = None
    chosen = pick
    why = (
        why_refused(policy.static_keys, _describe(role) if role else None)
        if pick is not None and pick.rooted_in_long_lived
        else None
    )
    if pick is None:
        error = NoCredentialsFound(
            "no AWS credentials found",
            attempts=[c.attempt_line() for c in ranked] + list(looked),
            fix="run on a role-based runtime, or configure a profile (aws configure sso)",
        )
    elif why is not None:
        chosen = attrs.evolve(pick, status=Status.REFUSED, reason=f"refused: {why}")
        error = StaticKeysRefused(
            f"{long_lived_key(pick)} refused: {why}",
            kind=pick.kind.value,
            evidence=pick.evidence,
            fix=(f"drop the key and use {_describe(role)}" if role else pick.fix),
            attempts=[chosen.attempt_line()] + [c.attempt_line() for c in others],
        )
    elif pick.status is Status.FAILED:
        error = SourceFailed(
            pick.reason,
            kind=pick.kind.value,
            evidence=pick.evidence,
            fix=pick.fix,
            attempts=[pick.attempt_line()] + [c.attempt_line() for c in others],
        )
    else:
        chosen = attrs.evolve(
            pick, status=Status.CHOSEN, role_available=_describe(role) if role else None
        )
    ordered = ((chosen,) if chosen else ()) + tuple(others)
    return ordered, chosen, error
