"""The command line: exit codes, JSON that matches to_dict(), no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import credpick
from credpick._cli import main

from .helpers import STATIC_ENV, assert_no_secret


def test_explain_json_is_to_dict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    assert main(["explain", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == credpick.detect().to_dict()
    assert_no_secret(out)


def test_explain_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    assert "NoCredentialsFound" in capsys.readouterr().out


def test_unknown_profile_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--profile", "ghost"]) == 0  # explain reports, it does not fail
    assert "ghost" in capsys.readouterr().out


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_tour_prints_every_scenario() -> None:
    from credpick._tour import SCENARIOS

    result = subprocess.run(
        [sys.executable, "-m", "credpick", "tour"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(SCENARIOS) + 2
    rows = {line.split("  ")[0].strip(): line for line in lines[2:]}
    assert "ec2-instance-profile" in rows["EC2 instance + stray AKIA key"]
    assert "StaticKeysRefused" in rows["Laptop, AKIA key, forbid"]
    assert "SourceFailed" in rows["Laptop, expired SSO + key"]
    for kind in ("lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc", "sso"):
        assert any(f"  {kind}  " in line for line in lines), kind
    assert "FAKE-SECRET" not in result.stdout + result.stderr
