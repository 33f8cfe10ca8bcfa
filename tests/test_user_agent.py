"""Clients from credpick sessions carry botocore's credential feature ids, as plain boto3's do.

botocore marks which source signed each request in the User-Agent's ``m/``
field (``g`` environment keys, ``z`` the container endpoint, ``s`` SSO...).
CloudTrail and AWS's own telemetry read it; credpick's eager load must not drop it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

import credpick
from credpick.testing import Simulation, StsEmulator

# Every runtime plain botocore resolves by itself, so the two can be compared:
# all but github-oidc, which only credpick does in process.
COMPARABLE = [
    "static",
    "env-session",
    "lambda",
    "ecs",
    "eks-pod-identity",
    "container",
    "ec2-instance-profile",
    "web-identity",
    "sso",
    "login",
    "assume-role",
    "credential-process",
]


def _features(session: boto3.Session) -> set[str]:
    """The ``m/`` feature ids of one signed STS request, captured before it is sent."""
    client = session.client("sts", region_name="us-east-1")
    seen: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        seen["ua"] = request.headers["User-Agent"]
        return AWSResponse(request.url, 200, {}, None)  # nothing leaves the process

    client.meta.events.register("before-send", capture)
    # An empty reply does not parse; the header was captured first.
    with contextlib.suppress(Exception):
        client.get_caller_identity()
    ua = seen["ua"].decode() if isinstance(seen["ua"], bytes) else seen["ua"]
    (metrics,) = [part for part in ua.split() if part.startswith("m/")]
    return set(metrics[2:].split(","))


@pytest.mark.parametrize("kind", COMPARABLE)
def test_feature_ids_match_plain_boto3(
    credpick_runtime: Simulation, sts: StsEmulator, kind: str
) -> None:
    if kind == "login":
        pytest.importorskip("awscrt")
    credpick_runtime.use(kind)
    theirs = _features(boto3.Session())
    ours = _features(credpick.session())
    assert ours == theirs
    # A credential feature id is there at all (botocore's letters, not only the defaults).
    assert theirs - _features(boto3.Session(aws_access_key_id="A", aws_secret_access_key="B"))


def test_later_clients_match_plain_boto3_too(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")
    ours, theirs = credpick.session(), boto3.Session()
    first = _features(ours)
    assert "z" in first and first == _features(theirs)  # z: CREDENTIALS_HTTP
    # botocore resolves once per session, so later clients carry no credential id.
    assert _features(ours) == _features(theirs)


def test_github_oidc_is_marked_as_a_web_identity_assumption(
    credpick_runtime: Simulation, sts: StsEmulator
) -> None:
    credpick_runtime.use("github-oidc")
    assert "k" in _features(credpick.session())  # k: CREDENTIALS_STS_ASSUME_ROLE_WEB_ID
