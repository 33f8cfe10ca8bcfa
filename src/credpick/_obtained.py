"""Judge the credentials a source actually delivered, not its kind label.

A ``credential_process`` can print an IAM user's ``AKIA`` key, a sidecar
endpoint can serve one, and a refresh an hour later can turn temporary
credentials into long-lived ones. Detection cannot see that; this module
applies the policy's long-lived-key rule (:func:`credpick._keys.is_long_lived`)
to what was loaded, at the first load and at every refresh.

No secret stays in a frame that raises: the credentials are classified in a
helper that has returned (a :class:`~credpick._keys.KeyClass` holds only the
masked id), and a refresh's metadata is deleted before its error is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._keys import KeyClass, classify, classify_values, key_words, why_refused
from ._model import Candidate
from .exceptions import StaticKeysRefused

if TYPE_CHECKING:
    from ._detection import Policy

logger = logging.getLogger("credpick")


def _what(candidate: Candidate, root: bool) -> str:
    described = f"{candidate.kind.value} ({candidate.origin})"
    return f"the root of {described}" if root else described


def verdict(
    keys: KeyClass, candidate: Candidate, static_keys: str, *, root: bool = False, when: str = ""
) -> StaticKeysRefused | None:
    """The error for credentials the policy refuses, or ``None`` (with a WARNING
    when long-lived keys are used because no role is possible).

    Args:
        keys: What :func:`classify` said of the loaded credentials.
        candidate: The chosen candidate; its ``role_available`` is the role
            that makes long-lived keys refusable under ``"refuse-when-role"``.
        static_keys: The policy's ``static_keys``.
        root: The credentials are the chain's root, not the candidate's own.
        when: ``""`` at the first load, ``" on refresh"`` later.
    """
    if not keys.long_lived:
        return None
    what = _what(candidate, root)
    why = why_refused(static_keys, candidate.role_available)
    if why is None:
        if not candidate.rooted_in_long_lived or when:  # detection already warned otherwise
            logger.warning(
                "using %s delivered by %s%s: %s",
                key_words(keys.key_id),
                what,
                when,
                "the policy allows it"
                if static_keys == "allow"
                else "no role-based source is available",
            )
        return None
    role = candidate.role_available
    return StaticKeysRefused(
        f"{key_words(keys.key_id)} delivered by {what}{when} refused: {why}",
        kind=candidate.kind.value,
        evidence=(
            *candidate.evidence,
            f"access key {keys.key_id or '(unknown)'}{when}",
            f"botocore method {keys.method!r}",
        ),
        fix=(f"drop the key and use {role}" if role else "use a role")
        + f"; make {what} deliver temporary credentials (an ASIA key with a session token)",
    )


def check(credentials: Any, candidate: Candidate, policy: Policy, *, root: bool = False) -> None:
    """Refuse loaded credentials the policy does not allow.

    Raises:
        StaticKeysRefused: They are long-lived, and the policy refuses them here.
    """
    error = verdict(classify(credentials), candidate, policy.static_keys, root=root)
    if error is not None:
        raise error


def _metadata_verdict(
    metadata: Any, candidate: Candidate, static_keys: str, root: bool
) -> StaticKeysRefused | None:
    if not isinstance(metadata, dict):
        return None  # not credentials at all: botocore fails on it, as it should
    keys = classify_values(metadata.get("access_key"), metadata.get("token"), None)
    return verdict(keys, candidate, static_keys, root=root, when=" on refresh")


def judging(
    refresh: Callable[[], Any], candidate: Candidate, policy: Policy, *, root: bool = False
) -> Callable[[], Any]:
    """Wrap a refresh function so a refresh into refused keys is an error, never used."""
    static_keys = policy.static_keys

    def refresh_and_judge() -> Any:
        metadata = refresh()
        error = _metadata_verdict(metadata, candidate, static_keys, root)
        if error is not None:
            del metadata  # the secret must not stay in the raising frame
            raise error
        return metadata

    return refresh_and_judge


def watch(credentials: Any, candidate: Candidate, policy: Policy, *, root: bool = False) -> None:
    """Judge ``credentials`` now, and on each of their refreshes from now on.

    Raises:
        StaticKeysRefused: They are long-lived now, and the policy refuses them.
    """
    refresh = getattr(credentials, "_refresh_using", None)
    # botocore keeps the refresh function in this attribute since RefreshableCredentials began.
    if callable(refresh):
        credentials._refresh_using = judging(refresh, candidate, policy, root=root)
    check(credentials, candidate, policy, root=root)
