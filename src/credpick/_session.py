"""Build the boto3 Session from the chosen candidate, with botocore's providers.

This is the one boundary where botocore's and the OS's exceptions become
:class:`~credpick.SourceFailed` (the words are in :mod:`._failures`). Messages
are written from structured facts (an error code, an HTTP status), never copied
from a response body, which may hold a secret.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver

from . import _envvars as ev
from . import _files, _redact, _region
from ._context import Context, Timeouts, argument_error
from ._detect import detect
from ._detection import Detection
from ._keys import classify
from ._model import Candidate, SourceKind, account_of
from ._obtained import watch
from ._policy import Policy
from ._report import audit
from .exceptions import CredpickError, SourceFailed

if TYPE_CHECKING:
    from ._built import Built as Built
    from ._chain import AssumeRole
    from .sources import BuildInputs
    from .sources._explicit import ExplicitKeys


class _Loaded(CredentialProvider):  # type: ignore[misc]
    """Hands botocore the credentials credpick already loaded and checked.

    botocore marks the source that signed in each client's User-Agent
    (``m/`` feature ids: ``g`` for environment keys, ``k`` for web identity...),
    registered while its providers load. credpick loads before any client
    exists, so it keeps what the providers registered and gives it back to
    every client it is asked for, as botocore's own chain does.
    """

    def __init__(self, credentials: Any, method: str, features: frozenset[str]) -> None:
        super().__init__()
        self._credentials = credentials
        self._features = features
        self.METHOD = method

    def load(self) -> Any:
        context = _ua_context()
        if context is not None:
            context.features.update(self._features)
        return self._credentials


def _ua_context() -> Any:
    try:  # botocore 1.36+; older versions send no feature ids at all
        from botocore.context import get_context
    except ImportError:
        return None
    return get_context()


@contextlib.contextmanager
def _recording_features() -> Iterator[set[str]]:
    """Collect the User-Agent feature ids botocore's providers register inside."""
    features: set[str] = set()
    try:
        from botocore.context import start_as_current_context
    except ImportError:
        start_as_current_context = None
    if start_as_current_context is None:
        # Outside the except: an error raised in the block must not chain the ImportError.
        yield features
        return
    with start_as_current_context():
        try:
            yield features
        finally:
            context = _ua_context()
            features.update(getattr(context, "features", ()))


def app_id(ctx: Context, profile: str | None, kind: SourceKind) -> str:
    """The user agent app id: the user's own, if any, then ``credpick.<kind>``.

    CloudTrail's ``userAgent`` then shows how the caller authenticated
    (``app/credpick.ec2-instance-profile``). ``|`` and ``.`` survive botocore's
    sanitising in every version since 1.34.41.
    """
    name = profile or ctx.active_profile()[0]
    theirs = ctx.get(ev.SDK_UA_APP_ID) or _files.load(ctx).profile(name).get("sdk_ua_app_id")
    ours = f"credpick.{kind.value}"
    return f"{theirs}|{ours}" if theirs else ours


def _expiry(credentials: Any) -> Any:
    # botocore keeps the expiry of refreshable credentials only in a private
    # attribute; it is an audit nicety, so a missing one is simply left out.
    return getattr(credentials, "_expiry_time", None)


def audit_fields(
    chosen: Candidate, credentials: Any, region: str | None, region_source: str | None
) -> Mapping[str, Any]:
    """What an audit record says about a session: never a secret."""
    keys = classify(credentials)
    # The account botocore carries on the credentials (1.37+), else the chain's.
    account = getattr(credentials, "account_id", None) or chosen.provenance.root.account
    return {
        "kind": chosen.kind.value,
        "origin": chosen.origin,
        "evidence": chosen.evidence,
        "key_id": keys.key_id,
        "method": keys.method,
        "long_lived": keys.long_lived,
        "role_arn": chosen.role_arn,
        "profile": chosen.profile,
        "expiry": _expiry(credentials),
        "region": region,
        "region_source": region_source,
        "account": account if isinstance(account, str) else account_of(chosen.role_arn),
        "provenance": chosen.provenance.to_dict(),
    }


def _audit_session(detection: Detection, credentials: Any) -> None:
    chosen = detection.chosen
    if chosen is None or not logging.getLogger("credpick").isEnabledFor(logging.INFO):
        return
    fields = dict(audit_fields(chosen, credentials, detection.region, detection.region_source))
    parts = [f"{chosen.kind.value} from {chosen.origin}", f"key {fields['key_id']}"]
    if chosen.role_arn:
        parts.append(f"role {chosen.role_arn}")
    if detection.chain:  # the key above is the last role's
        parts += [f"then assumes {link.describe()}" for link in detection.chain]
        fields["assume_role"] = [link.role_arn for link in detection.chain]
    if fields["expiry"] is not None:
        parts.append(f"expires {fields['expiry']:%Y-%m-%dT%H:%M:%SZ}")
    if detection.region is not None:
        parts.append(f"region {detection.region} from {detection.region_source}")
    elif detection.region_source is not None:
        parts.append(f"region from {detection.region_source} on first use")
    else:
        parts.append("no region")
    audit("session", "chosen", ", ".join(parts), fields)


def translate(exc: BaseException, chosen: Candidate, ctx: Context | None = None) -> SourceFailed:
    """:func:`credpick._failures.translate`, imported on the first failure: a
    session that loads its credentials never needs it."""
    from ._failures import translate as words

    return words(exc, chosen, ctx)


def _translating(
    refresh: Callable[[], Any],
    chosen: Candidate,
    known: Callable[[], Sequence[object]],
    context: Context | None = None,
) -> Callable[[], Any]:
    """Wrap a refresh function so later failures are SourceFailed too, and
    botocore's log records of the refresh are redacted."""

    def refresh_or_fail() -> Any:
        failure: CredpickError | None = None
        with _redact.boundary(known()):
            try:
                return refresh()
            except CredpickError as exc:
                failure = _clean(exc)
            except Exception as exc:
                failure = translate(exc, chosen, context)
        # Raised outside the except block: no __context__ to reach the reply.
        assert failure is not None
        raise failure

    return refresh_or_fail


def _clean(exc: CredpickError) -> CredpickError:
    """A fresh copy of a source's own error: same fields, no chain, no frames.

    A source may raise inside an ``except`` (its ``__context__`` is then the
    low-level error) from a frame that holds the reply; the copy keeps neither.
    """
    rebuild, args = cast("tuple[Callable[..., object], tuple[object, ...]]", exc.__reduce__())
    fresh = rebuild(*args)
    assert isinstance(fresh, CredpickError)
    return fresh


def _known(context: Context, credentials: Any = None) -> list[object]:
    return [*_redact.context_secrets(context), *_redact.credentials_secrets(credentials)]


def _load(chosen: Candidate, inputs: BuildInputs) -> Any:
    with _redact.boundary(_known(inputs.context)):
        credentials, failure = _first_load(chosen, inputs)
    if failure is not None:  # raised here, outside the except that caught the cause
        raise failure
    return credentials


def _first_load(chosen: Candidate, inputs: BuildInputs) -> tuple[Any, CredpickError | None]:
    from .sources import BY_KIND

    try:
        # Keys passed in code are built by the static source, temporary ones too.
        kind = SourceKind.STATIC if chosen.params.get("store") == "explicit" else chosen.kind
        credentials = BY_KIND[kind].build(chosen, inputs).load()
        if credentials is None:
            return None, SourceFailed("the source returned no credentials", kind=chosen.kind.value)
        # A refresh in an hour must fail the same way as the first load. botocore
        # keeps the refresh function in this attribute since RefreshableCredentials began.
        refresh = getattr(credentials, "_refresh_using", None)
        if callable(refresh):
            context = inputs.context
            credentials._refresh_using = _translating(
                refresh, chosen, lambda: _known(context, credentials), context
            )
        credentials.get_frozen_credentials()  # load eagerly: fail now, not on first call
        _redact.remember(*_redact.credentials_secrets(credentials))
        watch(credentials, chosen, inputs.policy)  # judge what was loaded, now and on refresh
    except CredpickError as exc:
        return None, _clean(exc)
    except Exception as exc:  # the one translation boundary
        return None, translate(exc, chosen, inputs.context)
    return credentials, None


def session(
    *,
    policy: Policy | None = None,
    region_name: str | None = None,
    profile_name: str | None = None,
    role_arn: str | None = None,
    timeouts: Timeouts | None = None,
    context: Context | None = None,
    assume_role: AssumeRole | Sequence[AssumeRole] | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
) -> boto3.Session:
    """A ``boto3.Session`` from the safest credential source.

    With ``assume_role=``, the session then assumes each role in turn (see
    :class:`credpick.AssumeRole`), each link refreshing itself.

    Detects every source (see :func:`credpick.detect`), applies the policy,
    and loads the chosen source's credentials eagerly, through botocore's
    own providers, so they refresh as botocore's do.

    Args:
        policy: The policy; ``Policy()`` by default.
        region_name: The region; else ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
            the profile's ``region``, then, when the instance profile is the
            chosen source, the instance's own region (asked when a client
            first needs it; one request, cached).
        profile_name: A profile to use.
        role_arn: The role for web identity or GitHub OIDC.
        timeouts: Probe timeouts.
        context: A prepared snapshot; by default, this process right now.
        assume_role: A role, or a sequence of roles, to assume from the
            chosen source's credentials; the policy judges that source.

    Returns:
        A session whose credentials (the last role's, with a chain) are
        already loaded.

    Raises:
        StaticKeysRefused: Long-lived keys were refused.
        PolicyViolation: The policy's hook refused the pick.
        NoCredentialsFound: Nothing usable was found.
        SourceFailed: The chosen source could not deliver, or a role of the
            chain could not be assumed (kind ``"assume-role"``).
        ConfigurationError: A config file, an endpoint variable or an argument
            is unusable (an argument of the wrong type names it).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 Arguments are checked, with ``ConfigurationError``.
    """
    resolved = resolve(
        "session",
        policy=policy,
        profile_name=profile_name,
        role_arn=role_arn,
        region_name=region_name,
        timeouts=timeouts,
        context=context,
        assume_role=assume_role,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
    )
    # The caller's raw keys leave this frame's locals: an error's traceback keeps them.
    del aws_access_key_id, aws_secret_access_key, aws_session_token
    if isinstance(resolved, CredpickError):
        raise resolved
    detection, context, policy, given = resolved
    botocore_session, _, _ = _build(detection, context, policy, given)
    return boto3.Session(botocore_session=botocore_session, region_name=detection.region)


def resolve(
    where: str,
    *,
    policy: Policy | None,
    region_name: str | None,
    profile_name: str | None,
    role_arn: str | None,
    timeouts: Timeouts | None,
    context: Context | None,
    assume_role: AssumeRole | Sequence[AssumeRole] | None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
) -> tuple[Detection, Context, Policy, ExplicitKeys | None] | CredpickError:
    """Check the arguments, detect, and apply the policy: the pick, or its error.

    Shared by :func:`session` and ``credpick.aio.session`` (``where`` names the
    function in an argument's error), so both decide the same way. The error is
    returned, not raised: the caller drops the keys from its frame first, so no
    traceback keeps them.
    """
    wrong = argument_error(
        where,
        policy=policy,
        timeouts=timeouts,
        context=context,
        names={"profile_name": profile_name, "role_arn": role_arn, "region_name": region_name},
        secrets={
            "aws_access_key_id": aws_access_key_id,
            "aws_secret_access_key": aws_secret_access_key,
            "aws_session_token": aws_session_token,
        },
    )
    if wrong is not None:
        return wrong
    from .sources import static

    given = static.explicit_keys(aws_access_key_id, aws_secret_access_key, aws_session_token)
    policy = policy or Policy()
    if context is None:
        context = Context.from_process(
            profile_name=profile_name, role_arn=role_arn, timeouts=timeouts
        )
        profile_name = role_arn = timeouts = None
    detection = detect(
        policy=policy,
        profile_name=profile_name,
        role_arn=role_arn,
        region_name=region_name,
        timeouts=timeouts,
        context=context,
        assume_role=assume_role,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
    )
    # The caller's raw keys leave this frame's locals: an error's traceback keeps them.
    del aws_access_key_id, aws_secret_access_key, aws_session_token
    if detection.error is not None:  # a copy: detection's own may chain a parser's error
        return _clean(detection.error)
    return detection, context, policy, given


def build(
    detection: Detection, context: Context, policy: Policy, given: ExplicitKeys | None
) -> Built:
    """Build the botocore session for a detection's pick and load its credentials.

    Raises:
        SourceFailed: The chosen source (or a role of the chain) could not deliver.
        StaticKeysRefused: What was loaded is long-lived, and refused.
    """
    from ._built import Built  # for credpick.aio: session() needs the botocore session only

    return Built(*_build(detection, context, policy, given))


def _build(
    detection: Detection, context: Context, policy: Policy, given: ExplicitKeys | None
) -> tuple[Any, Any, frozenset[str]]:
    """:func:`build`'s botocore session, credentials and feature ids."""
    chosen = detection.chosen
    assert chosen is not None  # resolve() raised any error
    region = detection.region
    bs = botocore.session.Session()
    bs.set_config_variable("config_file", str(context.config_file))
    bs.set_config_variable("credentials_file", str(context.credentials_file))
    if chosen.profile:
        bs.set_config_variable("profile", chosen.profile)
    if region is None:
        _region.install_source_region(bs, context, chosen)
    bs.set_config_variable("user_agent_appid", app_id(context, chosen.profile, chosen.kind))
    from .sources import BuildInputs

    inputs = BuildInputs(
        context=context,
        policy=policy,
        botocore_session=bs,
        region=region,
        explicit_keys=given,
    )
    with _recording_features() as features:
        credentials = _load(chosen, inputs)
        if detection.chain:
            from ._chain import assume

            caller = f"{chosen.kind.value} ({chosen.role_arn or chosen.origin})"
            credentials = assume(credentials, detection.chain, inputs, caller)
    method = getattr(credentials, "method", "credpick")
    bs.register_component(
        "credential_provider",
        CredentialResolver(providers=[_Loaded(credentials, method, frozenset(features))]),
    )
    _audit_session(detection, credentials)
    return bs, credentials, frozenset(features)
