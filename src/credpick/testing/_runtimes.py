"""What each AWS runtime really sets, reproduced on loopback.

One function per :class:`~credpick.SourceKind`; :class:`~credpick.testing.Simulation`
calls them through :data:`RUNTIMES`. Every function's keyword arguments are the
options ``Simulation.use(kind, **options)`` accepts for that runtime.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import shlex
import string
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from .._model import SourceKind
from ..exceptions import ConfigurationError
from ._container import ContainerCredentialsEndpoint, ContainerMode
from ._fakes import SECRET_PREFIX, FakeCredentials, RecordedRequest
from ._github import GitHubMode, GitHubOidcEndpoint
from ._imds import ImdsEmulator, ImdsMode
from ._server import LoopbackServer
from ._signin import SigninEndpoint, SigninMode
from ._sso import SsoPortal
from ._sso_oidc import SsoOidcEndpoint, SsoOidcMode
from ._sts import StsEmulator
from ._sts_strict import IDENTITIES, assumed_role_arn, fake_jwt

if TYPE_CHECKING:
    from ._simulation import Simulation

__all__ = ["ACCOUNT", "DEFAULT_REGION", "RUNTIMES", "RuntimeHandle", "fake_static_key"]

ACCOUNT = "123456789012"
#: The region a runtime that always sets one uses, unless the test chose its own.
DEFAULT_REGION = "us-east-1"
_ALNUM = string.ascii_uppercase + string.digits
_HOUR = dt.timedelta(hours=1)


def fake_static_key() -> tuple[str, str]:
    """A long-lived-looking key pair that is obviously fake."""
    key_id = "AKIAFAKE" + "".join(secrets.choice(_ALNUM) for _ in range(12))
    return key_id, SECRET_PREFIX + secrets.token_urlsafe(24)


@attrs.frozen
class RuntimeHandle:
    """What :meth:`Simulation.use` set up.

    Attributes:
        kind: The runtime's source kind.
        role_arn: The role the runtime's credentials belong to, if any.
        emulator: The loopback server standing in for the runtime's endpoint.
        sts: The STS emulator the runtime uses, if any.
        env: The variables the runtime set (secret values included: never print it).
        oidc: The SSO-OIDC emulator that refreshes the ``sso`` runtime's token.

    .. versionadded:: 0.1.0
    """

    kind: SourceKind
    role_arn: str | None
    emulator: LoopbackServer | None = None
    sts: StsEmulator | None = attrs.field(default=None, repr=False)
    env: dict[str, str] = attrs.field(factory=dict, repr=False)
    oidc: SsoOidcEndpoint | None = attrs.field(default=None, repr=False)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests the runtime's emulator served, oldest first."""
        return self.emulator.requests if self.emulator is not None else []


def _role(name: str = "credpick-test-role") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _choice(kind: str, option: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ConfigurationError(
            f"runtime {kind!r}: {option} must be one of {listed}, not {value!r}"
        )


def _regions(sim: Simulation) -> dict[str, str]:
    """``AWS_REGION`` and ``AWS_DEFAULT_REGION``, as Lambda, ECS, the EKS webhook and
    configure-aws-credentials set them: both, to one value (botocore reads only the
    second). A region the test already chose wins."""
    region = sim._environ.get("AWS_REGION") or sim._environ.get("AWS_DEFAULT_REGION")
    region = region or DEFAULT_REGION
    return {name: sim._environ.get(name) or region for name in ("AWS_REGION", "AWS_DEFAULT_REGION")}


def ec2_instance_profile(
    sim: Simulation,
    mode: ImdsMode = "healthy",
    role_name: str | None = "credpick-test-role",
    expires_in: dt.timedelta = dt.timedelta(hours=6),
) -> RuntimeHandle:
    _choice("ec2-instance-profile", "mode", mode, get_args(ImdsMode))
    emu = sim._server(ImdsEmulator(mode=mode, role_name=role_name, expires_in=expires_in))
    sim._unset("AWS_EC2_METADATA_DISABLED")
    env = sim._set({"AWS_EC2_METADATA_SERVICE_ENDPOINT": emu.endpoint})
    role = _role(role_name) if role_name else None
    return RuntimeHandle(SourceKind.EC2_INSTANCE_PROFILE, role, emu, env=env)


def _container(
    sim: Simulation,
    kind: SourceKind,
    token: str | None,
    mode: ContainerMode,
    expires_in: dt.timedelta,
    extra: dict[str, str],
    ecs_metadata: bool = False,
) -> RuntimeHandle:
    _choice(kind.value, "mode", mode, get_args(ContainerMode))
    emu = sim._server(
        ContainerCredentialsEndpoint(authorization=token, mode=mode, expires_in=expires_in)
    )
    if ecs_metadata:
        extra = {
            **extra,
            "ECS_CONTAINER_METADATA_URI_V4": f"{emu.url}/v4/credpick-simulated",
            "ECS_CONTAINER_METADATA_URI": f"{emu.url}/v3/credpick-simulated",
            "ECS_AGENT_URI": f"{emu.url}/api/credpick-simulated",
        }
    env = sim._set({"AWS_CONTAINER_CREDENTIALS_FULL_URI": emu.full_uri, **extra})
    return RuntimeHandle(kind, emu.role_arn, emu, env=env)


EcsUri = Literal["full", "relative"]


def ecs(
    sim: Simulation,
    mode: ContainerMode = "healthy",
    expires_in: dt.timedelta = _HOUR,
    uri: EcsUri = "full",
) -> RuntimeHandle:
    _choice("ecs", "uri", uri, get_args(EcsUri))
    ecs_env = {
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
        **_regions(sim),
    }
    if uri == "relative":
        return _ecs_relative(sim, mode, expires_in, ecs_env)
    # The full URI with a token: the loopback twin every client can reach. Its
    # metadata URIs point at the emulator's loopback port too (nothing here
    # reads them over the network; whatever does stays on loopback).
    token = "ecs-" + secrets.token_urlsafe(16)
    extra = {"AWS_CONTAINER_AUTHORIZATION_TOKEN": token, **ecs_env}
    return _container(sim, SourceKind.ECS, token, mode, expires_in, extra, ecs_metadata=True)


def _ecs_relative(
    sim: Simulation, mode: ContainerMode, expires_in: dt.timedelta, ecs_env: dict[str, str]
) -> RuntimeHandle:
    # What a real task gets: a path on the ECS agent (169.254.170.2), no token.
    # The agent is mapped to this loopback endpoint for credpick (the test-only
    # Context.ecs_agent_for_tests) and for in-process botocore.
    _choice("ecs", "mode", mode, get_args(ContainerMode))
    path = f"/v2/credentials/{uuid.uuid4()}"
    emu = sim._server(ContainerCredentialsEndpoint(path=path, mode=mode, expires_in=expires_in))
    sim._map_ecs_agent(f"{emu.host}:{emu.port}")
    metadata = {
        "ECS_CONTAINER_METADATA_URI_V4": f"{emu.url}/v4/credpick-simulated",
        "ECS_CONTAINER_METADATA_URI": f"{emu.url}/v3/credpick-simulated",
        "ECS_AGENT_URI": f"{emu.url}/api/credpick-simulated",
    }
    env = sim._set({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": path, **ecs_env, **metadata})
    return RuntimeHandle(SourceKind.ECS, emu.role_arn, emu, env=env)


def eks_pod_identity(
    sim: Simulation, mode: ContainerMode = "healthy", expires_in: dt.timedelta = _HOUR
) -> RuntimeHandle:
    token = "eks-pod-identity-" + secrets.token_urlsafe(16)
    path = sim._append(sim.workdir / "eks-pod-identity-token", token)
    # The EKS webhook adds the region variables beside the endpoint and token file.
    extra = {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path), **_regions(sim)}
    return _container(sim, SourceKind.EKS_POD_IDENTITY, token, mode, expires_in, extra)


def container(
    sim: Simulation, mode: ContainerMode = "healthy", expires_in: dt.timedelta = _HOUR
) -> RuntimeHandle:
    return _container(sim, SourceKind.CONTAINER, None, mode, expires_in, {})


def web_identity(sim: Simulation, role_arn: str | None = None) -> RuntimeHandle:
    sts = sim.sts()
    # A projected service-account token as EKS writes it: STS requires these claims.
    jwt = fake_jwt(
        sub="system:serviceaccount:default:credpick",
        aud="sts.amazonaws.com",
        iss="https://oidc.eks.us-east-1.amazonaws.com/id/CREDPICKFAKE",
        lifetime=dt.timedelta(hours=24),
    )
    token = sim._append(sim.workdir / "web-identity-token", jwt)
    role = role_arn or _role()
    # What the EKS pod identity webhook injects for IRSA (no session name: the
    # SDK makes one up), plus the loopback STS.
    env = sim._set(
        {
            "AWS_STS_REGIONAL_ENDPOINTS": "regional",
            **_regions(sim),
            "AWS_ROLE_ARN": role,
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ENDPOINT_URL_STS": sts.url,
        }
    )
    return RuntimeHandle(SourceKind.WEB_IDENTITY, role, sts=sts, env=env)


def github_oidc(
    sim: Simulation, mode: GitHubMode = "healthy", role_arn: str | None = None
) -> RuntimeHandle:
    _choice("github-oidc", "mode", mode, get_args(GitHubMode))
    sts = sim.sts()
    emu = sim._server(GitHubOidcEndpoint(mode=mode))
    role = role_arn or _role("credpick-github-role")
    # The runner's own variables, then what the workflow sets for the role: the
    # role ARN and both regions (as configure-aws-credentials exports them).
    env = sim._set(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_RUN_ID": "1",
            **_regions(sim),
            "ACTIONS_ID_TOKEN_REQUEST_URL": emu.request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": emu.request_token,
            "AWS_ROLE_ARN": role,
            "AWS_ENDPOINT_URL_STS": sts.url,
        }
    )
    return RuntimeHandle(SourceKind.GITHUB_OIDC, role, emu, sts=sts, env=env)


def lambda_(sim: Simulation) -> RuntimeHandle:
    creds = FakeCredentials.issue(expires_in=dt.timedelta(hours=12))
    name = "credpick-simulated"
    role = _role("credpick-lambda-role")
    IDENTITIES.remember(  # so the strict STS reports the execution role
        creds.access_key_id, str(assumed_role_arn(role, name)), creds.expiration
    )
    # Lambda's reserved variables, less those that would change how this process
    # and its children run (TZ, PATH, LANG...) and the per-invocation trace id.
    env = sim._set(
        {
            "_HANDLER": "app.handler",
            **_regions(sim),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_ACCESS_KEY": creds.access_key_id,
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_SESSION_TOKEN": creds.token,
        }
    )
    return RuntimeHandle(SourceKind.LAMBDA, role, env=env)


SsoToken = Literal["valid", "near-expiry", "expired"]
# Access-token lifetimes left in the cache, from now: near-expiry is inside
# botocore's 15-minute refresh window.
_SSO_TOKEN_LEFT = {
    "valid": dt.timedelta(hours=8),
    "near-expiry": dt.timedelta(minutes=5),
    "expired": -_HOUR,
}


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sso(
    sim: Simulation,
    expired: bool = False,
    profile: str = "credpick-sso",
    token: SsoToken = "valid",
    oidc_mode: SsoOidcMode = "ok",
) -> RuntimeHandle:
    # The cache `aws sso login` writes: an access token plus the client
    # registration and refresh token botocore refreshes it with, through
    # SSO-OIDC (an SsoOidcEndpoint, at AWS_ENDPOINT_URL_SSO_OIDC).
    _choice("sso", "token", token, get_args(SsoToken))
    _choice("sso", "oidc_mode", oidc_mode, get_args(SsoOidcMode))
    access_token = "sso-" + secrets.token_urlsafe(24)
    client_id = "credpick-client-" + secrets.token_urlsafe(12)
    client_secret = "FAKE-SECRET-credpick-client-" + secrets.token_urlsafe(24)
    refresh_token = "refresh-" + secrets.token_urlsafe(24)
    emu = sim._server(SsoPortal(access_token=access_token, account_id=ACCOUNT))
    oidc = sim._server(
        SsoOidcEndpoint(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            portal=emu,
            mode=oidc_mode,
        )
    )
    sim._append(
        sim.config_file,
        (
            f"[profile {profile}]\nsso_session = credpick\nsso_account_id = {ACCOUNT}\n"
            f"sso_role_name = {emu.role_name}\nregion = us-east-1\n\n"
            "[sso-session credpick]\nsso_start_url = https://credpick.awsapps.com/start\n"
            "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n"
        ),
    )
    now = dt.datetime.now(dt.timezone.utc)
    # expired: the whole login lapsed (token and client registration), so
    # only `aws sso login` helps; a registration lasts 90 days.
    left = _SSO_TOKEN_LEFT["expired" if expired else token]
    registration = now + (-_HOUR if expired else dt.timedelta(days=90))
    cache = sim.sso_cache_dir / (hashlib.sha1(b"credpick").hexdigest() + ".json")
    sim._append(
        cache,
        json.dumps(
            {
                "startUrl": "https://credpick.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": access_token,
                "expiresAt": _stamp(now + left),
                "clientId": client_id,
                "clientSecret": client_secret,
                "registrationExpiresAt": _stamp(registration),
                "refreshToken": refresh_token,
            }
        ),
    )
    env = sim._set(
        {
            "AWS_PROFILE": profile,
            "AWS_ENDPOINT_URL_SSO": emu.url,
            "AWS_ENDPOINT_URL_SSO_OIDC": oidc.url,
        }
    )
    return RuntimeHandle(SourceKind.SSO, _role(emu.role_name), emu, env=env, oidc=oidc)


def _dpop_key() -> str:
    """A P-256 private key as ``aws login`` caches it, or a placeholder without awscrt."""
    try:
        from awscrt.crypto import EC, ECExportFormat, ECType
    except ImportError:  # credpick's login source then fails, naming credpick[login]
        return "-----BEGIN EC PRIVATE KEY-----\nbm8tY3J0\n-----END EC PRIVATE KEY-----\n"
    import base64

    # awscrt cannot read back some SEC1 keys it exports (AWS_ERROR_CAL_UNSUPPORTED_KEY_FORMAT,
    # a few percent of keys), which made botocore's refresh fail at random: keep one it reads.
    for _ in range(64):
        der = EC.new_generate(ECType.P_256).export_key(ECExportFormat.SEC1)
        try:
            EC.new_key_from_der_data(der)
        except RuntimeError:
            continue
        break
    body = base64.b64encode(der).decode()
    return f"-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n"


def login(
    sim: Simulation,
    expired: bool = False,
    mode: SigninMode = "ok",
    profile: str = "credpick-login",
) -> RuntimeHandle:
    _choice("login", "mode", mode, get_args(SigninMode))
    client_id = "arn:aws:signin:::devtools/same-device"
    refresh_token = "refresh-" + secrets.token_urlsafe(24)
    emu = sim._server(
        SigninEndpoint(
            client_id=client_id, refresh_token=refresh_token, account_id=ACCOUNT, mode=mode
        )
    )
    session = f"arn:aws:iam::{ACCOUNT}:user/credpick-person"
    sim._append(
        sim.config_file,
        f"[profile {profile}]\nlogin_session = {session}\nregion = us-east-1\n\n",
    )
    creds = FakeCredentials.issue(expires_in=-_HOUR if expired else dt.timedelta(minutes=15))
    cache = (
        sim.home
        / ".aws"
        / "login"
        / "cache"
        / (hashlib.sha256(session.encode()).hexdigest() + ".json")
    )
    sim._append(
        cache,
        json.dumps(
            {
                "accessToken": {
                    "accessKeyId": creds.access_key_id,
                    "secretAccessKey": creds.secret_access_key,
                    "sessionToken": creds.token,
                    "accountId": ACCOUNT,
                    "expiresAt": creds.expiration_iso,
                },
                "tokenType": "aws_sigv4",
                "refreshToken": refresh_token,
                "clientId": client_id,
                "dpopKey": _dpop_key(),
            }
        ),
    )
    env = sim._set({"AWS_PROFILE": profile, "AWS_ENDPOINT_URL_SIGNIN": emu.url})
    return RuntimeHandle(SourceKind.LOGIN, None, emu, env=env)


def static(sim: Simulation, where: str = "env") -> RuntimeHandle:
    _choice("static", "where", where, ("env", "credentials-file"))
    key_id, secret = fake_static_key()
    env: dict[str, str] = {}
    if where == "env":
        env = sim._set({"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret})
    else:
        sim._append(
            sim.credentials_file,
            f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n",
        )
    return RuntimeHandle(SourceKind.STATIC, None, env=env)


def env_session(sim: Simulation) -> RuntimeHandle:
    creds = FakeCredentials.issue()
    env = sim._set(
        {
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_SESSION_TOKEN": creds.token,
        }
    )
    return RuntimeHandle(SourceKind.ENV_SESSION, None, env=env)


def assume_role(sim: Simulation, profile: str = "credpick-ops") -> RuntimeHandle:
    sts = sim.sts()
    key_id, secret = fake_static_key()
    role = _role("credpick-ops")
    sim._append(
        sim.credentials_file,
        f"[credpick-base]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n",
    )
    # Not a platform: the profile carries the region STS needs, as `aws configure` writes it.
    sim._append(
        sim.config_file,
        f"[profile {profile}]\nrole_arn = {role}\nsource_profile = credpick-base\n"
        f"region = {DEFAULT_REGION}\n\n",
    )
    env = sim._set({"AWS_PROFILE": profile, "AWS_ENDPOINT_URL_STS": sts.url})
    return RuntimeHandle(SourceKind.ASSUME_ROLE, role, sts=sts, env=env)


def credential_process(sim: Simulation, profile: str = "credpick-process") -> RuntimeHandle:
    script = sim._append(
        sim.workdir / "credential_process.py",
        (
            "import json\nfrom credpick.testing import FakeCredentials\n"
            "c = FakeCredentials.issue()\n"
            "print(json.dumps({'Version': 1, 'AccessKeyId': c.access_key_id,"
            " 'SecretAccessKey': c.secret_access_key, 'SessionToken': c.token,"
            " 'Expiration': c.expiration_iso}))\n"
        ),
    )
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    sim._append(sim.config_file, f"[profile {profile}]\ncredential_process = {command}\n\n")
    env = sim._set({"AWS_PROFILE": profile})
    return RuntimeHandle(SourceKind.CREDENTIAL_PROCESS, None, env=env)


#: Each runtime's set-up; its keyword arguments are the runtime's options.
RUNTIMES: dict[SourceKind, Callable[..., RuntimeHandle]] = {
    SourceKind.LAMBDA: lambda_,
    SourceKind.ECS: ecs,
    SourceKind.EKS_POD_IDENTITY: eks_pod_identity,
    SourceKind.WEB_IDENTITY: web_identity,
    SourceKind.GITHUB_OIDC: github_oidc,
    SourceKind.EC2_INSTANCE_PROFILE: ec2_instance_profile,
    SourceKind.SSO: sso,
    SourceKind.LOGIN: login,
    SourceKind.ASSUME_ROLE: assume_role,
    SourceKind.CREDENTIAL_PROCESS: credential_process,
    SourceKind.CONTAINER: container,
    SourceKind.ENV_SESSION: env_session,
    SourceKind.STATIC: static,
}


def options_of(kind: SourceKind) -> dict[str, Any]:
    """The options a runtime accepts, with their defaults.

    Args:
        kind: The runtime.

    Returns:
        Option name to default value, in signature order.
    """
    import inspect

    params = list(inspect.signature(RUNTIMES[kind]).parameters.values())[1:]
    return {p.name: p.default for p in params}
