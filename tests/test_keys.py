from __future__ import annotations

from botocore.credentials import Credentials

from credpick._keys import classify

from .helpers import (
    SESSION_TOKEN,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_KEY_ID,
    TEMP_SECRET,
    assert_no_secret,
)


def test_akia_is_long_lived() -> None:
    c = classify(Credentials(STATIC_KEY_ID, STATIC_SECRET, method="env"))
    assert c.long_lived and c.key_id == "AKIA...MPLE" and "environment" in c.origin
    assert_no_secret(repr(c))


def test_asia_with_token_is_temporary() -> None:
    c = classify(Credentials(TEMP_KEY_ID, TEMP_SECRET, SESSION_TOKEN, method="iam-role"))
    assert not c.long_lived and "instance profile" in c.origin


def test_asia_without_token_is_not_trusted_as_temporary() -> None:
    assert classify(Credentials(TEMP_KEY_ID, TEMP_SECRET, None, method="explicit")).long_lived
