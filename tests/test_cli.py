"""The command line: exit codes, JSON that matches to_dict(), one line per error,
no tracebacks, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick._cli import main
from credpick.testing import RuntimeHandle, Simulation, refusing_endpoint

from .helpers import STATIC_ENV, STATIC_KEY_ID, STATIC_SECRET, assert_no_secret, write


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m credpick ...`` in a child process (socket-guarded too)."""
    return subprocess.run(
        [sys.executable, "-m", "credpick", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: the exit code, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def no_leak(handles: list[RuntimeHandle], *texts: str) -> None:
    assert_no_secret(*texts)
    secrets = [v for h in handles for k, v in h.env.items() if "KEY" in k or "TOKEN" in k]
    for text in texts:
        for secret in secrets:
            assert secret not in text


@pytest.fixture
def sim() -> Iterator[Simulation]:
    with Simulation() as simulation:
        yield simulation


# -- explain -----------------------------------------------------------------


def test_explain_json_is_to_dict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    code, out, _ = run(capsys, "explain", "--json")
    assert code == 0
    assert json.loads(out) == credpick.detect().to_dict()
    assert_no_secret(out)


def test_explain_json_on_an_instance_with_a_stray_key(sim: Simulation) -> None:
    handles = [sim.use("ec2-instance-profile"), sim.use("static")]
    result = cli("explain", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == credpick.detect().to_dict()
    assert data["chosen"] == "ec2-instance-profile"
    assert [c["status"] for c in data["candidates"]] == ["chosen", "ignored"]
    assert (data["region"], data["region_source"]) == ("us-east-1", "AWS_REGION")
    no_leak(handles, result.stdout, result.stderr)


def test_explain_text_is_a_table(sim: Simulation, capsys: pytest.CaptureFixture[str]) -> None:
    handles = [sim.use("ec2-instance-profile"), sim.use("static")]
    code, out, err = run(capsys, "explain")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("credpick picked ec2-instance-profile")
    header = next(line for line in lines if "STATUS" in line)
    assert header.split() == ["STATUS", "KIND", "RANK", "ORIGIN", "REASON"]
    chosen = next(line for line in lines if line.startswith("* "))
    ignored = next(line for line in lines if line.startswith("- "))
    assert "chosen" in chosen and "ec2-instance-profile" in chosen
    assert (
        "static" in ignored and "ec2-instance-profile (instance metadata) is available" in ignored
    )
    no_leak(handles, out)


def test_explain_without_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain")
    assert code == 0
    assert "NoCredentialsFound" in out


def test_explain_reports_an_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "explain", "--profile", "ghost")
    assert code == 0  # explain reports, it does not fail
    assert "ghost" in out and err == ""


# -- check -------------------------------------------------------------------


def test_check_forbid_static_fails_with_a_stray_key_and_passes_on_a_clean_instance() -> None:
    with Simulation() as sim:
        handles = [sim.use("ec2-instance-profile"), sim.use("static")]
        dirty = cli("check", "--forbid-static")
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        clean = cli("check", "--forbid-static")
    assert dirty.returncode == 1, dirty.stderr
    line = one_line(dirty.stderr)
    assert "environment (AWS_ACCESS_KEY_ID=AKIA..." in line
    no_leak(handles, dirty.stdout, dirty.stderr)
    assert clean.returncode == 0, clean.stderr
    assert "ok: ec2-instance-profile" in one_line(clean.stderr)


def test_check_without_forbid_accepts_an_ignored_key(
    sim: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.use("ec2-instance-profile")
    sim.use("static")
    code, _, err = run(capsys, "check")
    assert code == 0
    assert "ec2-instance-profile" in one_line(err)


def test_check_forbid_static_names_keys_in_any_profile_of_the_shared_files(
    sim: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.use("ec2-instance-profile")
    write(
        sim.credentials_file,
        f"[old-laptop]\naws_access_key_id = {STATIC_KEY_ID}\n"
        f"aws_secret_access_key = {STATIC_SECRET}\n",
    )
    code, out, err = run(capsys, "check", "--forbid-static")
    assert code == 1
    line = one_line(err)
    assert f"[old-laptop] of {sim.credentials_file} (AKIA...MPLE)" in line
    assert_no_secret(out, err)


def test_check_forbid_static_refuses_a_laptop_key(
    sim: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    handle = sim.use("static")
    assert run(capsys, "check")[0] == 0  # the default policy: keys where no role exists
    code, out, err = run(capsys, "check", "--forbid-static")
    assert code == 1
    one_line(err)
    no_leak([handle], out, err)


def test_check_require(sim: Simulation, capsys: pytest.CaptureFixture[str]) -> None:
    sim.use("ec2-instance-profile")
    code, _, err = run(capsys, "check", "--require", "ecs", "eks-pod-identity")
    assert code == 1
    assert "--require allows only ecs, eks-pod-identity" in one_line(err)
    code, _, _ = run(capsys, "check", "--require", "ecs", "--require", "ec2-instance-profile")
    assert code == 0


def test_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with Simulation():
        code, _, err = run(capsys, "check")
        assert code == 3 and "no AWS credentials found" in one_line(err)
    with Simulation() as sim:
        sim.use("ec2-instance-profile", mode="error")
        code, _, err = run(capsys, "check")
        assert code == 4 and "ec2-instance-profile" in one_line(err)
    with Simulation():
        code, _, err = run(capsys, "check", "--profile", "ghost")
        assert code == 4 and "ghost" in one_line(err)


def test_check_allow_imdsv1(sim: Simulation, capsys: pytest.CaptureFixture[str]) -> None:
    sim.use("ec2-instance-profile", mode="imdsv1-only")
    code, _, err = run(capsys, "check")
    assert code == 4 and "IMDSv1" in one_line(err)
    assert run(capsys, "check", "--allow-imdsv1")[0] == 0


# -- whoami ------------------------------------------------------------------


def test_whoami(sim: Simulation, sts: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = sim.use("ec2-instance-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts.url)
    result = cli("whoami")
    assert result.returncode == 0, result.stderr
    rows = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert rows["account"] == "123456789012"
    assert rows["arn"].startswith("arn:aws:")
    assert rows["source"] == "ec2-instance-profile"
    no_leak([handle], result.stdout, result.stderr)


def test_whoami_errors_are_one_line(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "whoami")
    assert code == 3 and "no AWS credentials found" in one_line(err)
    sim.use("ec2-instance-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", refusing_endpoint())
    code, _, err = run(capsys, "whoami")
    assert code == 4
    assert "STS GetCallerIdentity failed: EndpointConnectionError" in one_line(err)
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sim.use("static")
    code, _, err = run(capsys, "whoami")
    assert code == 4 and "no region" in one_line(err)


# -- usage -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], [], ["check", "--require", "bogus"], ["explain", "--nope"], ["whoami", "x"]],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("credpick") and "error:" in line and "--help" in line


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"credpick {credpick.__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for needle in ("examples:", "credpick check --forbid-static", "exit codes:", "whoami"):
        assert needle in text
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "--forbid-static" in capsys.readouterr().out


def test_verbose_shows_the_decision_log(
    sim: Simulation, capsys: pytest.CaptureFixture[str]
) -> None:
    handles = [sim.use("ec2-instance-profile"), sim.use("static")]
    code, _, err = run(capsys, "-v", "check")
    assert code == 0
    assert "WARNING: long-lived key AKIA..." in err
    code, _, quiet = run(capsys, "check")
    assert "WARNING" not in quiet
    no_leak(handles, err, quiet)


def test_tour_prints_every_scenario() -> None:
    from credpick._tour import SCENARIOS

    result = cli("tour")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(SCENARIOS) + 2
    rows = {line.split("  ")[0].strip(): line for line in lines[2:]}
    assert "ec2-instance-profile" in rows["EC2 instance + stray AKIA key"]
    assert "StaticKeysRefused" in rows["Laptop, AKIA key, forbid"]
    assert "SourceFailed" in rows["Laptop, expired SSO + key"]
    for kind in ("lambda", "ecs", "eks-pod-identity", "web-identity", "github-oidc", "sso"):
        assert any(f"  {kind}  " in line for line in lines), kind
    assert "FAKE-SECRET" not in result.stdout + result.stderr


# -- the top-level handler: one line and a documented code, never a traceback ---


BAD_URLS = [":99999", "http://[::1/", "http://127.0.0.1:abc/", "http://127.0.0.1:99999/"]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("var", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
def test_whoami_names_a_malformed_sts_endpoint_variable(
    var: str, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv(var, url)
    code, out, err = run(capsys, "whoami")
    assert code == 4 and out == ""
    line = one_line(err)
    assert line.startswith(f"credpick whoami: {var}=") and "is not a valid endpoint URL" in line
    assert f"fix: set {var} to an http or https URL" in line
    assert_no_secret(err)


def test_a_malformed_endpoint_is_ignored_when_botocore_ignores_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from credpick import ConfigurationError, Context

    def error(env: dict[str, str], service: str) -> ConfigurationError | None:
        try:
            Context(env=env, home=Path("/nonexistent")).endpoint_url(service)
        except ConfigurationError as exc:
            return exc
        return None

    assert error({"AWS_ENDPOINT_URL_STS": "http://[::1/"}, "sts") is not None
    assert error({"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:8080/"}, "sts") is None
    assert error({"AWS_ENDPOINT_URL": "http://[::1]:8080"}, "sts") is None
    ignored = {"AWS_ENDPOINT_URL_STS": ":99999", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}
    assert error(ignored, "sts") is None
    # The service's own variable wins, as in botocore: a bad general one is not used.
    both = {"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1/", "AWS_ENDPOINT_URL": ":99999"}
    assert error(both, "sts") is None
    found = error({"AWS_ENDPOINT_URL": ":99999"}, "iam")
    assert found is not None and found.reason.startswith("AWS_ENDPOINT_URL=")


@pytest.mark.parametrize("url", BAD_URLS[:3])
@pytest.mark.parametrize("command", ["check", "explain", "whoami"])
def test_a_malformed_metadata_endpoint_is_no_traceback(
    command: str, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
    code, out, err = run(capsys, command)
    if command == "explain":  # the report holds the failure; the command did its job
        assert code == 0 and "AWS_EC2_METADATA_SERVICE_ENDPOINT" in out and err == ""
    else:
        assert code == 4 and "AWS_EC2_METADATA_SERVICE_ENDPOINT" in one_line(err)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (credpick.PolicyViolation("the hook refused it"), 1),
        (credpick.StaticKeysRefused("long-lived keys refused", kind="static"), 1),
        (credpick.NoCredentialsFound("no AWS credentials found"), 3),
        (credpick.SourceFailed("the endpoint answered 500", kind="ecs", fix="retry"), 4),
        (credpick.ConfigurationError("AWS_PROFILE names no profile", fix="set it"), 4),
        (credpick.CredpickError("something else credpick knows about"), 4),
    ],
)
def test_every_credpick_error_is_one_line_and_its_code(
    error: credpick.CredpickError,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def explain(args: Any) -> int:
        raise error

    monkeypatch.setattr("credpick._cli._explain", explain)
    got, out, err = run(capsys, "explain")
    assert got == code and out == ""
    line = one_line(err)
    assert line == f"credpick explain: {credpick._cli.one_line(error)}"
    assert error.reason in line and (error.fix is None or f"(fix: {error.fix})" in line)


def test_verbose_adds_the_evidence_and_the_candidates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = credpick.NoCredentialsFound(
        "no AWS credentials found",
        evidence=("AWS_PROFILE is not set", f"AWS_ACCESS_KEY_ID={STATIC_KEY_ID}"),
        attempts=("ecs: unavailable: no container variables", "static: unavailable: no keys"),
        fix="configure a profile",
    )

    def check(args: Any) -> int:
        raise error

    monkeypatch.setattr("credpick._cli._check", check)
    code, _, quiet = run(capsys, "check")
    assert code == 3 and "candidates" not in one_line(quiet)
    for argv in (["-v", "check"], ["check", "-v"]):  # -v before or after the command
        code, _, err = run(capsys, *argv)
        assert code == 3
        lines = err.splitlines()
        assert lines[0] == one_line(quiet)
        assert "  evidence: AWS_PROFILE is not set" in lines
        assert "  evidence: AWS_ACCESS_KEY_ID=AKIA...MPLE" in lines
        assert lines[-3:] == [
            "  candidates:",
            "    - ecs: unavailable: no container variables",
            "    - static: unavailable: no keys",
        ]
        assert "Traceback" not in err
        assert_no_secret(err)


def test_a_bug_says_so_exits_70_and_shows_its_traceback_only_with_verbose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explain(args: Any) -> int:
        try:
            {}["missing"]
        except KeyError as exc:  # a chain: the traceback names both types
            raise ValueError(f"a message that quotes a value: {STATIC_SECRET}") from exc
        return 0  # pragma: no cover

    monkeypatch.setattr("credpick._cli._explain", explain)
    code, out, err = run(capsys, "explain")
    assert code == 70 and out == ""
    line = one_line(err)
    assert "internal error: ValueError: this is a bug in credpick, please report it" in line
    assert "-v" in line
    code, _, verbose = run(capsys, "-v", "explain")
    assert code == 70
    assert verbose.startswith("Traceback (most recent call last):")
    assert "in explain" in verbose and "ValueError <- KeyError" in verbose
    assert verbose.splitlines()[-1] == line.replace("; run it again with -v for the traceback", "")
    assert_no_secret(err, verbose)  # the message may quote a value: never shown


def test_an_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def check(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("credpick._cli._check", check)
    code, _, err = run(capsys, "check")
    assert code == 130 and one_line(err) == "credpick check: interrupted"


def test_tour_without_the_testing_extra_names_it() -> None:
    # moto made unimportable in the child, as on an install without the extra.
    wrapper = (
        "import sys; sys.modules['moto'] = None\n"
        "from credpick._cli import main\n"
        "sys.exit(main(['tour']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", wrapper],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert result.returncode == 4, result.stderr
    line = one_line(result.stderr)
    assert line == (
        "credpick tour: the tour needs the testing extra, and moto is not installed "
        "(fix: pip install 'credpick[testing]')"
    )
    assert result.stdout == ""


def test_the_extra_the_tour_names_holds_moto() -> None:
    from pathlib import Path

    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    extra = project["project"]["optional-dependencies"]["testing"]
    assert any(req.startswith("moto") for req in extra)


def test_docs_cover_every_command_option_and_exit_code() -> None:
    import argparse
    import re
    from pathlib import Path

    from credpick import _cli

    page = (Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    (commands,) = [a for a in _cli._parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        (heading,) = [h for h in headings if h.startswith(f"## `credpick {name}")]
        for action in sub._actions:
            if action.option_strings and "--help" not in action.option_strings:
                long = max(action.option_strings, key=len)
                assert long in heading or long in ("--verbose",), (name, long)
    assert any("`-v`, `--verbose`" in h for h in headings)
    table = {int(m) for m in re.findall(r"^\| (\d+) \|", page, re.M)}
    codes = {_cli.OK, _cli.VIOLATION, _cli.USAGE, _cli.NO_CREDENTIALS, _cli.FAILED}
    assert table == codes | {_cli.BUG, _cli.INTERRUPTED}
