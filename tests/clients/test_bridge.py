"""The AWS CLI v1 and the JS SDK v3 through ``credpick process``, ``serve`` and ``exec``.

In every emulated runtime, with a stray long-lived key beside each role: the client,
left to its own chain, would sign with the stray key (test_aws_cli.py shows it);
through the bridge it signs with what credpick picks. STS is the recorder in front
of moto, which says which role each key it saw belongs to.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from credpick.testing import Simulation
from credpick.testing._fakes import SECRET_PREFIX, TOKEN_PREFIX

from .conftest import CLIENT_TIMEOUT, ClientRun, StsRecorder
from .test_aws_cli import KINDS, MINTS_PER_CALL, SETS_REGION, picked_key

CREDPICK = [sys.executable, "-m", "credpick"]
#: Runtimes whose credentials are environment keys: no stray key can sit beside them.
IN_THE_ENVIRONMENT = {"static", "env-session", "lambda"}
WAYS = ["process", "serve", "exec"]


def _run(argv: list[str], env: dict[str, str]) -> ClientRun:
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False
    )
    return ClientRun(done.returncode, done.stdout, done.stderr)


def container_like(home: Path, endpoint: dict[str, str]) -> dict[str, str]:
    """What ``docker run -e`` the two variables gives a process: none of the host's AWS
    set-up, an empty home; STS and the region pointed as the test needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ACTIONS_", "ECS_"))}
    home.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        AWS_ENDPOINT_URL_STS=os.environ["AWS_ENDPOINT_URL_STS"],
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",  # the only one botocore reads
        AWS_EC2_METADATA_DISABLED="true",
        **endpoint,
    )
    return env


@pytest.fixture
def serving() -> Iterator[dict[str, str]]:
    """``credpick serve`` as a child: the two variables it printed. SIGTERM stops it."""
    server = subprocess.Popen(
        [*CREDPICK, "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(2)]
        assert all(line.startswith("export ") for line in lines), server.stderr.read()  # type: ignore[union-attr]
        yield dict(shlex.split(line)[1].split("=", 1) for line in lines)  # type: ignore[misc]
    finally:
        server.terminate()
        assert server.wait(timeout=CLIENT_TIMEOUT) == 0
        assert server.stderr is not None
        rest = server.stderr.read()
        assert SECRET_PREFIX not in rest and TOKEN_PREFIX not in rest


def through(
    way: str, client: list[str], tmp_path: Path, request: pytest.FixtureRequest
) -> ClientRun:
    """Run ``client`` with its credentials from credpick, ``way``."""
    if way == "exec":
        return _run([*CREDPICK, "exec", "--", *client], dict(os.environ))
    if way == "serve":
        endpoint = request.getfixturevalue("serving")
        return _run(client, container_like(tmp_path / "container-home", endpoint))
    config = tmp_path / "bridge-config"
    command = shlex.join([*CREDPICK, "process"])
    # The runtime's own config first (a profile of it may be what credpick picks).
    original = Path(os.environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
    text = original.read_text(encoding="utf-8") if original.is_file() else ""
    config.write_text(f"{text}\n[profile credpick-bridge]\ncredential_process = {command}\n")
    env = {**os.environ, "AWS_CONFIG_FILE": str(config)}
    # credpick process reads the same AWS_CONFIG_FILE; --profile selects only the client's.
    return _run([*client[:1], "--profile", "credpick-bridge", *client[1:]], env)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("way", WAYS)
def test_the_cli_signs_with_the_pick_through_the_bridge(
    way: str,
    kind: str,
    aws_cli: str,
    credpick_runtime: Simulation,
    recorder: StsRecorder,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if kind in SETS_REGION:
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    credpick_runtime.use(kind)
    stray = None if kind in IN_THE_ENVIRONMENT else credpick_runtime.use("static").env
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", recorder.url)
    ours = picked_key()
    run = through(
        way, [aws_cli, "sts", "get-caller-identity", "--output", "json"], tmp_path, request
    )
    assert run.returncode == 0, run.stderr[-800:]
    theirs = run.json()["UserId"]
    assert isinstance(theirs, str)
    if stray is not None:
        assert theirs != stray["AWS_ACCESS_KEY_ID"]
    if kind == "static" and way != "process":  # served as a session made from the key
        assert theirs != ours and ("GetSessionToken", ours) in recorder.signed
    elif kind in MINTS_PER_CALL:
        assert theirs.startswith("ASIA") and ours.startswith("ASIA")
    else:
        assert recorder.source_of(theirs) == recorder.source_of(ours)
    assert ("GetCallerIdentity", theirs) in recorder.signed
    assert SECRET_PREFIX not in run.stderr and TOKEN_PREFIX not in run.stderr


@pytest.mark.parametrize("way", WAYS)
def test_a_refusal_reaches_the_cli_as_credpicks_line(
    way: str,
    aws_cli: str,
    credpick_runtime: Simulation,
    recorder: StsRecorder,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    credpick_runtime.use("static")
    client = [aws_cli, "sts", "get-caller-identity"]
    if way == "serve":  # the server refuses to start: nothing to serve
        done = _run([*CREDPICK, "serve", "--forbid-static"], dict(os.environ))
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.startswith("credpick serve: static: ")
        return
    if way == "exec":
        run = _run([*CREDPICK, "exec", "--forbid-static", "--", *client], dict(os.environ))
        assert run.returncode == 1 and run.stdout == ""
        assert run.stderr.startswith("credpick exec: static: ")
        assert recorder.signed == []  # the CLI never started
        return
    config = tmp_path / "config"
    command = shlex.join([*CREDPICK, "process", "--forbid-static"])
    config.write_text(f"[profile bridge]\ncredential_process = {command}\n")
    run = _run([*client, "--profile", "bridge"], {**os.environ, "AWS_CONFIG_FILE": str(config)})
    assert run.returncode == 255
    assert "credpick process: static: " in run.stderr  # botocore quotes the program's stderr
    assert recorder.signed == []
    assert SECRET_PREFIX not in run.stderr


# -- the JavaScript SDK v3 -----------------------------------------------------


def js_through(
    way: str, js_sdk: list[str], tmp_path: Path, request: pytest.FixtureRequest
) -> ClientRun:
    """The JS default chain, with its credentials from credpick ``way``."""
    if way == "serve":
        endpoint = request.getfixturevalue("serving")
        return _run(js_sdk, container_like(tmp_path / "container-home", endpoint))
    # The SDK has no --profile: AWS_PROFILE selects the bridge's profile. The SDK's own
    # environment is a container's, so no other provider of its chain can answer (with
    # the runtime's variables, its container or metadata provider would, and the test
    # would pass without credpick process); a wrapper gives credpick process the
    # runtime's environment back, AWS_PROFILE only if the runtime set it.
    saved = tmp_path / "runtime.env"
    saved.write_text(
        "".join(f"export {k}={shlex.quote(v)}\n" for k, v in os.environ.items() if k.isidentifier())
    )
    saved.chmod(0o600)
    theirs = os.environ.get("AWS_PROFILE")
    config = tmp_path / "bridge-config"
    env = container_like(tmp_path / "js-home", {})
    env.update(AWS_CONFIG_FILE=str(config), AWS_PROFILE="credpick-bridge")
    only_the_sdks = " ".join(sorted(k for k in env if k not in os.environ))
    wrapper = tmp_path / "bridge.sh"
    wrapper.write_text(
        f"unset {only_the_sdks}\n. {shlex.quote(str(saved))}\n"
        + shlex.join(["exec", *CREDPICK, "process", *(["--profile", theirs] if theirs else [])])
        + "\n"
    )
    original = Path(os.environ.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config")
    text = original.read_text(encoding="utf-8") if original.is_file() else ""
    command = shlex.join(["sh", str(wrapper)])
    config.write_text(f"{text}\n[profile credpick-bridge]\ncredential_process = {command}\n")
    return _run(js_sdk, env)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("way", ["process", "serve"])
def test_the_js_sdk_resolves_the_pick_through_the_bridge(
    way: str,
    kind: str,
    js_sdk: list[str],
    credpick_runtime: Simulation,
    recorder: StsRecorder,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if kind in SETS_REGION:
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
    credpick_runtime.use(kind)
    stray = None if kind in IN_THE_ENVIRONMENT else credpick_runtime.use("static").env
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", recorder.url)
    ours = picked_key()
    run = js_through(way, js_sdk, tmp_path, request)
    assert "credpick guard" not in run.stderr, run.stderr[-600:]
    result = run.json()
    assert result["ok"] is True, (result, run.stderr[-800:])
    theirs = result["accessKeyId"]
    assert isinstance(theirs, str) and result["temporary"] is (kind != "static" or way == "serve")
    if stray is not None:
        assert theirs != stray["AWS_ACCESS_KEY_ID"]
    if kind == "static" and way == "serve":
        assert theirs != ours and ("GetSessionToken", ours) in recorder.signed
    elif kind in MINTS_PER_CALL:
        assert theirs.startswith("ASIA") and ours.startswith("ASIA")
    else:
        assert recorder.source_of(theirs) == recorder.source_of(ours)
    assert SECRET_PREFIX not in run.stderr and TOKEN_PREFIX not in run.stderr
