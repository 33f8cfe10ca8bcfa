"""Build the boto3 Session from the chosen candidate, with botocore's providers.

This is the one boundary where botocore's and the OS's exceptions become
:class:`~credpick.SourceFailed`. Messages are written here from structured
facts (an error code, an HTTP status), never copied from a response body,
which may hold a secret.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import boto3
import botocore.exceptions
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver

from . import _envvars as ev
from . import _files
from ._context import Context, Timeouts
from ._detect import detect
from ._model import Candidate
from ._policy import Policy
from .exceptions import CredpickError, SourceFailed

if TYPE_CHECKING:
    from .sources import BuildInputs

_STS_FIXES = {
    "InvalidIdentityToken": "STS rejected the token: check the role's trust policy "
    "(the OIDC provider, audience and subject conditions)",
    "ExpiredTokenException": "the token has expired: check that the token file is refreshed",
    "AccessDenied": "the role's trust policy does not allow this caller to assume it",
    "IDPCommunicationError": "STS could not reach the identity provider; retry",
}


class _Loaded(CredentialProvider):  # type: ignore[misc]
    """Hands botocore the credentials credpick already loaded and checked."""

    def __init__(self, credentials: Any, method: str) -> None:
        super().__init__()
        self._credentials = credentials
        self.METHOD = method

    def load(self) -> Any:
        return self._credentials


def _region(ctx: Context, region_name: str | None, profile: str | None) -> str | None:
    """Argument, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the profile's."""
    if region_name:
        return region_name
    for var in (ev.REGION, ev.DEFAULT_REGION):
        if ctx.get(var):
            return ctx.get(var)
    name = profile or ctx.active_profile()[0]
    value = _files.load(ctx).profile(name).get("region")
    return str(value) if value else None


def _http_status(text: str) -> str | None:
    found = re.search(r"\b([45]\d\d)\b", text)
    return found.group(1) if found else None


def translate(exc: BaseException, chosen: Candidate) -> SourceFailed:
    """Turn a lower-level failure into a SourceFailed that names the source."""
    kind = chosen.kind.value
    attempts = [chosen.attempt_line()]
    fix = chosen.fix
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        reason = f"{exc.operation_name} was rejected with {code}"
        fix = _STS_FIXES.get(code, fix)
    elif isinstance(
        exc, botocore.exceptions.UnauthorizedSSOTokenError | botocore.exceptions.SSOTokenLoadError
    ):
        reason = "the SSO session has expired or is invalid"
        fix = f"run `aws sso login --profile {chosen.profile or 'default'}`"
    elif isinstance(exc, botocore.exceptions.EndpointConnectionError):
        reason = "the credential endpoint is unreachable"
    elif isinstance(
        exc,
        botocore.exceptions.CredentialRetrievalError | botocore.exceptions.MetadataRetrievalError,
    ):
        status = _http_status(str(exc))
        reason = (
            f"the credential endpoint answered HTTP {status}"
            if status
            else "the credential endpoint gave no usable credentials"
        )
    elif isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        reason = f"a token file cannot be read ({type(exc).__name__}: {exc.filename})"
    elif isinstance(exc, botocore.exceptions.BotoCoreError):
        reason = f"botocore failed: {type(exc).__name__}"
    else:
        reason = f"loading credentials failed: {type(exc).__name__}"
    return SourceFailed(reason, kind=kind, evidence=chosen.evidence, fix=fix, attempts=attempts)


def _load(chosen: Candidate, inputs: BuildInputs) -> Any:
    from .sources import BY_KIND

    try:
        credentials = BY_KIND[chosen.kind].build(chosen, inputs).load()
        if credentials is None:
            raise SourceFailed("the source returned no credentials", kind=chosen.kind.value)
        credentials.get_frozen_credentials()  # load eagerly: fail now, not on first call
    except CredpickError:
        raise
    except Exception as exc:  # the one translation boundary
        raise translate(exc, chosen) from exc
    return credentials


def session(
    *,
    policy: Policy | None = None,
    region_name: str | None = None,
    profile_name: str | None = None,
    role_arn: str | None = None,
    timeouts: Timeouts | None = None,
    context: Context | None = None,
) -> boto3.Session:
    """A ``boto3.Session`` from the safest credential source.

    Detects every source (see :func:`credpick.detect`), applies the policy,
    and loads the chosen source's credentials eagerly, through botocore's
    own providers, so they refresh as botocore's do.

    Args:
        policy: The policy; ``Policy()`` by default.
        region_name: The region; else ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
            then the profile's ``region``.
        profile_name: A profile to use.
        role_arn: The role for web identity or GitHub OIDC.
        timeouts: Probe timeouts.
        context: A prepared snapshot; by default, this process right now.

    Returns:
        A session whose credentials are already loaded.

    Raises:
        StaticKeysRefused: Long-lived keys were refused.
        PolicyViolation: The policy's hook refused the pick.
        NoCredentialsFound: Nothing usable was found.
        SourceFailed: The chosen source could not deliver.
        ConfigurationError: A config file or argument is unusable.

    .. versionadded:: 0.1.0
    """
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
        timeouts=timeouts,
        context=context,
    )
    detection.raise_for_error()
    chosen = detection.chosen
    assert chosen is not None  # raise_for_error guarantees it
    region = _region(context, region_name, chosen.profile)
    bs = botocore.session.Session()
    bs.set_config_variable("config_file", str(context.config_file))
    bs.set_config_variable("credentials_file", str(context.credentials_file))
    if chosen.profile:
        bs.set_config_variable("profile", chosen.profile)
    from .sources import BuildInputs

    inputs = BuildInputs(context=context, policy=policy, botocore_session=bs, region=region)
    credentials = _load(chosen, inputs)
    bs.register_component(
        "credential_provider",
        CredentialResolver(
            providers=[_Loaded(credentials, getattr(credentials, "method", "credpick"))]
        ),
    )
    return boto3.Session(botocore_session=bs, region_name=region)
