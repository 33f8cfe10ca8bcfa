"""The plugin's enforcement (long-lived keys) and its real-AWS guard, through ``pytester``."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

# A client on an AKIA key pointed at a refusing loopback port: signing happens
# before connecting, so the refusal needs no server at all.
HEADER = """
import boto3, botocore, botocore.config, pytest, socket
import credpick
from credpick.testing import refusing_endpoint

ONE_TRY = botocore.config.Config(retries={"total_max_attempts": 1})
NOT_THERE = (botocore.exceptions.EndpointConnectionError,)


def call_s3(session=boto3, **keys):
    s3 = session.client(
        "s3", region_name="us-east-1", endpoint_url=refusing_endpoint(), config=ONE_TRY, **keys
    )
    try:
        s3.list_buckets()
    except NOT_THERE:
        pass  # nothing listens: the request was signed and sent


def with_a_key():
    call_s3(aws_access_key_id="AKIAFAKEPOLICYKEY001", aws_secret_access_key="FAKE-SECRET-policy")
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    quiet = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
    return pytester.runpytest(*quiet, "--tb=short", *args)


def suite(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(test_suite=HEADER + body)


FLAGGABLE = """
def test_key():
    with_a_key()

def test_role(credpick_runtime):
    credpick_runtime.use("ec2-instance-profile")
    credpick_runtime.use("static")  # credpick ignores the stray key beside the role
    call_s3(credpick.session())

def test_botocore_chain_on_an_instance_with_a_stray_key(credpick_runtime):
    credpick_runtime.use("ec2-instance-profile")
    credpick_runtime.use("static")
    call_s3()  # botocore's own chain: the stray key wins
"""


def test_a_refusal_shows_its_reason_first_and_no_botocore_frames(
    pytester: pytest.Pytester,
) -> None:
    suite(pytester, "\ndef test_it(forbid_static_keys):\n    with_a_key()\n")
    result = run(pytester, "--tb=long")
    result.assert_outcomes(failed=1)
    out = result.stdout.lines
    start = next(i for i, line in enumerate(out) if "test_it" in line and "___" in line)
    end = next(i for i, line in enumerate(out) if "short test summary" in line)
    report = out[start + 1 : end]
    assert report[0].startswith("credpick.exceptions.StaticKeysRefused: static: the s3 client")
    assert len(report) <= 6, "\n".join(report)
    assert not any("site-packages" in line or "botocore/" in line for line in report)


def test_the_fixture_fails_a_test_that_signs_with_keys_in_code(pytester: pytest.Pytester) -> None:
    suite(pytester, "\ndef test_it(forbid_static_keys):\n    with_a_key()\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "credpick.exceptions.StaticKeysRefused: static: the s3 client signed ListBuckets "
            "with a long-lived access key (AKIA...Y001) from keys passed in code",
            "  fix: use a role: *",
            "  called at: *test_suite.py:*",
        ]
    )
    # The secret is in the test's own source, which pytest prints; never in an error.
    assert not [line for line in result.outlines if line.startswith("E") and "FAKE-SECRET" in line]


def test_the_mark_names_keys_from_the_environment(pytester: pytest.Pytester) -> None:
    suite(
        pytester,
        """
@pytest.mark.forbid_static_keys
@pytest.mark.credpick_runtime("static")
def test_env_key():
    call_s3()

@pytest.mark.forbid_static_keys
@pytest.mark.credpick_runtime("static", where="credentials-file")
def test_file_key():
    call_s3()
""",
    )
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*from environment variables (AWS_ACCESS_KEY_ID)"])
    result.stdout.fnmatch_lines(["*from the shared credentials file"])


@pytest.mark.parametrize("how", ["flag", "ini"])
def test_the_flag_and_the_ini_option_cover_every_test(pytester: pytest.Pytester, how: str) -> None:
    suite(pytester, FLAGGABLE)
    run(pytester).assert_outcomes(passed=3)  # off by default
    if how == "ini":
        pytester.makeini("[pytest]\ncredpick_forbid_static = true\n")
    result = run(pytester, *(["--credpick-forbid-static"] if how == "flag" else []))
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "credpick: --credpick-forbid-static",
            "FAILED *::test_key - *",
            "FAILED *::test_botocore_chain_on_an_instance_with_a_stray_key - *",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*StaticKeysRefused: *signed ListBuckets * from environment variables*"]
    )


def test_swallowed_or_replaced_errors_still_fail_the_test(pytester: pytest.Pytester) -> None:
    suite(
        pytester,
        """
pytestmark = pytest.mark.forbid_static_keys

def test_swallowed():
    try:
        with_a_key()
    except Exception:
        pass

def test_replaced():
    try:
        with_a_key()
    except Exception as exc:
        raise RuntimeError("upload failed") from exc

def test_acknowledged(forbid_static_keys):
    with pytest.raises(credpick.StaticKeysRefused):
        with_a_key()
    forbid_static_keys.violations.clear()  # provoked on purpose

@pytest.fixture
def cleanup_with_a_key():
    yield
    try:
        with_a_key()
    except Exception:
        pass

def test_in_teardown(cleanup_with_a_key):
    pass
""",
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED *::test_swallowed - Failed: credpick.exceptions.Static*",
            "FAILED *::test_replaced - Failed: credpick.exceptions.Static*",
            "ERROR *::test_in_teardown - Failed: credpick.exceptions.Static*",
        ]
    )


def test_unsigned_calls_and_roles_pass_but_a_keyed_source_profile_does_not(
    pytester: pytest.Pytester,
) -> None:
    suite(
        pytester,
        """
pytestmark = pytest.mark.forbid_static_keys

def test_unsigned_client_with_keys_around(credpick_runtime):
    credpick_runtime.use("static")
    s3 = boto3.client(
        "s3", endpoint_url=credpick_runtime.sts().url,
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    assert s3.list_buckets()["Buckets"] == []

def test_web_identity(credpick_runtime):
    credpick_runtime.use("web-identity")  # AssumeRoleWithWebIdentity is unsigned
    assert credpick.session().client("sts").get_caller_identity()["Arn"]

def test_assume_role_from_keys(credpick_runtime):
    credpick_runtime.use("assume-role")
    credpick.session()
""",
    )
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*signed AssumeRole * from a source_profile's keys*"])


GUARDED = """
def connect(address):
    with socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET) as s:
        s.settimeout(0.2)
        s.connect(address)

def test_metadata(credpick_runtime):
    connect(("169.254.169.254", 80))

def test_swallowed(credpick_runtime):
    try:
        connect(("169.254.170.2", 80))
    except BaseException:
        pass

def test_aws_name(credpick_runtime):
    socket.getaddrinfo("sts.us-east-1.amazonaws.com", 443)

def test_own_loopback_server(credpick_runtime):
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname(), timeout=2):
        pass
"""


def test_the_guard_is_on_with_the_fixtures(pytester: pytest.Pytester) -> None:
    suite(pytester, GUARDED)
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*_ test_metadata _*",
            "E   credpick.testing._guard.RealAwsConnection: blocked by credpick's socket guard:"
            " the EC2 instance metadata service at 169.254.169.254 port 80; *",
            "*_ test_swallowed _*",
            "E   *RealAwsConnection: * the code under test caught the error: the ECS container*",
            "*_ test_aws_name _*",
            "E   *RealAwsConnection: *: sts.us-east-1.amazonaws.com (an AWS host name); *",
        ]
    )


def test_the_guard_policy_is_a_fixture_a_project_can_override(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture
def credpick_guard_policy():
    return "loopback"
"""
    )
    suite(
        pytester,
        """
from credpick.testing import NonLoopbackConnection, RealAwsConnection

def test_stricter(credpick_runtime, credpick_socket_guard):
    assert credpick_socket_guard.policy == "loopback"
    with socket.socket() as s, pytest.raises(NonLoopbackConnection) as info:
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet
    assert not isinstance(info.value, RealAwsConnection)
    credpick_socket_guard.attempts.clear()

class TestWithoutAGuard:
    @pytest.fixture
    def credpick_guard_policy(self):
        return None

    def test_off(self, credpick_runtime, credpick_socket_guard):
        assert credpick_socket_guard is None
""",
    )
    run(pytester).assert_outcomes(passed=2)


@pytest.mark.parametrize("how", ["flag", "ini"])
def test_no_real_aws_covers_the_whole_run(pytester: pytest.Pytester, how: str) -> None:
    suite(
        pytester,
        """
try:  # at import, during collection
    socket.getaddrinfo("sts.amazonaws.com", 443)
    AT_IMPORT = "allowed"
except BaseException as exc:
    AT_IMPORT = type(exc).__name__

def test_collection_was_guarded():
    assert AT_IMPORT == "RealAwsConnection"

def test_without_any_fixture():
    with socket.socket() as s:
        s.connect(("169.254.170.23", 80))
""",
    )
    if how == "ini":
        pytester.makeini("[pytest]\ncredpick_no_real_aws = true\n")
    result = run(pytester, *(["--credpick-no-real-aws"] if how == "flag" else []))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_without_any_fixture _*", "E   *RealAwsConnection: *the EKS Pod Identity agent*"]
    )


MOTO_SUITE = """
import boto3, pytest
from moto import mock_aws


@mock_aws
def test_ordinary_moto_test():
    s3 = boto3.client("s3", region_name="us-east-1")  # moto's FOOBARKEY from the environment
    s3.create_bucket(Bucket="credpick-moto")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["credpick-moto"]


@mock_aws
def test_a_long_lived_key_in_code_inside_moto():
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIAFAKEPOLICYKEY002",
        aws_secret_access_key="FAKE-SECRET-policy",
    )
    s3.list_buckets()


def test_moto_placeholder_key_outside_a_mock(monkeypatch):
    # The same placeholder with no mock active would leave the process: judged as any key.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FOOBARKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "FOOBARSECRET")
    from credpick.testing import refusing_endpoint
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=refusing_endpoint())
    try:
        s3.list_buckets()
    except Exception as exc:
        if type(exc).__name__ == "StaticKeysRefused":
            raise
"""


def test_forbid_static_passes_moto_tests_but_not_real_keys_inside_them(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("moto")
    pytester.makepyfile(test_moto_suite=MOTO_SUITE)
    result = run(pytester, "--credpick-forbid-static", "-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*::test_ordinary_moto_test PASSED*",
            "*::test_a_long_lived_key_in_code_inside_moto FAILED*",
            "*::test_moto_placeholder_key_outside_a_mock FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(["*StaticKeysRefused*AKIA...Y002*"])
