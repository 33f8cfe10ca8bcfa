"""IAM Identity Center (SSO): a profile whose role comes from the access portal.

The token cache (``~/.aws/sso/cache/*.json``) is read through
:mod:`credpick._safe_io`, at detection and when botocore's SSO provider reads
it (:class:`BoundedJSONCache`): a FIFO or a huge file there is a verdict, not
a hang.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from botocore.credentials import SSOProvider
from botocore.exceptions import ClientError
from botocore.tokens import SSOTokenProvider

from .. import _files
from .._context import Context
from .._model import Candidate, SourceKind, Status
from ..exceptions import SourceFailed
from . import _profile
from ._base import BuildInputs, CredentialProvider
from ._cache import MISSING, BoundedJSONCache, parse_time, read_json

KIND = SourceKind.SSO
LOOKS_AT = "the active profile's sso_session or sso_start_url"
# What botocore needs in the cache to refresh a token through SSO-OIDC.
_REFRESH_KEYS = ("refreshToken", "clientId", "clientSecret", "registrationExpiresAt")


def _token_state(ctx: Context, cache_key: str, refreshable: bool) -> tuple[Status, str, list[str]]:
    """Whether the cached token is valid, refreshable, expired or missing."""
    path = ctx.sso_cache_dir / f"{hashlib.sha1(cache_key.encode()).hexdigest()}.json"
    cached, problem = read_json(path)
    if problem == MISSING:
        return Status.FAILED, "no cached SSO token: the user has not logged in", [f"{path} missing"]
    if cached is None:
        return Status.FAILED, f"the SSO token cache {path} {problem}", [str(path)]
    expires = parse_time(cached.get("expiresAt"))
    if not isinstance(cached.get("accessToken"), str) or not cached["accessToken"]:
        return Status.FAILED, f"the SSO token cache {path} has no token", [str(path)]
    if expires is None:
        return Status.FAILED, f"the SSO token cache {path} has no valid expiresAt", [str(path)]
    now = ctx.now()
    evidence = [f"cached token in {path}"]
    if expires > now:
        evidence.append(f"token valid until {expires:%Y-%m-%dT%H:%M:%SZ}")
        return Status.AVAILABLE, "Identity Center role credentials", evidence
    evidence.append(f"token expired at {expires:%Y-%m-%dT%H:%M:%SZ}")
    if not refreshable or not all(cached.get(k) for k in _REFRESH_KEYS):
        return Status.FAILED, "the cached SSO token has expired", evidence
    registered = parse_time(cached.get("registrationExpiresAt"))
    if registered is None or registered <= now:
        # botocore skips the refresh then and fails on the expired token.
        when = f" at {registered:%Y-%m-%dT%H:%M:%SZ}" if registered else ""
        evidence.append(f"client registration expired{when}")
        reason = "the cached SSO token and its client registration have expired"
        return Status.FAILED, reason, evidence
    return Status.AVAILABLE, "token expired; botocore will refresh it", evidence


def _resolve(
    settings: Mapping[str, Any], sessions: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Any], str | None]:
    """The profile's settings merged with its ``[sso-session]``, or a problem."""
    merged = dict(settings)
    session_name = settings.get("sso_session")
    if session_name:
        if session_name not in sessions:
            return merged, f"sso_session '{session_name}' has no [sso-session {session_name}]"
        merged.update(sessions[session_name])
    missing = [
        key
        for key in ("sso_start_url", "sso_region", "sso_account_id", "sso_role_name")
        if not merged.get(key)
    ]
    if missing:
        return merged, f"missing {', '.join(missing)}"
    return merged, None


def detect(ctx: Context) -> list[Candidate]:
    """A profile with ``sso_session`` or ``sso_start_url``; checks the cached token."""
    name, explicit, settings = _profile.active(ctx)
    if not (settings.get("sso_session") or settings.get("sso_start_url")):
        return []
    merged, problem = _resolve(settings, _files.load(ctx).sso_sessions)
    login = f"aws sso login --profile {name}"
    evidence = [
        f"{key}={merged[key]}"
        for key in ("sso_session", "sso_start_url", "sso_account_id", "sso_role_name")
        if merged.get(key)
    ]
    role_arn = None
    if merged.get("sso_account_id") and merged.get("sso_role_name"):
        role_arn = f"arn:aws:iam::{merged['sso_account_id']}:role/{merged['sso_role_name']}"
    fix: str | None
    if problem:
        status, reason = Status.FAILED, f"profile '{name}': {problem}"
        fix = f"fix {ctx.config_file}"
    else:
        session_name = settings.get("sso_session")
        cache_key = str(session_name or merged["sso_start_url"])
        status, reason, token_evidence = _token_state(ctx, cache_key, bool(session_name))
        evidence += token_evidence
        fix = f"run `{login}`" if status is Status.FAILED else None
    return [
        Candidate(
            kind=KIND,
            status=status,
            origin=f"profile '{name}'",
            evidence=tuple(evidence),
            reason=reason,
            fix=fix,
            explicit=explicit,
            role_arn=role_arn,
            profile=name,
        )
    ]


class _TokenProvider(SSOTokenProvider):  # type: ignore[misc]
    """botocore's SSO token provider, whose refused refresh names SSO-OIDC's error.

    botocore logs a failed ``CreateToken`` and carries on with the old token,
    so an expired one fails as a bare ``TokenRetrievalError``; this one fails
    with the error code (``InvalidGrantException``...) and the fix.
    """

    def __init__(self, session: Any, cache: BoundedJSONCache, profile_name: str) -> None:
        super().__init__(session, cache=cache, profile_name=profile_name)
        self._refused: str | None = None

    def _attempt_create_token(self, token: Any) -> Any:
        try:
            return super()._attempt_create_token(token)
        except ClientError as exc:
            self._refused = str(exc.response.get("Error", {}).get("Code") or "an error")
            raise

    def _refresher(self) -> Any:
        self._refused = None
        frozen = super()._refresher()
        refused, self._refused = self._refused, None
        expiration = frozen.expiration
        if refused and isinstance(expiration, dt.datetime) and expiration <= self._now():
            raise SourceFailed(
                f"SSO-OIDC refused to refresh the expired SSO token ({refused})",
                kind=KIND.value,
                evidence=(f"profile '{self._profile_name}'",),
                fix=f"run `aws sso login --profile {self._profile_name}`",
            )
        return frozen


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    # botocore fixes its token cache directory at import time from the
    # process's home; use the context's home instead.
    session = inputs.botocore_session
    token_cache = BoundedJSONCache(str(inputs.context.sso_cache_dir))
    profile = candidate.profile or "default"
    return SSOProvider(  # type: ignore[no-any-return]
        load_config=lambda: session.full_config,
        client_creator=inputs.client_creator(),
        profile_name=profile,
        cache={},
        token_cache=token_cache,
        token_provider=_TokenProvider(session, token_cache, profile),
    )
