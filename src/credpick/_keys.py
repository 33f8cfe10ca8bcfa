"""The one long-lived-key rule, and the classification of credentials botocore
already resolved: long-lived or temporary, and where they came from. Shared by
the policy, ``wrap``, ``guard`` and the pytest plugin's watch."""

from __future__ import annotations

from typing import Any

import attrs

from ._mask import is_temporary_key_id, mask_key_id

FORBIDDEN = "the policy forbids long-lived keys"

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


def is_long_lived(key_id: object, token: object) -> bool:
    """The rule: an ``AKIA`` id, or any id with no session token, is long-lived,
    whatever delivered it (a program, a sidecar, a file, the environment).
    No id at all is judged long-lived too: what cannot be told apart fails closed."""
    if not token or not isinstance(key_id, str) or not key_id.strip():
        return True
    return key_id.strip().upper().startswith("AKIA")


def key_words(key_id: str | None) -> str:
    """A key the rule judges long-lived, in words (``key_id`` masked).

    An ``ASIA`` id without a session token is judged long-lived too (the rule
    fails closed), but what the user must hear is that the token is missing.
    """
    shown = key_id or "(unknown)"
    if is_temporary_key_id(shown):
        return f"key {shown} (temporary, but its session token is missing)"
    return f"long-lived key {shown}"


def why_refused(static_keys: str, role: str | None) -> str | None:
    """Why the policy refuses long-lived keys, or ``None`` when it allows them.

    Args:
        static_keys: The policy's ``static_keys``.
        role: The role-based source that is available (``kind (origin)``), if any.
    """
    if static_keys == "forbid":
        return FORBIDDEN
    if static_keys == "refuse-when-role" and role:
        return f"{role} is available"
    return None


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
    return classify_values(
        getattr(frozen, "access_key", None),
        getattr(frozen, "token", None),
        getattr(credentials, "method", None),
    )


def classify_values(key_id: Any, token: Any, method: str | None) -> KeyClass:
    """:func:`classify` of the three values themselves (a refresh's metadata):
    no secret key is needed, and no object to carry them."""
    key_id = key_id or ""
    long_lived = is_long_lived(key_id, token)
    origin = METHOD_ORIGINS.get(
        method or "", f"botocore provider {method!r}" if method else "unknown"
    )
    return KeyClass(
        long_lived=long_lived,
        key_id=mask_key_id(key_id) if key_id else None,
        method=method,
        origin=origin,
    )
