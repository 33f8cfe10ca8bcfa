"""Classify credentials botocore already resolved: long-lived or temporary,
and where they came from. Shared by everything that checks a live session."""

from __future__ import annotations

from typing import Any

import attrs

from ._mask import is_temporary_key_id, mask_key_id

# botocore's Credentials.method values, in words a person recognises.
METHOD_ORIGINS = {
    "env": "environment variables (AWS_ACCESS_KEY_ID)",
    "explicit": "keys passed in code",
    "shared-credentials-file": "the shared credentials file",
    "config-file": "the config file",
    "boto-config": "a boto config file",
    "ec2-credentials-file": "an EC2 credentials file",
    "custom-process": "a credential_process",
    "iam-role": "the instance profile (instance metadata)",
    "container-role": "the container credential endpoint",
    "assume-role": "an assumed role",
    "assume-role-with-web-identity": "a web identity token",
    "sso": "IAM Identity Center",
    "login": "aws login",
}


@attrs.frozen
class KeyClass:
    """What a set of resolved credentials is.

    Attributes:
        long_lived: An IAM user's key: an ``AKIA`` id, or any key without a token.
        key_id: The masked access key id.
        method: botocore's ``Credentials.method``, if known.
        origin: Where they came from, in words.
    """

    long_lived: bool
    key_id: str | None
    method: str | None
    origin: str


def classify(credentials: Any) -> KeyClass:
    """Classify botocore ``Credentials`` (or anything with the same fields).

    Reads through ``get_frozen_credentials()`` when available, so refreshable
    credentials are seen as they are now, all three values consistent.
    """
    frozen = (
        credentials.get_frozen_credentials()
        if hasattr(credentials, "get_frozen_credentials")
        else credentials
    )
    key_id = getattr(frozen, "access_key", None) or ""
    token = getattr(frozen, "token", None)
    method = getattr(credentials, "method", None)
    long_lived = not (token and is_temporary_key_id(key_id))
    origin = METHOD_ORIGINS.get(
        method or "", f"botocore provider {method!r}" if method else "unknown"
    )
    return KeyClass(
        long_lived=long_lived,
        key_id=mask_key_id(key_id) if key_id else None,
        method=method,
        origin=origin,
    )
