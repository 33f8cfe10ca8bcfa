"""The ECS relative-URI path, served on loopback: ``Simulation.use("ecs", uri="relative")``
and the test-only ``Context.ecs_agent_for_tests`` behind it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.utils import ContainerMetadataFetcher

import credpick
from credpick import Context
from credpick._context import _ECS_AGENT_FOR_TESTS
from credpick.exceptions import ConfigurationError
from credpick.testing import ContainerCredentialsEndpoint, Simulation

RELATIVE = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"


def _relative(sim: Simulation, **options: Any) -> tuple[ContainerCredentialsEndpoint, str]:
    handle = sim.use("ecs", uri="relative", **options)
    assert isinstance(handle.emulator, ContainerCredentialsEndpoint)
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" not in handle.env
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in handle.env  # a real task has none
    return handle.emulator, handle.env[RELATIVE]


def test_the_relative_uri_delivers_credentials_through_credpick(
    credpick_runtime: Simulation, socket_guard: list[str]
) -> None:
    emu, path = _relative(credpick_runtime)
    assert path.startswith("/v2/credentials/")
    session = credpick.session()
    frozen = session.get_credentials().get_frozen_credentials()
    assert (frozen.access_key, frozen.token) == (
        emu.credentials.access_key_id,
        emu.credentials.token,
    )
    (request,) = emu.requests
    assert (request.method, request.path) == ("GET", path)
    assert request.header("Authorization") is None
    assert credpick.detect().chosen.kind is credpick.SourceKind.ECS
    assert socket_guard == []  # nothing went to 169.254.170.2


def test_botocore_in_the_simulation_follows_the_relative_uri_too(
    credpick_runtime: Simulation,
) -> None:
    emu, _ = _relative(credpick_runtime)
    frozen = boto3.Session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == emu.credentials.access_key_id


def test_the_evidence_names_the_relative_uri_and_the_stand_in(
    credpick_runtime: Simulation,
) -> None:
    emu, path = _relative(credpick_runtime)
    chosen = credpick.detect().chosen
    assert chosen is not None
    assert chosen.evidence[0].startswith(f"{RELATIVE}=http://{emu.host}:{emu.port}{path}")
    assert "stand-in for the ECS agent 169.254.170.2" in chosen.evidence[0]


@pytest.mark.parametrize(
    ("mode", "status"), [("error", "HTTP 500"), ("forbidden", "HTTP 403"), ("malformed", "JSON")]
)
def test_failures_name_the_relative_uri(
    credpick_runtime: Simulation, mode: str, status: str
) -> None:
    emu, path = _relative(credpick_runtime, mode=mode)
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session()
    text = str(info.value)
    assert status in text
    assert f"({RELATIVE} at http://{emu.host}:{emu.port}{path})" in text
    assert "task role" in (info.value.fix or "")


def test_the_mapping_ends_with_the_simulation() -> None:
    with Simulation() as sim:
        sim.use("ecs", uri="relative")
        assert Context.from_process().ecs_agent_for_tests is not None
        assert ContainerMetadataFetcher.IP_ADDRESS != "169.254.170.2"
    assert Context.from_process().ecs_agent_for_tests is _ECS_AGENT_FOR_TESTS is None
    assert ContainerMetadataFetcher.IP_ADDRESS == "169.254.170.2"


def test_without_the_mapping_the_relative_uri_is_the_ecs_agent(make_context: Any) -> None:
    ctx = make_context({RELATIVE: "/v2/credentials/abc"})
    (candidate,) = credpick.detect(context=ctx).candidates
    assert candidate.params["uri"] == "http://169.254.170.2/v2/credentials/abc"


def test_an_explicit_context_can_map_the_agent(make_context: Any) -> None:
    with ContainerCredentialsEndpoint(path="/v2/credentials/abc") as emu:
        ctx = make_context(
            {RELATIVE: "/v2/credentials/abc", "AWS_REGION": "us-east-1"},
            ecs_agent_for_tests=f"127.0.0.1:{emu.port}",
        )
        frozen = credpick.session(context=ctx).get_credentials().get_frozen_credentials()
        assert frozen.access_key == emu.credentials.access_key_id


@pytest.mark.parametrize(
    "value", ["169.254.170.2:80", "10.0.0.1:8080", "127.0.0.1", "127.0.0.1:80/x", "a@127.0.0.1:1"]
)
def test_the_stand_in_must_be_a_loopback_host_and_port(make_context: Any, value: str) -> None:
    with pytest.raises(ConfigurationError, match="not a loopback host:port"):
        make_context({}, ecs_agent_for_tests=value)


def test_the_uri_option_is_checked(credpick_runtime: Simulation) -> None:
    with pytest.raises(ConfigurationError, match="uri must be one of 'full', 'relative'"):
        credpick_runtime.use("ecs", uri="absolute")
