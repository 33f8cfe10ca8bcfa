"""credpick's region order beside botocore's, as ``_region``'s docstring states it."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

import credpick
from tests.helpers import STATIC_ENV


@pytest.mark.parametrize(
    ("env", "botocore_region", "credpick_picks"),
    [
        ({"AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-2", "eu-west-2"),
        # botocore never reads AWS_REGION for a client's region; credpick does, first.
        ({"AWS_REGION": "eu-west-1"}, None, "eu-west-1"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"}, "eu-west-2", "eu-west-1"),
        # What every emulated platform runtime sets: both, to one value. No difference.
        (
            {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1"},
            "ap-south-1",
            "ap-south-1",
        ),
    ],
)
def test_region_variables_beside_botocore(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    botocore_region: str | None,
    credpick_picks: str,
) -> None:
    for name, value in {**STATIC_ENV, **env}.items():
        monkeypatch.setenv(name, value)
    assert botocore.session.Session().get_config_variable("region") == botocore_region
    assert credpick.session().region_name == credpick_picks


def test_the_profile_region_comes_after_both_variables(
    monkeypatch: pytest.MonkeyPatch, home: Any
) -> None:
    config = home / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[default]\nregion = sa-east-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name, value in STATIC_ENV.items():
        monkeypatch.setenv(name, value)
    assert botocore.session.Session().get_config_variable("region") == "sa-east-1"
    assert credpick.session().region_name == "sa-east-1"
    monkeypatch.setenv("AWS_REGION", "eu-north-1")  # botocore: still the profile's
    assert botocore.session.Session().get_config_variable("region") == "sa-east-1"
    assert credpick.session().region_name == "eu-north-1"
