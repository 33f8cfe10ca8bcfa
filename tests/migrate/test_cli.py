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


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["audit", "--fail-on", "old"], "argument --fail-on: 'old' is not an audit flag (flags:"),
        (
            ["audit", "--fail-on", "unsued"],
            "argument --fail-on: 'unsued' is not an audit flag (did you mean 'unused'?",
        ),
        (
            ["audit", "--fail-on", "root-key,alll"],
            "argument --fail-on: 'alll' is not an audit flag (did you mean 'all'?",
        ),
        (["audit", "--rotation-days", "-5"], "argument --rotation-days: '-5' is less than 1"),
        (["audit", "--unused-days", "x"], "argument --unused-days: 'x' is not a whole number"),
        (["audit", "--max-workers", "0"], "argument --max-workers: '0' is less than 1"),
        (["audit", "--multicloud-rotation-days", "0"], "argument --multicloud-rotation-days"),
        (["scan", "/nonexistent"], "argument PATH: no such file or directory: /nonexistent"),
        (["scan", "--max-bytes", "0", "."], "argument --max-bytes: '0' is less than 1"),
    ],
)
def test_usage_errors_exit_2_before_any_work(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_line(capsys.readouterr().err)
    command = argv[0]
    assert line.startswith(f"credpick {command}: error: {says}")
    assert line.endswith(f"(see: credpick {command} --help)")
    assert f"{command}: {command}:" not in line  # the prefix once


def test_a_dangling_symlink_is_no_such_file(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SystemExit) as info:
        main(["scan", str(tmp_path / "gone")])
    assert info.value.code == 2
    assert "no such file or directory" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("url", [":99999", "http://[::1/", "http://127.0.0.1:abc/"])
def test_audit_names_a_malformed_iam_endpoint_variable(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", url)
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", url)
        code = main(["audit"])
    out, err = capsys.readouterr()
    assert code == 4 and out == ""
    line = one_line(err)
    assert line.startswith("credpick audit: AWS_ENDPOINT_URL_IAM=")
    assert "is not a valid endpoint URL" in line


def test_audit_fail_on_all_counts_what_fails(
    _sts_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    _sts_server.reset()
    fake = {"aws_access_key_id": "AKIAFAKEFAKEFAKEFAKE", "aws_secret_access_key": "x"}
    iam = boto3.client("iam", endpoint_url=_sts_server.url, region_name="us-east-1", **fake)
    iam.create_user(UserName="new-bot")
    iam.create_access_key(UserName="new-bot")  # never used: a warning by default
    with Simulation(sts=_sts_server) as sim:
        sim.use("ec2-instance-profile")
        monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", _sts_server.url)
        by_default = main(["audit"])
        default_out = capsys.readouterr().out
        every_flag = main(["audit", "--fail-on", "all"])
        all_out = capsys.readouterr().out
    assert by_default == 0 and "1 flagged, 0 failing" in default_out
    assert "failing by default: root-key, rotation-overdue, unused" in default_out
    assert every_flag == 1 and "1 flagged, 1 failing" in all_out
    assert "failing on: never-used, root-key, rotation-overdue, two-active-keys, unused" in all_out
    _sts_server.reset()


def test_scan_fails_on_a_named_file_over_the_limit(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from credpick.migrate import _cli, _scan

    assert _cli.MAX_BYTES == _scan.MAX_BYTES  # --max-bytes' default is the library's
    big = write(
        tmp_path / "big.sh", "#" * 1024 * 1024 + "\nexport AWS_ACCESS_KEY_ID=AKIAZZZZZZZZZZZZZZZZ\n"
    )
    assert main(["scan", str(big)]) == 4  # a pre-commit hook fails on the file it was given
    out = capsys.readouterr().out
    assert f"not read: {big}: larger than 1048576 bytes" in out.splitlines()
    assert main(["scan", "--max-bytes", "2000000", str(big)]) == 1
    out = capsys.readouterr().out
    assert "big.sh:2:26" in out and "AKIAZZZZZZZZZZZZZZZZ" not in out
    assert main(["scan", "--json", str(tmp_path)]) == 0  # walked, it is only skipped
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == [] and report["skipped"][0]["path"] == str(big)
