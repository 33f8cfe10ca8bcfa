"""credpick for asyncio: the same pick, handed to aiobotocore, refreshing off the loop.

One pipeline: :func:`session` makes the pick with the sync code
(:func:`credpick._session.resolve`: detection, ranking, provenance, policy) and
loads it with the same sources (:func:`credpick._session.build`), in a worker
thread, so the metadata probe, file reads and a ``credential_process`` never
block the event loop; every one of those steps is bounded by the same
:class:`~credpick.Timeouts`. What differs is the session: an
``aiobotocore.session.AioSession`` whose credentials are aiobotocore's own
``AioRefreshableCredentials`` (its ``asyncio.Lock``, its advisory and mandatory
windows: 64 tasks, one refresh). Their refresh awaits credpick's fetch of the
same source in a worker thread, translated and judged as the sync refresh is.

Needs ``credpick[aio]`` (aiobotocore).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

try:
    from aiobotocore.credentials import (
        AioCredentialResolver,
        AioCredentials,
        AioRefreshableCredentials,
    )
    from aiobotocore.session import AioSession
except ImportError as exc:  # the core keeps its four dependencies
    raise ImportError(
        "credpick.aio needs aiobotocore: pip install 'credpick[aio]'", name=exc.name
    ) from None

import attrs
import botocore.exceptions

from . import _redact, _session, _validate, _wrap
from ._context import Context, Timeouts
from ._detection import check_policy
from ._keys import KeyClass, classify
from ._policy import Policy
from ._report import audit
from .exceptions import ConfigurationError, CredpickError, NoCredentialsFound

if TYPE_CHECKING:
    from ._chain import AssumeRole

__all__ = ["session", "wrap"]

#: What the worker thread copies from the sync session it built: where the
#: files are, the profile, the User-Agent app id; the region is set apart.
_SETTINGS = ("config_file", "credentials_file", "profile", "user_agent_appid")


class _AioLoaded(_session._Loaded):
    """aiobotocore's face of the credentials credpick loaded (its resolver awaits ``load``)."""

    async def load(self) -> Any:
        return super().load()


def _prepare(
    *,
    policy: Policy | None,
    region_name: str | None,
    profile_name: str | None,
    role_arn: str | None,
    timeouts: Timeouts | None,
    context: Context | None,
    assume_role: AssumeRole | Sequence[AssumeRole] | None,
) -> tuple[_session.Built, str | None]:
    """In a worker thread: the sync pick and load, and the region (a source's own
    region is asked here, off the loop, where the sync session asks lazily)."""
    resolved = _session.resolve(
        "credpick.aio.session",
        policy=policy,
        region_name=region_name,
        profile_name=profile_name,
        role_arn=role_arn,
        timeouts=timeouts,
        context=context,
        assume_role=assume_role,
    )
    if isinstance(resolved, CredpickError):
        raise resolved
    detection, ctx, chosen_policy, given = resolved
    built = _session.build(detection, ctx, chosen_policy, given)
    region = detection.region or built.session.get_config_variable("region")
    return built, region


def _snapshot(credentials: Any) -> tuple[Any, Any]:
    """In a worker thread: the loaded set as it is now (no refresh) and its expiry."""
    frozen = credentials.get_frozen_credentials()
    return frozen, getattr(credentials, "_expiry_time", None)


def _threaded_refresh(credentials: Any) -> Any:
    """An async refresh: credpick's own (translated, judged) refresh of the source,
    in a worker thread; the sync set is kept in step, so the redaction boundary
    of the next refresh knows the secrets now in use."""
    refresh = credentials._refresh_using  # wrapped by _session and _obtained

    def refresh_in_step() -> Any:
        metadata = refresh()
        credentials._set_from_data(metadata)  # botocore's own setter, as its refresh does
        _redact.remember(*_redact.credentials_secrets(credentials))
        return metadata

    async def refresh_off_the_loop() -> Any:
        return await asyncio.to_thread(refresh_in_step)

    return refresh_off_the_loop


async def _aio_credentials(credentials: Any) -> Any:
    frozen, expiry = await asyncio.to_thread(_snapshot, credentials)
    method = getattr(credentials, "method", "credpick")
    # botocore carries the account on credentials since 1.37; older ones take no such argument.
    account = getattr(frozen, "account_id", None)
    extra = {"account_id": account} if account is not None else {}
    if not callable(getattr(credentials, "_refresh_using", None)) or expiry is None:
        return AioCredentials(
            frozen.access_key, frozen.secret_key, frozen.token, method=method, **extra
        )
    return AioRefreshableCredentials(
        frozen.access_key,
        frozen.secret_key,
        frozen.token,
        expiry,
        _threaded_refresh(credentials),
        method,
        time_fetcher=credentials._time_fetcher,
        # The source's own windows (botocore's defaults, or what its provider set).
        advisory_timeout=credentials._advisory_refresh_timeout,
        mandatory_timeout=credentials._mandatory_refresh_timeout,
        **extra,
    )


def _aio_session(built: _session.Built, region: str | None, credentials: Any) -> AioSession:
    aio = AioSession()
    for name in _SETTINGS:
        value = built.session.get_config_variable(name)
        if value is not None:
            aio.set_config_variable(name, value)
    if region is not None:
        aio.set_config_variable("region", region)
    loaded = _AioLoaded(credentials, credentials.method, built.features)
    aio.register_component("credential_provider", AioCredentialResolver(providers=[loaded]))
    return aio


async def session(
    *,
    profile_name: str | None = None,
    region_name: str | None = None,
    policy: Policy | None = None,
    role_arn: str | None = None,
    assume_role: AssumeRole | Sequence[AssumeRole] | None = None,
    timeouts: Timeouts | None = None,
    context: Context | None = None,
) -> AioSession:
    """An ``aiobotocore`` session from the safest credential source.

    The same pick as :func:`credpick.session` with the same arguments (see its
    docstring for each), made and loaded in a worker thread; the credentials
    refresh through aiobotocore's ``AioRefreshableCredentials``, each refresh's
    fetch in a worker thread, bounded by ``timeouts``.

    Args:
        profile_name: A profile to use.
        region_name: The region; else as :func:`credpick.session` finds it
            (a source's own region, such as the instance's, is asked now).
        policy: The policy; ``Policy()`` by default.
        role_arn: The role for web identity or GitHub OIDC.
        assume_role: A role, or a sequence of roles, to assume from the
            chosen source's credentials.
        timeouts: Probe, HTTP and ``credential_process`` timeouts.
        context: A prepared snapshot; by default, this process right now.

    Returns:
        An ``aiobotocore.session.AioSession`` whose credentials are loaded.

    Raises:
        StaticKeysRefused: Long-lived keys were refused.
        PolicyViolation: The policy's hook refused the pick.
        NoCredentialsFound: Nothing usable was found.
        SourceFailed: The chosen source could not deliver; never a fallback.
        ConfigurationError: A config file, an endpoint variable or an argument
            is unusable.

    .. versionadded:: 0.2.0
    """
    built, region = await asyncio.to_thread(
        _prepare,
        policy=policy,
        region_name=region_name,
        profile_name=profile_name,
        role_arn=role_arn,
        timeouts=timeouts,
        context=context,
        assume_role=assume_role,
    )
    credentials = await _aio_credentials(built.credentials)
    return _aio_session(built, region, credentials)


async def _resolved(aio: AioSession) -> KeyClass:
    """What the session resolves to, classified; aiobotocore's errors translated."""
    caught: botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError | None = None
    with _redact.boundary():
        try:
            credentials = await aio.get_credentials()
            frozen = await credentials.get_frozen_credentials() if credentials else None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            caught = exc
        else:
            if frozen is not None:
                _redact.remember(frozen.secret_key, frozen.token)
    if caught is not None:  # in words off the loop (a close match reads the files)
        failure = await asyncio.to_thread(_wrap.failure, caught, aio)
        del caught  # botocore's error, and its frames, stay out of the raising one
        raise failure
    if frozen is None or not frozen.access_key:
        raise NoCredentialsFound(
            "the session resolves to no credentials",
            fix="configure credentials for it, or build the session with credpick.aio.session()",
        )
    # No secret key: classify() needs the key id, the token and the method.
    seen = _Seen(frozen.access_key, frozen.token, getattr(credentials, "method", None))
    del credentials, frozen
    return classify(seen)


@attrs.frozen(repr=False)
class _Seen:
    access_key: str = attrs.field(repr=False)
    token: str | None = attrs.field(repr=False)
    method: str | None


async def wrap(
    aio_session: AioSession, *, policy: Policy | None = None, replace: bool = False
) -> AioSession:
    """Check an ``aiobotocore`` session someone else built, as :func:`credpick.wrap` does.

    Args:
        aio_session: An ``aiobotocore.session.AioSession``.
        policy: The policy; ``Policy()`` by default.
        replace: Return a :func:`session` in the same region instead of raising.

    Returns:
        ``aio_session`` itself when it complies, else the replacement.

    Raises:
        StaticKeysRefused: Long-lived keys, refused, and ``replace`` is false.
        NoCredentialsFound: The session resolves to no credentials.
        SourceFailed: Its credential provider failed, or the replacement's did.
        ConfigurationError: It is not an ``AioSession``, its profile is undefined,
            or a config file is unusable.

    .. versionadded:: 0.2.0
    """
    check_policy("credpick.aio.wrap", policy)
    _validate.boolean("credpick.aio.wrap", "replace", replace)
    if not isinstance(aio_session, AioSession):
        raise ConfigurationError(
            f"expected an aiobotocore.session.AioSession, not {type(aio_session).__name__}",
            fix="pass the session itself; for a boto3 or botocore session use credpick.wrap()",
        )
    policy = policy or Policy()
    keys = await _resolved(aio_session)
    # Detection (only when the answer depends on it) and the profile's region
    # read files, and may probe the metadata service: off the loop.
    why, role = await asyncio.to_thread(
        _wrap.refusal, keys, policy, lambda: _wrap.runtime_role(policy)
    )
    region = await asyncio.to_thread(aio_session.get_config_variable, "region")
    fields = _wrap.fields_of(keys, role, region)
    what = f"long-lived key {keys.key_id} from {keys.origin}"
    if why is None:
        audit("wrap", "kept", f"kept session with key {keys.key_id} from {keys.origin}", fields)
        return aio_session
    if not replace:
        raise _wrap.refused(keys, why, role, fields, "credpick.aio.wrap")
    try:
        fresh = await session(policy=policy, region_name=region)
    except CredpickError:
        audit("wrap", "replace-failed", f"{what} refused ({why}); no replacement", fields)
        raise
    _wrap.logger.warning("replaced a session using %s (%s) with a credpick session", what, why)
    audit("wrap", "replaced", f"{what} replaced: {why}", fields)
    return fresh
