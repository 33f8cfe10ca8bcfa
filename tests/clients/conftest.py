"""Real AWS clients run in the emulated runtimes: the AWS CLI v1 and the JavaScript SDK v3.

Each client runs as a child process with the test's environment (the Simulation's
variables and its isolated HOME). STS is a recorder in front of moto: it notes the
access key id every call is signed with and which role each key moto issued belongs
to, so what a client signed with can be set beside what ``credpick.session()`` picked.

The children stay on loopback: the Python CLI under credpick's socket guard (the
suite's ``socket_guard`` fixture puts it in every child's ``PYTHONPATH``), Node under
``js/guard.cjs``, which refuses any connection that is not to loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import attrs
import pytest

from credpick.testing import StsEmulator
from credpick.testing._runtimes import ACCOUNT
from credpick.testing._server import LoopbackServer, Request, Response

JS_DIR = Path(__file__).parent / "js"
CLIENT_TIMEOUT = 60.0  # seconds; a client that takes longer is broken, not slow
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
_ISSUED_KEY = re.compile(r"<AccessKeyId>([A-Z0-9]+)</AccessKeyId>")
_ISSUED_ARN = re.compile(r"<AssumedRoleUser>.*?<Arn>([^<]+)</Arn>", re.S)


class StsRecorder(LoopbackServer):
    """STS that records the key behind each signature; moto answers all but GetCallerIdentity.

    ``GetCallerIdentity`` is answered here, with the signing key id as ``UserId``, so
    a client's own output says what it signed with.
    """

    def __init__(self, upstream: StsEmulator) -> None:
        super().__init__()
        self._upstream = upstream
        self.signed: list[tuple[str, str]] = []  # (action, key id)
        self.issued: dict[str, str] = {}  # key id moto issued -> the role's ARN

    def _reset_state(self) -> None:
        self.signed.clear()
        self.issued.clear()

    def _handle(self, request: Request) -> Response:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        action = form.get("Action", [request.query.get("Action", "")])[0]
        found = _CREDENTIAL.search(request.header("Authorization") or "")
        with self._lock:
            if found:
                self.signed.append((action, found.group(1)))
        if action == "GetCallerIdentity":
            return self._caller_identity(found.group(1) if found else "")
        return self._forward(request)

    def _caller_identity(self, key_id: str) -> Response:
        with self._lock:
            arn = self.issued.get(key_id, f"arn:aws:iam::{ACCOUNT}:user/credpick-recorded")
        body = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>{escape(arn)}</Arn><UserId>{escape(key_id)}</UserId>"
            f"<Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>credpick-recorder</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        )
        return Response(status=200, body=body.encode(), content_type="text/xml")

    def _forward(self, request: Request) -> Response:
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}
        }
        upstream = urllib.request.Request(
            self._upstream.url + request.target,
            data=request.body or None,
            headers=headers,
            method=request.method,
        )
        try:
            with urllib.request.urlopen(upstream, timeout=10) as reply:
                status, body = reply.status, reply.read()
                content_type = reply.headers.get("Content-Type", "text/xml")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
            content_type = exc.headers.get("Content-Type", "text/xml")
        text = body.decode("utf-8", "replace")
        key, arn = _ISSUED_KEY.search(text), _ISSUED_ARN.search(text)
        if key and arn:
            with self._lock:
                self.issued[key.group(1)] = arn.group(1)
        return Response(status=status, body=body, content_type=content_type)

    def source_of(self, key_id: str) -> str:
        """The assumed role (less its session name) an issued key belongs to, else the key id."""
        with self._lock:
            arn = self.issued.get(key_id)
        return arn.rsplit("/", 1)[0] if arn else key_id


@pytest.fixture
def credpick_region() -> str:
    """The plugin's default (both region variables); platform tests remove it themselves."""
    return "us-east-1"


@pytest.fixture
def recorder(credpick_sts: StsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[StsRecorder]:
    """The STS recorder, and this process (credpick included) pointed at it."""
    with StsRecorder(credpick_sts) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        yield server


@attrs.frozen
class ClientRun:
    """One client's run: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, object]:
        data = json.loads(self.stdout)
        assert isinstance(data, dict)
        return data


def run_client(argv: list[str], **extra_env: str) -> ClientRun:
    """Run a client with this process's environment (the Simulation's), plus ``extra_env``."""
    env = {**os.environ, **extra_env}
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False
    )
    return ClientRun(result.returncode, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def aws_cli() -> str:
    """The AWS CLI v1 executable, or the test is skipped.

    The one installed beside this interpreter first (the ``tests`` extra's, with
    the botocore under test), then the first on ``PATH``: a venv run without its
    ``bin`` on ``PATH`` must not pick another environment's CLI and botocore."""
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.is_file() else shutil.which("aws")
    if found is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli)")
    version = subprocess.run(
        [found, "--version"], capture_output=True, text=True, timeout=CLIENT_TIMEOUT, check=False
    )
    if not (version.stdout + version.stderr).startswith("aws-cli/1."):
        pytest.skip(f"not the AWS CLI v1: {(version.stdout + version.stderr).strip()[:60]}")
    return found


def _cache_root() -> Path:
    # A session fixture runs before any test's Simulation moves HOME: this is the
    # developer's own cache, shared by every run.
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "credpick-tests"


@pytest.fixture(scope="session")
def js_sdk() -> list[str]:
    """``node`` with the guard preloaded and the probe script, installed once per lockfile.

    The install (``npm ci``) lives outside the repository, keyed by the lockfile's hash,
    so it happens once per machine and lockfile, not once per run.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed")
    lock = (JS_DIR / "package-lock.json").read_bytes()
    target = _cache_root() / ("js-" + hashlib.sha256(lock).hexdigest()[:16])
    if not (target / "node_modules" / "@aws-sdk" / "credential-providers").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(JS_DIR / name, target / name)
        try:
            done = subprocess.run(
                [npm, "ci", "--prefix", str(target), "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm ci took more than 180 s")
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"npm ci failed: {last[:200]}")
    # The scripts are copied every session: they may change without the lockfile.
    for name in ("whoami.mjs", "guard.cjs"):
        shutil.copyfile(JS_DIR / name, target / name)
    return [node, "--require", str(target / "guard.cjs"), str(target / "whoami.mjs")]
