"""Classifying resolved credentials (``credpick._keys.classify``): fields it reads and what it says."""

from __future__ import annotations

from types import SimpleNamespace

from botocore.credentials import Credentials

from credpick._keys import KeyClass, classify

from .helpers import SESSION_TOKEN, STATIC_KEY_ID, STATIC_SECRET, TEMP_KEY_ID, TEMP_SECRET


class Refreshing:
    """Like botocore's refreshable credentials: the attributes lag, the frozen set is current."""

    method = "iam-role"
    access_key = STATIC_KEY_ID
    token = None

    def get_frozen_credentials(self) -> Credentials:
        return Credentials(TEMP_KEY_ID, TEMP_SECRET, SESSION_TOKEN)


def test_it_reads_the_frozen_set_when_there_is_one() -> None:
    c = classify(Refreshing())
    assert c == KeyClass(
        long_lived=False,
        key_id="ASIA...MPLE",
        method="iam-role",
        origin="the instance profile (instance metadata)",
    )


def test_plain_fields_are_enough() -> None:
    c = classify(SimpleNamespace(access_key=TEMP_KEY_ID, token=SESSION_TOKEN, method="sso"))
    assert c == KeyClass(
        long_lived=False, key_id="ASIA...MPLE", method="sso", origin="IAM Identity Center"
    )


def test_an_akia_id_with_a_token_is_long_lived() -> None:
    c = classify(Credentials(STATIC_KEY_ID, STATIC_SECRET, SESSION_TOKEN, method="env"))
    assert c.long_lived and c.method == "env"


def test_nothing_known_is_long_lived_and_unknown() -> None:
    assert classify(object()) == KeyClass(
        long_lived=True, key_id=None, method=None, origin="unknown"
    )


def test_an_empty_key_id_is_no_key_id() -> None:
    c = classify(SimpleNamespace(access_key="", token=SESSION_TOKEN))
    assert c.key_id is None and c.long_lived


def test_an_unknown_method_is_named() -> None:
    c = classify(Credentials(STATIC_KEY_ID, STATIC_SECRET, method="custom-thing"))
    assert c.origin == "botocore provider 'custom-thing'"
    assert c.method == "custom-thing"
