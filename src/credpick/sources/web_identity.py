"""Web identity: EKS IRSA and any other projected OIDC token file."""

from __future__ import annotations

from .. import _envvars as ev
from .. import _files
from .._context import Context
from .._model import Candidate, SourceKind, Status
from ._assume_web_identity import TokenFileLoader, WebIdentityProvider
from ._base import BuildInputs, CredentialProvider, token_file_problem

KIND = SourceKind.WEB_IDENTITY
LOOKS_AT = "AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or a profile's web_identity_token_file"


def _candidate(
    ctx: Context,
    *,
    token_file: str | None,
    role_arn: str | None,
    token_var: str,
    role_var: str,
    origin: str,
    explicit: bool,
    session_name: str | None,
    profile: str | None = None,
) -> Candidate:
    evidence = tuple(
        line
        for line in (
            f"{token_var}={token_file}" if token_file else None,
            f"{role_var}={role_arn}" if role_arn else None,
        )
        if line
    )
    problem = None
    if not role_arn:
        problem = f"{token_var} is set but {role_var} is not"
    elif not token_file:
        problem = f"{role_var} is set but {token_var} is not"
    else:
        problem = token_file_problem(str(ctx.expand(token_file)), token_var)
    return Candidate(
        kind=KIND,
        status=Status.FAILED if problem else Status.AVAILABLE,
        origin=origin,
        evidence=evidence,
        reason=problem or "assumes the role with a projected OIDC token (EKS IRSA)",
        fix="check the service account's eks.amazonaws.com/role-arn annotation "
        "and that the token volume is mounted"
        if problem
        else None,
        explicit=explicit,
        role_arn=role_arn,
        profile=profile,
        params={
            "token_file": str(ctx.expand(token_file)) if token_file else "",
            "token_var": token_var,
            "role_arn": role_arn or "",
            "session_name": session_name or "",
        },
    )


def detect(ctx: Context) -> list[Candidate]:
    """``AWS_WEB_IDENTITY_TOKEN_FILE`` with a role, or a profile's token file."""
    found = []
    token_file = ctx.get(ev.WEB_IDENTITY_TOKEN_FILE)
    # AWS_ROLE_ARN alone is an IRSA webhook that did not apply: a broken web
    # identity, so a stray key beside it is not picked. GitHub OIDC uses the
    # same variable, with its own token.
    stray_role = ctx.get(ev.ROLE_ARN) and not ctx.get(ev.GITHUB_TOKEN_URL)
    if token_file or stray_role:
        role_arn = ctx.role_arn or ctx.get(ev.ROLE_ARN)
        found.append(
            _candidate(
                ctx,
                token_file=token_file,
                role_arn=role_arn,
                token_var=ev.WEB_IDENTITY_TOKEN_FILE,
                role_var="role_arn=" if ctx.role_arn else ev.ROLE_ARN,
                origin="environment",
                explicit=ctx.role_arn is not None,
                session_name=ctx.get(ev.ROLE_SESSION_NAME),
            )
        )
    profile, explicit = ctx.active_profile()
    settings = _files.load(ctx).profile(profile)
    if settings.get("web_identity_token_file"):
        found.append(
            _candidate(
                ctx,
                token_file=settings.get("web_identity_token_file"),
                role_arn=settings.get("role_arn"),
                token_var=f"web_identity_token_file of profile '{profile}'",
                role_var=f"role_arn of profile '{profile}'",
                origin=f"profile '{profile}'",
                explicit=explicit,
                session_name=settings.get("role_session_name"),
                profile=profile,
            )
        )
    return found


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return WebIdentityProvider(
        inputs=inputs,
        token_loader=TokenFileLoader(
            candidate.params["token_file"], candidate.params.get("token_var") or "the token file"
        ),
        role_arn=candidate.params["role_arn"],
        session_name=candidate.params.get("session_name") or None,
        # botocore's ids: the token from the environment, or from a profile.
        feature_ids=frozenset(
            {
                "CREDENTIALS_STS_ASSUME_ROLE_WEB_ID",
                "CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN"
                if candidate.profile
                else "CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN",
            }
        ),
    )
