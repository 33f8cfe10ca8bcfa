"""Suite-wide isolation: loopback only, and nothing from the developer's AWS set-up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credpick import Context
from credpick.sources import imds as imds_source
from credpick.testing._guard import ENV_FLAG, SITE_DIR, SocketGuard

_PREFIXES = ("AWS_", "ACTIONS_", "ECS_", "GITHUB_", "BOTO_")


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any test that connects anywhere but loopback, in this process or a child."""
    monkeypatch.setenv(ENV_FLAG, "1")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(SITE_DIR), os.environ.get("PYTHONPATH")]))
    )
    with SocketGuard() as guard:
        yield guard.attempts
    if guard.attempts:
        pytest.fail(f"non-loopback connections attempted: {', '.join(guard.attempts)}")


@pytest.fixture(autouse=True)
def _isolated(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """No AWS variables or files from outside; the metadata service disabled."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # botocore fixes these at import time from the real home.
    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    cache = str(home / ".aws" / "sso" / "cache")
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", cache)
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", cache)
    imds_source.clear_cache()
    yield home
    imds_source.clear_cache()


@pytest.fixture
def home(_isolated: Path) -> Path:
    """The test's own home directory."""
    return _isolated


@pytest.fixture
def make_context(home: Path, tmp_path: Path) -> Any:
    """Build an in-memory Context: ``make_context(env={...}, root=...)``."""

    def make(env: dict[str, str] | None = None, **kwargs: Any) -> Context:
        base = {"HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}
        base.update(env or {})
        kwargs.setdefault("root", tmp_path / "root")
        return Context(env={k: v for k, v in base.items() if v is not None}, home=home, **kwargs)

    return make


@pytest.fixture(scope="session")
def _sts_server() -> Iterator[Any]:
    """moto's threaded STS server: slow to start, so one per test session."""
    from credpick.testing import StsEmulator

    with StsEmulator() as server:
        yield server


@pytest.fixture
def sts(_sts_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """STS on loopback, reset for this test, and botocore pointed at it."""
    _sts_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", _sts_server.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return _sts_server


@pytest.fixture
def imds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A healthy instance metadata service, and botocore pointed at it."""
    from credpick.testing import ImdsEmulator

    with ImdsEmulator() as emulator:
        monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", emulator.endpoint)
        yield emulator
