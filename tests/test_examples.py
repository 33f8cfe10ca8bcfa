"""Every example runs, in an emulated runtime, and says what it should."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from credpick.testing import RuntimeHandle, Simulation

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
pytestmark = pytest.mark.skipif(not EXAMPLES.exists(), reason="needs the source checkout")


def run(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env if env is not None else dict(os.environ),
    )


def test_tour_example() -> None:
    result = run("tour.py")
    assert result.returncode == 0, result.stderr
    assert "== EC2 with a stray key: iam-role" in result.stdout
    assert "== EKS IRSA: assume-role-with-web-identity" in result.stdout
    assert "FAKE-SECRET" not in result.stdout + result.stderr


def test_app_refuses_a_key_and_starts_on_a_role(_sts_server: object) -> None:
    with Simulation(sts=_sts_server) as sim:  # type: ignore[arg-type]
        sim.use("static")
        refused = run("app_with_policy.py")
    assert refused.returncode == 1
    assert "StaticKeysRefused" not in refused.stderr  # the message, not the class name
    assert re.search(r"refusing to start: static: long-lived key AKIA\.\.\.\w{4}", refused.stderr)
    with Simulation(sts=_sts_server) as sim:  # type: ignore[arg-type]
        sim.use("web-identity")
        started = run("app_with_policy.py")
    assert started.returncode == 0, started.stderr
    assert "started with web-identity credentials" in started.stdout
    assert "assumed-role/credpick-test-role" in started.stdout


def _secrets(*handles: RuntimeHandle) -> list[str]:
    return [v for h in handles for k, v in h.env.items() if "KEY" in k or "TOKEN" in k]


def test_wrap_example_replaces_a_stray_key_on_an_instance() -> None:
    with Simulation() as sim:
        handles = [sim.use("ec2-instance-profile"), sim.use("static")]
        dirty = run("wrap_existing_session.py")
    assert dirty.returncode == 0, dirty.stderr
    assert re.search(
        r"refused: long-lived key AKIA\.\.\.\w{4} from environment variables .* "
        r"ec2-instance-profile \(instance metadata\) is available",
        dirty.stdout,
    )
    assert "using iam-role credentials in us-east-1" in dirty.stdout
    assert "signed a request with the guarded session" in dirty.stdout
    for secret in _secrets(*handles):
        assert secret not in dirty.stdout + dirty.stderr
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        clean = run("wrap_existing_session.py")
    assert clean.returncode == 0, clean.stderr
    assert "the given session complies" in clean.stdout
    with Simulation():
        nothing = run("wrap_existing_session.py")
    assert nothing.returncode == 1
    assert "Traceback" not in nothing.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ci_check_script() -> None:
    def gate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(EXAMPLES / "ci_check.sh"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHON": sys.executable},
        )

    with Simulation() as sim:
        handles = [sim.use("ec2-instance-profile"), sim.use("static")]
        dirty = gate()
    assert dirty.returncode == 1, dirty.stderr
    assert "long-lived keys present: environment (AWS_ACCESS_KEY_ID=AKIA..." in dirty.stderr
    assert "ci_check: fix the policy violation" in dirty.stderr
    for secret in _secrets(*handles):
        assert secret not in dirty.stdout + dirty.stderr
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        clean, wrong_role = gate(), gate("github-oidc")
        assert gate("ecs", "ec2-instance-profile").returncode == 0
    assert clean.returncode == 0 and "compliant" in clean.stdout
    assert wrong_role.returncode == 1
    with Simulation():
        assert gate().returncode == 3


def test_aio_example_signs_with_the_role_not_the_stray_key(_sts_server: object) -> None:
    pytest.importorskip("aiobotocore", reason="examples/aio_app.py needs credpick[aio]")
    with Simulation(sts=_sts_server) as sim:  # type: ignore[arg-type]
        handles = [sim.use("web-identity"), sim.use("static")]
        done = run("aio_app.py")
    assert done.returncode == 0, done.stderr
    assert "aiobotocore signs as arn:aws:sts::123456789012:assumed-role/credpick-test-role/" in (
        done.stdout
    )
    aioboto3 = importlib.util.find_spec("aioboto3") is not None
    if aioboto3:
        assert "aioboto3 signs as arn:aws:sts::123456789012:assumed-role/" in done.stdout
    else:
        assert "aioboto3 skipped: it is not installed" in done.stdout
    for secret in _secrets(*handles):
        assert secret not in done.stdout + done.stderr


def test_aio_example_without_credentials_says_why(_sts_server: object) -> None:
    pytest.importorskip("aiobotocore", reason="examples/aio_app.py needs credpick[aio]")
    with Simulation(sts=_sts_server):  # type: ignore[arg-type]
        done = run("aio_app.py")
    assert done.returncode == 1 and "no safe credentials: " in done.stdout
    assert "Traceback" not in done.stderr


CALLER = """
import json, boto3
s = boto3.Session()
print(json.dumps({"method": s.get_credentials().method,
                  "arn": s.client("sts").get_caller_identity()["Arn"]}))
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_serve_clean_env_script(_sts_server: object) -> None:
    """A command in a clean environment signs with the role credpick serves, not the
    stray key the host has; a refusal is credpick's line and code, the command unrun."""

    def serve(*argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        keep = "PYTHONPATH CREDPICK_SOCKET_GUARD AWS_ENDPOINT_URL_STS AWS_DEFAULT_REGION"
        return subprocess.run(
            ["bash", str(EXAMPLES / "serve_clean_env.sh"), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHON": sys.executable, "KEEP": keep, **extra},
        )

    with Simulation(sts=_sts_server) as sim:  # type: ignore[arg-type]
        handles = [sim.use("web-identity"), sim.use("static")]
        done = serve(sys.executable, "-c", CALLER, AWS_DEFAULT_REGION="us-east-1")
        refused = serve(sys.executable, "-c", "print('ran')", SERVE_ARGS="--require ecs")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["method"] == "container-role"
    assert "assumed-role/credpick-test-role" in seen["arn"]
    assert refused.returncode == 1 and refused.stdout == ""
    assert "credpick serve: web-identity: " in refused.stderr
    assert "credpick serve did not start (exit 1)" in refused.stderr
    for secret in _secrets(*handles):
        assert secret not in done.stdout + done.stderr + refused.stderr
