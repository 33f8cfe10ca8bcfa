"""The obtained-credentials rules, word for word: what a refusal says, what is warned, and
where "the root of" and "on refresh" appear.

Written against the mutants of ``credpick._obtained`` that survived the suite
(docs/reliability.md, "Mutation testing"): every sentence a person reads is pinned,
through the module's documented functions (``verdict``, ``check``, ``judging``, ``watch``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from botocore.credentials import Credentials, RefreshableCredentials

from credpick import Policy, SourceKind, StaticKeysRefused
from credpick._keys import KeyClass
from credpick._model import Candidate
from credpick._obtained import check, judging, verdict, watch

from .helpers import SESSION_TOKEN, STATIC_KEY_ID, STATIC_SECRET, TEMP_KEY_ID, TEMP_SECRET
from .security._leaks import assert_clean_error

FORBID = Policy(static_keys="forbid")
PROC = Candidate(
    kind=SourceKind.CREDENTIAL_PROCESS, origin="profile 'proc'", evidence=("profile 'proc'",)
)
WHAT = "credential-process (profile 'proc')"
BESIDE_ECS = Candidate(
    kind=SourceKind.CREDENTIAL_PROCESS,
    origin="profile 'proc'",
    evidence=("profile 'proc'",),
    role_available="ecs (environment)",
)
# Detection already saw (and warned about) the long-lived keys under this one.
KNOWN_LONG_LIVED = Candidate(kind=SourceKind.STATIC, origin="environment", long_lived=True)
AKIA = KeyClass(long_lived=True, key_id="AKIA...MPLE", method="custom-process", origin="x")
NO_ID = KeyClass(long_lived=True, key_id=None, method=None, origin="unknown")
TEMPORARY = KeyClass(long_lived=False, key_id="ASIA...MPLE", method="custom-process", origin="x")
TEMPORARY_FIX = "make {} deliver temporary credentials (an ASIA key with a session token)"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def refused(error: StaticKeysRefused | None) -> StaticKeysRefused:
    assert isinstance(error, StaticKeysRefused)
    return error


def _refreshable(key_id: str, secret: str, token: str, refresh: Any) -> RefreshableCredentials:
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    return RefreshableCredentials.create_from_metadata(
        {
            "access_key": key_id,
            "secret_key": secret,
            "token": token,
            "expiry_time": expiry.isoformat(),
        },
        refresh_using=refresh,
        method="custom-process",
    )


def _akia_refresh() -> dict[str, str]:
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    return {
        "access_key": STATIC_KEY_ID,
        "secret_key": STATIC_SECRET,
        "token": "",
        "expiry_time": expiry.isoformat(),
    }


# -- verdict: the refusal, word for word ------------------------------------------------------


def test_temporary_credentials_get_no_verdict(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        assert verdict(TEMPORARY, PROC, "forbid") is None
    assert warnings(caplog) == []


def test_a_refusal_names_the_key_the_source_the_reason_and_the_fix() -> None:
    error = refused(verdict(AKIA, PROC, "forbid"))
    assert error.reason == (
        f"long-lived key AKIA...MPLE delivered by {WHAT} refused: "
        "the policy forbids long-lived keys"
    )
    assert error.kind == "credential-process"
    assert error.evidence == (
        "profile 'proc'",
        "access key AKIA...MPLE",
        "botocore method 'custom-process'",
    )
    assert error.fix == "use a role; " + TEMPORARY_FIX.format(WHAT)


def test_a_refusal_beside_a_role_says_to_use_that_role() -> None:
    error = refused(verdict(AKIA, BESIDE_ECS, "refuse-when-role"))
    assert error.reason == (
        f"long-lived key AKIA...MPLE delivered by {WHAT} refused: ecs (environment) is available"
    )
    assert error.fix == "drop the key and use ecs (environment); " + TEMPORARY_FIX.format(WHAT)


def test_an_asia_key_without_a_token_is_refused_as_missing_its_token() -> None:
    tokenless = KeyClass(long_lived=True, key_id="ASIA...MPLE", method="custom-process", origin="x")
    error = refused(verdict(tokenless, PROC, "forbid"))
    assert error.reason == (
        f"key ASIA...MPLE (temporary, but its session token is missing) delivered by {WHAT} "
        "refused: the policy forbids long-lived keys"
    )


def test_a_refusal_without_a_key_id_says_unknown() -> None:
    error = refused(verdict(NO_ID, PROC, "forbid"))
    assert error.reason.startswith(f"long-lived key (unknown) delivered by {WHAT} refused")
    assert error.evidence[-2:] == ("access key (unknown)", "botocore method None")


def test_a_refusal_of_the_root_says_so() -> None:
    error = refused(verdict(AKIA, PROC, "forbid", root=True))
    assert error.reason.startswith(f"long-lived key AKIA...MPLE delivered by the root of {WHAT} ")
    assert error.fix is not None and f"make the root of {WHAT} deliver" in error.fix


def test_a_refusal_on_refresh_says_so() -> None:
    error = refused(verdict(AKIA, PROC, "forbid", when=" on refresh"))
    assert error.reason.startswith(f"long-lived key AKIA...MPLE delivered by {WHAT} on refresh ")
    assert error.evidence[-2] == "access key AKIA...MPLE on refresh"


# -- verdict: the warning when long-lived keys are allowed ------------------------------------


def test_allowed_keys_are_warned_about_because_the_policy_allows_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        assert verdict(AKIA, BESIDE_ECS, "allow") is None
    assert warnings(caplog) == [
        f"using long-lived key AKIA...MPLE delivered by {WHAT}: the policy allows it"
    ]


def test_keys_used_for_want_of_a_role_are_warned_about_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        assert verdict(NO_ID, PROC, "refuse-when-role") is None
    assert warnings(caplog) == [
        f"using long-lived key (unknown) delivered by {WHAT}: no role-based source is available"
    ]


def test_a_known_long_lived_source_is_warned_about_once_by_detection_not_here(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        assert verdict(AKIA, KNOWN_LONG_LIVED, "refuse-when-role") is None
    assert warnings(caplog) == []


def test_a_refresh_into_known_long_lived_keys_is_warned_about_on_refresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="credpick"):
        assert verdict(AKIA, KNOWN_LONG_LIVED, "allow", when=" on refresh") is None
    assert warnings(caplog) == [
        "using long-lived key AKIA...MPLE delivered by static (environment) on refresh: "
        "the policy allows it"
    ]


# -- check, judging and watch pass "root" on ------------------------------------------------


def test_check_refuses_the_candidates_own_keys_by_default() -> None:
    with pytest.raises(StaticKeysRefused) as info:
        check(Credentials(STATIC_KEY_ID, STATIC_SECRET, method="env"), PROC, FORBID)
    assert info.value.reason.startswith(f"long-lived key AKIA...MPLE delivered by {WHAT} ")
    assert_clean_error(info.value)


def test_check_refuses_the_root_as_the_root() -> None:
    with pytest.raises(StaticKeysRefused) as info:
        check(Credentials(STATIC_KEY_ID, STATIC_SECRET), PROC, FORBID, root=True)
    assert f"delivered by the root of {WHAT} refused" in info.value.reason


@pytest.mark.parametrize("root", [False, True])
def test_a_judged_refresh_into_long_lived_keys_is_refused_on_refresh(root: bool) -> None:
    refresh = judging(_akia_refresh, PROC, FORBID, root=root)
    with pytest.raises(StaticKeysRefused) as info:
        refresh()
    what = f"the root of {WHAT}" if root else WHAT
    assert info.value.reason == (
        f"long-lived key AKIA...MPLE delivered by {what} on refresh refused: "
        "the policy forbids long-lived keys"
    )
    assert_clean_error(info.value)


def test_a_judged_refresh_without_root_is_not_the_root() -> None:
    with pytest.raises(StaticKeysRefused) as info:
        judging(_akia_refresh, PROC, FORBID)()
    assert "the root of" not in info.value.reason


@pytest.mark.parametrize("root", [False, True])
def test_watched_credentials_are_judged_at_each_refresh(root: bool) -> None:
    credentials = _refreshable(TEMP_KEY_ID, TEMP_SECRET, SESSION_TOKEN, _akia_refresh)
    if root:
        watch(credentials, PROC, FORBID, root=True)
    else:
        watch(credentials, PROC, FORBID)
    with pytest.raises(StaticKeysRefused) as info:
        credentials._refresh_using()
    what = f"the root of {WHAT}" if root else WHAT
    assert info.value.reason.startswith(f"long-lived key AKIA...MPLE delivered by {what} on ")
    assert_clean_error(info.value)


@pytest.mark.parametrize("root", [False, True])
def test_watched_credentials_are_judged_now(root: bool) -> None:
    credentials = _refreshable(STATIC_KEY_ID, STATIC_SECRET, "", _akia_refresh)
    with pytest.raises(StaticKeysRefused) as info:
        if root:
            watch(credentials, PROC, FORBID, root=True)
        else:
            watch(credentials, PROC, FORBID)
    what = f"the root of {WHAT}" if root else WHAT
    assert info.value.reason.startswith(f"long-lived key AKIA...MPLE delivered by {what} refused")
