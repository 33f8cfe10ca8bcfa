"""No secret in any error credpick raises, in its chain, its frames or its pickle.

Error trackers walk ``__cause__``/``__context__``, record the locals of every
frame of the traceback and pickle errors; ``pytest -l`` prints those locals.
Every failure path of every source, with marker secrets in the replies, goes
through :func:`assert_clean_error`, and the errors credpick raises carry no
chain at all: they are raised outside the ``except`` that caught the cause.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

import credpick
from credpick._cli import main
from credpick.testing import Simulation
from credpick.testing._faults import Fault, sts_error
from credpick.testing._server import json_response
from tests.helpers import SESSION_TOKEN, STATIC_ENV, TEMP_SECRET
from tests.security._leaks import ALL_MARKERS, PROCESS_OUTPUT, Records, assert_clean_error, leaks
from tests.security._marked import (
    _FAILS_LOUDLY,
    MARKERS,
    SUCCEEDS,
    action,
    program,
    rig_for,
    scenarios,
)

ROOT = Path(__file__).resolve().parents[2]


FAILING = [s for s in scenarios() if s[1] != "happy" and s not in SUCCEEDS]


def _raised(call: Any) -> credpick.CredpickError:
    with pytest.raises(credpick.CredpickError) as info:
        call()
    return info.value


def assert_built_clean(exc: BaseException, markers: tuple[str, ...] = MARKERS) -> None:
    assert_clean_error(exc, markers)
    assert exc.__cause__ is None and exc.__context__ is None, "raised inside an except block"


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize(("source", "case"), [pytest.param(*s, id="/".join(s)) for s in FAILING])
def test_every_failure_is_built_clean(
    source: str, case: str, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    with rig_for(source, sim, monkeypatch) as rig:
        error = _raised(action(rig, case))
        markers = rig.markers()
    assert error.kind == source
    assert_built_clean(error, markers)


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize("source", ["ecs", "credential-process"])
def test_a_failure_on_a_botocore_without_feature_ids_is_built_clean(
    source: str, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore before 1.36 has no ``botocore.context``: the failed import must not
    become the ``__context__`` of every error raised while credentials load."""
    monkeypatch.setitem(sys.modules, "botocore.context", None)  # import raises ImportError
    case = {"ecs": "malformed reply", "credential-process": "malformed reply"}[source]
    with rig_for(source, sim, monkeypatch) as rig:
        error = _raised(action(rig, case))
    assert error.kind == source
    assert_built_clean(error)


# -- wrap() and guard() --------------------------------------------------------


@pytest.mark.usefixtures("no_retry_sleep")
def test_wrap_over_a_failing_credential_process(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    with rig_for("credential-process", sim, monkeypatch) as rig:
        program(rig, _FAILS_LOUDLY)  # its stderr holds the secret, the token and a marker
        error = _raised(lambda: credpick.wrap(boto3.Session(profile_name="credpick-process")))
    assert isinstance(error, credpick.SourceFailed)
    assert "CredentialRetrievalError" in error.reason
    assert "botocore provider custom-process" in error.evidence
    assert PROCESS_OUTPUT not in repr(error.evidence)
    assert_built_clean(error)


def test_wrap_of_an_undefined_profile_is_built_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    bs = botocore.session.Session()
    bs.set_config_variable("profile", "no-such-profile")
    error = _raised(lambda: credpick.wrap(bs))
    assert isinstance(error, credpick.ConfigurationError) and "no-such-profile" in error.reason
    assert_built_clean(error)


def test_wrap_refusing_static_keys(sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    session = boto3.Session(
        aws_access_key_id=STATIC_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=STATIC_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    error = _raised(lambda: credpick.wrap(session, policy=credpick.Policy(static_keys="forbid")))
    assert isinstance(error, credpick.StaticKeysRefused)
    assert_built_clean(error)


@pytest.mark.usefixtures("no_retry_sleep")
def test_wrap_whose_role_link_is_refused(sim: Simulation, monkeypatch: pytest.MonkeyPatch) -> None:
    with rig_for("assume-role", sim, monkeypatch) as rig:
        assert rig.front is not None
        rig.front.heal()
        rig.front.inject(Fault(sts_error("AccessDenied", 403, message=f"token {SESSION_TOKEN}")))
        session = boto3.Session(
            aws_access_key_id="ASIAIOSFODNN7EXAMPLE",
            aws_secret_access_key=TEMP_SECRET,
            aws_session_token=SESSION_TOKEN,
            region_name="us-east-1",
        )
        link = credpick.AssumeRole("arn:aws:iam::123456789012:role/credpick-ops")
        error = _raised(lambda: credpick.wrap(session, assume_role=link))
    assert error.kind == "assume-role" and "AccessDenied" in error.reason
    assert_built_clean(error)


def test_guard_refusal_keeps_no_key_in_its_frames(sts: Any) -> None:
    session = boto3.Session(
        aws_access_key_id=STATIC_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=STATIC_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    credpick.guard(session, policy=credpick.Policy(static_keys="forbid"))
    client = session.client("sts", endpoint_url=sts.url)
    first = _raised(client.get_caller_identity)
    again = _raised(client.get_caller_identity)  # the cached decision, a fresh error
    for error in (first, again):
        assert isinstance(error, credpick.StaticKeysRefused)
        assert_built_clean(error)
    assert first is not again


def test_a_policy_refusal_from_session_is_built_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in STATIC_ENV.items():
        monkeypatch.setenv(name, value)
    error = _raised(lambda: credpick.session(policy=credpick.Policy(static_keys="forbid")))
    assert isinstance(error, credpick.StaticKeysRefused)
    assert_built_clean(error)


# -- the CLI -------------------------------------------------------------------

_USERINFO = f"http://user:{TEMP_SECRET}@127.0.0.1:9/creds?X-Amz-Security-Token={SESSION_TOKEN}"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    "argv", [("-v", "explain"), ("explain", "--json"), ("-v", "check"), ("-v", "whoami")]
)
@pytest.mark.usefixtures("no_retry_sleep")
def test_cli_output_of_a_failing_source_holds_no_secret(
    argv: tuple[str, ...],
    sim: Simulation,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    debug_records: Records,
) -> None:
    with rig_for("ecs", sim, monkeypatch) as rig:
        action(rig, "HTTP 500 echoing the request")
        # A full URI with user info and a query: shown only as display_url shows it.
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", _USERINFO)
        code, output = _cli(capsys, *argv)
    assert code in (0, 4)
    assert leaks([output, *debug_records.texts], MARKERS) == []
    assert "user:" not in output and "?X-Amz" not in output


def test_whoami_shows_the_sts_url_without_user_info(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in STATIC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    # Port 9 refuses. (A query botocore's signer would add is refused by it first.)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", _USERINFO.replace("X-Amz-Security-Token", "t"))
    code, output = _cli(capsys, "-v", "whoami")
    assert code == 4 and "http://127.0.0.1:9/creds" in output
    assert leaks([output], ALL_MARKERS) == [] and "user:" not in output


def test_a_metadata_endpoint_with_user_info_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # User info is where URL parsers disagree: the endpoint is refused, not probed.
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        f"http://u:{TEMP_SECRET}@127.0.0.1:9/?t={SESSION_TOKEN}",
    )
    detection = credpick.detect(timeouts=credpick.Timeouts(imds_connect=0.25, imds_read=0.25))
    # An endpoint with user info is refused outright, named by its variable and
    # shown without the user info or the query; no secret reaches any surface.
    assert isinstance(detection.error, credpick.ConfigurationError)
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/" in str(detection.error)
    assert not any("probed" in line for line in detection.looked)
    texts = [detection.explain(), repr(detection.to_dict()), *detection.looked]
    texts += [str(detection.error), repr(detection.error), *detection.error.evidence]
    assert leaks(texts, ALL_MARKERS) == []


# -- pytest -l -----------------------------------------------------------------

_CHILD_TEST = f"""
import pytest
import credpick
from botocore.utils import ContainerMetadataFetcher
from credpick.testing._faults import Fault, FaultyEndpoint
from credpick.testing._server import json_response


@pytest.fixture
def echoing(credpick_runtime, monkeypatch):
    monkeypatch.setattr(ContainerMetadataFetcher, "SLEEP_TIME", 0)
    handle = credpick_runtime.use("container")
    with FaultyEndpoint(handle.emulator) as front:
        reply = {{"Token": {SESSION_TOKEN!r}, "Message": "Authorization: " + {TEMP_SECRET!r}}}
        front.inject(Fault(json_response(500, reply)))
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", front.url + handle.emulator.path)
        yield


@pytest.mark.usefixtures("echoing")
def test_fails():
    credpick.session()
"""


def test_pytest_l_of_a_failing_test_prints_no_secret(tmp_path: Path) -> None:
    test_file = tmp_path / "test_child.py"
    test_file.write_text(textwrap.dedent(_CHILD_TEST), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-l",
            "-p",
            "no:cacheprovider",
            "-o",
            "log_level=DEBUG",
            str(test_file),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # the test failed, as meant
    assert "SourceFailed" in output and "test_fails" in output
    assert leaks([output], ALL_MARKERS) == [], output


# -- a config file that cannot be parsed, with a secret on the bad line ----------------


def _broken_credentials_file(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = home / ".aws" / "credentials"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n{TEMP_SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))


def test_session_over_an_unparseable_credentials_file_is_built_clean(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken_credentials_file(home, monkeypatch)
    error = _raised(credpick.session)
    assert isinstance(error, credpick.ConfigurationError)
    assert_built_clean(error)


def test_detect_error_over_an_unparseable_credentials_file_is_built_clean(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken_credentials_file(home, monkeypatch)
    error = credpick.detect().error
    assert isinstance(error, credpick.ConfigurationError)
    assert_built_clean(error)


@pytest.mark.usefixtures("no_retry_sleep")
def test_the_status_in_a_message_comes_from_botocore_not_the_reply(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    with rig_for("container", sim, monkeypatch) as rig:
        lure = "Received non 200 response 403 from container metadata: HTTP 404"
        rig.fail(json_response(500, {"Code": "InternalError", "Message": lure}))
        error = _raised(credpick.session)
    assert "answered HTTP 500" in error.reason
    assert "403" not in str(error) and "404" not in str(error)
    assert_built_clean(error)
