"""Suite-wide isolation: loopback only, and nothing from the developer's AWS set-up.

Both come from credpick's own pytest plugin (``credpick_runtime`` and its socket
guard), made stricter here: the plugin's guard refuses only real AWS, this
suite's refuses everything but loopback, in this process and in child processes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from credpick import Context
from credpick.testing import Simulation, SocketGuard, StsEmulator
from credpick.testing._guard import ENV_FLAG, SITE_DIR, GuardPolicy


@pytest.fixture
def credpick_guard_policy() -> GuardPolicy:
    """Stricter than the plugin's default: nothing but loopback."""
    return "loopback"


@pytest.fixture
def credpick_region() -> None:
    """No AWS_REGION by default: a profile's own region must be able to win."""
    return None


@pytest.fixture(autouse=True)
def socket_guard(credpick_socket_guard: SocketGuard, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any test that connects anywhere but loopback, in this process or a child."""
    monkeypatch.setenv(ENV_FLAG, "1")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(SITE_DIR), os.environ.get("PYTHONPATH")]))
    )
    return credpick_socket_guard.attempts


@pytest.fixture(autouse=True)
def _isolated(credpick_runtime: Simulation) -> Path:
    """No AWS variables or files from outside; the metadata service disabled."""
    return credpick_runtime.home


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


@pytest.fixture
def _sts_server(credpick_sts: StsEmulator) -> StsEmulator:
    """moto's threaded STS server, shared by the session (the plugin's ``credpick_sts``)."""
    return credpick_sts


@pytest.fixture
def sts(credpick_sts: StsEmulator, monkeypatch: pytest.MonkeyPatch) -> StsEmulator:
    """STS on loopback, reset for this test, and botocore pointed at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", credpick_sts.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return credpick_sts
