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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

import attrs

from .._model import SourceKind
from ._container import ContainerCredentialsEndpoint, ContainerMode
from ._fakes import SECRET_PREFIX, FakeCredentials, RecordedRequest
from ._github import GitHubMode, GitHubOidcEndpoint
from ._imds import ImdsEmulator, ImdsMode
from ._server import LoopbackServer
from ._signin import SigninEndpoint, SigninMode
from ._sso import SsoPortal
from ._sts import StsEmulator

if TYPE_CHECKING:
    from ._simulation import Simulation

__all__ = ["ACCOUNT", "RUNTIMES", "RuntimeHandle", "fake_static_key"]

ACCOUNT = "123456789012"
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

    .. versionadded:: 0.1.0
    """

    kind: SourceKind
    role_arn: str | None
    emulator: LoopbackServer | None = None
    sts: StsEmulator | None = attrs.field(default=None, repr=False)
    env: dict[str, str] = attrs.field(factory=dict, repr=False)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests the runtime's emulator served, oldest first."""
        return self.emulator.requests if self.emulator is not None else []


def _role(name: str = "credpick-test-role") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _choice(kind: str, option: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        listed = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"runtime {kind!r}: {option} must be one of {listed}, not {value!r}")


def _region(sim: Simulation) -> None:
    """STS needs a region to sign for; give it one unless the test chose its own."""
    if not (sim._environ.get("AWS_REGION") or sim._environ.get("AWS_DEFAULT_REGION")):
        sim._set({"AWS_REGION": "us-east-1"})


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
) -> RuntimeHandle:
    _choice(kind.value, "mode", mode, get_args(ContainerMode))
    emu = sim._server(
        ContainerCredentialsEndpoint(authorization=token, mode=mode, expires_in=expires_in)
    )
    env = sim._set({"AWS_CONTAINER_CREDENTIALS_FULL_URI": emu.full_uri, **extra})
    return RuntimeHandle(kind, emu.role_arn, emu, env=env)


def ecs(
    sim: Simulation, mode: ContainerMode = "healthy", expires_in: dt.timedelta = _HOUR
) -> RuntimeHandle:
    # Real ECS uses the relative URI on 169.254.170.2, which cannot be
    # redirected; the full URI plus ECS's own variables is the loopback twin.
    token = "ecs-" + secrets.token_urlsafe(16)
    extra = {
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
        "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/credpick-simulated",
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
    }
    return _container(sim, SourceKind.ECS, token, mode, expires_in, extra)


def eks_pod_identity(
    sim: Simulation, mode: ContainerMode = "healthy", expires_in: dt.timedelta = _HOUR
) -> RuntimeHandle:
    token = "eks-pod-identity-" + secrets.token_urlsafe(16)
    path = sim._append(sim.workdir / "eks-pod-identity-token", token)
    extra = {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path)}
    return _container(sim, SourceKind.EKS_POD_IDENTITY, token, mode, expires_in, extra)


def container(
    sim: Simulation, mode: ContainerMode = "healthy", expires_in: dt.timedelta = _HOUR
) -> RuntimeHandle:
    return _container(sim, SourceKind.CONTAINER, None, mode, expires_in, {})


def web_identity(sim: Simulation, role_arn: str | None = None) -> RuntimeHandle:
    sts = sim.sts()
    token = sim._append(sim.workdir / "web-identity-token", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl")
    role = role_arn or _role()
    _region(sim)
    env = sim._set(
        {
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
            "AWS_ROLE_ARN": role,
            "AWS_ROLE_SESSION_NAME": "credpick-simulated",
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
    _region(sim)
    env = sim._set(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_RUN_ID": "1",
            "ACTIONS_ID_TOKEN_REQUEST_URL": emu.request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": emu.request_token,
            "AWS_ROLE_ARN": role,
            "AWS_ENDPOINT_URL_STS": sts.url,
        }
    )
    return RuntimeHandle(SourceKind.GITHUB_OIDC, role, emu, sts=sts, env=env)


def lambda_(sim: Simulation) -> RuntimeHandle:
    creds = FakeCredentials.issue(expires_in=dt.timedelta(hours=12))
    _region(sim)  # Lambda always sets the region
    env = sim._set(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "credpick-simulated",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
            "AWS_SESSION_TOKEN": creds.token,
        }
    )
    return RuntimeHandle(SourceKind.LAMBDA, _role("credpick-lambda-role"), env=env)


def sso(sim: Simulation, expired: bool = False, profile: str = "credpick-sso") -> RuntimeHandle:
    access_token = "sso-" + secrets.token_urlsafe(24)
    emu = sim._server(SsoPortal(access_token=access_token, account_id=ACCOUNT))
    sim._append(
        sim.config_file,
        (
            f"[profile {profile}]\nsso_session = credpick\nsso_account_id = {ACCOUNT}\n"
            f"sso_role_name = {emu.role_name}\nregion = us-east-1\n\n"
            "[sso-session credpick]\nsso_start_url = https://credpick.awsapps.com/start\n"
            "sso_region = us-east-1\n\n"
        ),
    )
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=-1 if expired else 8)
    cache = sim.sso_cache_dir / (hashlib.sha1(b"credpick").hexdigest() + ".json")
    sim._append(
        cache,
        json.dumps(
            {
                "startUrl": "https://credpick.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": access_token,
                "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ),
    )
    env = sim._set({"AWS_PROFILE": profile, "AWS_ENDPOINT_URL_SSO": emu.url})
    return RuntimeHandle(SourceKind.SSO, _role(emu.role_name), emu, env=env)


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
    sim._append(
        sim.config_file,
        f"[profile {profile}]\nrole_arn = {role}\nsource_profile = credpick-base\n\n",
    )
    _region(sim)
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
