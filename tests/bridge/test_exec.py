"""``credpick exec -- CMD``: the child's chain ends at the private endpoint; its exit
code and signals pass through."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from credpick._bridge.exec_ import config_without_credentials, exit_status
from credpick._cli import main
from credpick.testing import Simulation
from credpick.testing._fakes import SECRET_PREFIX, TOKEN_PREFIX

from ..helpers import STATIC_ENV, STATIC_KEY_ID, STATIC_SECRET, write
from ..security._watchdog import bounded

CREDPICK = [sys.executable, "-m", "credpick"]
PY = sys.executable


def python(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def exec_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["exec", "--", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_childs_exit_code_is_returned(
    credpick_runtime: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    credpick_runtime.use("ecs")
    assert exec_main(capsys, *python("raise SystemExit(3)"))[0] == 3
    assert exec_main(capsys, *python("pass"))[0] == 0


def test_a_child_killed_by_a_signal_is_128_plus_it(
    credpick_runtime: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    credpick_runtime.use("ecs")
    code, _, _ = exec_main(
        capsys, *python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    )
    assert code == 128 + signal.SIGKILL
    assert exit_status(-15) == 143 and exit_status(0) == 0


def test_a_command_that_does_not_exist_is_127_and_one_line(
    credpick_runtime: Simulation, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    credpick_runtime.use("ecs")
    code, out, err = exec_main(capsys, str(tmp_path / "no-such-program"))
    assert code == 127 and out == ""
    assert err.startswith("credpick exec: the command ") and len(err.splitlines()) == 1


CHILD_ENV = """
import json, os
names = sorted(k for k in os.environ if k.startswith(("AWS_", "BOTO_")))
print(json.dumps({k: os.environ[k] for k in names if "TOKEN" not in k and "SECRET" not in k}
                 | {"_names": names}))
"""


def test_the_child_gets_the_endpoint_and_no_key(credpick_runtime: Simulation) -> None:
    credpick_runtime.use("web-identity")
    credpick_runtime.use("static")
    done = subprocess.run(
        [*CREDPICK, "exec", "--", *python(CHILD_ENV)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    for gone in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        assert gone not in seen["_names"]
    assert seen["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN" in seen["_names"]
    assert seen["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert seen["BOTO_CONFIG"] == os.devnull
    assert SECRET_PREFIX not in done.stderr and TOKEN_PREFIX not in done.stderr


CHILD_CHAIN = """
import json, boto3
s = boto3.Session()
c = s.get_credentials()
print(json.dumps({"method": c.method, "key": c.access_key, "region": s.region_name}))
"""


def test_a_stray_key_in_the_shared_files_does_not_beat_the_endpoint_in_the_child(
    credpick_runtime: Simulation, home: Path
) -> None:
    """botocore's chain reads the profile (its keys, roles, SSO, credential_process)
    before the container provider: exec hands the child a config without any of it,
    keeping the profile's other settings (its region), and no credentials file."""
    handle = credpick_runtime.use("ecs")
    write(
        home / ".aws" / "credentials",
        f"[default]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    write(
        home / ".aws" / "config",
        f"[default]\nregion = eu-west-3\naws_access_key_id = {STATIC_KEY_ID}\n"
        f"aws_secret_access_key = {STATIC_SECRET}\n",
    )
    # The region from the profile alone (ECS sets both variables, which would win).
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    plain = subprocess.run(
        python(CHILD_CHAIN), capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert json.loads(plain.stdout)["key"] == STATIC_KEY_ID  # what the child would do alone
    done = subprocess.run(
        [*CREDPICK, "exec", "--", *python(CHILD_CHAIN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["method"] == "container-role"
    assert seen["key"] == handle.emulator.credentials.access_key_id  # type: ignore[union-attr]
    assert seen["region"] == "eu-west-3"  # the profile still gives its region
    assert STATIC_SECRET not in done.stderr + done.stdout


def test_the_config_copy_keeps_settings_and_drops_credentials(tmp_path: Path) -> None:
    source = write(
        tmp_path / "config",
        textwrap.dedent("""\
        [default]
        region = us-west-2
        aws_access_key_id = AKIAIOSFODNN7EXAMPLE
        s3 =
            addressing_style = path
        [profile ops]
        role_arn = arn:aws:iam::123456789012:role/ops
        source_profile = default
        credential_process = /bin/false
        sso_session = corp
        output = json
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        """),
    )
    copy = tmp_path / "copy"
    config_without_credentials(source, copy, "ops")
    assert copy.stat().st_mode & 0o777 == 0o600
    text = copy.read_text()
    for kept in ("region = us-west-2", "addressing_style = path", "output = json", "[profile ops]"):
        assert kept in text
    for gone in ("AKIA", "role_arn", "source_profile", "credential_process", "sso_"):
        assert gone not in text
    assert text.count("[profile ops]") == 1


def test_the_config_copy_has_the_active_profile_even_when_the_config_lacks_it(
    tmp_path: Path,
) -> None:
    config_without_credentials(tmp_path / "missing", tmp_path / "copy", "ci")
    assert (tmp_path / "copy").read_text().strip() == "[profile ci]"
    config_without_credentials(tmp_path / "missing", tmp_path / "copy2", "default")
    assert (tmp_path / "copy2").read_text().strip() == "[default]"


@pytest.mark.parametrize("hostile", ["fifo", "huge"])
def test_a_hostile_config_file_gives_the_section_alone_never_a_hang(
    hostile: str, tmp_path: Path
) -> None:
    source = tmp_path / "config"
    if hostile == "fifo":
        os.mkfifo(source)  # an unbounded open() blocks here until a writer comes
    else:
        source.write_text("[profile ci]\nregion = eu-west-1\n" + "#" * (2 << 20))
    bounded(lambda: config_without_credentials(source, tmp_path / "copy", "ci"))
    assert (tmp_path / "copy").read_text().strip() == "[profile ci]"


def test_a_profile_only_in_the_credentials_file_still_resolves_in_the_child(
    credpick_runtime: Simulation, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pick is that profile's temporary keys; the child's credentials file is
    /dev/null, so without a section in its config copy its SDK would fail on AWS_PROFILE."""
    write(
        home / ".aws" / "credentials",
        "[ci]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = MARKER-SECRET-temporary-9f8e7d\n"
        "aws_session_token = MARKER-TOKEN-session-abcdef\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "ci")
    done = subprocess.run(
        [*CREDPICK, "exec", "--", *python(CHILD_CHAIN)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["method"] == "container-role" and seen["key"] == "ASIAIOSFODNN7EXAMPLE"
    assert "MARKER" not in done.stderr


def test_a_refusal_starts_no_child(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    marker = tmp_path / "started"
    code = main(["exec", "--forbid-static", "--", PY, "-c", f"open({str(marker)!r}, 'w')"])
    _, err = capsys.readouterr()
    assert code == 1 and not marker.exists()
    assert err.startswith("credpick exec: static: ") and len(err.splitlines()) == 1
    assert STATIC_SECRET not in err


TRAPS = """
import signal, sys
signal.signal(signal.SIG{name}, lambda *_: sys.exit({code}))
print("ready", flush=True)
signal.pause()
"""


@pytest.mark.parametrize(("name", "code"), [("TERM", 7), ("INT", 9), ("HUP", 11)])
def test_signals_are_passed_on_to_the_child(
    credpick_runtime: Simulation, name: str, code: int
) -> None:
    credpick_runtime.use("ecs")
    bridge = subprocess.Popen(
        [*CREDPICK, "exec", "--", *python(TRAPS.format(name=name, code=code))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert bridge.stdout is not None
        assert bridge.stdout.readline() == "ready\n"  # the child's trap is set
        bridge.send_signal(getattr(signal, f"SIG{name}"))  # to credpick, not the child
        assert bridge.wait(timeout=60) == code
    finally:
        if bridge.poll() is None:
            bridge.kill()
            bridge.wait()
