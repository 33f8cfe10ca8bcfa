"""credential_process programs that hang, linger, flood, fail or lie.

Each program is a small Python script in ``tmp_path`` run with
``sys.executable``. Every call that could hang runs under a watchdog thread,
so a regression fails instead of hanging the suite; no assertion times
anything but the watchdog's generous bound.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import pytest
import time_machine

import credpick
from credpick import SourceFailed, Status, Timeouts
from credpick.sources import credential_process
from credpick.sources._process_run import STDOUT_LIMIT
from tests.helpers import (
    SESSION_TOKEN,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_KEY_ID,
    TEMP_SECRET,
    write,
)
from tests.security._leaks import PROCESS_OUTPUT, Records, assert_clean_error, leaks
from tests.security._watchdog import bounded

SECRET_ARG = "MARKER-ARGUMENT-secret-7a7a"
GOOD = {
    "Version": 1,
    "AccessKeyId": TEMP_KEY_ID,
    "SecretAccessKey": TEMP_SECRET,
    "SessionToken": SESSION_TOKEN,
}


#: A program that writes the marker on stderr and fails.
STDERR_THEN_FAIL = f"sys.stderr.write({PROCESS_OUTPUT!r})\nsys.exit(1)\n"


def alive(needle: str) -> list[int]:
    """Processes (not zombies: theirs is empty) whose command line holds ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return found


def gone(needle: str) -> bool:
    """Whether every process running ``needle`` is gone, allowing the kernel a moment."""
    import time

    deadline = time.monotonic() + 10.0
    while alive(needle):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def program(tmp_path: Path, body: str, name: str = "creds.py") -> Path:
    """A script; it starts by writing its pid next to itself, so a test knows it ran."""
    script = tmp_path / name
    script.write_text(
        "import json, os, sys, time\n"
        f"open({str(script) + '.pid'!r}, 'w').write(str(os.getpid()))\n" + body,
        encoding="utf-8",
    )
    return script


def configure(home: Path, script: Path, *args: str, extra: str = "") -> None:
    """Profile ``p`` runs the script (``-S``: no site import, a fast start)."""
    command = " ".join([sys.executable, "-S", str(script), *args])
    write(home / ".aws" / "config", f"[profile p]\ncredential_process = {command}\n{extra}")


def printing(doc: object) -> str:
    return f"print({json.dumps(json.dumps(doc))})\n"


def fails(timeouts: Timeouts | None = None) -> SourceFailed:
    """The SourceFailed of a session for profile ``p``, within the watchdog's time."""
    with pytest.raises(SourceFailed) as info:
        bounded(lambda: credpick.session(profile_name="p", timeouts=timeouts))
    assert info.value.kind == "credential-process"
    assert_clean_error(info.value)
    assert SECRET_ARG not in str(info.value)  # arguments are never shown
    return info.value


# The happy paths, next to the hostile ones.


def test_temporary_credentials_load_through_session(home: Path, tmp_path: Path) -> None:
    configure(home, program(tmp_path, printing(GOOD)), "--token", SECRET_ARG)
    credentials = bounded(lambda: credpick.session(profile_name="p")).get_credentials()
    frozen = credentials.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == (
        TEMP_KEY_ID,
        TEMP_SECRET,
        SESSION_TOKEN,
    )
    assert credentials.method == "custom-process"
    detection = credpick.detect(profile_name="p")
    shown = [detection.explain(), json.dumps(detection.to_dict()), repr(detection)]
    assert not leaks(shown, (SECRET_ARG,))  # the command's arguments are never shown


def _provider(home: Path, make_context: Any, **timeouts: float) -> Any:
    detection = credpick.detect(
        context=make_context({"AWS_PROFILE": "p"}, timeouts=Timeouts(**timeouts))
    )
    (candidate,) = [c for c in detection.candidates if c.kind.value == "credential-process"]
    from credpick.sources import BuildInputs

    inputs = BuildInputs(
        context=make_context(timeouts=Timeouts(**timeouts)),
        policy=credpick.Policy(),
        botocore_session=None,
        region=None,
    )
    return credential_process.build(candidate, inputs)


def test_a_long_lived_key_without_a_token_still_loads(
    home: Path, tmp_path: Path, make_context: Any
) -> None:
    """The provider loads it; judging it is the policy's job, not the provider's."""
    doc = {"Version": 1, "AccessKeyId": STATIC_KEY_ID, "SecretAccessKey": STATIC_SECRET}
    configure(home, program(tmp_path, printing(doc)))
    credentials = bounded(_provider(home, make_context).load)
    assert (credentials.access_key, credentials.token) == (STATIC_KEY_ID, None)
    assert credentials.method == "custom-process"


@pytest.mark.skipif(
    "account_id" not in botocore.credentials.Credentials.__init__.__code__.co_varnames,
    reason="botocore before 1.37 keeps no account on credentials",
)
def test_the_account_id_comes_from_the_output_or_the_profile(
    home: Path, tmp_path: Path, make_context: Any
) -> None:
    configure(home, program(tmp_path, printing(GOOD)), extra="aws_account_id = 111122223333\n")
    assert bounded(_provider(home, make_context).load).account_id == "111122223333"
    configure(home, program(tmp_path, printing({**GOOD, "AccountId": "444455556666"})))
    assert bounded(_provider(home, make_context).load).account_id == "444455556666"


def test_credentials_with_an_expiration_refresh_by_running_the_program_again(
    home: Path, tmp_path: Path
) -> None:
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    counter = tmp_path / "runs"
    body = (
        f"path = {str(counter)!r}\n"
        "runs = int(open(path).read()) + 1 if os.path.exists(path) else 1\n"
        "open(path, 'w').write(str(runs))\n"
        f"start = {start.timestamp()!r}\n"
        "import datetime as dt\n"
        "expires = dt.datetime.fromtimestamp(start + 3600 * runs, dt.timezone.utc)\n"
        f"doc = {GOOD!r}\n"
        "doc['AccessKeyId'] = 'ASIARUN%013d' % runs\n"
        "doc['Expiration'] = expires.strftime('%Y-%m-%dT%H:%M:%SZ')\n"
        "print(json.dumps(doc))\n"
    )
    configure(home, program(tmp_path, body))
    credentials = bounded(lambda: credpick.session(profile_name="p")).get_credentials()
    assert credentials.get_frozen_credentials().access_key.endswith("0000000000001")
    with time_machine.travel(start + dt.timedelta(minutes=55)):  # the mandatory window
        assert bounded(credentials.get_frozen_credentials).access_key.endswith("0000000000002")
    assert counter.read_text() == "2"


def _expiring(expires: dt.datetime, flag: Path, then: str) -> str:
    """A program printing credentials that expire, until ``flag`` exists: then ``then``.

    Built here so no secret stays in a test's frame, which the error's
    traceback reaches from the ``pytest.raises`` there."""
    doc = {**GOOD, "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return f"doc = {doc!r}\nif os.path.exists({str(flag)!r}):\n{then}print(json.dumps(doc))\n"


def test_a_refresh_that_fails_is_source_failed_and_clean(home: Path, tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    fail = "    sys.stderr.write(%r); sys.exit(2)\n" % PROCESS_OUTPUT  # noqa: UP031
    configure(home, program(tmp_path, _expiring(expires, flag, fail)))
    credentials = bounded(lambda: credpick.session(profile_name="p")).get_credentials()
    flag.touch()
    with (
        time_machine.travel(expires - dt.timedelta(minutes=5)),
        pytest.raises(SourceFailed) as info,
    ):
        bounded(credentials.get_frozen_credentials)
    assert "exited with code 2" in info.value.reason
    del fail
    assert_clean_error(info.value)


def test_a_refresh_without_an_expiration_is_refused(home: Path, tmp_path: Path) -> None:
    flag = tmp_path / "second"
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    configure(home, program(tmp_path, _expiring(expires, flag, "    del doc['Expiration']\n")))
    credentials = bounded(lambda: credpick.session(profile_name="p")).get_credentials()
    flag.touch()
    with (
        time_machine.travel(expires - dt.timedelta(minutes=5)),
        pytest.raises(SourceFailed) as info,
    ):
        bounded(credentials.get_frozen_credentials)
    assert "no Expiration on refresh" in info.value.reason


def test_stderr_is_drained_and_ignored_when_the_program_succeeds(
    home: Path, tmp_path: Path
) -> None:
    noise = f"sys.stderr.write({PROCESS_OUTPUT!r} * 200_000)\nsys.stderr.flush()\n"
    configure(home, program(tmp_path, noise + printing(GOOD)))
    frozen = bounded(lambda: credpick.session(profile_name="p")).get_credentials()
    assert frozen.get_frozen_credentials().access_key == TEMP_KEY_ID


# Programs that hang or linger: the deadline and the process group.


def test_a_program_that_never_exits_is_killed_at_the_deadline(home: Path, tmp_path: Path) -> None:
    script = program(tmp_path, "time.sleep(3600)\n", name="hangs.py")
    configure(home, script, "--token", SECRET_ARG)
    error = fails(Timeouts(process=3.0))
    assert "did not finish within 3 s" in error.reason
    assert "hangs.py" not in error.reason  # an argument: the program is the interpreter
    assert Path(f"{script}.pid").exists()  # it did run
    assert gone(str(script))


def test_a_grandchild_holding_stdout_is_killed_with_its_group(home: Path, tmp_path: Path) -> None:
    marker = str(tmp_path / "grandchild-marker")
    body = (
        "import subprocess\n"
        "subprocess.Popen([sys.executable, '-S', '-c', 'import time; time.sleep(3600)', "
        f"{marker!r}])\n" + printing(GOOD) + "sys.stdout.flush()\nos._exit(0)\n"
    )
    script = program(tmp_path, body)
    configure(home, script)
    error = fails(Timeouts(process=30.0))  # the verdict comes from the exit, not the deadline
    assert "still holds its output" in error.reason
    assert Path(f"{script}.pid").exists()
    assert gone(marker)


def test_a_program_that_closes_stdout_but_keeps_running_hits_the_deadline(
    home: Path, tmp_path: Path
) -> None:
    body = printing(GOOD) + "sys.stdout.flush()\nos.close(1)\nos.close(2)\ntime.sleep(3600)\n"
    script = program(tmp_path, body, name="lingers.py")
    configure(home, script)
    error = fails(Timeouts(process=3.0))
    assert "did not finish within 3 s" in error.reason
    assert gone(str(script))


def test_a_program_that_prints_10_mib_is_stopped_at_the_cap(home: Path, tmp_path: Path) -> None:
    body = "sys.stdout.write('x' * (10 * 1024 * 1024))\n"
    script = program(tmp_path, body, name="floods.py")
    configure(home, script)
    error = fails()
    assert f"printed more than {STDOUT_LIMIT} bytes" in error.reason
    assert gone(str(script))


# Programs that fail or print something else than credentials.


def test_stderr_of_a_failing_program_is_withheld(
    home: Path, tmp_path: Path, debug_records: Records
) -> None:
    body = f"sys.stderr.write({PROCESS_OUTPUT!r})\nsys.exit(1)\n"
    configure(home, program(tmp_path, body), "--token", SECRET_ARG)
    error = fails()
    assert "exited with code 1" in error.reason and "stderr is withheld" in error.reason
    assert not leaks(debug_records.texts, (PROCESS_OUTPUT, SECRET_ARG))


def test_wrap_over_a_plain_session_with_a_failing_program_is_clean(
    home: Path, tmp_path: Path
) -> None:
    # The program's text stays out of this frame: its locals are part of the error's traceback.
    configure(home, program(tmp_path, STDERR_THEN_FAIL))
    with pytest.raises(credpick.CredpickError) as info:
        bounded(lambda: credpick.wrap(boto3.Session(profile_name="p")))
    assert_clean_error(info.value)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (f'print(\'{{"SecretAccessKey": "{TEMP_SECRET}"\')\n', "not JSON"),
        (f"print({PROCESS_OUTPUT!r})\n", "not JSON"),
        ("sys.stdout.buffer.write(b'\\xff\\xfe')\n", "not JSON"),
        ("print('[' * 30000 + ']' * 30000)\n", "not JSON"),
        ("print('')\n", "not JSON"),
        (printing([GOOD]), "not an object"),
        (printing({**GOOD, "Version": 2}), '"Version": 1'),
        (printing({**GOOD, "Version": True}), '"Version": 1'),
        (printing({k: v for k, v in GOOD.items() if k != "Version"}), '"Version": 1'),
        (printing({k: v for k, v in GOOD.items() if k != "AccessKeyId"}), "no AccessKeyId"),
        (printing({**GOOD, "SecretAccessKey": 12}), "no SecretAccessKey"),
        (printing({**GOOD, "SecretAccessKey": ""}), "no SecretAccessKey"),
        (printing({**GOOD, "SessionToken": [SESSION_TOKEN]}), "SessionToken"),
        (printing({**GOOD, "Expiration": f"soon {TEMP_SECRET}"}), "Expiration"),
        (printing({**GOOD, "Expiration": 1700000000}), "Expiration"),
    ],
    ids=[
        "truncated-json",
        "text",
        "not-utf8",
        "deeply-nested",
        "empty",
        "a-list",
        "version-2",
        "version-true",
        "no-version",
        "no-key-id",
        "secret-a-number",
        "secret-empty",
        "token-a-list",
        "expiration-garbage",
        "expiration-a-number",
    ],
)
def test_output_that_is_not_credentials_is_refused_without_quoting_it(
    body: str, says: str, home: Path, tmp_path: Path
) -> None:
    configure(home, program(tmp_path, body))
    error = fails()
    assert says in error.reason


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("sys.exit(3)\n", "exited with code 3"),
        ("import signal\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(5)\n", "signal 15"),
    ],
    ids=["exit-3", "sigterm"],
)
def test_a_program_that_fails_says_how(body: str, says: str, home: Path, tmp_path: Path) -> None:
    configure(home, program(tmp_path, body))
    assert says in fails().reason


def test_a_missing_program_is_said_to_be_missing(home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-helper"
    write(home / ".aws" / "config", f"[profile p]\ncredential_process = {missing} {SECRET_ARG}\n")
    error = fails()
    assert f"{missing} does not exist" in error.reason
    assert error.fix is not None and "install" in error.fix
    assert "token file" not in error.reason


def test_a_program_that_is_not_executable_is_said_to_be_so(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "helper"
    script.write_text("#!/bin/sh\necho {}\n", encoding="utf-8")
    script.chmod(0o644)
    write(home / ".aws" / "config", f"[profile p]\ncredential_process = {script}\n")
    error = fails()
    assert "is not executable" in error.reason and error.fix and "chmod" in error.fix


def test_a_file_that_is_not_a_program_cannot_be_started(home: Path, tmp_path: Path) -> None:
    script = tmp_path / "helper"
    script.write_bytes(b"\x00\x01 not an executable format")
    script.chmod(0o755)
    write(home / ".aws" / "config", f"[profile p]\ncredential_process = {script}\n")
    assert "cannot be started" in fails().reason


def test_a_command_line_that_cannot_be_split_fails_at_detection(
    home: Path, make_context: Any
) -> None:
    write(home / ".aws" / "config", f"[profile p]\ncredential_process = helper '{SECRET_ARG}\n")
    detection = credpick.detect(context=make_context({"AWS_PROFILE": "p"}))
    (candidate,) = [c for c in detection.candidates if c.kind.value == "credential-process"]
    assert candidate.status is Status.FAILED and "quot" in (candidate.fix or "")
    assert SECRET_ARG not in detection.explain()


def test_the_command_line_is_split_as_botocore_splits_it(
    home: Path, tmp_path: Path, make_context: Any
) -> None:
    script = program(
        tmp_path, "print(json.dumps({**json.loads(sys.argv[1]), 'n': len(sys.argv)}))\n"
    )
    quoted = json.dumps(json.dumps(GOOD))  # one argument, in double quotes
    write(
        home / ".aws" / "config",
        f"[profile p]\ncredential_process = {sys.executable} -S {script} {quoted}\n",
    )
    credentials = bounded(_provider(home, make_context).load)
    assert credentials.access_key == TEMP_KEY_ID
    assert os.path.exists(f"{script}.pid")


# A role profile whose source profile runs the program: botocore's chain, bounded.


def _role_over(home: Path, script: Path) -> None:
    command = f"{sys.executable} -S {script}"
    write(
        home / ".aws" / "config",
        f"[profile base]\ncredential_process = {command}\n"
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\n",
    )


def test_a_source_profile_s_program_feeds_the_role(sts: Any, home: Path, tmp_path: Path) -> None:
    doc = {"Version": 1, "AccessKeyId": STATIC_KEY_ID, "SecretAccessKey": STATIC_SECRET}
    _role_over(home, program(tmp_path, printing(doc)))
    session = bounded(lambda: credpick.session(profile_name="ops"))
    assert session.get_credentials().method == "assume-role"
    assert "assumed-role/ops" in session.client("sts").get_caller_identity()["Arn"]


def test_a_source_profile_s_program_that_hangs_is_killed(
    sts: Any, home: Path, tmp_path: Path
) -> None:
    script = program(tmp_path, "time.sleep(3600)\n", name="hangs.py")
    _role_over(home, script)
    with pytest.raises(SourceFailed) as info:
        bounded(lambda: credpick.session(profile_name="ops", timeouts=Timeouts(process=3.0)))
    assert "did not finish within 3 s" in info.value.reason
    assert_clean_error(info.value)
    assert gone(str(script))
