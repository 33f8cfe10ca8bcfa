"""The AWS CLI v1 in every emulated runtime: it works with no flag, and signs with what credpick picks.

``aws sts get-caller-identity`` runs as a child with the Simulation's environment; the
STS recorder answers it with the key id the CLI signed with (``UserId``). Where the
CLI and credpick differ, the difference is asserted here and explained in
docs/testing.md ("Real clients").
"""

from __future__ import annotations

import pytest

import credpick
from credpick import SourceKind
from credpick.testing import Simulation

from .conftest import ClientRun, StsRecorder, run_client

#: Runtimes whose platform sets the region itself: the test removes its own first.
SETS_REGION = {"lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc"}
#: Each run mints fresh keys, so the two sides can only agree on the kind of key.
MINTS_PER_CALL = {"credential-process"}
#: The CLI cannot use these at all (no GitHub OIDC provider in botocore).
CLI_CANNOT = {"github-oidc"}
KINDS = [kind.value for kind in SourceKind]  # every emulated runtime


def cli_identity(aws_cli: str) -> ClientRun:
    return run_client([aws_cli, "sts", "get-caller-identity", "--output", "json"])


def picked_key() -> str:
    key = credpick.session().get_credentials().get_frozen_credentials().access_key
    assert isinstance(key, str)
    return key


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_signs_with_what_credpick_picks(
    kind: str,
    aws_cli: str,
    credpick_runtime: Simulation,
    recorder: StsRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind in SETS_REGION:  # the region must come from the runtime alone
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    credpick_runtime.use(kind)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", recorder.url)  # over the runtime's moto URL
    run = cli_identity(aws_cli)
    ours = picked_key()
    if kind in CLI_CANNOT:
        assert run.returncode == 255 and "Unable to locate credentials" in run.stderr
        assert recorder.source_of(ours).endswith(":assumed-role/credpick-github-role")
        return
    assert run.returncode == 0, run.stderr[-600:]
    theirs = run.json()["UserId"]
    assert isinstance(theirs, str)
    if kind in MINTS_PER_CALL:
        assert theirs.startswith("ASIA") and ours.startswith("ASIA") and theirs != ours
    else:
        assert recorder.source_of(theirs) == recorder.source_of(ours)
    assert ("GetCallerIdentity", theirs) in recorder.signed


# -- where they differ ------------------------------------------------------------


def stray_key(sim: Simulation) -> str:
    return sim.use("static").env["AWS_ACCESS_KEY_ID"]


@pytest.mark.parametrize("role_runtime", ["ec2-instance-profile", "ecs", "web-identity", "sso"])
def test_a_stray_key_wins_in_the_cli_and_loses_in_credpick(
    role_runtime: str,
    aws_cli: str,
    credpick_runtime: Simulation,
    recorder: StsRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credpick_runtime.use(role_runtime)
    stray = stray_key(credpick_runtime)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", recorder.url)
    run = cli_identity(aws_cli)
    assert run.returncode == 0, run.stderr[-600:]
    assert run.json()["UserId"] == stray  # botocore's chain: environment keys first
    ours = picked_key()
    assert ours != stray and not ours.startswith("AKIA")
    assert credpick.detect().chosen.kind.value == role_runtime  # type: ignore[union-attr]


def test_an_imdsv1_only_instance_serves_the_cli_and_not_credpick(
    aws_cli: str, credpick_runtime: Simulation, recorder: StsRecorder
) -> None:
    instance = credpick_runtime.use("ec2-instance-profile", mode="imdsv1-only")
    run = cli_identity(aws_cli)
    assert run.returncode == 0, run.stderr[-600:]
    assert instance.emulator is not None
    assert run.json()["UserId"] == instance.emulator.credentials.access_key_id  # type: ignore[attr-defined]
    with pytest.raises(credpick.CredpickError, match="IMDSv1"):
        credpick.session()
