"""GitHub Actions OIDC: fetch the job's ID token and assume a role with it.

``aws-actions/configure-aws-credentials`` exports keys that die after an hour.
Here botocore's refreshing fetcher asks GitHub for a fresh token on every
refresh, so a long job keeps working.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import attrs

from .. import _envvars as ev
from .._context import Context
from .._model import Candidate, SourceKind, Status
from ..exceptions import SourceFailed
from ._assume_web_identity import WebIdentityProvider
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.GITHUB_OIDC
LOOKS_AT = "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN"
AUDIENCE = "sts.amazonaws.com"
_FIX_PERMISSION = "give the job `permissions: id-token: write`"


@attrs.frozen
class GitHubTokenLoader:
    """Fetches a fresh ID token from the runner: ``GET <url>&audience=...``."""

    url: str
    request_token: str = attrs.field(repr=False)
    timeout: float = 5.0
    audience: str = AUDIENCE

    def __call__(self) -> str:
        sep = "&" if "?" in self.url else "?"
        request = urllib.request.Request(
            f"{self.url}{sep}audience={self.audience}",
            headers={"Authorization": f"Bearer {self.request_token}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise self._failed(f"the token endpoint answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise self._failed(
                f"the token endpoint is unreachable ({type(exc).__name__})"
            ) from None
        try:
            value = json.loads(body)["value"]
        except (ValueError, KeyError, TypeError):
            raise self._failed("the token endpoint's reply has no JSON field 'value'") from None
        if not isinstance(value, str) or not value:
            raise self._failed("the token endpoint returned an empty token")
        return value

    def _failed(self, reason: str) -> SourceFailed:
        return SourceFailed(
            reason,
            kind=KIND.value,
            evidence=(f"{ev.GITHUB_TOKEN_URL} is set",),
            fix=f"{_FIX_PERMISSION}; the request token expires with the job",
        )


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
    loader = GitHubTokenLoader(
        url=candidate.params["url"],
        request_token=ctx.get(ev.GITHUB_TOKEN_REQUEST_TOKEN) or "",
        timeout=ctx.timeouts.http,
    )
    return WebIdentityProvider(
        inputs=inputs,
        token_loader=loader,
        role_arn=candidate.params["role_arn"],
        session_name=candidate.params["session_name"],
    )
