"""The migration commands, ``credpick scan`` and ``credpick audit``: exit codes,
JSON reports, no secrets (credpick/migrate/_cli.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from credpick._cli import main
from credpick.testing import Simulation

from ..helpers import assert_no_secret, write


def test_scan_finds_a_long_lived_key_and_exits_1(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path / "deploy.sh", "export AWS_ACCESS_KEY_ID=AKIAZZZZZZZZZZZZZZZZ\n")
    write(tmp_path / "clean.txt", "nothing here\n")
    assert main(["scan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "deploy.sh" in out and "AKIAZZZZZZZZZZZZZZZZ" not in out
    (tmp_path / "deploy.sh").unlink()
    assert main(["scan", "--json", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_audit_against_moto_fails_on_an_unused_key(
    _sts_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    _sts_server.reset()
    fake = {"aws_access_key_id": "AKIAFAKEFAKEFAKEFAKE", "aws_secret_access_key": "x"}
    iam = boto3.client("iam", endpoint_url=_sts_server.url, region_name="us-east-1", **fake)
    iam.create_user(UserName="deploy-bot")
    iam.create_access_key(UserName="deploy-bot")
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", _sts_server.url)
    with Simulation(sts=_sts_server) as sim:
        sim.use("ec2-instance-profile")
        monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", _sts_server.url)
        assert main(["audit", "--json", "--fail-on", "never-used"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["keys"] and report["keys"][0]["user"] == "deploy-bot"
    assert_no_secret(json.dumps(report))
    _sts_server.reset()


def test_audit_rejects_an_unknown_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--fail-on", "old"]) == 4
    assert "not an audit flag" in capsys.readouterr().err
