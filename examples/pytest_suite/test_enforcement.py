"""``--credpick-forbid-static``: a test fails when its code signs a request with a long-lived key.

pytest's own ``pytester`` runs a small suite with and without the flag: the test whose
code builds an S3 client from an ``AKIA`` key fails under the flag, even though that
code swallows every ``Exception``; the test whose code runs on a role passes. The suite
runs in a fresh interpreter, so flags given to this run do not reach into it.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import boto3
import credpick


def store(s3):
    try:  # like much real code: every failure becomes False
        s3.create_bucket(Bucket="reports")
    except Exception:
        return False
    return True


def test_with_a_key(credpick_runtime):
    moto = credpick_runtime.sts()  # S3 too, on loopback
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=moto.url,
        aws_access_key_id="AKIAFAKEEXAMPLEKEY01",
        aws_secret_access_key="FAKE-SECRET-example",
    )
    assert store(s3)


def test_on_a_role(credpick_runtime):
    credpick_runtime.use("ec2-instance-profile")
    s3 = credpick.session().client("s3", endpoint_url=credpick_runtime.sts().url)
    assert store(s3)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_reports=SUITE)
    return pytester


def test_without_the_flag_both_pass(suite: pytest.Pytester) -> None:
    suite.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_flag_fails_the_key_and_passes_the_role(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", "--tb=short", "--credpick-forbid-static"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "credpick: --credpick-forbid-static",
            "credpick.exceptions.StaticKeysRefused: static: the s3 client signed "
            "CreateBucket with a long-lived access key (AKIA...EY01) from keys passed in code",
            "  fix: use a role: *",
            "FAILED test_reports.py::test_with_a_key - Failed: credpick.exceptions.StaticK*",
        ]
    )
    assert "FAKE-SECRET-example" not in result.stdout.str()


def test_the_ini_option_does_the_same(suite: pytest.Pytester) -> None:
    suite.makeini("[pytest]\ncredpick_forbid_static = true\n")
    suite.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
