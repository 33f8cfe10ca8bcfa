"""Put this process in an emulated AWS runtime: emulators plus the variables
and files that runtime really sets. Used by the tour and the pytest plugin."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import shlex
import shutil
import string
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs

from .._model import SourceKind
from ..sources import imds as _imds
from ._container import ContainerCredentialsEndpoint
from ._fakes import SECRET_PREFIX, FakeCredentials, RecordedRequest
from ._github import GitHubOidcEndpoint
from ._imds import ImdsEmulator
from ._server import LoopbackServer
from ._sso import SsoPortal
from ._sts import StsEmulator

__all__ = ["ISOLATED_PREFIXES", "RuntimeHandle", "Simulation"]

#: Variables removed from the environment on entry: nothing leaks in from outside.
ISOLATED_PREFIXES = ("AWS_", "ACTIONS_", "ECS_", "GITHUB_", "BOTO_")
ACCOUNT = "123456789012"
_ALNUM = string.ascii_uppercase + string.digits
# Runtimes that own the same variables cannot be layered.
_EXCLUSIVE = (
    {"lambda", "ecs", "eks-pod-identity", "container"},
    {"lambda", "env-session"},
    {"sso", "assume-role", "credential-process"},
)
_NEEDS_STS = {"web-identity", "github-oidc", "assume-role"}


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


class Simulation:
    """An isolated environment in which runtimes can be layered.

    On entry every ``AWS_*``/``ACTIONS_*``/``ECS_*``/``GITHUB_*`` variable is
    removed, ``HOME`` and the AWS files move to a temporary folder, the
    metadata service is disabled, and botocore's import-time SSO cache
    directories point into that folder. On exit all of it is restored and
    every emulator stopped.

    Args:
        workdir: Folder for the fake home; a fresh temporary one by default.
        sts: A running STS emulator to share; else one is started when needed.
        environ: The environment to change; ``os.environ`` by default.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        sts: StsEmulator | None = None,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="credpick-"))
        self.home = self.workdir / "home"
        self._environ = os.environ if environ is None else environ
        self._saved_env: dict[str, str] | None = None
        self._saved_sso: list[tuple[Any, str]] = []
        self._sts = sts
        self._own_sts = False
        self._servers: list[LoopbackServer] = []
        self.handles: list[RuntimeHandle] = []

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> Simulation:
        self._saved_env = dict(self._environ)
        for name in list(self._environ):
            if name.startswith(ISOLATED_PREFIXES):
                del self._environ[name]
        self.home.mkdir(parents=True, exist_ok=True)
        self._environ.update(
            HOME=str(self.home),
            AWS_CONFIG_FILE=str(self.config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_REGION="us-east-1",
        )
        from botocore.credentials import SSOProvider
        from botocore.tokens import SSOTokenProvider

        for cls in (SSOProvider, SSOTokenProvider):
            self._saved_sso.append((cls, cls._SSO_TOKEN_CACHE_DIR))
            cls._SSO_TOKEN_CACHE_DIR = str(self.sso_cache_dir)
        _imds.clear_cache()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every emulator and restore the environment."""
        for server in self._servers:
            server.stop()
        self._servers.clear()
        if self._own_sts and self._sts is not None:
            self._sts.stop()
            self._sts, self._own_sts = None, False
        if self._saved_env is not None:
            self._environ.clear()
            self._environ.update(self._saved_env)
            self._saved_env = None
        for cls, value in self._saved_sso:
            cls._SSO_TOKEN_CACHE_DIR = value
        self._saved_sso.clear()
        _imds.clear_cache()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- files -------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        return self.home / ".aws" / "config"

    @property
    def credentials_file(self) -> Path:
        return self.home / ".aws" / "credentials"

    @property
    def sso_cache_dir(self) -> Path:
        return self.home / ".aws" / "sso" / "cache"

    def _append(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
        return path

    # -- runtimes ----------------------------------------------------------

    def _server(self, server: LoopbackServer) -> Any:
        self._servers.append(server.start())
        return server

    def sts(self) -> StsEmulator:
        """The STS emulator, started on first use."""
        if self._sts is None:
            self._sts, self._own_sts = StsEmulator().start(), True
        return self._sts

    def _set(self, env: dict[str, str]) -> dict[str, str]:
        self._environ.update(env)
        return env

    def use(self, kind: str | SourceKind, **options: Any) -> RuntimeHandle:
        """Put the process in the runtime ``kind``; calls layer.

        Args:
            kind: A :class:`~credpick.SourceKind` value, such as ``"ecs"``.
            **options: Per-runtime settings: ``mode=`` for the emulator of
                ``ec2-instance-profile``/``ecs``/``eks-pod-identity``/
                ``container``/``github-oidc``; ``where="env"`` or
                ``"credentials-file"`` for ``static``; ``expired=True`` for ``sso``.

        Returns:
            A handle with the emulator, the role ARN and the request log.

        Raises:
            ValueError: An unknown kind, or one that conflicts with a runtime
                already in use (``lambda`` with ``ecs``...).
        """
        if self._saved_env is None:
            raise RuntimeError("use() needs an entered Simulation: `with Simulation() as sim:`")
        try:
            kind = SourceKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in SourceKind)
            raise ValueError(f"unknown runtime {kind!r}; use one of: {known}") from None
        for group in _EXCLUSIVE:
            clash = [h.kind.value for h in self.handles if h.kind.value in group]
            if kind.value in group and clash:
                raise ValueError(
                    f"runtime {kind.value!r} conflicts with {clash[0]!r} already in use: "
                    "both set the same variables"
                )
        setup = getattr(self, "_use_" + kind.value.replace("-", "_"))
        handle: RuntimeHandle = setup(**options)
        self.handles.append(handle)
        return handle

    def _role(self, name: str = "credpick-test-role") -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"

    def _use_ec2_instance_profile(self, mode: Any = "healthy", **kw: Any) -> RuntimeHandle:
        emu = self._server(ImdsEmulator(mode=mode, **kw))
        self._environ.pop("AWS_EC2_METADATA_DISABLED", None)
        env = self._set({"AWS_EC2_METADATA_SERVICE_ENDPOINT": emu.endpoint})
        role = self._role(emu.role_name) if emu.role_name else None
        return RuntimeHandle(SourceKind.EC2_INSTANCE_PROFILE, role, emu, env=env)

    def _container(
        self, kind: SourceKind, token: str | None, mode: Any, extra: dict[str, str]
    ) -> RuntimeHandle:
        emu = self._server(ContainerCredentialsEndpoint(authorization=token, mode=mode))
        env = self._set({"AWS_CONTAINER_CREDENTIALS_FULL_URI": emu.full_uri, **extra})
        return RuntimeHandle(kind, emu.role_arn, emu, env=env)

    def _use_ecs(self, mode: Any = "healthy") -> RuntimeHandle:
        # Real ECS uses the relative URI on 169.254.170.2, which cannot be
        # redirected; the full URI plus ECS's own variables is the loopback twin.
        token = "ecs-" + secrets.token_urlsafe(16)
        return self._container(
            SourceKind.ECS,
            token,
            mode,
            {
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
                "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/credpick-simulated",
                "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
            },
        )

    def _use_eks_pod_identity(self, mode: Any = "healthy") -> RuntimeHandle:
        token = "eks-pod-identity-" + secrets.token_urlsafe(16)
        path = self._append(self.workdir / "eks-pod-identity-token", token)
        return self._container(
            SourceKind.EKS_POD_IDENTITY,
            token,
            mode,
            {
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path),
            },
        )

    def _use_container(self, mode: Any = "healthy") -> RuntimeHandle:
        return self._container(SourceKind.CONTAINER, None, mode, {})

    def _use_web_identity(self) -> RuntimeHandle:
        sts = self.sts()
        token = self._append(
            self.workdir / "web-identity-token", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"
        )
        role = self._role()
        env = self._set(
            {
                "AWS_WEB_IDENTITY_TOKEN_FILE": str(token),
                "AWS_ROLE_ARN": role,
                "AWS_ROLE_SESSION_NAME": "credpick-simulated",
                "AWS_ENDPOINT_URL_STS": sts.url,
            }
        )
        return RuntimeHandle(SourceKind.WEB_IDENTITY, role, sts=sts, env=env)

    def _use_github_oidc(self, mode: Any = "healthy") -> RuntimeHandle:
        sts = self.sts()
        emu = self._server(GitHubOidcEndpoint(mode=mode))
        role = self._role("credpick-github-role")
        env = self._set(
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

    def _use_lambda(self) -> RuntimeHandle:
        creds = FakeCredentials.issue(expires_in=dt.timedelta(hours=12))
        env = self._set(
            {
                "AWS_LAMBDA_FUNCTION_NAME": "credpick-simulated",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
                "AWS_ACCESS_KEY_ID": creds.access_key_id,
                "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                "AWS_SESSION_TOKEN": creds.token,
            }
        )
        return RuntimeHandle(SourceKind.LAMBDA, self._role("credpick-lambda-role"), env=env)

    def _use_sso(self, expired: bool = False, profile: str = "credpick-sso") -> RuntimeHandle:
        access_token = "sso-" + secrets.token_urlsafe(24)
        emu = self._server(SsoPortal(access_token=access_token, account_id=ACCOUNT))
        self._append(
            self.config_file,
            (
                f"[profile {profile}]\nsso_session = credpick\nsso_account_id = {ACCOUNT}\n"
                f"sso_role_name = {emu.role_name}\nregion = us-east-1\n\n"
                "[sso-session credpick]\nsso_start_url = https://credpick.awsapps.com/start\n"
                "sso_region = us-east-1\n\n"
            ),
        )
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=-1 if expired else 8)
        cache = self.sso_cache_dir / (hashlib.sha1(b"credpick").hexdigest() + ".json")
        self._append(
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
        env = self._set({"AWS_PROFILE": profile, "AWS_ENDPOINT_URL_SSO": emu.url})
        return RuntimeHandle(SourceKind.SSO, self._role(emu.role_name), emu, env=env)

    def _use_static(self, where: str = "env") -> RuntimeHandle:
        key_id, secret = fake_static_key()
        env: dict[str, str] = {}
        if where == "env":
            env = self._set({"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret})
        elif where == "credentials-file":
            self._append(
                self.credentials_file,
                (f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n"),
            )
        else:
            raise ValueError(f"static: where must be 'env' or 'credentials-file', not {where!r}")
        return RuntimeHandle(SourceKind.STATIC, None, env=env)

    def _use_env_session(self) -> RuntimeHandle:
        creds = FakeCredentials.issue()
        env = self._set(
            {
                "AWS_ACCESS_KEY_ID": creds.access_key_id,
                "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                "AWS_SESSION_TOKEN": creds.token,
            }
        )
        return RuntimeHandle(SourceKind.ENV_SESSION, None, env=env)

    def _use_assume_role(self, profile: str = "credpick-ops") -> RuntimeHandle:
        sts = self.sts()
        key_id, secret = fake_static_key()
        role = self._role("credpick-ops")
        self._append(
            self.credentials_file,
            (
                f"[credpick-base]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n\n"
            ),
        )
        self._append(
            self.config_file,
            f"[profile {profile}]\nrole_arn = {role}\nsource_profile = credpick-base\n\n",
        )
        env = self._set({"AWS_PROFILE": profile, "AWS_ENDPOINT_URL_STS": sts.url})
        return RuntimeHandle(SourceKind.ASSUME_ROLE, role, sts=sts, env=env)

    def _use_credential_process(self, profile: str = "credpick-process") -> RuntimeHandle:
        script = self._append(
            self.workdir / "credential_process.py",
            (
                "import json\nfrom credpick.testing import FakeCredentials\n"
                "c = FakeCredentials.issue()\n"
                "print(json.dumps({'Version': 1, 'AccessKeyId': c.access_key_id,"
                " 'SecretAccessKey': c.secret_access_key, 'SessionToken': c.token,"
                " 'Expiration': c.expiration_iso}))\n"
            ),
        )
        self._append(
            self.config_file,
            (
                f"[profile {profile}]\ncredential_process = {shlex.quote(sys.executable)} {shlex.quote(str(script))}\n\n"
            ),
        )
        env = self._set({"AWS_PROFILE": profile})
        return RuntimeHandle(SourceKind.CREDENTIAL_PROCESS, None, env=env)
