"""The pytest plugin, driven through pytest's own ``pytester``: fixtures, marks, flags, ini."""

from __future__ import annotations

import os

import pytest

from credpick import ConfigurationError
from credpick.testing import Simulation

pytest_plugins = ["pytester"]

OUTER_KEY = "AKIAOUTERFAKEKEY0001"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # hypothesis's plugin imports hypothesis (~1.5 s) in every in-process run.
    quiet = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
    return pytester.runpytest(*quiet, "--tb=short", *args)


def test_the_entry_point_registers_the_plugin(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("credpick")
    assert plugin is not None and plugin.__name__ == "credpick.testing.pytest_plugin"


def test_help_lists_the_flags_and_ini_options(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(
        [
            "credpick: emulated AWS runtimes and key policy:",
            "*--credpick-forbid-static*",
            "*--credpick-no-real-aws*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*credpick_forbid_static (bool)*", "*credpick_no_real_aws (bool)*"]
    )


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.credpick_runtime(*kinds, *", "@pytest.mark.forbid_static_keys: *"]
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.credpick_runtime()
        @pytest.mark.forbid_static_keys
        def test_marked():
            pass
        """
    )
    run(pytester, "--strict-markers").assert_outcomes(passed=1)


def test_it_does_nothing_until_used(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", OUTER_KEY)
    monkeypatch.setenv("AWS_PROFILE", "developer")
    pytester.makeconftest(
        """
        import os, socket
        from botocore.signers import RequestSigner

        def snapshot():
            env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
            return (
                env,
                socket.socket.connect,
                socket.getaddrinfo,
                RequestSigner.sign,
                RequestSigner.get_auth_instance,
            )

        BEFORE = snapshot()
        """
    )
    pytester.makepyfile(
        """
        import conftest

        def test_untouched(request):
            assert conftest.snapshot() == conftest.BEFORE
            assert "credpick_runtime" not in request.fixturenames
        """
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert "credpick:" not in result.stdout.str()  # no report header either


def test_the_runtime_fixture_isolates_the_test_and_restores_everything(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", OUTER_KEY)
    monkeypatch.setenv("AWS_PROFILE", "developer")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/outer")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    pytester.makepyfile(
        f"""
        import os
        import pytest
        import credpick
        from botocore.credentials import SSOProvider

        SSO_CACHE = SSOProvider._SSO_TOKEN_CACHE_DIR

        def test_isolated(credpick_runtime, tmp_path_factory):
            for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "ACTIONS_ID_TOKEN_REQUEST_URL"):
                assert name not in os.environ
            home = credpick_runtime.home
            assert os.environ["HOME"] == str(home)
            assert str(tmp_path_factory.getbasetemp()) in str(home)
            assert os.environ["AWS_CONFIG_FILE"] == str(home / ".aws" / "config")
            assert os.environ["AWS_SHARED_CREDENTIALS_FILE"] == str(home / ".aws" / "credentials")
            assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
            assert os.environ["AWS_REGION"] == "us-east-1"
            assert SSOProvider._SSO_TOKEN_CACHE_DIR.startswith(str(home))
            with pytest.raises(credpick.NoCredentialsFound):
                credpick.session()

        def test_failing_in_a_runtime(credpick_runtime, monkeypatch):
            credpick_runtime.use("static")
            monkeypatch.setenv("AWS_PROFILE", "set-by-the-test")
            assert False, "fails on purpose"

        def test_restored_after_a_failure():
            assert os.environ["AWS_ACCESS_KEY_ID"] == "{OUTER_KEY}"
            assert os.environ["AWS_PROFILE"] == "developer"
            assert "AWS_EC2_METADATA_DISABLED" not in os.environ
            assert SSOProvider._SSO_TOKEN_CACHE_DIR == SSO_CACHE
        """
    )
    run(pytester).assert_outcomes(passed=2, failed=1)
    assert os.environ["AWS_ACCESS_KEY_ID"] == OUTER_KEY


def test_isolation_holds_in_a_fresh_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new interpreter: the plugin comes from the entry point, nothing from this process.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", OUTER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "FAKE-SECRET-outer")
    pytester.makepyfile(
        """
        import os
        import credpick

        def test_sees_the_outer_key():
            assert os.environ["AWS_ACCESS_KEY_ID"].startswith("AKIAOUTER")

        def test_does_not(credpick_runtime):
            assert "AWS_ACCESS_KEY_ID" not in os.environ
            credpick_runtime.use("ec2-instance-profile")
            assert credpick.session().get_credentials().method == "iam-role"
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_use_layers_runtimes_and_returns_handles(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import credpick
        from credpick.testing import ImdsEmulator

        def test_instance_with_a_stray_key(credpick_runtime):
            instance = credpick_runtime.use("ec2-instance-profile")
            stray = credpick_runtime.use("static")
            assert isinstance(instance.emulator, ImdsEmulator)
            assert instance.role_arn.endswith(":role/credpick-test-role")
            assert stray.kind.value == "static" and stray.role_arn is None
            assert credpick.session().get_credentials().method == "iam-role"
            assert [c.status.value for c in credpick.detect().candidates] == ["chosen", "ignored"]
            assert [r.method for r in instance.requests][:1] == ["PUT"]
            assert credpick_runtime.handles == [instance, stray]
        """
    )
    run(pytester).assert_outcomes(passed=1)


def test_marks_layer_with_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import credpick

        pytestmark = pytest.mark.credpick_runtime("ec2-instance-profile")

        @pytest.mark.credpick_runtime("static", where="credentials-file")
        def test_module_mark_then_function_mark(credpick_runtime):
            assert [h.kind.value for h in credpick_runtime.handles] == [
                "ec2-instance-profile", "static"
            ]
            assert credpick_runtime.credentials_file.read_text().startswith("[default]")

        @pytest.mark.credpick_runtime(
            "static", "env-session", options={"static": {"where": "credentials-file"}}
        )
        def test_options_per_runtime():
            assert credpick.detect().chosen.kind.value == "ec2-instance-profile"

        class TestEcs:
            @pytest.mark.credpick_runtime("ecs", mode="error")
            def test_broken_endpoint_fails_closed(self):
                # The module's instance profile is there too; credpick must not fall back.
                with pytest.raises(credpick.SourceFailed) as info:
                    credpick.session()
                assert info.value.kind == "ecs"
        """
    )
    run(pytester).assert_outcomes(passed=3)


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ('"ec2-instance-proflie"', "unknown runtime 'ec2-instance-proflie'; did you mean "),
        ('"lambda", "ecs"', "runtime 'ecs' conflicts with 'lambda' already in use"),
        ('"ecs", "static", mode="error"', "with several runtimes, pass options per runtime"),
        ('"ecs", options={"sso": {}}', "options= names 'sso', which the mark does not use"),
        ('"ecs", colour="red"', "runtime 'ecs' has no option 'colour'; its options: mode"),
        ('"ecs", mode="on-fire"', "runtime 'ecs': mode must be one of 'healthy', "),
    ],
)
def test_a_bad_mark_is_a_clear_error(pytester: pytest.Pytester, mark: str, message: str) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.credpick_runtime({mark})
        def test_it():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"@pytest.mark.credpick_runtime: {message}*"])
    result.stdout.no_fnmatch_line("*During handling*")


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        ([("ecs", {}), ("lambda", {})], "runtime 'lambda' conflicts with 'ecs' already in use"),
        ([("sso", {}), ("assume-role", {})], "runtime 'assume-role' conflicts with 'sso'"),
        ([("ec2", {})], "unknown runtime 'ec2'; did you mean 'ec2-instance-profile'?"),
        ([("kubernetes", {})], "unknown runtime 'kubernetes'; use one of: lambda, ecs, "),
        (
            [("lambda", {"mode": "error"})],
            "runtime 'lambda' has no option 'mode'; its options: none",
        ),
        (
            [("static", {"where": "vault"})],
            "runtime 'static': where must be one of 'env', 'credentials-file'",
        ),
    ],
)
def test_bad_use_is_a_clear_error_at_the_call(
    credpick_runtime: Simulation, calls: list[tuple[str, dict[str, object]]], message: str
) -> None:
    *fine, (kind, options) = calls
    for ok_kind, ok_options in fine:
        credpick_runtime.use(ok_kind, **ok_options)
    with pytest.raises(ConfigurationError) as info:
        credpick_runtime.use(kind, **options)
    assert str(info.value).startswith(message)
    assert [h.kind.value for h in credpick_runtime.handles] == [k for k, _ in fine]


def test_plugin_loads_without_moto() -> None:
    # pytest loads every pytest11 plugin at start-up, so a project that installs
    # credpick without the testing extra must not break because moto is absent.
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['moto'] = None; sys.modules['moto.server'] = None\n"
        "import credpick.testing.pytest_plugin\n"
        "assert 'moto' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
