"""Marker secrets and small builders shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path

STATIC_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
STATIC_SECRET = "MARKER-SECRET-static-wJalrXUtnFEMI"
TEMP_KEY_ID = "ASIAIOSFODNN7EXAMPLE"
TEMP_SECRET = "MARKER-SECRET-temporary-9f8e7d"
SESSION_TOKEN = "MARKER-TOKEN-session-abcdef"
MARKERS = (STATIC_SECRET, TEMP_SECRET, SESSION_TOKEN, STATIC_KEY_ID, TEMP_KEY_ID)

STATIC_ENV = {"AWS_ACCESS_KEY_ID": STATIC_KEY_ID, "AWS_SECRET_ACCESS_KEY": STATIC_SECRET}
TEMP_ENV = {
    "AWS_ACCESS_KEY_ID": TEMP_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": TEMP_SECRET,
    "AWS_SESSION_TOKEN": SESSION_TOKEN,
}
ROLE_ARN = "arn:aws:iam::123456789012:role/credpick-test-role"


def assert_no_secret(*texts: object) -> None:
    """No marker secret, token or unmasked key id in any of ``texts``."""
    for text in texts:
        rendered = (
            text
            if isinstance(text, str)
            else json.dumps(text)
            if isinstance(text, dict | list)
            else repr(text)
        )
        for marker in MARKERS:
            assert marker not in rendered, f"{marker!r} leaked into {rendered[:200]!r}"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
