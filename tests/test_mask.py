"""Masking key ids and URLs (``credpick._mask``): the edges of what is shown and what is hidden."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credpick._mask import (
    display_url,
    ensure_masked,
    is_temporary_key_id,
    mask_key_id,
    scrub,
    shown,
)

from .helpers import STATIC_KEY_ID, TEMP_KEY_ID

#: The shortest and longest ids IAM issues (16 and 128 characters).
SHORTEST = "AKIA" + "ABCDEFGHIJKL"
LONGEST = "AKIA" + "Z" * 123 + "Q"


@pytest.mark.parametrize(
    ("key_id", "shown"),
    [
        (STATIC_KEY_ID, "AKIA...MPLE"),
        (f"  {STATIC_KEY_ID}\n", "AKIA...MPLE"),
        (SHORTEST, "AKIA...IJKL"),
        (LONGEST, "AKIA...ZZZQ"),
    ],
    ids=["akia", "padded", "16-chars", "128-chars"],
)
def test_a_key_id_shows_its_first_and_last_four(key_id: str, shown: str) -> None:
    assert mask_key_id(key_id) == shown


@pytest.mark.parametrize(
    "value",
    [
        SHORTEST[:-1],  # 15 characters: too short to be an id, maybe a secret's prefix
        LONGEST + "R",  # 129 characters
        "AKIAIOSFODNN7EXAMPLE-with/secret+chars",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # a secret pasted into the id variable
        42,
        b"AKIAIOSFODNN7EXAMPLE",
    ],
    ids=["15-chars", "129-chars", "not-alnum", "a-secret", "int", "bytes"],
)
def test_odd_values_are_masked_whole(value: object) -> None:
    assert mask_key_id(value) == "****"


def test_no_key_id_stays_none() -> None:
    assert mask_key_id(None) is None


@pytest.mark.parametrize(
    ("stored", "kept"),
    [
        (None, None),
        ("AKIA...MPLE", "AKIA...MPLE"),
        ("****", "****"),
        (STATIC_KEY_ID, "AKIA...MPLE"),
        ("short", "****"),
    ],
)
def test_ensure_masked_never_keeps_a_raw_id(stored: str | None, kept: str | None) -> None:
    assert ensure_masked(stored) == kept


@pytest.mark.parametrize(
    ("key_id", "temporary"),
    [
        (TEMP_KEY_ID, True),
        (" asiaiosfodnn7example", True),
        (STATIC_KEY_ID, False),
        ("", False),
        (None, False),
        (12345, False),
    ],
)
def test_only_asia_ids_are_temporary(key_id: object, temporary: bool) -> None:
    assert is_temporary_key_id(key_id) is temporary


def test_a_16_character_id_inside_free_text_is_scrubbed() -> None:
    assert scrub(f"role_arn={SHORTEST} (note)") == "role_arn=AKIA...IJKL (note)"


def test_every_id_in_a_text_is_scrubbed_and_the_rest_kept() -> None:
    text = f"first {STATIC_KEY_ID}, then x{TEMP_KEY_ID}y and {LONGEST}."
    assert scrub(text) == "first AKIA...MPLE, then xASIA...MPLEy and AKIA...ZZZQ."


def test_scrub_leaves_what_is_not_an_id() -> None:
    text = f"AKIA short {SHORTEST[:-1]} and a run too long to be an id: {LONGEST}R"
    assert scrub(text) == text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://user:secret@127.0.0.1:8080/v1/creds?token=abc#frag",
            "http://127.0.0.1:8080/v1/creds",
        ),
        ("http://169.254.170.2/v2/credentials/id", "http://169.254.170.2/v2/credentials/id"),
        ("http://[fd00:ec2::23]:80/v1/credentials", "http://[fd00:ec2::23]:80/v1/credentials"),
        ("https://example.invalid", "https://example.invalid"),
    ],
)
def test_display_url_drops_user_info_query_and_fragment(url: str, shown: str) -> None:
    assert display_url(url) == shown


@pytest.mark.parametrize(
    "url",
    ["not a url", "//127.0.0.1/path", "http:///path", "http://[broken/x", "http://h:99999/"],
    ids=["words", "no-scheme", "no-host", "bad-ipv6", "bad-port"],
)
def test_display_url_says_when_a_url_is_not_valid(url: str) -> None:
    assert display_url(url) == "(not a valid URL)"


# -- the fast paths of scrub and shown (no "AKIA"/"ASIA", no "://") -------------------

_SCRUB_PATTERN = re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{12,124})(?![A-Z0-9])")
_URL_PATTERN = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s;,'\"<>]+")
# Texts built from the pieces the patterns look for, so both paths are exercised.
_PIECES = st.sampled_from(
    [
        "AKIA",
        "ASIA",
        "akia",
        "IOSFODNN7EXAMPLE",
        "Z" * 12,
        "://",
        "http",
        "s3://b",
        "@",
        " ",
        ";",
        "x",
    ]
)
_TEXTS = st.lists(_PIECES | st.text(max_size=4), max_size=12).map("".join)


@given(_TEXTS)
def test_scrub_masks_as_the_pattern_does_with_or_without_its_shortcut(text: str) -> None:
    # The shortcut skips the pattern when neither prefix is in the text; the
    # answer must be the pattern's own in every case.
    assert scrub(text) == _SCRUB_PATTERN.sub(lambda m: mask_key_id(m.group(1)) or "****", text)


@given(_TEXTS)
def test_shown_shows_urls_as_the_pattern_does_with_or_without_its_shortcut(text: str) -> None:
    expected = scrub(_URL_PATTERN.sub(lambda m: display_url(m.group(0)), text))
    assert shown(text) == expected


def test_a_pasted_key_in_text_is_still_masked() -> None:
    assert scrub(f"id={STATIC_KEY_ID};") == "id=AKIA...MPLE;"
    assert shown(f"see https://u:{STATIC_KEY_ID}@h/x ({STATIC_KEY_ID})") == (
        "see https://h/x (AKIA...MPLE)"
    )
