"""credpick.aio.session() in every emulated runtime: the same pick as the sync API, end to end.

Each runtime is emulated on loopback; the async session signs an STS call (moto)
with aiobotocore, and it signs as the identity the sync session signs as.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.aio._aio import caller_arn, frozen, require_aiobotocore

require_aiobotocore()

import credpick  # noqa: E402
import credpick.aio  # noqa: E402
from credpick import Policy, SourceKind  # noqa: E402
from credpick.testing import Simulation  # noqa: E402

from ..helpers import write  # noqa: E402

KINDS = [kind.value for kind in SourceKind]  # every emulated runtime
#: Each load mints fresh keys (moto's STS, a program): the two sides agree on the
#: identity and the kind of key, not on the key id.
MINTS_PER_LOAD = {"web-identity", "github-oidc", "assume-role", "credential-process"}
#: Runtimes whose credentials are the environment's keys: no stray key can sit beside them.
ENV_KEYS = {"static", "lambda", "env-session"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_runtime_end_to_end_with_the_sync_pick(
    kind: str, credpick_runtime: Simulation, sts: Any
) -> None:
    credpick_runtime.use(kind)
    stray = (
        credpick_runtime.use("static").env["AWS_ACCESS_KEY_ID"] if kind not in ENV_KEYS else None
    )

    async def main() -> tuple[Any, str, Any]:
        session = await credpick.aio.session()
        return await frozen(session), await caller_arn(session), await session.get_credentials()

    ours, arn, credentials = asyncio.run(main())
    sync = credpick.session()
    theirs = sync.get_credentials()
    assert credpick.detect().chosen.kind.value == kind  # type: ignore[union-attr]
    assert credentials.method == theirs.method
    sync_arn = sync.client("sts").get_caller_identity()["Arn"]
    if kind in MINTS_PER_LOAD:  # the role; botocore names each role session by the time
        assert arn.rsplit("/", 1)[0] == sync_arn.rsplit("/", 1)[0]
        assert ours.access_key.startswith("ASIA")
    else:
        assert arn == sync_arn
        assert ours.access_key == theirs.get_frozen_credentials().access_key
    assert ours.access_key != stray


def test_the_session_carries_region_profile_and_app_id(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")

    async def main() -> Any:
        return await credpick.aio.session(region_name="eu-west-3")

    session = asyncio.run(main())
    assert session.get_config_variable("region") == "eu-west-3"
    assert session.get_config_variable("user_agent_appid") == "credpick.ecs"
    assert session.get_config_variable("config_file") == str(credpick_runtime.config_file)


def test_the_instance_region_is_asked_at_build_when_nothing_else_sets_it(
    monkeypatch: pytest.MonkeyPatch, credpick_runtime: Simulation
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    handle = credpick_runtime.use("ec2-instance-profile")

    session = asyncio.run(credpick.aio.session())

    assert session.get_config_variable("region") == handle.emulator.region  # type: ignore[union-attr]


# -- the policy: the same decisions as the sync path ---------------------------------


def test_a_stray_long_lived_key_beside_a_role_is_ignored(
    credpick_runtime: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    handle = credpick_runtime.use("ecs")
    stray = credpick_runtime.use("static").env["AWS_ACCESS_KEY_ID"]

    got = asyncio.run(frozen(asyncio.run(credpick.aio.session())))

    assert got.access_key == handle.emulator.credentials.access_key_id  # type: ignore[union-attr]
    assert got.access_key != stray
    assert any("ignored: ecs (environment) is available" in r.getMessage() for r in caplog.records)


def test_long_lived_keys_are_refused_under_forbid(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("static")
    with pytest.raises(credpick.StaticKeysRefused) as info:
        asyncio.run(credpick.aio.session(policy=Policy(static_keys="forbid")))
    with pytest.raises(credpick.StaticKeysRefused) as sync:
        credpick.session(policy=Policy(static_keys="forbid"))
    assert str(info.value) == str(sync.value)


def test_an_explicit_profile_of_long_lived_keys_beside_a_role_is_refused(
    credpick_runtime: Simulation,
) -> None:
    credpick_runtime.use("ecs")
    credpick_runtime.use("static", where="credentials-file")
    with pytest.raises(credpick.StaticKeysRefused, match="ecs"):
        asyncio.run(credpick.aio.session(profile_name="default"))


def test_a_process_printing_an_akia_key_is_refused_once_loaded(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What was loaded is judged, not the kind of source: as credpick.session()."""
    import sys

    from ..helpers import STATIC_KEY_ID, STATIC_SECRET

    reply = {"Version": 1, "AccessKeyId": STATIC_KEY_ID, "SecretAccessKey": STATIC_SECRET}
    script = write(tmp_path / "creds.py", f"import json\nprint(json.dumps({reply!r}))\n")
    write(
        home / ".aws" / "config",
        f"[profile proc]\ncredential_process = {sys.executable} {script}\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "proc")
    with pytest.raises(credpick.StaticKeysRefused, match="credential-process"):
        asyncio.run(credpick.aio.session(policy=Policy(static_keys="forbid")))


def test_the_policy_hook_sees_the_detection_and_can_refuse(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")
    seen: list[credpick.Detection] = []

    def hook(detection: credpick.Detection) -> bool:
        seen.append(detection)
        return False

    with pytest.raises(credpick.PolicyViolation, match="the policy hook returned False"):
        asyncio.run(credpick.aio.session(policy=Policy(hook=hook)))
    assert [d.chosen.kind for d in seen] == [SourceKind.ECS]  # type: ignore[union-attr]


def test_a_hook_that_accepts_lets_the_session_through(credpick_runtime: Simulation) -> None:
    handle = credpick_runtime.use("ecs")
    session = asyncio.run(credpick.aio.session(policy=Policy(hook=lambda d: None)))
    got = asyncio.run(frozen(session))
    assert got.access_key == handle.emulator.credentials.access_key_id  # type: ignore[union-attr]


def test_a_broken_detected_source_fails_closed_naming_it(credpick_runtime: Simulation) -> None:
    """The web identity token file is gone: SourceFailed names the source, and the
    stray key beside it is never used."""
    handle = credpick_runtime.use("web-identity")
    stray = credpick_runtime.use("static").env["AWS_ACCESS_KEY_ID"]
    Path(handle.env["AWS_WEB_IDENTITY_TOKEN_FILE"]).unlink()
    with pytest.raises(credpick.CredpickError) as info:
        asyncio.run(credpick.aio.session())
    assert "web-identity" in str(info.value) and "AWS_WEB_IDENTITY_TOKEN_FILE" in str(info.value)
    assert stray not in str(info.value)


def test_an_unhealthy_endpoint_is_source_failed_not_a_fallback(
    credpick_runtime: Simulation,
) -> None:
    handle = credpick_runtime.use("ecs", mode="error")
    credpick_runtime.use("static")
    with pytest.raises(credpick.SourceFailed) as info:
        asyncio.run(credpick.aio.session())
    assert info.value.kind == "ecs" and "HTTP 500" in str(info.value)
    assert handle.emulator is not None


def test_nothing_found_lists_every_place_looked(credpick_runtime: Simulation) -> None:
    with pytest.raises(credpick.NoCredentialsFound) as info:
        asyncio.run(credpick.aio.session())
    with pytest.raises(credpick.NoCredentialsFound) as sync:
        credpick.session()
    assert info.value.attempts == sync.value.attempts


def test_a_bad_argument_is_a_configuration_error_naming_the_function(
    credpick_runtime: Simulation,
) -> None:
    with pytest.raises(credpick.ConfigurationError, match=r"credpick\.aio\.session"):
        asyncio.run(credpick.aio.session(region_name=42))  # type: ignore[arg-type]


def test_assume_role_chains_from_the_pick(credpick_runtime: Simulation, sts: Any) -> None:
    credpick_runtime.use("ecs")
    role = "arn:aws:iam::123456789012:role/credpick-cross"

    async def main() -> str:
        session = await credpick.aio.session(assume_role=credpick.AssumeRole(role_arn=role))
        return await caller_arn(session)

    assert ":assumed-role/credpick-cross/" in asyncio.run(main())
