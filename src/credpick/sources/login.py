"""``aws login``: a profile with ``login_session``, whose console sign-in is cached.

``aws login`` (AWS CLI v2, November 2025) signs a person in through the
console and caches short-lived credentials plus a refresh token and a DPoP
key in ``~/.aws/login/cache/<sha256(session)>.json``. botocore's
``LoginProvider`` turns that cache into refreshable credentials; it needs
``botocore[crt]`` for the DPoP signature, so without it the source fails
closed, naming the extra, rather than letting a weaker source win.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import botocore.credentials
import botocore.exceptions
import botocore.parsers

from .._context import Context
from .._mask import mask_key_id
from .._model import Candidate, Provenance, Root, RootKind, SourceKind, Status
from ..exceptions import CredpickError, SourceFailed
from . import _profile
from ._base import BuildInputs, CredentialProvider
from ._cache import MISSING, BoundedJSONCache, parse_time, read_json

KIND = SourceKind.LOGIN
LOOKS_AT = "the active profile's login_session, and its cache in ~/.aws/login/cache"
CACHE_DIR_VAR = "AWS_LOGIN_CACHE_DIRECTORY"
EXTRA = "pip install 'credpick[login]' (botocore[crt])"
_FIELDS = ("accessToken", "refreshToken", "dpopKey", "clientId")


def cache_dir(ctx: Context) -> str:
    """Where botocore keeps login sessions: ``AWS_LOGIN_CACHE_DIRECTORY``, else ``~/.aws/login/cache``."""
    custom = ctx.get(CACHE_DIR_VAR)
    return str(ctx.expand(custom) if custom else ctx.home / ".aws" / "login" / "cache")


def cache_path(ctx: Context, session: str) -> str:
    """The cache file of a login session, named as botocore names it."""
    return f"{cache_dir(ctx)}/{hashlib.sha256(session.encode('utf-8')).hexdigest()}.json"


def _has_crt() -> bool:
    # The very test botocore's LoginProvider makes before it loads anything.
    return getattr(botocore.credentials, "EC", None) is not None


def _has_provider() -> bool:
    return hasattr(botocore.credentials, "LoginProvider")


def _read_cache(path: str) -> tuple[Mapping[str, Any] | None, str | None]:
    """The cached session, or why it cannot be used (never its content)."""
    cached, problem = read_json(path)
    if problem == MISSING:
        return None, "no cached login session: the user has not run `aws login`"
    if cached is None:
        return None, f"the login cache {path} {problem}"
    missing = [f for f in _FIELDS if not cached.get(f)]
    if not missing and not isinstance(cached["accessToken"], dict):
        missing = ["accessToken"]
    if missing:
        return None, f"the login cache {path} lacks {', '.join(missing)}"
    return cached, None


def _state(ctx: Context, path: str) -> tuple[Status, str, list[str], str | None, str | None]:
    """Status, reason, evidence, masked key id and account id of the cached session."""
    cached, problem = _read_cache(path)
    if cached is None:
        return Status.FAILED, problem or "unusable login cache", [f"{path}"], None, None
    token: Mapping[str, Any] = cached["accessToken"]
    key_id = mask_key_id(token.get("accessKeyId"))
    account = token.get("accountId") if isinstance(token.get("accountId"), str) else None
    evidence = [f"cached login session in {path}"]
    if key_id:
        evidence.append(f"accessKeyId={key_id}")
    expires = parse_time(token.get("expiresAt"))
    if expires is not None and expires > ctx.now():
        evidence.append(f"credentials valid until {expires:%Y-%m-%dT%H:%M:%SZ}")
        reason = "a person's console sign-in (aws login)"
    else:
        evidence.append("credentials expired; botocore refreshes them with the refresh token")
        reason = "a person's console sign-in (aws login); refreshed on first use"
    return Status.AVAILABLE, reason, evidence, key_id, account


def detect(ctx: Context) -> list[Candidate]:
    """A profile with ``login_session``; checks the cached session and the extra it needs."""
    name, explicit, settings = _profile.active(ctx)
    session = settings.get("login_session")
    if not session:
        return []
    path = cache_path(ctx, str(session))
    login = f"aws login --profile {name}"
    fix: str | None
    account: str | None = None
    if not _has_provider():
        status, reason = Status.FAILED, "this botocore has no login provider (botocore 1.41+)"
        evidence, key_id, fix = (
            [f"login_session={session}"],
            None,
            "upgrade botocore to 1.41 or newer",
        )
    elif not _has_crt():
        status, reason = Status.FAILED, "the login provider needs botocore[crt], which is missing"
        evidence, key_id, fix = [f"login_session={session}"], None, EXTRA
    else:
        status, reason, evidence, key_id, account = _state(ctx, path)
        evidence.insert(0, f"login_session={session}")
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
            key_id=key_id,
            profile=name,
            provenance=Provenance(
                root=Root(
                    kind=RootKind.LOGIN_CACHE,
                    origin=f"profile '{name}'",
                    key_id=key_id,
                    account=account,
                )
            ),
        )
    ]


def place(candidate: Candidate, ctx: Context) -> str:
    """What a failure of this source names as the place (see ``credpick._failures``)."""
    return ctx.endpoint_place("signin", "the sign-in service")


def _failure(exc: Exception, candidate: Candidate, service: str) -> SourceFailed:
    """A SourceFailed written from the error's type, never from its message.

    ``service`` is the sign-in service as a place: its endpoint and what set it."""
    profile = candidate.profile or "default"
    if isinstance(exc, botocore.exceptions.MissingDependencyException):
        reason, fix = "the login provider needs botocore[crt], which is missing", EXTRA
    elif isinstance(exc, botocore.credentials.LoginRefreshRequired):
        reason = "the login session has expired or the user's credentials changed"
        fix = f"run `aws login --profile {profile}`"
    elif isinstance(exc, botocore.credentials.LoginInsufficientPermissions):
        reason = "the signed-in identity may not create login credentials"
        fix = "grant the signin:CreateOAuth2Token permission, then run `aws login` again"
    elif isinstance(exc, botocore.credentials.LoginTokenLoadError):
        reason = "the cached login session cannot be used"
        fix = f"run `aws login --profile {profile}`"
    elif isinstance(
        exc,
        botocore.exceptions.ConnectionError | botocore.exceptions.HTTPClientError | ConnectionError,
    ):  # timeouts too: signing in again cannot help
        reason = f"{service} is unreachable ({type(exc).__name__})"
        fix = "check the network path to the sign-in service (or AWS_ENDPOINT_URL_SIGNIN)"
    elif isinstance(exc, botocore.exceptions.ClientError):  # a 5xx or throttling: the service's
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        reason = f"{service} refused the refresh with {code}"
        fix = "try again later; if it persists, run `aws login` again"
    elif isinstance(exc, KeyError | botocore.parsers.ResponseParserError):
        reason = f"the reply of {service} is missing fields or cannot be parsed"
        fix = "check that AWS_ENDPOINT_URL_SIGNIN, if set, points at the sign-in service"
    else:
        reason = f"refreshing the login session failed: {type(exc).__name__}"
        fix = f"run `aws login --profile {profile}`"
    evidence = (
        *candidate.evidence,
        f"refreshed through {service}",
        f"cause: {type(exc).__module__}.{type(exc).__name__}",
    )
    return SourceFailed(reason, kind=KIND.value, evidence=evidence, fix=fix)


def _clean(call: Callable[[], Any], candidate: Candidate, service: str) -> Any:
    """Run ``call``; a failure becomes a SourceFailed raised outside the ``except``."""
    failure: SourceFailed | None = None
    try:
        return call()
    except CredpickError:
        raise
    except Exception as exc:  # the errors quote the cache or the service's reply
        failure = _failure(exc, candidate, service)
    raise failure


class LoginProvider:
    """botocore's ``LoginProvider`` over the context's cache, with clean errors."""

    METHOD = "login"

    def __init__(self, candidate: Candidate, inputs: BuildInputs) -> None:
        session = inputs.botocore_session
        self._candidate = candidate
        self._service = place(candidate, inputs.context)
        self._provider = botocore.credentials.LoginProvider(
            load_config=lambda: session.full_config,
            client_creator=inputs.client_creator(),
            profile_name=candidate.profile or "default",
            token_cache=BoundedJSONCache(cache_dir(inputs.context)),
        )

    def load(self) -> Any:
        credentials = _clean(self._provider.load, self._candidate, self._service)
        refresh = getattr(credentials, "_refresh_using", None)
        if callable(refresh):  # later refreshes fail as cleanly as the first load
            credentials._refresh_using = lambda: _clean(refresh, self._candidate, self._service)
        return credentials


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return LoginProvider(candidate, inputs)
