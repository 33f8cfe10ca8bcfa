"""Put this process in an emulated AWS runtime: emulators plus the variables
and files that runtime really sets. Used by the tour and the pytest plugin."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from .. import _context
from .._model import SourceKind, SourceKindName
from .._near import close_match
from ..exceptions import ConfigurationError
from ..sources import imds as _imds
from ._runtimes import RUNTIMES, RuntimeHandle, options_of
from ._server import LoopbackServer
from ._sts import StsEmulator

__all__ = ["ISOLATED_PREFIXES", "EnvPatcher", "RuntimeHandle", "Simulation"]

#: Variables removed from the environment on entry: nothing leaks in from outside.
ISOLATED_PREFIXES = ("AWS_", "ACTIONS_", "ECS_", "GITHUB_", "BOTO_")
# Runtimes that own the same variables cannot be layered.
_S = TypeVar("_S", bound=LoopbackServer)
_EXCLUSIVE = (
    {"lambda", "ecs", "eks-pod-identity", "container"},
    {"lambda", "env-session"},
    {"sso", "assume-role", "credential-process"},
)


class EnvPatcher(Protocol):
    """What :class:`Simulation` needs to change the process: ``pytest.MonkeyPatch`` fits.

    .. versionadded:: 0.1.0
    """

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None: ...

    def delenv(self, name: str, raising: bool = True) -> None: ...

    def setattr(self, target: object, name: str, value: object, raising: bool = True) -> None: ...


class _Restorer:
    """The default patcher: writes straight through, then restores a snapshot.

    Restoring the whole snapshot (not an undo log) also reverts variables the
    code under test set itself.
    """

    def __init__(self, environ: MutableMapping[str, str]) -> None:
        self._environ = environ
        self._snapshot = dict(environ)
        self._attrs: list[tuple[object, str, object]] = []

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        self._environ[name] = value

    def delenv(self, name: str, raising: bool = True) -> None:
        self._environ.pop(name, None)

    def setattr(self, target: object, name: str, value: object, raising: bool = True) -> None:
        self._attrs.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    def undo(self) -> None:
        while self._attrs:
            target, name, value = self._attrs.pop()
            setattr(target, name, value)
        self._environ.clear()
        self._environ.update(self._snapshot)


class Simulation:
    """An isolated environment in which runtimes can be layered.

    On entry every ``AWS_*``/``ACTIONS_*``/``ECS_*``/``GITHUB_*``/``BOTO_*``
    variable is removed, ``HOME`` and the AWS files move to a temporary folder,
    the metadata service is disabled, botocore's import-time SSO cache
    directories point into that folder, and boto3's cached default session is
    dropped. On exit every emulator stops and all
    of it is restored: by the Simulation itself, or, when a ``monkeypatch`` is
    given, by that monkeypatch's own undo.

    Args:
        workdir: Folder for the fake home; a fresh temporary one by default.
        sts: A running STS emulator to share, or a function returning one;
            else one is started when a runtime first needs it.
        environ: The environment to change; ``os.environ`` by default.
        monkeypatch: Make every change through this (``pytest.MonkeyPatch``),
            so it is undone in order with the test's own monkeypatching.
            Changes ``os.environ``; cannot be combined with ``environ``.
        region: ``AWS_REGION`` and ``AWS_DEFAULT_REGION`` to set on entry, or
            None to leave both unset.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        sts: StsEmulator | Callable[[], StsEmulator] | None = None,
        environ: MutableMapping[str, str] | None = None,
        monkeypatch: EnvPatcher | None = None,
        region: str | None = "us-east-1",
    ) -> None:
        if monkeypatch is not None and environ is not None:
            raise ConfigurationError("pass environ= or monkeypatch=, not both")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="credpick-"))
        self.home = self.workdir / "home"
        self._environ: MutableMapping[str, str] = os.environ if environ is None else environ
        self._monkeypatch = monkeypatch
        self._patch: EnvPatcher | None = None
        self._restorer: _Restorer | None = None
        self._region = region
        self._sts_source = sts
        self._sts: StsEmulator | None = None
        self._own_sts = False
        self._servers: list[LoopbackServer] = []
        self.handles: list[RuntimeHandle] = []

    def __repr__(self) -> str:
        kinds = ", ".join(h.kind.value for h in self.handles) or "isolated"
        return f"Simulation({kinds})"

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> Simulation:
        if self._patch is not None:
            raise RuntimeError("this Simulation is already entered")
        if self._monkeypatch is None:
            self._restorer = _Restorer(self._environ)
        patch = self._patch = self._monkeypatch or self._restorer
        assert patch is not None
        for name in list(self._environ):
            if name.startswith(ISOLATED_PREFIXES):
                patch.delenv(name, raising=False)
        self.home.mkdir(parents=True, exist_ok=True)
        base = {
            "HOME": str(self.home),
            "AWS_CONFIG_FILE": str(self.config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self._region is not None:
            # Both names: botocore and the AWS CLI read only AWS_DEFAULT_REGION,
            # most other SDKs (and credpick, first) AWS_REGION.
            base["AWS_REGION"] = base["AWS_DEFAULT_REGION"] = self._region
        self._set(base)
        # botocore fixes these at import time from the real home.
        import boto3
        from botocore.credentials import SSOProvider
        from botocore.tokens import SSOTokenProvider

        for cls in (SSOProvider, SSOTokenProvider):
            patch.setattr(cls, "_SSO_TOKEN_CACHE_DIR", str(self.sso_cache_dir))
        # boto3.client() reuses one default session, with the credentials it
        # found first; a fresh one sees the runtime this Simulation sets.
        patch.setattr(boto3, "DEFAULT_SESSION", None)
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
        """Stop every emulator and restore what this Simulation changed.

        With a ``monkeypatch``, the variables come back when it undoes.
        """
        try:
            for server in self._servers:
                server.stop()
        finally:
            self._servers.clear()
            if self._own_sts and self._sts is not None:
                self._sts.stop()
            self._sts, self._own_sts = None, False
            if self._restorer is not None:
                self._restorer.undo()
            self._restorer = self._patch = None
            _imds.clear_cache()
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    # -- files -------------------------------------------------------------

    @property
    def config_file(self) -> Path:
        """The isolated ``AWS_CONFIG_FILE`` (may not exist yet)."""
        return self.home / ".aws" / "config"

    @property
    def credentials_file(self) -> Path:
        """The isolated ``AWS_SHARED_CREDENTIALS_FILE`` (may not exist yet)."""
        return self.home / ".aws" / "credentials"

    @property
    def sso_cache_dir(self) -> Path:
        """Where botocore looks for cached SSO tokens, inside the fake home."""
        return self.home / ".aws" / "sso" / "cache"

    # -- what the runtimes call --------------------------------------------

    def _append(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def _server(self, server: _S) -> _S:
        self._servers.append(server.start())
        return server

    def _set(self, env: dict[str, str]) -> dict[str, str]:
        assert self._patch is not None
        for name, value in env.items():
            self._patch.setenv(name, value)
        return env

    def _map_ecs_agent(self, host_port: str) -> None:
        """Send the ECS relative URI to a loopback ``host:port``, until exit.

        For credpick, :attr:`credpick.Context.ecs_agent_for_tests` (through
        ``Context.from_process()``); for botocore in this process, its
        fetcher's agent address. Nothing a real process reads changes.
        """
        from botocore.utils import ContainerMetadataFetcher

        assert self._patch is not None
        self._patch.setattr(_context, "_ECS_AGENT_FOR_TESTS", host_port)
        self._patch.setattr(ContainerMetadataFetcher, "IP_ADDRESS", host_port)

    def _unset(self, name: str) -> None:
        assert self._patch is not None
        self._patch.delenv(name, raising=False)

    def sts(self) -> StsEmulator:
        """The STS emulator (moto: every AWS service), started on first use.

        Returns:
            A running emulator; its ``url`` serves any service moto knows.
        """
        if self._sts is None:
            source = self._sts_source
            if isinstance(source, StsEmulator):
                self._sts = source
            elif source is not None:
                self._sts = source()
            else:
                self._sts, self._own_sts = StsEmulator().start(), True
        return self._sts

    # -- runtimes ----------------------------------------------------------

    def use(self, kind: SourceKind | SourceKindName, **options: Any) -> RuntimeHandle:
        """Put the process in the runtime ``kind``; calls layer.

        Args:
            kind: A :class:`~credpick.SourceKind` value, such as ``"ecs"``.
            **options: Per-runtime settings: ``mode=`` for the emulator of
                ``ec2-instance-profile``/``ecs``/``eks-pod-identity``/
                ``container``/``github-oidc``; ``where="env"`` or
                ``"credentials-file"`` for ``static``; ``expired=True`` for
                ``sso``; see docs/testing.md for the full table.

        Returns:
            A handle with the emulator, the role ARN and the request log.

        Raises:
            ConfigurationError: An unknown kind (with the closest one) or
                option, a bad option value, or a runtime that conflicts with one already in use (``lambda``
                with ``ecs``...).
            RuntimeError: The Simulation is not entered.
        """
        if self._patch is None:
            raise RuntimeError("use() needs an entered Simulation: `with Simulation() as sim:`")
        source = _kind(kind)
        for group in _EXCLUSIVE:
            clash = [h.kind.value for h in self.handles if h.kind.value in group]
            if source.value in group and clash:
                raise ConfigurationError(
                    f"runtime {source.value!r} conflicts with {clash[0]!r} already in use: "
                    "both set the same variables, so no process can be in both"
                )
        accepted = options_of(source)
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            what = ", ".join(accepted) if accepted else "none"
            raise ConfigurationError(
                f"runtime {source.value!r} has no option {unknown[0]!r}; its options: {what}"
            )
        handle = RUNTIMES[source](self, **options)
        self.handles.append(handle)
        return handle


def _kind(kind: object) -> SourceKind:  # any object: callers need not type-check
    try:
        return SourceKind(kind)
    except ValueError:
        known = [k.value for k in SourceKind]
        # The one close-match rule credpick uses for names (a prefix, "ec2", beats spelling).
        near = close_match(str(kind), known)
        hint = f"did you mean {near!r}? " if near else ""
        raise ConfigurationError(
            f"unknown runtime {kind!r}; {hint}use one of: {', '.join(known)}",
            fix=f"use {near!r}" if near else "use a credpick.SourceKind",
        ) from None
