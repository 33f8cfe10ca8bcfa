"""GitHub Actions OIDC: fetch the job's ID token and assume a role with it.

``aws-actions/configure-aws-credentials`` exports keys that die after an hour.
Here botocore's refreshing fetcher asks GitHub for a fresh token on every
refresh, so a long job keeps working.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import attrs

from .. import _envvars as ev
from .. import _http, _url
from .._context import Context
from .._model import Candidate, SourceKind, Status
from .._safe_io import HEADER_TOKEN, WEB_IDENTITY_TOKEN, is_header_value
from ..exceptions import SourceFailed
from ._assume_web_identity import WebIdentityProvider
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.GITHUB_OIDC
LOOKS_AT = "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN"
AUDIENCE = "sts.amazonaws.com"
_FIX_PERMISSION = "give the job `permissions: id-token: write`"


@attrs.frozen
class GitHubTokenLoader:
    """Fetches a fresh ID token from the runner: ``GET <url>&audience=...``.

    On the bounded transport: each attempt ends by ``timeout`` (reply
    included), ``attempts`` tries, a 64 KiB reply, no redirects (the bearer
    token never goes to another host), and only https, or http to loopback.
    """

    url: str
    request_token: str = attrs.field(repr=False)
    timeout: float = 5.0
    audience: str = AUDIENCE
    connect: float = 1.0
    attempts: int = 2
    proxies: Mapping[str, str] = attrs.field(factory=dict, repr=False)  # may hold a password

    def __call__(self) -> str:
        token, reason = self._fetch()
        if reason is not None or token is None:
            raise self._failed(reason or "the token endpoint returned an empty token")
        return token

    def _fetch(self) -> tuple[str | None, str | None]:
        # Returns rather than raises: its frame holds the request token.
        problem = url_problem(self.url) or request_token_problem(self.request_token)
        if problem:
            return None, problem
        session = _http.BoundedSession(
            total=self.timeout,
            cap=_http.GITHUB_TOKEN_REPLY,
            timeout=(self.connect, self.timeout),
            proxies=dict(self.proxies),
        )
        sep = "&" if "?" in self.url else "?"
        headers = {"Authorization": f"Bearer {self.request_token}", "Accept": "application/json"}
        try:
            result = _http.get(
                session, f"{self.url}{sep}audience={self.audience}", headers, attempts=self.attempts
            )
        finally:
            session.close()
        return _id_token(result)

    def _failed(self, reason: str) -> SourceFailed:
        return SourceFailed(
            reason,
            kind=KIND.value,
            evidence=(f"{ev.GITHUB_TOKEN_URL} is set",),
            fix=f"{_FIX_PERMISSION}; the request token expires with the job",
        )


def url_problem(url: str) -> str | None:
    """Why the token URL may not carry the request token: https, or http to loopback."""
    try:
        parsed = _url.parse(url)
    except _url.UrlRefused as exc:
        return f"{ev.GITHUB_TOKEN_URL} {exc.reason}"
    if parsed.scheme == "http" and not parsed.is_loopback:
        return (
            f"{ev.GITHUB_TOKEN_URL} uses http to host {parsed.host}; the request token "
            "goes only over https (or http to loopback)"
        )
    return None


def request_token_problem(token: str) -> str | None:
    """Why the request token cannot be a header value: printable ASCII, bounded."""
    if len(token) > HEADER_TOKEN:
        return f"{ev.GITHUB_TOKEN_REQUEST_TOKEN} is over {HEADER_TOKEN} characters"
    if not is_header_value(token):
        return (
            f"{ev.GITHUB_TOKEN_REQUEST_TOKEN} holds characters other than printable ASCII "
            "(CR, LF, NUL or non-ASCII text), which no header can carry"
        )
    return None


def _id_token(result: _http.Reply | _http.Failure) -> tuple[str | None, str | None]:
    """The ID token in GitHub's reply, or why there is none (never the reply's text)."""
    if isinstance(result, _http.Failure):
        return None, f"the token endpoint is unreachable ({result.reason})"
    if 300 <= result.status < 400:
        return None, (
            f"the token endpoint answered HTTP {result.status}, "
            "a redirect, which credpick does not follow"
        )
    if result.status != 200:
        return None, f"the token endpoint answered HTTP {result.status}"
    try:
        value = json.loads(result.body)["value"]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None, "the token endpoint's reply has no JSON field 'value'"
    if not isinstance(value, str) or not value:
        return None, "the token endpoint returned an empty token"
    if len(value) > WEB_IDENTITY_TOKEN or not is_header_value(value):
        return None, "the token endpoint returned something that is not an ID token"
    return value, None


def _session_name(ctx: Context) -> str:
    run = ctx.get(ev.GITHUB_RUN_ID) or "local"
    # RoleSessionName allows [\w+=,.@-]{2,64}.
    return re.sub(r"[^\w+=,.@-]", "-", f"credpick-gha-{run}")[:64]


def detect(ctx: Context) -> list[Candidate]:
    """The runner sets both variables only for jobs with ``id-token: write``."""
    url = ctx.get(ev.GITHUB_TOKEN_URL)
    token_set = ctx.get(ev.GITHUB_TOKEN_REQUEST_TOKEN) is not None
    if not url and not token_set:
        return []
    role_arn = ctx.role_arn or ctx.get(ev.ROLE_ARN)
    evidence = [
        f"{v} is set" for v in (ev.GITHUB_TOKEN_URL, ev.GITHUB_TOKEN_REQUEST_TOKEN) if ctx.get(v)
    ]
    if role_arn:
        evidence.append(f"{'role_arn=' if ctx.role_arn else ev.ROLE_ARN}={role_arn}")
    status, reason, fix = Status.AVAILABLE, "assumes the role with the job's OIDC token", None
    if not url or not token_set:
        missing = ev.GITHUB_TOKEN_REQUEST_TOKEN if url else ev.GITHUB_TOKEN_URL
        status, reason, fix = Status.FAILED, f"{missing} is not set", _FIX_PERMISSION
    elif problem := url_problem(url) or request_token_problem(
        ctx.get(ev.GITHUB_TOKEN_REQUEST_TOKEN) or ""
    ):
        status, reason, fix = (
            Status.FAILED,
            problem,
            (
                f"unset {ev.GITHUB_TOKEN_URL} and {ev.GITHUB_TOKEN_REQUEST_TOKEN} wherever they are "
                "overridden: the runner sets them"
            ),
        )
    elif not role_arn:
        # Without a role there is nothing to assume: not a source, but say how.
        status = Status.UNAVAILABLE
        reason = "the job can mint OIDC tokens, but no role is named"
        fix = f"set {ev.ROLE_ARN} or pass role_arn= to use the job's OIDC token"
    return [
        Candidate(
            kind=KIND,
            status=status,
            origin="environment",
            evidence=tuple(evidence),
            reason=reason,
            fix=fix,
            explicit=ctx.role_arn is not None,
            role_arn=role_arn,
            params={
                "url": url or "",
                "role_arn": role_arn or "",
                "session_name": _session_name(ctx),
            },
        )
    ]


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    ctx = inputs.context
    url = candidate.params["url"]
    loader = GitHubTokenLoader(
        url=url,
        request_token=ctx.get(ev.GITHUB_TOKEN_REQUEST_TOKEN) or "",
        timeout=ctx.timeouts.http,
        connect=ctx.timeouts.connect,
        attempts=ctx.timeouts.attempts,
        proxies=_http.proxies_for(ctx.env, url),
    )
    return WebIdentityProvider(
        inputs=inputs,
        token_loader=loader,
        role_arn=candidate.params["role_arn"],
        session_name=candidate.params["session_name"],
    )
