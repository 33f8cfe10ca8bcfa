"""docs/settings.md, row by row: credpick and plain botocore, side by side.

Each row of the settings table names the test that checks it. Here live the
rows that are not instance-metadata settings (those are in
``tests/sources/test_imds_settings.py``): both sides run in the same
Simulation against the same loopback emulators and must resolve the same
credentials, or both fail, except the rows the page marks as a deliberate
difference, whose test asserts that difference.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

import credpick
from credpick import Timeouts
from credpick.testing import Simulation

from .helpers import STATIC_ENV, STATIC_KEY_ID, STATIC_SECRET, write

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "settings.md"
FAST = Timeouts(imds_connect=0.25, imds_read=0.5)
OTHER_KEY = "AKIAOTHERKEY00000001"


@pytest.fixture
def sim(credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch) -> Simulation:
    # botocore reads AWS_DEFAULT_REGION only (see the region rows): give both
    # sides the region, as real Lambda and GitHub Actions do.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return credpick_runtime


def _ours(**kwargs: Any) -> tuple[str, str]:
    """What credpick resolves: (method, access key id), or ("error", the error's class)."""
    try:
        creds = credpick.session(timeouts=FAST, **kwargs).get_credentials()
        return creds.method, creds.get_frozen_credentials().access_key
    except credpick.CredpickError as exc:
        return "error", type(exc).__name__


def _theirs(**kwargs: Any) -> tuple[str, str]:
    """What plain botocore resolves, the same way."""
    try:
        creds = botocore.session.Session(**kwargs).get_credentials()
        if creds is None:
            return "error", "no credentials"
        return creds.method, creds.get_frozen_credentials().access_key
    except Exception as exc:  # botocore's error tree is wide; its class is enough here
        return "error", type(exc).__name__


def _same(ours: tuple[str, str], theirs: tuple[str, str], *, keys: bool = True) -> None:
    if ours[0] == "error" or theirs[0] == "error":
        assert ours[0] == theirs[0] == "error", (ours, theirs)
        return
    assert ours[0] == theirs[0], (ours, theirs)  # the same provider delivered them
    if keys:  # STS issues new keys per call: for STS-backed rows, the provider is the answer
        assert ours[1] == theirs[1], (ours, theirs)


def _keys_file(path: Path, section: str, key_id: str = STATIC_KEY_ID) -> None:
    write(
        path,
        f"[{section}]\naws_access_key_id = {key_id}\naws_secret_access_key = {STATIC_SECRET}\n",
    )


# -- the scenarios, one per row -----------------------------------------------------


def static_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("static")
    _same(_ours(), _theirs())


def session_token_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("env-session")
    _same(_ours(), _theirs())


def security_token_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    # The boto2 name of the session token, which botocore still reads.
    sim.use("env-session")
    token = __import__("os").environ.pop("AWS_SESSION_TOKEN")
    mp.setenv("AWS_SECURITY_TOKEN", token)
    ours, theirs = _ours(), _theirs()
    _same(ours, theirs)
    creds = credpick.session(timeouts=FAST).get_credentials().get_frozen_credentials()
    assert creds.token == token


def profile_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    write(
        sim.credentials_file,
        f"[default]\naws_access_key_id = {OTHER_KEY}\naws_secret_access_key = x\n"
        f"[b]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    mp.setenv("AWS_PROFILE", "b")
    ours = _ours()
    _same(ours, _theirs())
    assert ours[1] == STATIC_KEY_ID


def default_profile_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    write(
        sim.credentials_file,
        f"[a]\naws_access_key_id = {OTHER_KEY}\naws_secret_access_key = x\n"
        f"[b]\naws_access_key_id = {STATIC_KEY_ID}\naws_secret_access_key = {STATIC_SECRET}\n",
    )
    mp.setenv("AWS_PROFILE", "a")
    mp.setenv("AWS_DEFAULT_PROFILE", "b")  # beats AWS_PROFILE, in botocore too
    ours = _ours()
    _same(ours, _theirs())
    assert ours[1] == STATIC_KEY_ID


def shared_credentials_file_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    elsewhere = sim.credentials_file.parent / "elsewhere" / "credentials"
    _keys_file(elsewhere, "default")
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(elsewhere))
    ours = _ours()
    _same(ours, _theirs())
    assert ours == ("shared-credentials-file", STATIC_KEY_ID)


def config_file_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    elsewhere = sim.config_file.parent / "elsewhere" / "config"
    _keys_file(elsewhere, "profile keys")
    mp.setenv("AWS_CONFIG_FILE", str(elsewhere))
    mp.setenv("AWS_PROFILE", "keys")
    ours = _ours()
    _same(ours, _theirs())
    assert ours == ("config-file", STATIC_KEY_ID)


def credential_file_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    legacy = sim.config_file.parent / "legacy-credentials"
    write(legacy, f"AWSAccessKeyId={STATIC_KEY_ID}\nAWSSecretKey={STATIC_SECRET}\n")
    mp.setenv("AWS_CREDENTIAL_FILE", str(legacy))
    _same(_ours(), _theirs())


def boto_config_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    boto = sim.config_file.parent / "boto.cfg"
    write(
        boto,
        f"[Credentials]\naws_access_key_id = {STATIC_KEY_ID}\n"
        f"aws_secret_access_key = {STATIC_SECRET}\n",
    )
    mp.setenv("BOTO_CONFIG", str(boto))
    _same(_ours(), _theirs())


def region_default_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("static")
    mp.delenv("AWS_REGION", raising=False)
    mp.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert credpick.session().region_name == boto3.Session().region_name == "eu-west-3"


def region_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    # Deliberate: credpick reads AWS_REGION first, as the other AWS SDKs and the
    # Lambda runtime do; botocore reads AWS_DEFAULT_REGION only.
    sim.use("static")
    mp.setenv("AWS_REGION", "ap-south-1")
    mp.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert credpick.session().region_name == "ap-south-1"
    assert boto3.Session().region_name == "eu-west-3"


def region_profile(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("static")
    mp.delenv("AWS_REGION", raising=False)
    mp.delenv("AWS_DEFAULT_REGION", raising=False)
    write(sim.config_file, "[default]\nregion = sa-east-1\n")
    assert credpick.session().region_name == boto3.Session().region_name == "sa-east-1"


def web_identity_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("web-identity")
    _same(_ours(), _theirs(), keys=False)


def web_identity_profile(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    import os

    sim.use("web-identity")
    role, token = os.environ.pop("AWS_ROLE_ARN"), os.environ.pop("AWS_WEB_IDENTITY_TOKEN_FILE")
    write(
        sim.config_file,
        f"[profile irsa]\nrole_arn = {role}\nweb_identity_token_file = {token}\n",
    )
    mp.setenv("AWS_PROFILE", "irsa")
    ours = _ours()
    _same(ours, _theirs(), keys=False)
    assert ours[0] == "assume-role-with-web-identity"


def role_session_name_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("web-identity")
    mp.setenv("AWS_ROLE_SESSION_NAME", "credpick-settings-row")
    sts_arn = (
        credpick.session(timeouts=FAST).client("sts").get_caller_identity()["Arn"],
        boto3.Session().client("sts").get_caller_identity()["Arn"],
    )
    assert sts_arn[0] == sts_arn[1]
    assert sts_arn[0].endswith("/credpick-settings-row")


def role_arn_alone(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    # Deliberate: an IRSA webhook that set AWS_ROLE_ARN but no token file is a
    # broken role; botocore silently uses the stray key beside it.
    sim.use("static")
    mp.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/credpick-test-role")
    assert _ours()[0] == "error"
    assert _theirs()[0] == "env"


def container_full_uri(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("ecs")
    _same(_ours(), _theirs())


def container_token_file(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("eks-pod-identity")
    _same(_ours(), _theirs())


def imds_disabled(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("ec2-instance-profile")
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    ours, theirs = _ours(), _theirs()
    _same(ours, theirs)
    assert ours == ("error", "NoCredentialsFound")


def stray_key_beside_a_role(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    # Deliberate: botocore's environment provider comes first; credpick ranks the role first.
    handle = sim.use("ec2-instance-profile")
    for name, value in STATIC_ENV.items():
        mp.setenv(name, value)
    assert _theirs() == ("env", STATIC_KEY_ID)
    assert _ours() == ("iam-role", handle.emulator.credentials.access_key_id)


def imdsv1_fallback(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    # Deliberate: botocore falls back to IMDSv1; credpick needs Policy(allow_imdsv1=True).
    handle = sim.use("ec2-instance-profile", mode="imdsv1-only")
    assert _theirs() == ("iam-role", handle.emulator.credentials.access_key_id)
    assert _ours() == ("error", "SourceFailed")


def credential_process_profile(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("credential-process")  # the emulated program prints new keys on each run
    _same(_ours(), _theirs(), keys=False)


def source_profile(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("assume-role")
    _same(_ours(), _theirs(), keys=False)


def credential_source_environment(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    # Deliberate: with the profile named in AWS_PROFILE, botocore's environment
    # provider still comes first and the configured role is never assumed;
    # credpick assumes it, over the environment's keys, as the profile says.
    sts = sim.sts()
    write(
        sim.config_file,
        "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/credpick-test-role\n"
        "credential_source = Environment\n",
    )
    mp.setenv("AWS_PROFILE", "ops")
    mp.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    mp.setenv("AWS_ACCESS_KEY_ID", "ASIAENVIRONMENTKEY01")
    mp.setenv("AWS_SECRET_ACCESS_KEY", STATIC_SECRET)
    mp.setenv("AWS_SESSION_TOKEN", "temporary-session-token")
    assert _theirs() == ("env", "ASIAENVIRONMENTKEY01")
    assert _ours()[0] == "assume-role"
    # Named in code, botocore drops the environment provider and agrees.
    _same(_ours(), _theirs(profile="ops"), keys=False)


def sso_profile(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("sso")
    _same(_ours(), _theirs(), keys=False)


def login_profile(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    pytest.importorskip("awscrt", reason="botocore's LoginProvider needs botocore[crt]")
    sim.use("login")
    _same(_ours(), _theirs(), keys=False)


def sts_endpoint_env(sim: Simulation, mp: pytest.MonkeyPatch) -> None:
    sim.use("web-identity")
    sts = sim.sts()
    before = len(sts.requests) if hasattr(sts, "requests") else None
    _same(_ours(), _theirs(), keys=False)
    if before is not None:
        assert len(sts.requests) >= before + 2  # both asked the configured endpoint


SCENARIOS: dict[str, Callable[[Simulation, pytest.MonkeyPatch], None]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        static_env,
        session_token_env,
        security_token_env,
        profile_env,
        default_profile_env,
        shared_credentials_file_env,
        config_file_env,
        credential_file_env,
        boto_config_env,
        region_default_env,
        region_env,
        region_profile,
        web_identity_env,
        web_identity_profile,
        role_session_name_env,
        role_arn_alone,
        container_full_uri,
        container_token_file,
        imds_disabled,
        stray_key_beside_a_role,
        imdsv1_fallback,
        credential_process_profile,
        source_profile,
        credential_source_environment,
        sso_profile,
        login_profile,
        sts_endpoint_env,
    )
}


@pytest.mark.parametrize("row", sorted(SCENARIOS))
def test_the_setting_resolves_as_the_page_says(
    row: str, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    SCENARIOS[row](sim, monkeypatch)


# -- the page and the tests agree -----------------------------------------------------

_TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[([\w-]+)\])?`")


def _rows() -> list[tuple[str, str, str | None, bool]]:
    """(file, test function, parameter id, compares with botocore) of every row
    of the page's tables; the rows under "Malformed values" are credpick's own."""
    found = []
    compares = True
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            compares = line != "## Malformed values"
        if line.startswith("|") and not line.startswith("|---"):
            found += [(m[1], m[2], m[3], compares) for m in _TEST.finditer(line)]
    return found


def test_every_row_names_a_side_by_side_test_that_exists() -> None:
    rows = _rows()
    assert len(rows) >= 30
    compared_in_row = {"test_the_timeout_setting_is_each_requests_deadline"}  # beside one that does
    for path, name, param, compares in rows:
        source = (ROOT / path).read_text(encoding="utf-8")
        functions = {
            node.name: ast.get_source_segment(source, node)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef)
        }
        assert name in functions, f"{path}::{name} is named in docs/settings.md but missing"
        if path == "tests/test_settings.py" and param is not None:
            assert param in SCENARIOS, f"no scenario {param!r} in tests/test_settings.py"
            body = functions[param.replace("-", "_")] or ""
        else:
            body = functions[name] or ""
        # A side-by-side test names botocore (or a helper that runs it).
        if compares and name not in compared_in_row:
            assert re.search(r"botocore|_theirs|boto3\.Session", body), f"{name} does not compare"


def test_every_scenario_has_a_row() -> None:
    listed = {param for path, _, param, _ in _rows() if path == "tests/test_settings.py"}
    assert listed == set(SCENARIOS)
