"""The AWS SDK for JavaScript v3's default chain (``fromNodeProviderChain``) in every runtime.

``js/whoami.mjs`` prints the access key id the chain resolved. The child gets the
Simulation's environment; the metadata service stays disabled unless the runtime is
the EC2 one (whose endpoint is the loopback emulator), and ``js/guard.cjs`` refuses
any connection off loopback. Skipped where Node.js or npm is missing.
"""

from __future__ import annotations

import os

import pytest

import credpick
from credpick.testing import Simulation

from .conftest import StsRecorder, run_client
from .test_aws_cli import KINDS, MINTS_PER_CALL, SETS_REGION, picked_key

#: No provider in the JS chain for these: GitHub OIDC needs configure-aws-credentials.
JS_CANNOT = {"github-oidc"}


def resolve(js_sdk: list[str]) -> dict[str, object]:
    # EC2's runtime removes AWS_EC2_METADATA_DISABLED and sets the loopback endpoint;
    # anywhere else the SDK must not probe 169.254.169.254 (the guard would refuse it).
    extra = (
        {}
        if "AWS_EC2_METADATA_SERVICE_ENDPOINT" in os.environ
        else {"AWS_EC2_METADATA_DISABLED": "true"}
    )
    run = run_client(js_sdk, **extra)
    assert "credpick guard" not in run.stderr, run.stderr[-600:]
    assert run.returncode == 0, run.stderr[-600:]
    return run.json()


@pytest.mark.parametrize("kind", KINDS)
def test_the_js_sdk_resolves_what_credpick_picks(
    kind: str,
    js_sdk: list[str],
    credpick_runtime: Simulation,
    recorder: StsRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind in SETS_REGION:
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    credpick_runtime.use(kind)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", recorder.url)
    result = resolve(js_sdk)
    ours = picked_key()
    if kind in JS_CANNOT:
        assert result["ok"] is False and "Could not load credentials" in str(result["error"])
        return
    assert result["ok"] is True, result
    theirs = result["accessKeyId"]
    assert isinstance(theirs, str)
    if kind in MINTS_PER_CALL:
        assert theirs.startswith("ASIA") and ours.startswith("ASIA") and theirs != ours
    else:
        assert recorder.source_of(theirs) == recorder.source_of(ours)


def test_a_stray_key_wins_in_the_js_sdk_and_loses_in_credpick(
    js_sdk: list[str], credpick_runtime: Simulation, recorder: StsRecorder
) -> None:
    credpick_runtime.use("ecs")
    stray = credpick_runtime.use("static").env["AWS_ACCESS_KEY_ID"]
    result = resolve(js_sdk)
    assert result["accessKeyId"] == stray  # fromEnv comes first in the JS chain too
    assert picked_key() != stray
    assert credpick.detect().chosen.kind.value == "ecs"  # type: ignore[union-attr]
