"""Check a session someone else built: keep it, refuse it, or replace it.

Applications and libraries often build their own ``boto3.Session`` (explicit
keys, a profile, the default chain). :func:`wrap` classifies what that session
resolves to, in this runtime, with the same rule :func:`credpick.session` uses.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import boto3
import botocore.exceptions
import botocore.session

from . import _near, _redact, _validate
from ._detection import check_policy
from ._keys import KeyClass, classify, why_refused
from ._model import Candidate
from ._policy import Policy, role_possible
from ._report import audit
from .exceptions import (
    ConfigurationError,
    CredpickError,
    NoCredentialsFound,
    SourceFailed,
    StaticKeysRefused,
)

if TYPE_CHECKING:
    from ._chain import AssumeRole

logger = logging.getLogger("credpick")


def botocore_session(session: Any) -> Any:
    """The botocore session behind a boto3 or botocore session.

    Raises:
        ConfigurationError: ``session`` is neither.
    """
    if isinstance(session, boto3.Session):
        return session._session  # boto3 exposes no public accessor
    if isinstance(session, botocore.session.Session):
        return session
    raise ConfigurationError(
        f"expected a boto3.Session or botocore.session.Session, not {type(session).__name__}",
        fix="pass the session object itself, not a client or resource",
    )


def runtime_role(policy: Policy) -> Candidate | None:
    """The safest role-based source this runtime offers, if any.

    Same rule as the policy: a role-based source that is detected counts,
    even a broken one (an expired SSO token), so long-lived keys never win
    by default. The hook is not run: it judges picks, not this question.

    Raises:
        ConfigurationError: A config file is unusable, so the answer is unknown.
    """
    from ._detect import detect

    detection = detect(policy=attrs.evolve(policy, hook=None))
    if isinstance(detection.error, ConfigurationError):
        raise detection.error
    return next(
        (c for c in detection.candidates if role_possible(c)),
        None,
    )


def describe(candidate: Candidate) -> str:
    """``kind (origin)``, as errors name a source."""
    return f"{candidate.kind.value} ({candidate.origin})"


def refusal(keys: KeyClass, policy: Policy, role: Any) -> tuple[str | None, Candidate | None]:
    """Why ``keys`` break the policy (``None`` if they do not), and the role.

    ``role`` is called only when the answer depends on it: long-lived keys
    under ``"refuse-when-role"``. That keeps the common case free of detection.
    """
    if not keys.long_lived:
        return None, None
    found: Candidate | None = role() if policy.static_keys == "refuse-when-role" else None
    return why_refused(policy.static_keys, describe(found) if found else None), found


def resolved_credentials(bs: Any) -> tuple[Any, KeyClass]:
    """The session's credentials and their class, with botocore's errors translated.

    Raises:
        NoCredentialsFound: The session resolves to no credentials.
        ConfigurationError: Its profile does not exist.
        SourceFailed: Its provider failed.
    """
    with _redact.boundary():
        credentials, keys, failure = _resolve(bs)
    if failure is not None:  # raised outside the except that caught botocore's error
        raise failure
    if credentials is None or keys is None or keys.key_id is None:
        raise NoCredentialsFound(
            "the session resolves to no credentials",
            fix="configure credentials for it, or build the session with credpick.session()",
        )
    return credentials, keys


def _known_profiles(bs: Any) -> tuple[str, ...]:
    # Names only, from botocore's own parse of the files; a file it cannot
    # read gives no suggestion rather than a second error.
    try:
        return tuple(bs.available_profiles)
    except Exception:  # a suggestion is a nicety, never a second error
        return ()


def _resolve(bs: Any) -> tuple[Any, KeyClass | None, CredpickError | None]:
    # Messages from the error's type and botocore's structured kwargs only: a
    # credential_process's stderr, or a reply, is in its text.
    try:
        credentials = bs.get_credentials()
        keys = classify(credentials) if credentials is not None else None
        _redact.remember(*_redact.credentials_secrets(credentials))
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return None, None, failure(exc, bs)
    return credentials, keys, None


def failure(
    exc: botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError, bs: Any
) -> CredpickError:
    """botocore's error while session ``bs`` resolved its credentials, in credpick's words.

    Shared with ``credpick.aio.wrap`` (which calls it off the event loop: the close
    match reads the files). From the error's type and botocore's structured kwargs
    only: a credential_process's stderr, or a reply, is in its text.
    """
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        profile = exc.kwargs.get("profile", "?")
        known = _known_profiles(bs)
        near = _near.close_match(profile, known)
        return ConfigurationError(
            f"the session's profile '{profile}' is not defined"
            + _near.did_you_mean(profile, known),
            fix=f"build the session with profile_name='{near}'"
            if near
            else "define the profile in the AWS config file, or build the session without it",
        )
    provider = getattr(exc, "kwargs", {}).get("provider")
    named = isinstance(provider, str) and re.fullmatch(r"[\w-]{1,64}", provider, re.A)
    return SourceFailed(
        f"the session's credentials could not be resolved ({type(exc).__name__})",
        fix="check the session's profile and credential provider",
        evidence=(
            *([f"botocore provider {provider}"] if named else []),
            f"cause: {type(exc).__module__}.{type(exc).__name__}",
        ),
    )


def refused(
    keys: KeyClass, why: str, role: Candidate | None, fields: dict[str, Any], where: str
) -> StaticKeysRefused:
    """The error for refused keys (``where`` is the wrap function to name), audited."""
    what = f"long-lived key {keys.key_id} from {keys.origin}"
    audit("wrap", "refused", f"{what} refused: {why}", fields)
    return StaticKeysRefused(
        f"{what} refused: {why}",
        kind="static",
        evidence=(f"access key {keys.key_id}", f"botocore method {keys.method!r}"),
        fix=(f"drop the key and use {describe(role)}" if role else "use a role")
        + f", or call {where}(session, replace=True)",
    )


def _chained(
    wrapped: boto3.Session, chain: tuple[AssumeRole, ...], policy: Policy, keys: KeyClass
) -> boto3.Session:
    """A new session, in the same region, whose credentials assume ``chain`` from ``wrapped``'s."""
    from botocore.credentials import CredentialResolver

    from ._chain import assume
    from ._context import Context
    from ._session import _Loaded, _recording_features
    from .sources import BuildInputs

    bs = wrapped._session  # boto3 exposes no public accessor
    inputs = BuildInputs(
        context=Context.from_process(),
        policy=policy,
        botocore_session=bs,
        region=wrapped.region_name,
    )
    caller = f"the wrapped session (key {keys.key_id} from {keys.origin})"
    with _redact.boundary():
        base = bs.get_credentials()
    with _recording_features() as features:
        credentials = assume(base, chain, inputs, caller)
    fresh = botocore.session.Session()
    if profile := bs.get_config_variable("profile"):  # its settings, not its credentials
        fresh.set_config_variable("profile", profile)
    fresh.register_component(
        "credential_provider",
        CredentialResolver(providers=[_Loaded(credentials, "assume-role", frozenset(features))]),
    )
    return boto3.Session(botocore_session=fresh, region_name=wrapped.region_name)


def fields_of(keys: KeyClass, role: Candidate | None, region: str | None) -> dict[str, Any]:
    return {
        "kind": "static" if keys.long_lived else None,
        "key_id": keys.key_id,
        "method": keys.method,
        "origin": keys.origin,
        "long_lived": keys.long_lived,
        "role_source": role.kind.value if role else None,
        "region": region,
    }


def wrap(
    session: boto3.Session | botocore.session.Session,
    *,
    policy: Policy | None = None,
    replace: bool = False,
    assume_role: AssumeRole | Sequence[AssumeRole] | None = None,
) -> boto3.Session:
    """Check an existing session against the policy, in this runtime.

    Classifies the credentials ``session`` resolves to (explicit keys, a
    profile, the default chain...). Temporary credentials, and long-lived
    keys the policy allows, keep the session. Long-lived keys where a
    role-based source is usable (``"refuse-when-role"``, the default), or any
    long-lived key under ``"forbid"``, are refused, or, with ``replace=True``,
    swapped for a :func:`credpick.session` in the same region. With
    ``assume_role=``, the session kept, or the replacement, then assumes the
    role (or each role in turn), in a new session in the same region.

    Args:
        session: A ``boto3.Session`` or a ``botocore.session.Session``.
        policy: The policy; ``Policy()`` by default. Its hook and
            ``allow_imdsv1`` apply to the replacement session.
        replace: Return a credpick session instead of raising.
        assume_role: A :class:`credpick.AssumeRole`, or a sequence of them,
            to assume from the checked (or replacement) credentials.

    Returns:
        ``session`` itself when it complies (a ``boto3.Session`` wrapping it,
        if it was a botocore session), else the replacement; with
        ``assume_role=``, a new session holding the last role's credentials.

    Raises:
        StaticKeysRefused: Long-lived keys, refused, and ``replace`` is false.
        NoCredentialsFound: The session resolves to no credentials.
        SourceFailed: Its credential provider failed, or the replacement's
            did, or a role could not be assumed.
        ConfigurationError: Its profile is undefined, or a config file is unusable.

    .. versionadded:: 0.1.0
    """
    check_policy("wrap", policy)
    _validate.boolean("wrap", "replace", replace)
    policy = policy or Policy()
    chain: tuple[AssumeRole, ...] = ()
    if assume_role is not None:
        from ._chain import links
        from ._context import Context

        chain = links(assume_role, Context.from_process())
    bs = botocore_session(session)
    # Resolved first: an undefined profile is then a ConfigurationError, not
    # botocore's ProfileNotFound out of boto3.Session().
    keys = resolved_credentials(bs)[1]  # the credentials themselves are not kept
    wrapped = session if isinstance(session, boto3.Session) else boto3.Session(botocore_session=bs)
    why, role = refusal(keys, policy, lambda: runtime_role(policy))
    region = wrapped.region_name
    fields = fields_of(keys, role, region)
    what = f"long-lived key {keys.key_id} from {keys.origin}"
    if why is None:
        kept = f"kept session with key {keys.key_id} from {keys.origin}"
        if chain:
            wrapped = _chained(wrapped, chain, policy, keys)
            kept += "".join(f", then assumes {link.describe()}" for link in chain)
            fields["assume_role"] = [link.role_arn for link in chain]
        audit("wrap", "kept", kept, fields)
        return wrapped
    if not replace:
        raise refused(keys, why, role, fields, "credpick.wrap")
    from ._session import session as credpick_session

    try:
        fresh = credpick_session(policy=policy, region_name=region, assume_role=chain or None)
    except CredpickError:
        audit("wrap", "replace-failed", f"{what} refused ({why}); no replacement", fields)
        raise
    logger.warning(
        "replaced a session using %s (%s) with a credpick session (credentials method %r)",
        what,
        why,
        getattr(fresh.get_credentials(), "method", None),
    )
    if chain:
        fields["assume_role"] = [link.role_arn for link in chain]
    audit("wrap", "replaced", f"{what} replaced: {why}", fields)
    return fresh
