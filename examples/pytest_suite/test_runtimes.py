"""One test per AWS runtime, with credpick's pytest plugin (``pip install 'credpick[testing]'``).

Copy this folder into a project: the plugin registers itself, and every test
here runs isolated from the machine's own AWS set-up, on loopback emulators.
The module mark makes any request signed with a long-lived key fail its test.
"""

from __future__ import annotations

import pytest
from reports import s3_client, store

import credpick
from credpick import SourceKind
from credpick.testing import ContainerCredentialsEndpoint, GitHubOidcEndpoint, Simulation

pytestmark = pytest.mark.forbid_static_keys


def test_ec2_instance_profile(credpick_runtime: Simulation) -> None:
    instance = credpick_runtime.use("ec2-instance-profile")
    session = credpick.session()
    assert session.get_credentials().method == "iam-role"
    assert instance.role_arn == "arn:aws:iam::123456789012:role/credpick-test-role"
    # botocore's three requests: the IMDSv2 token, the role name, the credentials.
    assert [r.method for r in instance.requests] == ["PUT", "GET", "GET"]


@pytest.mark.credpick_runtime("ecs")
def test_ecs_task_role() -> None:
    detection = credpick.detect()
    assert detection.chosen is not None and detection.chosen.kind is SourceKind.ECS
    assert credpick.session().get_credentials().method == "container-role"


def test_eks_pod_identity(credpick_runtime: Simulation) -> None:
    pod = credpick_runtime.use("eks-pod-identity")
    assert isinstance(pod.emulator, ContainerCredentialsEndpoint)
    frozen = credpick.session().get_credentials().get_frozen_credentials()
    assert frozen.access_key == pod.emulator.credentials.access_key_id


def test_web_identity_irsa(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("web-identity")  # STS is moto, on loopback
    session = credpick.session()
    arn = session.client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/credpick-test-role" in arn


def test_lambda(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("lambda")
    detection = credpick.detect()
    assert detection.chosen is not None and detection.chosen.kind is SourceKind.LAMBDA


def test_github_actions_oidc(credpick_runtime: Simulation) -> None:
    job = credpick_runtime.use("github-oidc")
    arn = credpick.session().client("sts").get_caller_identity()["Arn"]
    assert "assumed-role/credpick-github-role" in arn
    assert isinstance(job.emulator, GitHubOidcEndpoint)
    assert job.emulator.tokens_issued == 1


def test_sso_profile(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("sso")
    assert credpick.session().get_credentials().method == "sso"


@pytest.mark.credpick_runtime("sso", expired=True)
def test_expired_sso_login_says_what_to_run() -> None:
    with pytest.raises(credpick.SourceFailed, match="aws sso login"):
        credpick.session()


@pytest.mark.credpick_runtime("ec2-instance-profile", "static")
def test_a_stray_key_on_an_instance_is_ignored() -> None:
    assert credpick.session().get_credentials().method == "iam-role"
    assert [c.status.value for c in credpick.detect().candidates] == ["chosen", "ignored"]


def test_static_keys_alone_are_refused_when_forbidden(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("static")
    with pytest.raises(credpick.StaticKeysRefused):
        credpick.session(policy=credpick.Policy(static_keys="forbid"))


def test_env_session(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("env-session")  # temporary keys a previous step exported
    detection = credpick.detect()
    assert detection.chosen is not None and detection.chosen.kind is SourceKind.ENV_SESSION


def test_the_app_stores_a_report_on_a_role(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ec2-instance-profile")
    s3 = s3_client(endpoint_url=credpick_runtime.sts().url)  # moto serves S3 too
    assert store(s3, "reports", "daily.txt", "all green")
    body = s3.get_object(Bucket="reports", Key="daily.txt")["Body"].read()
    assert body == b"all green"
