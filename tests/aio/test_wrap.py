"""credpick.aio.wrap: the checks of credpick.wrap on an aiobotocore session someone built."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.aio._aio import frozen, require_aiobotocore

require_aiobotocore()

from aiobotocore.session import AioSession  # noqa: E402

import credpick  # noqa: E402
import credpick.aio  # noqa: E402
from credpick import Policy  # noqa: E402
from credpick.testing import Simulation  # noqa: E402

from ..helpers import SESSION_TOKEN, STATIC_KEY_ID, STATIC_SECRET, TEMP_KEY_ID, TEMP_SECRET  # noqa: E402
from ..security._leaks import Records, assert_clean_error, leaks  # noqa: E402
from ..security._marked import MARKERS  # noqa: E402


def _explicit(
    key: str = STATIC_KEY_ID, secret: str = STATIC_SECRET, token: str | None = None
) -> AioSession:
    session = AioSession()
    session.set_credentials(key, secret, token)
    return session


def _wrap(session: Any, **kwargs: Any) -> Any:
    return asyncio.run(credpick.aio.wrap(session, **kwargs))


def _refused(session: Any, **kwargs: Any) -> credpick.StaticKeysRefused:
    """The refusal, caught here: the test's frame is not in its traceback."""
    with pytest.raises(credpick.StaticKeysRefused) as info:
        _wrap(session, **kwargs)
    return info.value


@pytest.fixture
def records() -> Iterator[Records]:
    root = logging.getLogger()
    handler, level = Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_long_lived_keys_beside_a_role_are_refused_naming_the_role(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("ecs")
    error = _refused(_explicit())
    assert "ecs (environment)" in str(error) and "AKIA...MPLE" in str(error)
    assert "credpick.aio.wrap(session, replace=True)" in str(error)
    assert_clean_error(error)


def test_replace_swaps_them_for_the_role_in_the_same_region(credpick_runtime: Simulation) -> None:
    handle = credpick_runtime.use("ecs")
    session = _explicit()
    session.set_config_variable("region", "eu-north-1")
    fresh = _wrap(session, replace=True)
    assert fresh is not session and isinstance(fresh, AioSession)
    assert fresh.get_config_variable("region") == "eu-north-1"
    got = asyncio.run(frozen(fresh))
    assert got.access_key == handle.emulator.credentials.access_key_id  # type: ignore[union-attr]


def test_long_lived_keys_with_no_role_around_are_kept_unless_forbidden(
    credpick_runtime: Simulation,
) -> None:
    session = _explicit()
    assert _wrap(session) is session
    error = _refused(session, policy=Policy(static_keys="forbid"))
    assert "the policy forbids long-lived keys" in str(error)


def test_temporary_keys_are_kept(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")
    session = _explicit(TEMP_KEY_ID, TEMP_SECRET, SESSION_TOKEN)
    assert _wrap(session, policy=Policy(static_keys="forbid")) is session


def test_aiobotocores_own_chain_on_a_role_is_kept(
    credpick_runtime: Simulation, records: Records
) -> None:
    """aiobotocore's own async container provider, on loopback: a role, kept; its DEBUG
    records (aiobotocore's, aiohttp's) hold no secret while credpick resolves it."""
    handle = credpick_runtime.use("ecs")
    session = AioSession()
    assert _wrap(session) is session
    got = asyncio.run(frozen(session))
    assert got.access_key == handle.emulator.credentials.access_key_id  # type: ignore[union-attr]
    assert leaks(records.texts, MARKERS) == []


def test_a_stray_key_in_aiobotocores_own_chain_is_refused(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")
    credpick_runtime.use("static")
    error = _refused(AioSession())  # aiobotocore's chain takes the environment's keys first
    assert "from environment" in str(error) and "ecs (environment)" in str(error)


def test_a_session_without_credentials_is_no_credentials_found(
    credpick_runtime: Simulation,
) -> None:
    with pytest.raises(credpick.NoCredentialsFound):
        _wrap(AioSession())


def test_an_undefined_profile_is_a_configuration_error(credpick_runtime: Simulation) -> None:
    with pytest.raises(credpick.ConfigurationError, match="'nope' is not defined"):
        _wrap(AioSession(profile="nope"))


def test_a_misspelt_profile_gets_the_close_match(credpick_runtime: Simulation) -> None:
    """As credpick.wrap() says it; the files are read for the suggestion off the loop."""
    credpick_runtime._append(credpick_runtime.config_file, "[profile prod]\nregion = eu-west-1\n")
    with pytest.raises(credpick.ConfigurationError) as info:
        _wrap(AioSession(profile="prodd"))
    assert info.value.reason == "the session's profile 'prodd' is not defined; did you mean 'prod'?"
    assert info.value.fix == "build the session with profile_name='prod'"
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_sync_session_is_a_configuration_error_pointing_at_credpick_wrap() -> None:
    import boto3

    with pytest.raises(credpick.ConfigurationError, match=r"credpick\.wrap\(\)"):
        _wrap(boto3.Session())
