"""``credpick process``: credential_process JSON on stdout, or one line and nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import pty
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from credpick._bridge import process
from credpick._bridge._pick import RESOLVING, Options
from credpick._cli import main
from credpick.testing import Simulation
from credpick.testing._fakes import SECRET_PREFIX, TOKEN_PREFIX

from ..helpers import (
    STATIC_ENV,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_ENV,
    TEMP_KEY_ID,
    assert_no_secret,
    write,
)

CREDPICK = [sys.executable, "-m", "credpick"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["process", *args])
    out, err = capsys.readouterr()
    return code, out, err


def setenv(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def test_temporary_keys_print_as_version_1_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setenv(monkeypatch, TEMP_ENV)
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    assert json.loads(out) == {
        "Version": 1,
        "AccessKeyId": TEMP_KEY_ID,
        "SecretAccessKey": TEMP_ENV["AWS_SECRET_ACCESS_KEY"],
        "SessionToken": TEMP_ENV["AWS_SESSION_TOKEN"],
    }


def test_refreshing_credentials_carry_their_expiration(
    credpick_runtime: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    handle = credpick_runtime.use("ecs", expires_in=dt.timedelta(hours=2))
    code, out, _ = run(capsys)
    doc = json.loads(out)
    assert code == 0
    issued = handle.emulator.credentials  # type: ignore[union-attr]
    assert doc["AccessKeyId"] == issued.access_key_id
    assert doc["Expiration"] == issued.expiration_iso and doc["Expiration"].endswith("Z")


def test_long_lived_keys_alone_print_without_token_or_expiration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setenv(monkeypatch, STATIC_ENV)
    code, out, _ = run(capsys)
    assert code == 0
    assert json.loads(out) == {
        "Version": 1,
        "AccessKeyId": STATIC_KEY_ID,
        "SecretAccessKey": STATIC_SECRET,
    }


def test_forbid_static_refuses_with_one_line_and_prints_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setenv(monkeypatch, STATIC_ENV)
    code, out, err = run(capsys, "--forbid-static")
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("credpick process: static: ")
    assert_no_secret(err)


def test_a_stray_key_beside_a_role_is_not_printed(
    credpick_runtime: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    credpick_runtime.use("ecs")
    stray = credpick_runtime.use("static").env
    code, out, err = run(capsys)
    assert code == 0
    assert stray["AWS_ACCESS_KEY_ID"] not in out + err
    assert stray["AWS_SECRET_ACCESS_KEY"] not in out + err


def test_require_refuses_another_kind(
    credpick_runtime: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    credpick_runtime.use("ecs")
    code, out, err = run(capsys, "--require", "web-identity", "eks-pod-identity")
    assert code == 1 and out == ""
    assert err.startswith("credpick process: ecs: ecs (")
    assert "--require allows only web-identity, eks-pod-identity" in err
    assert SECRET_PREFIX not in err


def test_it_refuses_a_terminal(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("ecs")
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [*CREDPICK, "process"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
        os.set_blocking(primary, False)
        try:
            shown = os.read(primary, 65536).decode()
        except BlockingIOError:
            shown = ""
    finally:
        os.close(primary)
        os.close(secondary)
    assert done.returncode == 2
    assert done.stderr.startswith("credpick process: refusing to print credentials to a terminal")
    assert shown == "" and SECRET_PREFIX not in done.stderr


def recursive_profile(home: Path, command: str) -> None:
    write(home / ".aws" / "config", f"[profile dev]\ncredential_process = {command}\n")


def test_a_profile_whose_credential_process_is_credpick_process_itself_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recursive_profile(home, shlex.join([*CREDPICK, "process", "--profile", "dev"]))
    code, out, err = run(capsys, "--profile", "dev")
    assert code == 1 and out == ""
    assert "gets its credentials from credpick process itself" in err
    assert len(err.splitlines()) == 1


def test_recursion_through_a_wrapper_stops_at_the_second_level(home: Path) -> None:
    """A wrapper script hides the command; the marker credpick process sets for its
    programs stops the nested run, which would otherwise start another, and so on."""
    counter = home / "runs"
    wrapper = write(
        home / "wrapper.sh",
        f"echo run >> {shlex.quote(str(counter))}\nexec {shlex.join(CREDPICK)} process --profile dev\n",
    )
    recursive_profile(home, f"sh {shlex.quote(str(wrapper))}")
    done = subprocess.run(
        [*CREDPICK, "process", "--profile", "dev"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 4 and done.stdout == ""
    assert "credential_process program sh exited" in done.stderr
    assert counter.read_text().splitlines() == ["run"]  # one nested run, refused


def test_the_marker_refuses_only_the_profile_being_resolved(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setenv(monkeypatch, TEMP_ENV)
    monkeypatch.setenv(RESOLVING, json.dumps(["dev"]))
    assert run(capsys)[0] == 0  # 'default' is not being resolved above
    monkeypatch.setenv(RESOLVING, json.dumps(["default"]))
    code, out, err = run(capsys)
    assert code == 1 and out == "" and "resolving the same profile" in err


def test_no_secret_in_any_log_record(
    credpick_runtime: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="credpick")
    caplog.set_level(logging.DEBUG, logger="botocore")
    credpick_runtime.use("web-identity")
    credpick_runtime.use("static")
    out = io.StringIO()
    process.run(Options(), out)
    doc = json.loads(out.getvalue())
    assert doc["SessionToken"]
    assert doc["SecretAccessKey"] not in caplog.text and doc["SessionToken"] not in caplog.text
    assert SECRET_PREFIX not in caplog.text and TOKEN_PREFIX not in caplog.text
    assert os.environ.get(RESOLVING) is None  # the marker is for its programs only
