"""FakeCredentials and RecordedRequest: fake-looking, and never leaking secrets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credpick import ConfigurationError
from credpick.testing import FakeCredentials, RecordedRequest

_KEY_ID = re.compile(r"^ASIA[A-Z0-9]{16}$")


def test_issued_credentials_look_fake_and_temporary() -> None:
    creds = FakeCredentials.issue()
    assert _KEY_ID.match(creds.access_key_id)
    assert creds.secret_access_key.startswith("FAKE-SECRET-credpick-")
    assert creds.token.startswith("FAKE-TOKEN-credpick-")


def test_each_issue_is_random() -> None:
    first, second = FakeCredentials.issue(), FakeCredentials.issue()
    assert first.access_key_id != second.access_key_id
    assert first.secret_access_key != second.secret_access_key
    assert first.token != second.token


def test_expiration_is_now_plus_lifetime_in_utc_whole_seconds() -> None:
    now = datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=timezone(timedelta(hours=2)))
    creds = FakeCredentials.issue(expires_in=timedelta(minutes=15), now=now)
    assert creds.expiration == datetime(2030, 1, 2, 1, 19, 5, tzinfo=timezone.utc)
    assert creds.expiration.utcoffset() == timedelta(0)
    assert creds.expiration_iso == "2030-01-02T01:19:05Z"
    assert creds.expiration_epoch_ms == int(creds.expiration.timestamp()) * 1000


def test_negative_lifetime_gives_already_expired_credentials() -> None:
    creds = FakeCredentials.issue(expires_in=timedelta(minutes=-1))
    assert creds.expiration < datetime.now(timezone.utc)


def test_account_id_is_visible_in_the_session_token() -> None:
    assert "210987654321" in FakeCredentials.issue(account_id="210987654321").token


def test_repr_hides_secret_and_token() -> None:
    creds = FakeCredentials.issue()
    text = repr(creds) + str(creds)
    assert creds.access_key_id in text
    assert creds.secret_access_key not in text
    assert creds.token not in text
    assert "FAKE-SECRET" not in text
    assert "FAKE-TOKEN" not in text


def test_credentials_are_frozen_and_require_aware_utc() -> None:
    creds = FakeCredentials.issue()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        creds.token = "x"  # type: ignore[misc]
    with pytest.raises(ConfigurationError, match="UTC"):
        FakeCredentials("ASIA", "s", "t", datetime(2030, 1, 1))


@given(
    name=st.sampled_from(
        [
            "Authorization",
            "X-aws-ec2-metadata-token",
            "x-amz-sso_bearer_token",
            "X-Amz-Security-Token",
        ]
    ),
    flip=st.lists(st.booleans(), min_size=40, max_size=40),
    value=st.text(min_size=1),
)
def test_recorded_request_redacts_token_headers_in_any_case(
    name: str, flip: list[bool], value: str
) -> None:
    cased = "".join(c.upper() if up else c.lower() for c, up in zip(name, flip, strict=False))
    secret = "SENSITIVE-" + value
    record = RecordedRequest(
        method="GET", path="/", headers={cased: secret, "Accept": "*/*"}, client_address="127.0.0.1"
    )
    assert record.headers[cased] == "<redacted>"
    assert record.header(name) == "<redacted>"
    assert record.header("accept") == "*/*"
    assert "SENSITIVE-" not in repr(record)


def test_recorded_request_headers_are_read_only() -> None:
    record = RecordedRequest(method="GET", path="/a?b=c", headers={}, client_address="127.0.0.1")
    with pytest.raises(TypeError):
        record.headers["X"] = "y"  # type: ignore[index]
