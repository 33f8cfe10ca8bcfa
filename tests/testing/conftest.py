"""Fixtures for the emulator tests (the loopback-only guard is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.config
import botocore.session
import pytest

MakeClient = Callable[[str, str], Any]


@pytest.fixture
def boto_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> botocore.session.Session:
    """A botocore session blind to the developer's own AWS config and env."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_SSO",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return botocore.session.Session()


@pytest.fixture
def make_client(boto_session: botocore.session.Session) -> MakeClient:
    """Build clients with fake static keys, one attempt, and a loopback endpoint."""

    def make(service: str, endpoint_url: str) -> Any:
        return boto_session.create_client(
            service,
            region_name="us-east-1",
            endpoint_url=endpoint_url,
            aws_access_key_id="AKIAFAKEFAKEFAKEFAKE",
            aws_secret_access_key="FAKE-SECRET-credpick-static",
            config=botocore.config.Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=2,
                read_timeout=5,
            ),
        )

    return make
