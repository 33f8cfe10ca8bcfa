"""Errors credpick raises.

Every error is a :class:`CredpickError` and carries structured fields, so code
can act on the source kind, the evidence and the fix without parsing text::

    CredpickError
    ├── ConfigurationError      bad input: a malformed file, an unknown profile, a bad argument
    │                           (also a ValueError)
    ├── NoCredentialsFound      nothing usable was found; lists every place looked
    ├── SourceFailed            the chosen source was detected but could not deliver
    └── PolicyViolation         a policy refused the pick
        └── StaticKeysRefused   long-lived keys where they are not allowed

No message or field ever holds a secret access key or session token; access
key ids appear masked (``AKIA...WXYZ``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ConfigurationError",
    "CredpickError",
    "NoCredentialsFound",
    "PolicyViolation",
    "SourceFailed",
    "StaticKeysRefused",
]


class CredpickError(Exception):
    """Base of every error credpick raises.

    Args:
        reason: What went wrong, in one sentence.
        kind: The source kind (a ``SourceKind`` value) the error is about, if any.
        evidence: What credpick saw that led here (variable names, files, masked ids).
        fix: What the user can do about it.
        attempts: One line per candidate considered: ``"<kind>: <status>: <reason>"``.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: str | None = None,
        evidence: Sequence[str] = (),
        fix: str | None = None,
        attempts: Sequence[str] = (),
    ) -> None:
        from ._mask import scrub

        self.reason = scrub(reason)
        self.kind = kind
        self.evidence = tuple(scrub(e) for e in evidence)
        self.fix = None if fix is None else scrub(fix)
        self.attempts = tuple(scrub(a) for a in attempts)
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.kind}: {self.reason}" if self.kind else self.reason
        lines = [head]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        if self.attempts:
            lines.append("  candidates:")
            lines.extend(f"    - {a}" for a in self.attempts)
        return "\n".join(lines)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only fields would be lost by Exception's default pickling.
        return (
            _rebuild,
            (type(self), self.reason, self.kind, self.evidence, self.fix, self.attempts),
        )


def _rebuild(
    cls: type[CredpickError],
    reason: str,
    kind: str | None,
    evidence: tuple[str, ...],
    fix: str | None,
    attempts: tuple[str, ...],
) -> CredpickError:
    return cls(reason, kind=kind, evidence=evidence, fix=fix, attempts=attempts)


class ConfigurationError(CredpickError, ValueError):
    """The configuration credpick was given is unusable.

    A malformed ``~/.aws/config``, an unknown ``AWS_PROFILE``, a malformed
    endpoint variable or a bad argument. The message names the file, variable
    or argument, and the fix.

    It is also a :class:`ValueError`, so code written for the bare
    ``ValueError`` some bad arguments used to raise still catches it.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 Also a :class:`ValueError`.
    """


class NoCredentialsFound(CredpickError):
    """No credential source was found; ``attempts`` lists every place looked.

    .. versionadded:: 0.1.0
    """


class SourceFailed(CredpickError):
    """A detected source could not deliver credentials.

    credpick never falls back to a less safe source when this happens.

    .. versionadded:: 0.1.0
    """


class PolicyViolation(CredpickError):
    """A :class:`credpick.Policy` (or its hook) refused the pick.

    .. versionadded:: 0.1.0
    """


class StaticKeysRefused(PolicyViolation):
    """Long-lived access keys were refused by the policy.

    .. versionadded:: 0.1.0
    """
