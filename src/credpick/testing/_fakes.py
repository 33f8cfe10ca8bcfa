"""Fake credential material and the request log entries the emulators keep."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

import attrs

from credpick.exceptions import ConfigurationError

__all__ = [
    "REDACTED",
    "SECRET_PREFIX",
    "TOKEN_PREFIX",
    "FakeCredentials",
    "RecordedRequest",
    "iso8601",
    "redact_headers",
]

SECRET_PREFIX = "FAKE-SECRET-credpick-"
TOKEN_PREFIX = "FAKE-TOKEN-credpick-"
REDACTED = "<redacted>"

# Header values that carry a token; compared lower-cased. The STS session
# token header is not in the brief but carries FakeCredentials.token verbatim.
_SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "x-aws-ec2-metadata-token",
        "x-amz-sso_bearer_token",
        "x-amz-security-token",
    }
)
_KEY_ALPHABET = string.ascii_uppercase + string.digits


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso8601(moment: datetime) -> str:
    """Format a datetime the way IMDS and the container endpoint do.

    Args:
        moment: An aware datetime; it is converted to UTC.

    Returns:
        A string such as ``2024-01-02T03:04:05Z``.
    """
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _require_utc(_: object, __: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ConfigurationError("expiration must be a timezone-aware UTC datetime")


@attrs.frozen
class FakeCredentials:
    """Temporary AWS credentials that are obviously fake.

    The secret parts are left out of ``repr`` so a failing assertion or a log
    line never prints them.
    """

    access_key_id: str
    secret_access_key: str = attrs.field(repr=False)
    token: str = attrs.field(repr=False)
    expiration: datetime = attrs.field(validator=_require_utc)

    @classmethod
    def issue(
        cls,
        *,
        expires_in: timedelta = timedelta(hours=1),
        now: datetime | None = None,
        account_id: str = "123456789012",
    ) -> FakeCredentials:
        """Mint a fresh, random set of fake temporary credentials.

        Args:
            expires_in: Lifetime from ``now``; may be negative to get
                credentials that are already expired.
            now: The issue time (aware); defaults to the current UTC time.
            account_id: Account the credentials pretend to belong to; it is
                embedded in the session token so tests can tell sets apart.

        Returns:
            New credentials; the expiration is truncated to whole seconds
            because every wire format carries second precision.
        """
        issued = (now or _utcnow()).astimezone(timezone.utc)
        expiration = (issued + expires_in).replace(microsecond=0)
        return cls(
            access_key_id="ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16)),
            secret_access_key=SECRET_PREFIX + secrets.token_urlsafe(24),
            token=f"{TOKEN_PREFIX}{account_id}-{secrets.token_urlsafe(48)}",
            expiration=expiration,
        )

    @property
    def expiration_iso(self) -> str:
        """The expiration as ``%Y-%m-%dT%H:%M:%SZ``."""
        return iso8601(self.expiration)

    @property
    def expiration_epoch_ms(self) -> int:
        """The expiration in milliseconds since the epoch (SSO wire format)."""
        return int(self.expiration.timestamp()) * 1000


def redact_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """Copy headers, replacing the values of token-bearing ones.

    Args:
        headers: Header names (any case) to values.

    Returns:
        A read-only mapping with sensitive values replaced by ``<redacted>``.
    """
    return MappingProxyType(
        {
            name: (REDACTED if name.lower() in _SENSITIVE_HEADERS else value)
            for name, value in headers.items()
        }
    )


@attrs.frozen
class RecordedRequest:
    """One request an emulator received, safe to print.

    Token-bearing header values are redacted on construction, whoever builds
    the record. The body is never kept because it may hold a web identity
    token.
    """

    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(converter=redact_headers, hash=False)
    client_address: str

    def header(self, name: str) -> str | None:
        """Look a header up case-insensitively.

        Args:
            name: Header name in any case.

        Returns:
            The (possibly redacted) value, or None when absent.
        """
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)
