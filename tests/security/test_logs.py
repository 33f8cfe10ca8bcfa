"""No secret in any log record while credpick loads or refreshes credentials.

Every logger at DEBUG (``debug_records``, as ``logging.basicConfig(level=DEBUG)``
would): botocore logs whole requests and replies, canonical requests and
signatures there. Every source, with marker secrets on the wire, on its happy
path and its failure paths; no marker may reach any record.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import threading
from typing import Any

import pytest
import time_machine

import credpick
from credpick import _redact
from credpick.testing import Simulation
from credpick.testing._faults import Fault, sts_error
from tests.helpers import SESSION_TOKEN, TEMP_ENV, TEMP_SECRET
from tests.security._leaks import WEB_IDENTITY_TOKEN, Records, leaks
from tests.security._marked import (
    _ECHO,
    MARKERS,
    SUCCEEDS,
    action,
    rig_for,
    scenarios,
)


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize(
    ("source", "case"), [pytest.param(*s, id="/".join(s)) for s in scenarios()]
)
def test_no_secret_in_any_record(
    source: str,
    case: str,
    sim: Simulation,
    monkeypatch: pytest.MonkeyPatch,
    debug_records: Records,
) -> None:
    with rig_for(source, sim, monkeypatch) as rig:
        run = action(rig, case)
        if case == "happy" or (source, case) in SUCCEEDS:
            frozen = run()
            assert frozen.secret_key == TEMP_SECRET or source == "static"
        else:
            with pytest.raises(credpick.CredpickError):
                run()
        markers = rig.markers()
    # botocore's records are kept (redacted, not dropped), and hold no marker.
    if case == "happy" and rig.family not in ("local", "process"):
        assert any(t.startswith("botocore") for t in debug_records.texts)
    assert leaks(debug_records.texts, markers) == []


# -- the redaction itself, on the real wire formats -----------------------------

_WIRE = {
    "sts xml": f"<SecretAccessKey>{TEMP_SECRET}</SecretAccessKey>"
    f"<SessionToken>{SESSION_TOKEN}</SessionToken>",
    "sso json": f'b\'{{"roleCredentials":{{"secretAccessKey":"{TEMP_SECRET}",'
    f'"sessionToken":"{SESSION_TOKEN}"}}}}\'',
    "form body": f"Action=AssumeRoleWithWebIdentity&WebIdentityToken={WEB_IDENTITY_TOKEN}&V=1",
    "header dict": f"{{'x-amz-sso_bearer_token': '{SESSION_TOKEN}', "
    f"'Authorization': b'Bearer {TEMP_SECRET}'}}",
    "canonical request": f"host:sts\nx-amz-security-token:{SESSION_TOKEN}\n\nhost;x-amz",
    "presigned query": f"?X-Amz-Security-Token={SESSION_TOKEN}&X-Amz-Signature={TEMP_SECRET}",
    "signature line": f"Signature:\n{TEMP_SECRET}",
    "escaped json in a string": f'"{{\\"Token\\": \\"{SESSION_TOKEN}\\"}}"',
    "truncated json": f'{{"SecretAccessKey": "{TEMP_SECRET}',
    "metadata token header": f"x-aws-ec2-metadata-token: {SESSION_TOKEN}",
    "url user info": f'Could not connect to the endpoint URL: "http://u:{TEMP_SECRET}@127.0.0.1/"',
}


@pytest.mark.parametrize("text", _WIRE.values(), ids=_WIRE.keys())
def test_each_wire_format_is_redacted(text: str) -> None:
    redacted = _redact.redact_text(text)
    assert leaks([redacted], MARKERS) == []
    assert _redact.REDACTED in redacted


def test_known_values_are_redacted_in_any_encoding() -> None:
    secret = "a/b+c=d-MARKER value"
    text = f"raw {secret} url a%2Fb%2Bc%3Dd-MARKER%20value plus a%2Fb%2Bc%3Dd-MARKER+value"
    assert "MARKER" not in _redact.redact_text(text, [secret])


def test_an_unparseable_body_is_withheld_whole_but_the_record_is_kept() -> None:
    body = b"\x00\x01 opaque " + TEMP_SECRET.encode()
    assert (
        _redact.redact_body(body)
        == f"<{len(body)} bytes withheld: not JSON, XML or a form>".encode()
    )
    kept = _redact.redact_body(b'{"Code": "Success", "Token": "x", "Expiration": "2030"}')
    assert b'"Code": "Success"' in kept and b'"Expiration": "2030"' in kept


def test_records_of_every_child_logger_and_handler_are_redacted(debug_records: Records) -> None:
    # A filter on "botocore" would not see "botocore.endpoint": the factory does.
    with _redact.boundary([TEMP_SECRET]):
        logging.getLogger("botocore.endpoint.deep.child").debug("body %r", TEMP_SECRET.encode())
        logging.getLogger("urllib3.connectionpool").debug("%s", f"Token={SESSION_TOKEN}")
        try:
            raise ValueError(TEMP_SECRET)
        except ValueError:
            logging.getLogger("botocore.credentials").warning("failed", exc_info=True)
    assert leaks(debug_records.texts, MARKERS) == []
    assert sum("botocore.endpoint.deep.child" in t for t in debug_records.texts) >= 1


def test_outside_the_boundary_records_are_untouched(debug_records: Records) -> None:
    logging.getLogger("botocore.test").debug("plain %s", "value=kept-as-is-123")
    assert any("value=kept-as-is-123" in t for t in debug_records.texts)
    assert logging.getLogRecordFactory() is not _redact._factory  # removed when unused


def test_other_threads_are_not_redacted_while_one_is_inside(debug_records: Records) -> None:
    inside, done = threading.Event(), threading.Event()

    def in_boundary() -> None:
        with _redact.boundary():
            inside.set()
            done.wait(10)
            logging.getLogger("botocore.a").debug("token: hidden-in-thread")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(in_boundary)
        assert inside.wait(10)
        logging.getLogger("botocore.b").debug("token: shown-in-main")
        done.set()
        future.result(10)
    texts = " ".join(debug_records.texts)
    assert "shown-in-main" in texts and "hidden-in-thread" not in texts
    assert logging.getLogRecordFactory() is not _redact._factory


def test_a_factory_installed_by_someone_else_keeps_working(debug_records: Records) -> None:
    seen: list[str] = []
    before = logging.getLogRecordFactory()

    def theirs(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = before(*args, **kwargs)
        seen.append(record.name)
        return record

    logging.setLogRecordFactory(theirs)
    try:
        with _redact.boundary():
            logging.getLogger("botocore.x").debug("Token=%s", SESSION_TOKEN)
        logging.getLogger("botocore.y").debug("after")
    finally:
        logging.setLogRecordFactory(before)
    assert seen == ["botocore.x", "botocore.y"]
    assert leaks(debug_records.texts, MARKERS) == []


# -- a role chain (assume_role=): each link and its refresh --------------------


@pytest.mark.usefixtures("no_retry_sleep")
def test_a_role_chain_and_its_refresh_log_no_secret(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, debug_records: Records
) -> None:
    with rig_for("assume-role", sim, monkeypatch) as rig:
        assert rig.front is not None
        for name, value in TEMP_ENV.items():  # the base: marker session credentials
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AWS_PROFILE")
        link = credpick.AssumeRole("arn:aws:iam::123456789012:role/credpick-ops")
        credentials = credpick.session(assume_role=link).get_credentials()
        assert credentials.get_frozen_credentials().token == SESSION_TOKEN
        rig.front.heal()
        rig.front.inject(Fault(sts_error("InternalFailure", 500, message=_ECHO)))
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=55)
        with time_machine.travel(later, tick=False), pytest.raises(credpick.SourceFailed) as info:
            credentials.get_frozen_credentials()
    assert info.value.kind == "assume-role"
    # The signed request, with its X-Amz-Security-Token header, is logged (redacted).
    assert any("X-Amz-Security-Token" in t for t in debug_records.texts)
    assert leaks(debug_records.texts, MARKERS) == []
