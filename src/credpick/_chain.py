"""Role chaining: from the picked credentials, assume one role, or several in turn.

The base credentials come from the safest source, and the policy judges them
as usual. Each link then calls ``sts:AssumeRole`` with the credentials of the
link before it, through botocore's own ``AssumeRoleCredentialFetcher``: on
every refresh it re-reads the previous link, which refreshes itself first.
A link that fails is :class:`~credpick.SourceFailed`, never a fallback.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import botocore.exceptions
import botocore.parsers
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from . import _envvars as ev
from . import _redact
from ._role import AssumeRole
from .exceptions import ConfigurationError, CredpickError, SourceFailed

if TYPE_CHECKING:
    from ._context import Context
    from .sources._base import BuildInputs

__all__ = ["AssumeRole", "assume", "default_session_name", "links"]  # AssumeRole: compatibility

_NOT_NAME = re.compile(r"[^\w+=,.@-]+", re.A)
_STS_DEFAULT_DURATION = 3600


def default_session_name(ctx: Context) -> str:
    """A ``RoleSessionName`` that says where this runs; CloudTrail shows it.

    The Lambda function, else the ECS task (the metadata URI's last segment,
    else ``AWS_EXECUTION_ENV``), else the GitHub Actions run, else the host.
    """
    execution = ctx.get(ev.EXECUTION_ENV) or ""
    if function := ctx.get(ev.LAMBDA_FUNCTION_NAME):
        where = f"lambda-{function}"
    elif metadata := ctx.get(ev.ECS_METADATA_URI_V4):
        where = "ecs-" + metadata.rstrip("/").rsplit("/", 1)[-1]
    elif execution.startswith("AWS_ECS"):
        where = execution.lower().replace("_", "-")
    elif run_id := ctx.get(ev.GITHUB_RUN_ID):
        where = f"github-{run_id}"
    else:
        where = socket.gethostname() or "unknown-host"
    return _NOT_NAME.sub("-", f"credpick-{where}")[:64]


def links(value: object, ctx: Context) -> tuple[AssumeRole, ...]:
    """``assume_role=`` as a tuple, with default session names filled in.

    Raises:
        ConfigurationError: ``value`` is not an AssumeRole or a sequence of them.
    """
    items = (value,) if isinstance(value, AssumeRole) else value
    if (
        isinstance(items, str | bytes)
        or not isinstance(items, Sequence)
        or not all(isinstance(i, AssumeRole) for i in items)
    ):
        raise ConfigurationError(
            f"assume_role= takes a credpick.AssumeRole or a sequence of them, not {type(value).__name__}",
            fix="pass assume_role=credpick.AssumeRole('arn:aws:iam::ACCOUNT:role/NAME')",
        )
    # One name for every link: computed once, and only when a link needs it.
    name = default_session_name(ctx) if any(i.session_name is None for i in items) else None
    return tuple(i if i.session_name else attrs.evolve(i, session_name=name) for i in items)


def _extra_args(link: AssumeRole) -> dict[str, Any]:
    args = {
        "RoleSessionName": link.session_name,
        "ExternalId": link.external_id,
        "DurationSeconds": link.duration_seconds,
        "SourceIdentity": link.source_identity,
        "Tags": [{"Key": k, "Value": v} for k, v in link.tags.items()] if link.tags else None,
    }
    return {k: v for k, v in args.items() if v is not None}


class _LinkCredentials(DeferredRefreshableCredentials):  # type: ignore[misc]
    """Credentials of one link, with refresh windows scaled to its lifetime.

    botocore refreshes 15 minutes before expiry (10 minutes, blocking): a
    15-minute session would call STS before every request. A third and a
    sixth of the lifetime, capped at botocore's values, keep that away.
    """

    def __init__(self, refresh_using: Callable[[], Any], lifetime: int) -> None:
        super().__init__(refresh_using=refresh_using, method="assume-role")
        self._advisory_refresh_timeout = min(15 * 60, lifetime // 3)
        self._mandatory_refresh_timeout = min(10 * 60, lifetime // 6)


_REJECTED = "STS did not accept the credentials of {caller}"
_FIXES = {
    "ValidationError": "check duration_seconds (at most 3600 when chaining, and within the "
    "role's maximum session duration), session_name, source_identity and tags",
    "RegionDisabledException": "activate STS in this region, or set another AWS_REGION",
    "PackedPolicyTooLarge": "send fewer or shorter session tags",
    "ExpiredToken": _REJECTED,
    "ExpiredTokenException": _REJECTED,
    "InvalidClientTokenId": _REJECTED,
}


def _fix(code: str, link: AssumeRole, caller: str) -> str:
    if code != "AccessDenied":
        fix = _FIXES.get(code, "check that {caller} may assume {role}")
        return fix.format(caller=caller, role=link.role_arn)
    fix = (
        f"the trust policy of {link.role_arn} must allow {caller} to call sts:AssumeRole "
        "(and the caller's own policy must allow it on the role)"
    )
    if link.external_id is not None:  # a wrong one is AccessDenied too
        return f"{fix}; check the external id: it must match the role's sts:ExternalId condition"
    return f"{fix}; if the role's owner requires an external id, pass AssumeRole(external_id=...)"


def _failure(
    exc: Exception, link: AssumeRole, n: int, total: int, caller: str, sts: str
) -> SourceFailed:
    # Written from the error code, never from STS's message, as in _failures.translate.
    # ``sts`` is the place: "STS at URL (AWS_ENDPOINT_URL_STS)" or its default endpoint.
    role = link.role_arn
    if isinstance(exc, botocore.exceptions.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        reason = f"AssumeRole of {role} was rejected with {code} by {sts}"
        fix = _fix(code, link, caller)
    elif isinstance(exc, botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError):
        reason = f"AssumeRole of {role} failed: {sts} is unreachable ({type(exc).__name__})"
        fix = "check the network path to STS (or AWS_ENDPOINT_URL_STS)"
    elif isinstance(exc, KeyError | botocore.parsers.ResponseParserError):  # a proxy, a portal
        reason = (
            f"AssumeRole of {role} failed: the reply of {sts} is missing fields or cannot be parsed"
        )
        fix = "check that AWS_ENDPOINT_URL_STS, if set, points at STS"
    elif isinstance(exc, botocore.exceptions.NoRegionError):  # a custom STS endpoint needs one
        reason = f"AssumeRole of {role} failed: no region to sign the STS request for"
        fix = "set AWS_REGION, or pass region_name="
    else:
        reason, fix = f"AssumeRole of {role} failed: {type(exc).__name__}", None
    evidence = (
        f"link {n} of {total}: {link.describe()}",
        f"assumed with the credentials of {caller}",
        f"cause: {type(exc).__module__}.{type(exc).__name__}",
    )
    return SourceFailed(reason, kind="assume-role", evidence=evidence, fix=fix)


def _refresher(
    fetcher: Any, link: AssumeRole, n: int, total: int, caller: str, sts: str
) -> Callable[[], Any]:
    def refresh() -> Any:
        failure: CredpickError | None = None
        # The previous link's secrets are known: botocore signs with them.
        with _redact.boundary(_redact.credentials_secrets(fetcher._source_credentials)):
            try:
                return fetcher.fetch_credentials()
            except CredpickError as exc:  # the previous link failed, and said so
                failure = exc.with_traceback(None)
            except Exception as exc:
                failure = _failure(exc, link, n, total, caller, sts)
        # Raised outside the except block: no __context__ to reach STS's reply.
        assert failure is not None
        raise failure

    return refresh


def assume(base: Any, chain: Sequence[AssumeRole], inputs: BuildInputs, caller: str) -> Any:
    """Credentials of the chain's last role, each link loaded now.

    Args:
        base: The picked source's botocore credentials.
        chain: The roles, first to last.
        inputs: Where STS clients come from (the context's endpoint, bounded timeouts).
        caller: The base, in words, for errors.

    Returns:
        Refreshable credentials of the last role.

    Raises:
        SourceFailed: A link could not be assumed, now or on a later refresh.
    """
    credentials = base
    sts = inputs.context.endpoint_place("sts", "STS")
    for n, link in enumerate(chain, 1):
        lifetime = link.duration_seconds or _STS_DEFAULT_DURATION
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=inputs.client_creator(),
            source_credentials=credentials,
            role_arn=link.role_arn,
            extra_args=_extra_args(link),
            expiry_window_seconds=min(15 * 60, lifetime // 3),  # as the advisory window
        )
        refresh = _refresher(fetcher, link, n, len(chain), caller, sts)
        credentials = _LinkCredentials(refresh, lifetime)
        credentials.get_frozen_credentials()  # fail now, not on first call
        caller = link.role_arn
    return credentials
