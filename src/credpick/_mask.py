"""Mask access key ids; secrets are never shown at all."""

from __future__ import annotations


def mask_key_id(key_id: str | None) -> str | None:
    """Show the first and last four characters: ``AKIA...WXYZ``.

    Short or odd values are masked whole, so a secret pasted into the id
    variable by mistake cannot leak through this function.
    """
    if key_id is None:
        return None
    key_id = key_id.strip()
    if len(key_id) < 16 or len(key_id) > 128 or not key_id.isalnum():
        return "****"
    return f"{key_id[:4]}...{key_id[-4:]}"


def is_temporary_key_id(key_id: str) -> bool:
    """``ASIA`` ids come from STS and are temporary; ``AKIA`` ids are long-lived."""
    return key_id.strip().upper().startswith("ASIA")
