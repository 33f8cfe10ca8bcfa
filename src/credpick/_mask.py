"""Mask access key ids; secrets are never shown at all."""

from __future__ import annotations

import functools
import re
from typing import Any


def mask_key_id(key_id: object) -> str | None:
    """Show the first and last four characters: ``AKIA...WXYZ``.

    Short or odd values are masked whole, so a secret pasted into the id
    variable by mistake cannot leak through this function.
    """
    if key_id is None:
        return None
    if not isinstance(key_id, str):  # a malformed reply can put anything here
        return "****"
    key_id = key_id.strip()
    if len(key_id) < 16 or len(key_id) > 128 or not key_id.isalnum():
        return "****"
    return f"{key_id[:4]}...{key_id[-4:]}"


_MASKED = re.compile(r"[A-Z0-9]{4}\.\.\.[A-Z0-9]{4}|\*{4}")


def ensure_masked(key_id: str | None) -> str | None:
    """Mask a key id unless it already is: an attrs converter for stored ids,
    so a raw id can never be kept by mistake."""
    if key_id is None or _MASKED.fullmatch(key_id):
        return key_id
    return mask_key_id(key_id)


def is_temporary_key_id(key_id: object) -> bool:
    """``ASIA`` ids come from STS and are temporary; ``AKIA`` ids are long-lived."""
    return isinstance(key_id, str) and key_id.strip().upper().startswith("ASIA")


# Compiled on first use (about 0.2 ms each): a session whose texts hold no
# key-shaped or URL-shaped word need not pay for them at import.
@functools.cache
def _key_id() -> re.Pattern[str]:
    return re.compile(r"(?<![A-Z0-9])((?:AKIA|ASIA)[A-Z0-9]{12,124})(?![A-Z0-9])")


def scrub(text: str) -> str:
    """Mask anything shaped like an access key id inside free text.

    Defence in depth: evidence is built from masked ids already, but a key id
    pasted into an unrelated variable must not come out whole either.
    """
    if "AKIA" not in text and "ASIA" not in text:
        return text  # the pattern needs one of them: nothing to mask
    return _key_id().sub(lambda m: mask_key_id(m.group(1)) or "****", text)


def display_url(url: str) -> str:
    """A URL without user info, query or fragment, which may hold tokens.

    The host is the one the transport (urllib3) would connect to; a URL that
    parsers read differently (a backslash, whitespace) is ``(not a valid URL)``.
    """
    from . import _url  # on first use: a session that shows no URL need not parse one

    return _url.display(url)


# Anything shaped like a URL inside shown text: its user info, query and
# fragment may hold tokens, so it is shown through display_url.
@functools.cache
def _url() -> re.Pattern[str]:
    return re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s;,'\"<>]+")


def shown(text: str) -> str:
    """``text`` with key ids masked and every URL in it as :func:`display_url` shows it."""
    if "://" not in text:
        return scrub(text)  # the pattern needs one: no URL to show
    return scrub(_url().sub(lambda m: display_url(m.group(0)), text))


def shown_all(value: Any) -> Any:
    """:func:`shown` applied to every string inside lists, tuples and dicts."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, list | tuple):
        return [shown_all(v) for v in value]
    if isinstance(value, dict):
        return {k: shown_all(v) for k, v in value.items()}
    return value
