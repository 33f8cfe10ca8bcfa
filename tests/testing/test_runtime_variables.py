"""Each runtime sets exactly what its real platform sets (docs/testing.md lists the sources).

Where the real value is a link-local endpoint, the runtime sets the loopback twin; a
variable that only redirects a client to an emulator (``AWS_ENDPOINT_URL_*``,
``AWS_EC2_METADATA_SERVICE_ENDPOINT``) is listed apart.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest

from credpick.testing import Simulation

REGIONS = {"AWS_REGION", "AWS_DEFAULT_REGION"}
LAMBDA_KEYS = {"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

#: kind -> (what the platform sets, what only points a client at an emulator)
PLATFORM: dict[str, tuple[set[str], set[str]]] = {
    "lambda": (
        REGIONS
        | LAMBDA_KEYS
        | {
            "_HANDLER",
            "AWS_EXECUTION_ENV",
            "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_INITIALIZATION_TYPE",
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "AWS_LAMBDA_RUNTIME_API",
            "LAMBDA_TASK_ROOT",
            "LAMBDA_RUNTIME_DIR",
        },
        set(),
    ),
    # The relative URI's loopback twin: FULL_URI plus the task's token.
    "ecs": (
        REGIONS
        | {
            "AWS_EXECUTION_ENV",
            "ECS_CONTAINER_METADATA_URI_V4",
            "ECS_CONTAINER_METADATA_URI",
            "ECS_AGENT_URI",
        },
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN"},
    ),
    "eks-pod-identity": (
        REGIONS | {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"},
        set(),
    ),
    "web-identity": (
        REGIONS | {"AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"},
        {"AWS_ENDPOINT_URL_STS"},
    ),
    "github-oidc": (
        REGIONS
        | {
            "GITHUB_ACTIONS",
            "GITHUB_RUN_ID",
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "AWS_ROLE_ARN",
        },
        {"AWS_ENDPOINT_URL_STS"},
    ),
    "ec2-instance-profile": (set(), {"AWS_EC2_METADATA_SERVICE_ENDPOINT"}),
}


@pytest.mark.parametrize("kind", sorted(PLATFORM))
def test_a_runtime_sets_exactly_what_its_platform_sets(
    credpick_runtime: Simulation, kind: str
) -> None:
    platform, redirects = PLATFORM[kind]
    handle = credpick_runtime.use(kind)
    assert set(handle.env) == platform | redirects


@pytest.mark.parametrize(
    "kind", ["lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc"]
)
def test_both_region_variables_name_one_region(credpick_runtime: Simulation, kind: str) -> None:
    # This suite's Simulation sets no region: the runtime's own variables are all there is.
    env = credpick_runtime.use(kind).env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"


def test_a_region_the_test_chose_wins(
    credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    env = credpick_runtime.use("lambda").env
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"


def test_simulation_region_sets_both_names() -> None:
    environ: dict[str, str] = {"AWS_DEFAULT_REGION": "from-outside"}
    with Simulation(environ=environ, region="ap-southeast-2"):
        assert environ["AWS_REGION"] == environ["AWS_DEFAULT_REGION"] == "ap-southeast-2"
    assert environ == {"AWS_DEFAULT_REGION": "from-outside"}
    with Simulation(environ=environ, region=None):
        assert "AWS_REGION" not in environ and "AWS_DEFAULT_REGION" not in environ


@pytest.mark.parametrize("kind", sorted(PLATFORM))
def test_every_endpoint_a_runtime_sets_is_loopback(credpick_runtime: Simulation, kind: str) -> None:
    env = credpick_runtime.use(kind).env
    urls = [v for v in env.values() if v.startswith(("http://", "https://"))]
    urls += [f"http://{env['AWS_LAMBDA_RUNTIME_API']}"] if "AWS_LAMBDA_RUNTIME_API" in env else []
    assert urls or kind in {"lambda"}
    for url in urls:
        host = urlsplit(url).hostname
        assert host is not None and ipaddress.ip_address(host).is_loopback, url
