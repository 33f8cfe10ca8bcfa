"""The build boundary's translation: a lower-level failure becomes a SourceFailed.

Every message names the source, the place that failed (an endpoint, shown as
``display_url`` shows it, and the variable that set it; or a file), the cause in
plain words, and a fix. It is classified by what failed: the exception's type,
botocore's structured fields and the chosen source, never by searching its text
(a ``credential_process``'s stderr or an endpoint's reply may say anything).
"""

from __future__ import annotations

import re

import botocore.exceptions
import botocore.parsers

from . import _envvars as ev
from ._context import Context
from ._mask import display_url
from ._model import Candidate, SourceKind
from .exceptions import SourceFailed

_STS_FIXES = {
    "InvalidIdentityToken": "STS rejected the token: check the role's trust policy "
    "(the OIDC provider, audience and subject conditions)",
    "ExpiredTokenException": "the token has expired: check that the token file is refreshed",
    "AccessDenied": "the role's trust policy does not allow this caller to assume it",
    "IDPCommunicationError": "STS could not reach the identity provider; retry",
}
_RETRY_LATER = "the service failed on its side: retry later"
_THROTTLED = "the service is throttling these calls: retry later, or call it less often"
_CODE_FIXES = {
    "InternalFailure": _RETRY_LATER,
    "InternalServerException": _RETRY_LATER,
    "ServiceUnavailable": _RETRY_LATER,
    "Throttling": _THROTTLED,
    "ThrottlingException": _THROTTLED,
    "TooManyRequestsException": _THROTTLED,
    "RequestLimitExceeded": _THROTTLED,
}
_SSO_DENIED = ("ForbiddenException", "UnauthorizedException", "AccessDeniedException")

# Sources whose credentials come from STS, and which service each kind calls.
_STS_KINDS = (SourceKind.WEB_IDENTITY, SourceKind.GITHUB_OIDC, SourceKind.ASSUME_ROLE)
_CONTAINER_KINDS = (SourceKind.ECS, SourceKind.EKS_POD_IDENTITY, SourceKind.CONTAINER)

# The status botocore's container and metadata fetchers write at the start of
# their own message ("Received non 200 response 500 from ..."). Read only from
# those fetchers' errors (see _http_status); anything after "from" may quote the reply.
_STATUS = re.compile(
    r"(?:Error when retrieving credentials from [\w-]+: )?(?:Error retrieving metadata: )*"
    r"Received non 200 response ([45]\d\d) from"
)
_FETCHERS = ("container-role",)


def _service_endpoint(ctx: Context | None, service: str, label: str) -> str:
    if ctx is None:
        return f"{label} (its default endpoint)"
    return ctx.endpoint_place(service, label)


def where(exc: BaseException, chosen: Candidate, ctx: Context | None) -> str:
    """The place that failed, in words: an endpoint and what set it."""
    kind = chosen.kind
    from .sources import BY_KIND

    own = getattr(BY_KIND.get(kind), "place", None)  # a source that says where it asks
    if own is not None and ctx is not None:
        return str(own(chosen, ctx))
    if kind in _STS_KINDS:
        return _service_endpoint(ctx, "sts", "STS")
    if kind is SourceKind.SSO:
        return _service_endpoint(ctx, "sso", "the IAM Identity Center portal")
    if kind in _CONTAINER_KINDS and chosen.params.get("uri"):
        variable = (
            ev.CONTAINER_FULL_URI
            if ctx is not None and ctx.get(ev.CONTAINER_FULL_URI)
            else ev.CONTAINER_RELATIVE_URI
        )
        return f"the credential endpoint {display_url(chosen.params['uri'])} ({variable})"
    if chosen.params.get("endpoint"):  # a source that records the endpoint it asks
        return f"{chosen.origin} at {display_url(chosen.params['endpoint'])}"
    url = getattr(exc, "kwargs", {}).get("endpoint_url")
    if isinstance(url, str) and url:
        return display_url(url)
    return f"the {kind.value} source ({chosen.origin})"


def _http_status(exc: BaseException, chosen: Candidate) -> str | None:
    """The HTTP status of a container or metadata fetch; ``None`` for anything else.

    Only those fetchers' errors are read: any other provider's message (a
    program's stderr) could read "503" without any HTTP at all."""
    # The metadata source raises its own SourceFailed (sources.imds): only
    # botocore's container fetcher words its errors this way.
    if chosen.kind not in _CONTAINER_KINDS:
        return None
    if isinstance(exc, botocore.exceptions.CredentialRetrievalError) and (
        exc.kwargs.get("provider") not in _FETCHERS
    ):
        return None
    found = _STATUS.match(str(exc))
    return found.group(1) if found else None


def _file_problem(exc: OSError, chosen: Candidate) -> tuple[str, str]:
    """A file that could not be read: the source's token file, or another one."""
    name = type(exc).__name__
    token = chosen.params.get("token_file")
    if token and exc.filename == token:
        variable = chosen.params.get("token_var") or "the token file setting"
        return (
            f"a token file cannot be read: {variable} points at {token} ({name})",
            f"check that {token} exists and this process can read it, or fix {variable}",
        )
    return (
        f"the file {exc.filename} cannot be read ({name})",
        f"check that {exc.filename} exists and this process can read it",
    )


def translate(exc: BaseException, chosen: Candidate, ctx: Context | None = None) -> SourceFailed:
    """Turn a lower-level failure into a SourceFailed that names the source and the place."""
    place = where(exc, chosen, ctx)
    fix = chosen.fix
    check = f"check that {place} is the right endpoint and this process can reach it"
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        reason = f"{exc.operation_name} was rejected with {code} by {place}"
        if chosen.kind is SourceKind.SSO and code in _SSO_DENIED:
            profile = chosen.profile or "default"
            fix = (
                f"check sso_account_id and sso_role_name of profile '{profile}', "
                f"then run `aws sso login --profile {profile}`"
            )
        else:
            fix = _STS_FIXES.get(code) or _CODE_FIXES.get(code) or fix
        fix = fix or f"read what {code} means for {exc.operation_name} in the AWS documentation"
    elif isinstance(
        exc,
        botocore.exceptions.UnauthorizedSSOTokenError
        | botocore.exceptions.SSOTokenLoadError
        | botocore.exceptions.TokenRetrievalError,
    ):
        reason = "the SSO session has expired or is invalid"
        fix = f"run `aws sso login --profile {chosen.profile or 'default'}`"
    elif isinstance(exc, botocore.exceptions.EndpointConnectionError):
        reason = f"the credential endpoint is unreachable: no connection to {place}"
        fix = f"{check} (a proxy, a firewall, DNS), then retry"
    elif isinstance(exc, botocore.exceptions.ConnectTimeoutError):
        reason = f"no connection to {place} in time (botocore failed: ConnectTimeoutError)"
        fix = f"{check}, or raise credpick.Timeouts(connect=...)"
    elif isinstance(exc, botocore.exceptions.ReadTimeoutError):
        reason = f"{place} sent no whole reply in time (botocore failed: ReadTimeoutError)"
        fix = "the endpoint is slow or stuck: retry, or raise credpick.Timeouts(http=...)"
    elif isinstance(
        exc,
        botocore.exceptions.CredentialRetrievalError | botocore.exceptions.MetadataRetrievalError,
    ):
        status = _http_status(exc, chosen)
        reason = (
            f"the credential endpoint answered HTTP {status} ({place})"
            if status
            else f"the credential endpoint gave no usable credentials ({place})"
        )
        fix = fix or check
    elif isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        reason, fix = _file_problem(exc, chosen)
    elif isinstance(exc, RuntimeError) and "still expired" in str(exc):
        # botocore's own words for a refresh that gave expired credentials: its
        # text is its own here, never a reply's.
        reason = f"the source served credentials that had already expired ({place})"
        fix = fix or "the credential endpoint is unhealthy or its clock is wrong"
    elif isinstance(exc, KeyError | botocore.parsers.ResponseParserError):
        reason = f"the source's reply is missing fields or cannot be parsed ({place})"
        fix = fix or f"{check}: what answers there is not the service credpick expects"
    elif isinstance(exc, botocore.exceptions.BotoCoreError):
        reason = f"botocore failed talking to {place}: {type(exc).__name__}"
        fix = fix or check
    else:
        reason = f"loading credentials from {place} failed: {type(exc).__name__}"
        fix = fix or (
            f"{check}; if it keeps failing, report it with the output of `credpick explain`"
        )
    # The cause is named, not chained: botocore's and dateutil's messages can
    # quote values from the endpoint's reply, which may hold a secret.
    evidence = (*chosen.evidence, f"cause: {type(exc).__module__}.{type(exc).__name__}")
    return SourceFailed(
        reason, kind=chosen.kind.value, evidence=evidence, fix=fix, attempts=[chosen.attempt_line()]
    )
