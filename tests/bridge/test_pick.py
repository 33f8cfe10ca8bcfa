"""What the bridge serves for long-lived keys: a GetSessionToken session, never the key."""

from __future__ import annotations

import logging

import pytest

from credpick._bridge._pick import Options, current, pick, temporary
from credpick.exceptions import SourceFailed
from credpick.testing import StsEmulator

from ..helpers import STATIC_ENV, STATIC_KEY_ID, STATIC_SECRET, TEMP_ENV, TEMP_KEY_ID


def setenv(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def test_long_lived_keys_are_served_as_a_session_made_from_them(
    sts: StsEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="botocore")
    caplog.set_level(logging.DEBUG, logger="credpick")
    setenv(monkeypatch, STATIC_ENV)
    served = current(temporary(pick(Options())))
    assert served.token and served.expiry is not None
    assert served.secret_key != STATIC_SECRET
    assert any("GetSessionToken" in r.getMessage() for r in caplog.records)  # botocore's own
    for secret in (STATIC_SECRET, served.secret_key, served.token):
        assert secret not in caplog.text
    assert STATIC_KEY_ID not in caplog.text


def test_temporary_keys_are_served_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    setenv(monkeypatch, TEMP_ENV)
    served = current(temporary(pick(Options())))
    assert served.access_key == TEMP_KEY_ID and served.token == TEMP_ENV["AWS_SESSION_TOKEN"]


def test_a_refused_get_session_token_is_source_failed_without_secrets(
    monkeypatch: pytest.MonkeyPatch, sts: StsEmulator
) -> None:
    setenv(monkeypatch, STATIC_ENV)
    session = pick(Options())
    client = session.client("sts", region_name="us-east-1")
    monkeypatch.setattr(session, "client", lambda *_a, **_k: client)

    def refused(**_: object) -> object:
        import botocore.exceptions

        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": STATIC_SECRET}}, "GetSessionToken"
        )

    monkeypatch.setattr(client, "get_session_token", refused)
    with pytest.raises(SourceFailed) as failed:
        temporary(session)
    assert "GetSessionToken" in str(failed.value) and "AccessDenied" in str(failed.value)
    assert STATIC_SECRET not in str(failed.value)
    assert failed.value.__cause__ is None and failed.value.__context__ is None


def test_get_session_token_has_credpicks_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """An STS that reads the request and never answers is a timeout within the source
    deadlines (5 s a try, two tries). boto3's own client would wait 60 s a read, so
    it would see the endpoint drop the connection at 20 s instead: no timeout."""
    from credpick.testing._hostile import HostileEndpoint

    setenv(monkeypatch, STATIC_ENV)
    with HostileEndpoint("hold", max_seconds=20) as hold:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", hold.url)
        with pytest.raises(SourceFailed) as failed:
            temporary(pick(Options()))
    assert failed.value.reason.endswith("failed (ReadTimeoutError)"), failed.value.reason
