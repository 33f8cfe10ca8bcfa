"""ECS, EKS Pod Identity and sidecar endpoints, against the container emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import SourceKind, Status
from credpick.testing import ContainerCredentialsEndpoint, RuntimeHandle, Simulation

from ..helpers import STATIC_ENV, assert_no_secret, write

POD_TOKEN = "MARKER-TOKEN-pod-identity"


@pytest.fixture
def endpoint() -> Iterator[ContainerCredentialsEndpoint]:
    with ContainerCredentialsEndpoint(authorization=POD_TOKEN) as server:
        yield server


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def container_endpoint(handle: RuntimeHandle) -> ContainerCredentialsEndpoint:
    assert isinstance(handle.emulator, ContainerCredentialsEndpoint)
    return handle.emulator


def test_eks_pod_identity_sends_the_raw_token(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator answers only when Authorization is exactly the token file's content.
    endpoint = container_endpoint(credpick_runtime.use("eks-pod-identity"))
    pod_token = endpoint.authorization
    assert pod_token is not None
    use(monkeypatch, STATIC_ENV)
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.EKS_POD_IDENTITY
    assert d.candidates[-1].status is Status.IGNORED
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == endpoint.credentials.access_key_id
    assert len(endpoint.requests) == 1
    assert_no_secret(d.explain())
    assert pod_token not in d.explain()


@pytest.mark.credpick_runtime("ecs")
def test_ecs_full_uri_with_ecs_metadata(credpick_runtime: Simulation) -> None:
    (handle,) = credpick_runtime.handles
    # ECS's metadata variables, on the emulator's loopback port rather than 169.254.170.2
    assert handle.emulator is not None
    assert handle.env["ECS_CONTAINER_METADATA_URI_V4"].startswith(handle.emulator.url + "/v4/")
    assert handle.env["AWS_EXECUTION_ENV"] == "AWS_ECS_FARGATE"
    session = credpick.session()
    assert credpick.detect().chosen.kind is SourceKind.ECS  # type: ignore[union-attr]
    assert session.get_credentials().method == "container-role"


def test_sidecar_is_a_plain_container_source(credpick_runtime: Simulation) -> None:
    sidecar = container_endpoint(credpick_runtime.use("container"))
    assert sidecar.authorization is None
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.CONTAINER
    assert (
        credpick.session().get_credentials().get_frozen_credentials().token
        == sidecar.credentials.token
    )


def test_relative_uri_is_ecs(make_context: Any) -> None:
    d = credpick.detect(
        context=make_context({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"})
    )
    assert d.chosen is not None and d.chosen.kind is SourceKind.ECS


def test_pod_identity_address_is_eks(make_context: Any, tmp_path: Path) -> None:
    token = write(tmp_path / "t", "tok")
    d = credpick.detect(
        context=make_context(
            {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
            }
        )
    )
    assert d.chosen is not None and d.chosen.kind is SourceKind.EKS_POD_IDENTITY


@pytest.mark.parametrize("mode", ["error", "forbidden", "malformed"])
def test_endpoint_failures_fail_closed(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch, mode: Any
) -> None:
    endpoint = container_endpoint(credpick_runtime.use("eks-pod-identity", mode=mode))
    use(monkeypatch, STATIC_ENV)
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session()
    assert info.value.kind == "eks-pod-identity"
    assert_no_secret(str(info.value))
    assert endpoint.credentials.secret_access_key not in str(info.value)


def test_wrong_token_is_source_failed(
    endpoint: ContainerCredentialsEndpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = write(tmp_path / "token", "not-the-token")
    use(
        monkeypatch,
        {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.full_uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
        },
    )
    with pytest.raises(credpick.SourceFailed, match="HTTP 401"):
        credpick.session()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://10.0.0.5/creds"}, "botocore refuses"),
        (
            {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/c",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "a\r\nb",
            },
            "CR or LF",
        ),
        (
            {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"},
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ),
    ],
)
def test_bad_container_settings_are_clear(
    make_context: Any, env: dict[str, str], needle: str
) -> None:
    d = credpick.detect(context=make_context(env))
    assert isinstance(d.error, credpick.SourceFailed)
    assert needle in str(d.error)


@pytest.mark.parametrize("state", ["missing", "empty", "directory", "crlf"])
def test_unusable_token_file(make_context: Any, tmp_path: Path, state: str) -> None:
    path = tmp_path / "token"
    if state == "empty":
        write(path, "")
    elif state == "directory":
        path.mkdir()
    elif state == "crlf":
        write(path, "abc\r\ndef")
    d = credpick.detect(
        context=make_context(
            {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(path),
            }
        )
    )
    assert isinstance(d.error, credpick.SourceFailed)
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in str(d.error)
