"""The one way through: context -> detect every source -> rank -> policy."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

import attrs

from . import _files, _region
from ._context import Context, Timeouts, argument_error
from ._detection import Detection
from ._mask import scrub
from ._model import Candidate, SourceKind, Status
from ._near import close_match, did_you_mean
from ._policy import Policy, apply, long_lived_key
from .exceptions import ConfigurationError, PolicyViolation

if TYPE_CHECKING:
    from ._role import AssumeRole
    from .sources import NetworkSource

logger = logging.getLogger("credpick")


def _check_profile(ctx: Context) -> None:
    name, explicit = ctx.active_profile()
    files = _files.load(ctx)
    if explicit and not files.knows(name):
        origin = ctx.profile_origin()
        near = close_match(name, files.names())
        raise ConfigurationError(
            f"profile '{name}' (from {origin}) is not defined{did_you_mean(name, files.names())}",
            evidence=(f"{ctx.config_file}", f"{ctx.credentials_file}"),
            fix=f"set {origin} to '{near}', or add [profile {name}] to {ctx.config_file}"
            if near
            else f"add [profile {name}] to {ctx.config_file}, or fix {origin}",
        )


def _check_role_arn(ctx: Context, found: list[Candidate]) -> None:
    # role_arn= names the role for a web identity token; with no token to
    # present it would be silently ignored, which is worse than an error.
    users = (SourceKind.WEB_IDENTITY, SourceKind.GITHUB_OIDC)
    if ctx.role_arn and not any(c.kind in users and c.role_arn == ctx.role_arn for c in found):
        raise ConfigurationError(
            f"role_arn={ctx.role_arn} needs a web identity token to assume it with, and none was found",
            evidence=("no AWS_WEB_IDENTITY_TOKEN_FILE", "no ACTIONS_ID_TOKEN_REQUEST_URL"),
            fix="run where a web identity token is available (EKS IRSA, GitHub Actions with "
            "id-token: write), or drop role_arn=",
        )


def gather(ctx: Context) -> tuple[list[Candidate], list[str]]:
    """Every candidate the context offers, and every place looked."""
    # Imported here: the sources are the bulk of credpick, and `import credpick`
    # must stay cheap for processes that never ask.
    from .sources import SOURCES, absorb

    _check_profile(ctx)
    found: list[Candidate] = []
    looked: list[str] = []
    networked: list[NetworkSource] = []
    for source in SOURCES:
        if getattr(source, "NETWORK", False):
            networked.append(cast("NetworkSource", source))
            continue
        found += source.detect(ctx)
        looked.append(f"{source.KIND.value}: {source.LOOKS_AT}")
    _check_role_arn(ctx, found)
    # Last: whether asking the network is worth it depends on what the cheap
    # sources found, and each such source says so itself.
    for net in networked:
        why_not = net.skip(ctx, found)
        if why_not is not None:
            looked.append(f"{net.KIND.value}: not probed ({why_not})")
            continue
        found += net.detect(ctx)
        looked.append(f"{net.KIND.value}: {net.looked(ctx)}")
    return absorb(found), looked


# Each warning once per process and configuration, as Python's own warnings:
# session() detects, and a detect() after it (the README's two lines) would say
# the same thing again. A repeat goes to DEBUG; another key, reason or home
# directory (a test's isolated one) warns again.
_WARNED: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
_WARNED_MAX = 256
_WARNED_LOCK = threading.Lock()


def _warn_once(ctx: Context, message: str, *args: object) -> None:
    key = (str(ctx.home), message % args)
    with _WARNED_LOCK:
        repeated = key in _WARNED
        _WARNED[key] = None
        _WARNED.move_to_end(key)
        while len(_WARNED) > _WARNED_MAX:
            _WARNED.popitem(last=False)
    logger.log(logging.DEBUG if repeated else logging.WARNING, message, *args)


def _log(detection: Detection, ctx: Context) -> None:
    for c in detection.candidates:
        if c.status is Status.IGNORED:
            _warn_once(
                ctx,
                "%s ignored: %s; remove it",
                long_lived_key(c),  # the root's key, for a chain that stands on one
                c.reason,
            )
    chosen = detection.chosen
    if detection.error is None and chosen is not None and chosen.rooted_in_long_lived:
        _warn_once(ctx, "using %s: no role-based source is available", long_lived_key(chosen))


def _shown(value: object) -> str:
    """A hook's return value in words: short, and scrubbed of key ids."""
    text = repr(value) if isinstance(value, bool | int | float | str) else type(value).__name__
    return scrub(text if len(text) <= 60 else text[:57] + "...")


def _hook_verdict(
    hook: Callable[[Detection], object], detection: Detection
) -> PolicyViolation | None:
    """Run the hook: ``None`` accepts; any other value, or any exception, refuses.

    The error for a hook that failed is built from its type, outside the
    ``except`` block, so it carries no ``__context__`` (the hook's exception
    and its frames may hold anything)."""
    failure = None
    try:
        returned = hook(detection)
    except PolicyViolation as exc:
        return exc
    except Exception as exc:
        failure = f"{type(exc).__module__}.{type(exc).__qualname__}"
        returned = None
    kind = detection.chosen.kind.value if detection.chosen else None
    fix = "fix the policy hook: return None to accept, raise PolicyViolation or return False to refuse"
    if failure is not None:
        return PolicyViolation(f"the policy hook raised {failure}", kind=kind, fix=fix)
    if returned is None:
        return None
    return PolicyViolation(
        f"the policy hook returned {_shown(returned)}, which refuses the pick",
        kind=kind,
        fix="return None from the hook to accept the pick",
    )


def detect(
    *,
    policy: Policy | None = None,
    profile_name: str | None = None,
    role_arn: str | None = None,
    region_name: str | None = None,
    timeouts: Timeouts | None = None,
    context: Context | None = None,
    assume_role: AssumeRole | Sequence[AssumeRole] | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
) -> Detection:
    """Find every credential source, rank them, and apply the policy.

    No session is built and no credentials are fetched; the only network
    call is the gated instance-metadata probe. Sources, safest first:

    1. ``lambda``, ``ecs``, ``eks-pod-identity``, ``web-identity``
    2. ``github-oidc``
    3. ``ec2-instance-profile`` (probed only when nothing above decided)
    4. ``sso``
    5. ``assume-role``, ``credential-process``, ``container``
    6. ``env-session`` (temporary keys in the environment)
    7. ``static`` (long-lived keys)

    An explicit choice (``profile_name=``, ``AWS_PROFILE``, ``role_arn=``)
    beats the ranking, but never picks long-lived keys where a role exists.

    Args:
        policy: The policy to apply; ``Policy()`` by default.
        profile_name: A profile to use, as with ``boto3.Session(profile_name=)``.
        role_arn: The role for web identity or GitHub OIDC (beats ``AWS_ROLE_ARN``).
        region_name: The region, as :func:`credpick.session` would take it; the
            detection reports the region and where it came from either way.
        timeouts: Probe timeouts.
        context: A prepared snapshot; by default, this process right now.
        assume_role: Roles a session would assume, in turn, from the chosen
            source (:class:`credpick.AssumeRole`); reported in
            :attr:`Detection.chain`. Nothing is assumed here.
        aws_access_key_id: Keys :func:`credpick.session` would be passed, so
            the detection gives its verdict on them: a ``static`` candidate
            (``env-session`` when temporary) with ``explicit=True``. Only the
            masked id is kept; half a pair is a ``ConfigurationError``.
        aws_secret_access_key: The secret of those keys.
        aws_session_token: Their session token, if temporary.

    Returns:
        The detection. Problems are in :attr:`Detection.error`, not raised.

    Raises:
        ConfigurationError: An argument of the wrong type (``policy="forbid"``,
            ``timeouts=5``, ``region_name=5``): a mistake in the calling code,
            not in what the detection found.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 Arguments are checked, with ``ConfigurationError``.
    """
    wrong = argument_error(
        "detect",
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
        del aws_access_key_id, aws_secret_access_key, aws_session_token  # out of the traceback
        raise wrong
    policy = policy or Policy()
    if context is None:
        context = Context.from_process(
            profile_name=profile_name, role_arn=role_arn, timeouts=timeouts
        )
    elif profile_name or role_arn or timeouts:
        context = attrs.evolve(
            context,
            profile_name=profile_name or context.profile_name,
            role_arn=role_arn or context.role_arn,
            timeouts=timeouts or context.timeouts,
        )
    given = None
    if aws_access_key_id or aws_secret_access_key or aws_session_token:
        from .sources import static

        given = static.explicit(aws_access_key_id, aws_secret_access_key, aws_session_token)
    del aws_access_key_id, aws_secret_access_key, aws_session_token  # none left in this frame
    chain: tuple[AssumeRole, ...] = ()
    try:
        if isinstance(given, ConfigurationError):
            raise given
        if assume_role is not None:  # only then: no chain, no import
            from ._chain import links

            chain = links(assume_role, context)
        found, looked = gather(context)
        if given is not None:
            found.append(given)
    except ConfigurationError as exc:
        region, source = _region.resolve(context, region_name, None)
        return Detection(
            candidates=(),
            chosen=None,
            error=exc,
            looked=(),
            policy=policy,
            region=region,
            region_source=source,
            chain=chain,
        )
    candidates, chosen, error = apply(found, policy, looked)
    region, source = _region.resolve(context, region_name, chosen)
    detection = Detection(
        candidates=candidates,
        chosen=chosen,
        error=error,
        looked=tuple(looked),
        policy=policy,
        region=region,
        region_source=source,
        chain=chain,
    )
    refusal = _hook_verdict(policy.hook, detection) if error is None and policy.hook else None
    if refusal is not None:
        refused = (
            attrs.evolve(
                chosen, status=Status.REFUSED, reason=f"by the policy hook: {refusal.reason}"
            )
            if chosen
            else None
        )
        rest = detection.candidates[1:] if chosen else detection.candidates
        detection = attrs.evolve(
            detection,
            candidates=((refused,) if refused else ()) + rest,
            chosen=refused,
            error=refusal,
        )
    _log(detection, context)
    return detection
