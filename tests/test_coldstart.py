"""The lazy path (only the sources whose evidence is present are imported and
run) decides exactly as the full path (every source module imported and run).

The full path is :func:`credpick.sources.modules` put in place of the
registry's declarations; everything else (ranking, policy, hook, region) is
the same code. Compared: the whole :meth:`Detection.to_dict` (candidates with
their status and reason, the pick, what was looked at, the region) and the
error's type and words, in every emulated runtime, in chosen edge cases, and
in every case of the fault matrix (tests/reliability/test_coldstart_faults.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import credpick
from credpick import SourceKind, _envvars, sources
from credpick.sources import imds
from credpick.testing._simulation import Simulation
from tests.reliability import test_faults as faults


@pytest.fixture
def sim(sts: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulation]:
    with Simulation(sts=sts, monkeypatch=monkeypatch) as simulation:
        yield simulation


def _verdict(detect: Callable[[], credpick.Detection]) -> dict[str, Any]:
    imds.clear_cache()  # each path probes as a new process would
    detection = detect()
    error = detection.error
    return {
        "detection": detection.to_dict(),
        "error": None if error is None else (type(error).__name__, str(error)),
    }


def both_paths(
    monkeypatch: pytest.MonkeyPatch, detect: Callable[[], credpick.Detection]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(lazy, full): the same detection, by the registry and by every module."""
    lazy = _verdict(detect)
    with monkeypatch.context() as mp:
        mp.setattr(sources, "SOURCES", sources.modules())
        full = _verdict(detect)
    return lazy, full


def test_the_full_path_runs_every_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference is not the lazy path again: its sources are the modules.
    full = sources.modules()
    assert [s.KIND for s in full] == [s.KIND for s in sources.SOURCES]
    assert all(type(s).__name__ == "module" for s in full)


@pytest.mark.parametrize("declared", sources.SOURCES, ids=lambda s: s.KIND.value)
def test_a_declaration_says_what_its_module_says(declared: Any) -> None:
    module = declared.load()
    assert declared.KIND is module.KIND
    assert declared.LOOKS_AT == module.LOOKS_AT
    assert declared.NETWORK is getattr(module, "NETWORK", False)


@pytest.mark.parametrize("kind", [k.value for k in SourceKind])
def test_every_runtime_decides_alike(
    kind: str, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.use(kind)
    sim.use("static")  # a stray long-lived key beside it
    lazy, full = both_paths(monkeypatch, lambda: credpick.detect(timeouts=faults.TIMEOUTS))
    assert lazy == full
    assert lazy["detection"]["chosen"] is not None


def _profile(sim: Simulation, text: str) -> None:
    sim.config_file.parent.mkdir(parents=True, exist_ok=True)
    sim.config_file.write_text(text, encoding="utf-8")


EDGES: dict[str, Callable[[Simulation, pytest.MonkeyPatch], None]] = {
    "nothing at all": lambda sim, mp: None,
    "a config file with a region only": lambda sim, mp: _profile(
        sim, "[default]\nregion = eu-west-1\n"
    ),
    "sso keys, but half of them": lambda sim, mp: _profile(
        sim, "[default]\nsso_start_url = https://x.awsapps.com/start\n"
    ),
    "a profile's web_identity_token_file": lambda sim, mp: _profile(
        sim,
        "[default]\nweb_identity_token_file = /nonexistent\n"
        "role_arn = arn:aws:iam::123456789012:role/r\n",
    ),
    "a role profile on the environment": lambda sim, mp: (
        _profile(
            sim,
            "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
            "credential_source = Environment\n",
        ),
        sim.use("static"),
    ),
    "a role profile on the instance": lambda sim, mp: _profile(
        sim,
        "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
        "credential_source = Ec2InstanceMetadata\n",
    ),
    "a credential_process": lambda sim, mp: _profile(
        sim, "[default]\ncredential_process = /bin/false\n"
    ),
    "a login_session": lambda sim, mp: _profile(sim, "[default]\nlogin_session = arn:x\n"),
    "AWS_PROFILE names a profile no file defines": lambda sim, mp: mp.setenv("AWS_PROFILE", "nope"),
    "AWS_ROLE_ARN alone": lambda sim, mp: mp.setenv(
        "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"
    ),
    "ACTIONS_ID_TOKEN_REQUEST_URL alone": lambda sim, mp: mp.setenv(
        "ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token"
    ),
    "ECS metadata variables without a credentials URI": lambda sim, mp: mp.setenv(
        "ECS_CONTAINER_METADATA_URI_V4", "http://127.0.0.1:9/v4"
    ),
    "half a key pair": lambda sim, mp: mp.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40),
    "a malformed metadata setting in the config file": lambda sim, mp: _profile(
        sim, "[default]\nec2_metadata_service_endpoint_mode = ipv5\n"
    ),
    "a malformed metadata variable beside Lambda": lambda sim, mp: (
        sim.use("lambda"),
        mp.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv5"),
    ),
    "keys in ~/.boto": lambda sim, mp: (sim.home / ".boto").write_text(
        "[Credentials]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = " + "y" * 40 + "\n",
        encoding="utf-8",
    ),
    "keys in the credentials file": lambda sim, mp: sim.use("static", where="credentials-file"),
}


@pytest.mark.parametrize("edge", list(EDGES))
def test_an_edge_case_decides_alike(
    edge: str, sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    EDGES[edge](sim, monkeypatch)
    lazy, full = both_paths(monkeypatch, lambda: credpick.detect(timeouts=faults.TIMEOUTS))
    assert lazy == full


def test_role_arn_passed_in_code_decides_alike(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = "arn:aws:iam::123456789012:role/r"
    lazy, full = both_paths(
        monkeypatch, lambda: credpick.detect(role_arn=role, timeouts=faults.TIMEOUTS)
    )
    assert lazy == full
    assert lazy["error"] is not None and "role_arn" in lazy["error"][1]


def test_a_hook_and_a_forbidding_policy_judge_alike(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.use("static")
    policy = credpick.Policy(static_keys="forbid")
    lazy, full = both_paths(monkeypatch, lambda: credpick.detect(policy=policy))
    assert lazy == full and lazy["error"] is not None
    hook = credpick.Policy(hook=lambda d: False)
    lazy, full = both_paths(monkeypatch, lambda: credpick.detect(policy=hook))
    assert lazy == full and lazy["error"][0] == "PolicyViolation"


# -- each declaration is complete: evidence outside it makes its module find nothing ----

_VARIABLES = sorted(
    {v for k, v in vars(_envvars).items() if k.isupper() and isinstance(v, str)}
    | {"AWS_LOGIN_CACHE_DIRECTORY", "AWS_CREDENTIAL_FILE", "BOTO_CONFIG"}
)
_PROFILE_KEYS = (
    "role_arn",
    "source_profile",
    "credential_source",
    "role_session_name",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "login_session",
    "credential_process",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "region",
)


def _value(name: str, tmp_path: Path) -> str:
    token = tmp_path / "token"
    token.write_text("eyJ.token.x", encoding="utf-8")
    if "FILE" in name or "DIRECTORY" in name:
        return str(token)
    if "URI" in name or "URL" in name or name.endswith("ENDPOINT"):
        return "http://127.0.0.1:9/x"
    if name.endswith("ROLE_ARN") or name == "role_arn":
        return "arn:aws:iam::123456789012:role/r"
    if "KEY_ID" in name or name.endswith("ACCESS_KEY"):
        return "ASIAIOSFODNN7EXAMPLE"
    return "true" if name.endswith(("DISABLED", "ACTIONS")) else "x" * 20


# The sources that always run (static, the metadata probe) declare no evidence to check.
@pytest.mark.parametrize(
    "declared", [s for s in sources.SOURCES if not s._always], ids=lambda s: s.KIND.value
)
def test_a_module_finds_nothing_without_its_declared_evidence(
    declared: Any, make_context: Any, home: Path, tmp_path: Path
) -> None:
    module = declared.load()
    for name in _VARIABLES:
        if name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            continue  # where the files are, not evidence: the profile loop covers them
        ctx = make_context({name: _value(name, tmp_path)})
        if not declared.may_find(ctx):
            assert module.detect(ctx) == [], name
    config = home / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    for key in _PROFILE_KEYS:
        config.write_text(f"[default]\n{key} = {_value(key, tmp_path)}\n", encoding="utf-8")
        ctx = make_context({"AWS_CONFIG_FILE": str(config)})
        if not declared.may_find(ctx):
            assert module.detect(ctx) == [], key


def test_a_declaration_that_misses_evidence_is_caught(make_context: Any, tmp_path: Path) -> None:
    # The check above can fail: a declaration without AWS_ROLE_ARN hides the
    # web identity source's broken-IRSA candidate.
    narrow = sources.Declared(
        "web_identity",
        SourceKind.WEB_IDENTITY,
        "",
        variables=("AWS_WEB_IDENTITY_TOKEN_FILE",),
    )
    ctx = make_context({"AWS_ROLE_ARN": _value("AWS_ROLE_ARN", tmp_path)})
    assert not narrow.may_find(ctx)
    assert narrow.load().detect(ctx) != []


# -- what session() imports, in a fresh process ------------------------------------

_CHILD = """
import json, sys
import credpick
try:
    credpick.session().get_credentials().get_frozen_credentials()
except credpick.CredpickError:
    pass  # what was imported is the question
print(json.dumps(sorted(m for m in sys.modules if m.startswith("credpick"))))
"""


def _session_modules(extra_env: dict[str, str] | None = None) -> set[str]:
    env = dict(os.environ)
    env.update(extra_env or {})
    # The credpick under test, wherever it was imported from.
    src = str(Path(credpick.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


#: Modules of sources that cannot match where only environment variables decide.
_UNMATCHED = {
    f"credpick.sources.{m}"
    for m in (
        "ecs",
        "eks_pod_identity",
        "container",
        "web_identity",
        "github_oidc",
        "imds",
        "sso",
        "login",
        "assume_role",
        "credential_process",
        "_container_uri",
        "_imds_fetch",
        "_imds_http",
        "_assume_web_identity",
        "_process_run",
    )
}


#: Modules a session imports only when it needs them: a failure's words, a key
#: found in a legacy file, keys passed in code, credpick.aio's build result, a
#: role chain's links (assume-role profiles only).
_ONLY_WHEN_ASKED = {
    "credpick._built",
    "credpick._failures",
    "credpick._link",
    "credpick.sources._legacy_key",
    "credpick.sources._explicit",
}


@pytest.mark.parametrize("kind", ["lambda", "static", "env-session"])
def test_session_imports_no_source_that_cannot_match(kind: str, sim: Simulation) -> None:
    sim.use(kind)
    loaded = _session_modules()
    assert "credpick.sources.static" in loaded  # it did run detection
    assert loaded & _UNMATCHED == set()
    assert loaded & _ONLY_WHEN_ASKED == set()


def test_an_assume_role_chain_loads_the_links_it_makes(sim: Simulation) -> None:
    sim.use("assume-role")
    assert "credpick._link" in _session_modules()


def test_the_import_check_sees_a_source_that_loads(sim: Simulation) -> None:
    sim.use("lambda")
    loaded = _session_modules({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/c"})
    assert "credpick.sources.ecs" in loaded


def test_a_legacy_key_is_still_found_where_its_class_loads_late(
    sim: Simulation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The boto2 file's key is the only one: detection must still see it (its
    # class is imported where the file has one), and refuse nothing it must not.
    boto = tmp_path / "boto.cfg"
    boto.write_text(
        "[Credentials]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        encoding="utf-8",
    )
    env = {"BOTO_CONFIG": str(boto), "AWS_EC2_METADATA_DISABLED": "true"}
    loaded = _session_modules(env)
    assert "credpick.sources._legacy_key" in loaded
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    picked = credpick.detect()
    assert picked.chosen is not None
    assert picked.chosen.params["store"] == "boto-config"


def test_role_arn_in_code_loads_only_the_sources_that_read_it(make_context: Any) -> None:
    ctx = attrs.evolve(make_context({}), role_arn="arn:aws:iam::123456789012:role/r")
    wanted = {s.KIND for s in sources.SOURCES if s.may_find(ctx) and not s._always}
    assert wanted == {s.KIND for s in sources.SOURCES if s._role_arn}
    assert wanted  # some source does read it (web identity's AWS_ROLE_ARN twin)


def test_asking_the_probe_whether_to_run_imports_only_its_gate(
    make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The metadata source's ``skip`` lives in a light module: asking it must not
    import the probe, its HTTP client and its fetcher (sys.modules is shared, so
    the import asked for is what is checked)."""
    asked: list[str] = []
    real = sources.importlib.import_module

    def recording(name: str, package: str | None = None) -> Any:
        asked.append(name)
        return real(name, package)

    monkeypatch.setattr(sources.importlib, "import_module", recording)
    probe = next(s for s in sources.SOURCES if s.NETWORK)
    probe.skip(make_context({"AWS_EC2_METADATA_DISABLED": "true"}), [])
    assert asked == ["credpick.sources._imds_decide"]
