"""The fault-injection matrix: every network source, every fault that applies to it.

Each case puts the process in an emulated runtime, adds a stray long-lived key
to the environment, puts a :class:`FaultyEndpoint` in front of the source's
endpoint (for web identity, in front of STS), injects one fault, and checks the
expected outcome: the credentials keep working, or a bounded wait ends in a
``SourceFailed`` that names the source and the cause. In every case the stray
key is never used and never logged as used.

docs/reliability.md carries the table of cases; ``python -m
tests.reliability.test_faults`` prints it, and a test checks that the page
matches.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import botocore.endpoint
import pytest
import time_machine

import credpick
from credpick import SourceKind, Timeouts
from credpick.testing._fakes import FakeCredentials
from credpick.testing._faults import (
    HTML_PAGE,
    Fault,
    FaultyEndpoint,
    sts_credentials,
    sts_error,
    typed_error,
)
from credpick.testing._server import Hang, Response, json_response, text_response
from credpick.testing._simulation import Simulation
from credpick.testing._sts_strict import fake_jwt

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
#: Short timeouts (public knobs) so the hang cases end quickly.
TIMEOUTS = Timeouts(imds_connect=0.25, imds_read=0.5, http=0.5)
#: Seconds. A hang guard, not a benchmark. It must tell our timeouts from botocore's
#: defaults on any machine: one try on botocore's defaults waits 60 s (the bug held
#: session() for about five minutes), while STS and SSO here make 5 tries of 0.5 s,
#: 2.5 s idle and over 5.5 s on a busy 2-core machine. Half of one default try leaves
#: that room and still fails every case that falls back to botocore's timeouts.
HANG_GUARD = botocore.endpoint.DEFAULT_TIMEOUT / 2
IMDS_CREDS = "/latest/meta-data/iam/security-credentials/credpick-test-role"

WORKS = "works"
REFRESHES = "refreshes"
FAILS = "fails"
BOUNDED = "bounded"
RECOVERS = "recovers"
_OUTCOME_TEXT = {
    WORKS: "works",
    REFRESHES: "keeps working: refreshed",
    FAILS: "SourceFailed",
    BOUNDED: "bounded wait, then SourceFailed",
    RECOVERS: "SourceFailed; the next call works",
}

SOURCES = (
    "ec2-instance-profile",
    "ecs",
    "eks-pod-identity",
    "container",
    "web-identity",
    "github-oidc",
    "sso",
)
_FAMILY = {
    "ec2-instance-profile": "imds",
    "ecs": "container",
    "eks-pod-identity": "container",
    "container": "container",
    "web-identity": "sts",
    "github-oidc": "github",
    "sso": "sso",
}
_ENDPOINT_NAME = {
    "imds": "metadata credentials request",
    "container": "container endpoint",
    "sts": "STS",
    "github": "GitHub token endpoint",
    "sso": "SSO portal",
}


@attrs.frozen
class Case:
    source: str
    fault: str
    outcome: str
    cause: str  # what the SourceFailed says (or what keeps working), as text to find
    xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.source}/{self.fault}"

    def row(self) -> str:
        outcome = _OUTCOME_TEXT[self.outcome]
        if self.outcome in (FAILS, BOUNDED, RECOVERS):
            outcome += f": “{self.cause}”"
        elif self.cause:
            outcome += f" ({self.cause})"
        if self.xfail:
            outcome = f"**not yet**: {self.xfail}"
        return f"| {self.source} | {self.fault} | {outcome} |"


# -- the replies each family's endpoint gives for each HTTP-level fault ---------

_MALFORMED = {
    "imds": Response(200, b'{"Code": "Success", "AccessKeyId": "ASIA', "text/plain"),
    "container": Response(200, b'{"AccessKeyId": "ASIA', "application/json"),
    "sts": Response(
        200,
        b"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
        b"<Credentials><AccessKeyId>ASIA",
        "text/xml",
    ),
    "github": Response(200, b'{"count": 1, "value": "eyJ', "application/json"),
    "sso": Response(200, b'{"roleCredentials": {"accessKeyId": "ASIA', "application/json"),
}


def _reply(family: str, fault: str) -> Response:
    if fault == "malformed body":
        return _MALFORMED[family]
    if fault == "wrong content type (an HTML page)":
        return HTML_PAGE
    status = {"HTTP 4xx": 403, "HTTP 5xx": 500}.get(fault, 429)
    if family == "sts":
        code = {403: "AccessDenied", 500: "InternalFailure", 429: "Throttling"}[status]
        return sts_error(code, 400 if status == 429 else status)
    if family == "sso":
        kind = {403: "ForbiddenException", 500: "InternalServerException"}
        return typed_error(status, kind.get(status, "TooManyRequestsException"))
    if family == "imds":
        return text_response(status, "injected fault")
    return json_response(status, {"Code": "InjectedFault", "Message": "injected fault"})


# -- the matrix ------------------------------------------------------------------

NETWORK_FAULTS = (
    "connection refused",
    "packet drop",
    "read hang",
    "HTTP 4xx",
    "HTTP 5xx",
    "malformed body",
    "wrong content type (an HTML page)",
    "throttled",
    "throttled once",
)
_NETWORK_EXPECT: dict[str, dict[str, tuple[str, str]]] = {
    "imds": {
        "connection refused": (FAILS, "the credentials request failed: connection refused"),
        "packet drop": (BOUNDED, "the credentials request timed out: no connection within"),
        "read hang": (BOUNDED, "the credentials request timed out"),
        "HTTP 4xx": (FAILS, "the credentials request answered HTTP 403"),
        "HTTP 5xx": (FAILS, "the credentials request answered HTTP 500"),
        "malformed body": (FAILS, "credentials that are not valid JSON"),
        "wrong content type (an HTML page)": (FAILS, "credentials that are not valid JSON"),
        "throttled": (FAILS, "the credentials request answered HTTP 429"),
        "throttled once": (WORKS, "credpick's retry"),
    },
    "container": {
        "connection refused": (FAILS, "the credential endpoint gave no usable credentials"),
        "packet drop": (BOUNDED, "the credential endpoint gave no usable credentials"),
        "read hang": (BOUNDED, "the credential endpoint gave no usable credentials"),
        "HTTP 4xx": (FAILS, "the credential endpoint answered HTTP 403"),
        "HTTP 5xx": (FAILS, "the credential endpoint answered HTTP 500"),
        "malformed body": (FAILS, "the credential endpoint gave no usable credentials"),
        "wrong content type (an HTML page)": (
            FAILS,
            "the credential endpoint gave no usable credentials",
        ),
        "throttled": (FAILS, "the credential endpoint answered HTTP 429"),
        "throttled once": (WORKS, "botocore's retry"),
    },
    "sts": {
        "connection refused": (FAILS, "the credential endpoint is unreachable"),
        "packet drop": (BOUNDED, "botocore failed: ConnectTimeoutError"),
        "read hang": (BOUNDED, "botocore failed: ReadTimeoutError"),
        "HTTP 4xx": (FAILS, "rejected with AccessDenied"),
        "HTTP 5xx": (FAILS, "rejected with InternalFailure"),
        "malformed body": (FAILS, "reply is missing fields or cannot be parsed"),
        "wrong content type (an HTML page)": (FAILS, "reply is missing fields or cannot be parsed"),
        "throttled": (FAILS, "rejected with Throttling"),
        "throttled once": (WORKS, "botocore's retry"),
    },
    "github": {
        "connection refused": (FAILS, "the token endpoint is unreachable (connection refused)"),
        "packet drop": (BOUNDED, "the token endpoint is unreachable (connect timed out)"),
        "read hang": (
            BOUNDED,
            "the token endpoint is unreachable (no whole reply before the deadline)",
        ),
        "HTTP 4xx": (FAILS, "the token endpoint answered HTTP 403"),
        "HTTP 5xx": (FAILS, "the token endpoint answered HTTP 500"),
        "malformed body": (FAILS, "reply has no JSON field 'value'"),
        "wrong content type (an HTML page)": (FAILS, "reply has no JSON field 'value'"),
        "throttled": (FAILS, "the token endpoint answered HTTP 429"),
        "throttled once": (WORKS, "credpick's retry"),
    },
    "sso": {
        "connection refused": (FAILS, "the credential endpoint is unreachable"),
        "packet drop": (BOUNDED, "botocore failed: ConnectTimeoutError"),
        "read hang": (BOUNDED, "botocore failed: ReadTimeoutError"),
        "HTTP 4xx": (FAILS, "rejected with ForbiddenException"),
        "HTTP 5xx": (FAILS, "rejected with InternalServerException"),
        "malformed body": (FAILS, "reply is missing fields or cannot be parsed"),
        "wrong content type (an HTML page)": (FAILS, "reply is missing fields or cannot be parsed"),
        "throttled": (FAILS, "rejected with TooManyRequestsException"),
        "throttled once": (WORKS, "botocore's retry"),
    },
}
_LIFETIME_EXPECT: dict[str, dict[str, tuple[str, str]]] = {
    "imds": {
        "expired credentials": (WORKS, "botocore's static stability stretches them"),
    },
    "container": {"expired credentials": (FAILS, "served credentials that had already expired")},
    "sts": {"expired credentials": (FAILS, "served credentials that had already expired")},
    "github": {"expired credentials": (FAILS, "served credentials that had already expired")},
    "sso": {"expired credentials": (FAILS, "served credentials that had already expired")},
}


def _cases() -> list[Case]:
    cases: list[Case] = []
    for source in SOURCES:
        family = _FAMILY[source]
        for fault in NETWORK_FAULTS:
            outcome, cause = _NETWORK_EXPECT[family][fault]
            cases.append(Case(source, fault, outcome, cause))
        outcome, cause = _LIFETIME_EXPECT[family]["expired credentials"]
        cases.append(Case(source, "expired credentials", outcome, cause))
        cases.append(Case(source, "credentials expiring during use", REFRESHES, "new set"))
        cases.append(
            Case(source, "endpoint fails during use (advisory window)", WORKS, "current set kept")
        )
        if family == "github":  # credpick's own token loader raises SourceFailed
            cases.append(
                Case(
                    source,
                    "endpoint fails during use (mandatory window)",
                    FAILS,
                    "the token endpoint answered HTTP 500",
                )
            )
        else:
            cases.append(
                Case(
                    source,
                    "endpoint fails during use (mandatory window)",
                    FAILS,
                    "",
                )
            )
    for source, var in (
        ("eks-pod-identity", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
        ("web-identity", "AWS_WEB_IDENTITY_TOKEN_FILE"),
    ):
        cases += [
            Case(source, "token file missing", FAILS, f"{var} points at"),
            Case(source, "token file empty", FAILS, "which is empty"),
            Case(source, "token file unreadable", FAILS, "which cannot be read"),
            Case(source, "token file rotated", REFRESHES, "the new token is sent"),
            Case(source, "token file deleted during use", FAILS, "token file cannot be read"),
        ]
    for source in ("web-identity", "github-oidc"):
        for code in ("InvalidIdentityToken", "ExpiredTokenException"):
            cases.append(Case(source, f"STS {code}", FAILS, f"rejected with {code}"))
    cases += [
        Case("sso", "SSO token cache missing", FAILS, "the user has not logged in"),
        Case(
            "sso",
            "SSO token expired",
            FAILS,
            "the cached SSO token and its client registration have expired",
        ),
        Case("ec2-instance-profile", "token request hangs (hop limit 1)", BOUNDED, "hop-limit"),
        Case("ec2-instance-profile", "HTTP 5xx once, at the probe", WORKS, "credpick's retry"),
    ]
    return cases


CASES = _cases()


def render_table() -> str:
    """The table docs/reliability.md carries, generated from CASES."""
    lines = [
        f"<!-- fault-matrix: {len(CASES)} cases; generated by "
        "`python -m tests.reliability.test_faults` -->",
        "",
        "| source | fault | expected outcome |",
        "|---|---|---|",
        *(c.row() for c in CASES),
        "",
        "<!-- /fault-matrix -->",
    ]
    return "\n".join(lines)


# -- the rig: a runtime, a stray key, and a faulty endpoint in front -------------


@attrs.define
class Rig:
    source: str
    family: str
    handle: Any
    stray: str
    endpoint: FaultyEndpoint
    sts: FaultyEndpoint | None

    @property
    def emulator(self) -> Any:
        return self.handle.emulator

    @property
    def path(self) -> str | None:
        """The path faults apply to (IMDS: only the credentials, not the probe)."""
        return IMDS_CREDS if self.family == "imds" else None

    def token_file(self) -> Path:
        for var in ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"):
            if var in self.handle.env:
                return Path(self.handle.env[var])
        raise AssertionError(f"{self.source} has no token file")

    def sso_cache(self) -> Path:
        found = list((Path(os.environ["HOME"]) / ".aws" / "sso" / "cache").glob("*.json"))
        assert len(found) == 1
        return found[0]


@contextlib.contextmanager
def rig_for(source: str, sim: Simulation, mp: pytest.MonkeyPatch) -> Iterator[Rig]:
    handle = sim.use(source)
    stray = sim.use("static").env["AWS_ACCESS_KEY_ID"]
    family = _FAMILY[source]
    with contextlib.ExitStack() as stack:
        sts = None
        if handle.sts is not None:
            sts = stack.enter_context(FaultyEndpoint(handle.sts.url))
            mp.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        if family == "sts":
            assert sts is not None
            endpoint = sts
        else:
            endpoint = stack.enter_context(FaultyEndpoint(handle.emulator))
            if family == "imds":
                mp.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url + "/")
            elif family == "container":
                mp.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url + handle.emulator.path)
            elif family == "github":
                mp.setenv(
                    "ACTIONS_ID_TOKEN_REQUEST_URL", endpoint.url + "/_apis/token?api-version=2.0"
                )
            else:
                mp.setenv("AWS_ENDPOINT_URL_SSO", endpoint.url)
        yield Rig(source, family, handle, stray, endpoint, sts)


def _lifetime(rig: Rig) -> dt.timedelta:
    """How long the source's credentials last (moto's STS: one hour)."""
    if rig.family in ("sts", "github"):
        return dt.timedelta(hours=1)
    expiration: dt.datetime = rig.emulator.credentials.expiration
    return expiration - dt.datetime.now(dt.timezone.utc)


def _rotate(rig: Rig) -> str | None:
    """New credentials upstream (emulators); their key id, when known."""
    if rig.family in ("sts", "github"):
        return None  # moto issues a new set on every call
    fresh: FakeCredentials = rig.emulator.rotate(expires_in=dt.timedelta(hours=12))
    return fresh.access_key_id


def _assert_from_source(rig: Rig, session: Any) -> tuple[str, Any]:
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key != rig.stray and credentials.method != "env"
    if rig.family in ("sts", "github"):
        assert credentials.method == "assume-role-with-web-identity"
        assert frozen.access_key.startswith("ASIA")
    else:
        assert frozen.access_key == rig.emulator.credentials.access_key_id
    detection = credpick.detect(timeouts=TIMEOUTS)
    assert detection.chosen is not None and detection.chosen.kind is SourceKind(rig.source)
    return frozen.access_key, credentials


def _expect_failure(
    rig: Rig, case: Case, call: Callable[[], Any] | None = None
) -> credpick.SourceFailed:
    """The SourceFailed the case ends in (test_fixes.py reads it), checked."""
    start = time.perf_counter()
    with pytest.raises(credpick.SourceFailed) as info:
        (call or (lambda: credpick.session(timeouts=TIMEOUTS)))()
    elapsed = time.perf_counter() - start
    assert elapsed < HANG_GUARD, f"took {elapsed:.1f} s"
    assert info.value.kind == rig.source
    assert case.cause in str(info.value), str(info.value)
    text = str(info.value) + repr(info.value) + " ".join(info.value.attempts)
    assert rig.stray not in text
    return info.value


# -- applying each fault ---------------------------------------------------------


def _inject_network(rig: Rig, fault: str) -> None:
    if fault in ("connection refused", "packet drop"):
        credpick.detect(timeouts=TIMEOUTS)  # the metadata probe happens before the fault
        rig.endpoint.cut("refuse" if fault == "connection refused" else "drop")
    elif fault == "read hang":
        rig.endpoint.inject(Fault(Hang.HANG, path=rig.path))
    else:
        once = 1 if fault == "throttled once" else None
        rig.endpoint.inject(Fault(_reply(rig.family, fault), path=rig.path, times=once))


def _expired(rig: Rig) -> None:
    stale = dt.timedelta(hours=-1)
    if rig.family in ("sts", "github"):
        assert rig.sts is not None
        rig.sts.inject(Fault(sts_credentials(FakeCredentials.issue(expires_in=stale))))
    else:
        rig.emulator.rotate(expires_in=stale)


def _during_use(rig: Rig, case: Case) -> None:
    session = credpick.session(timeouts=TIMEOUTS)
    first, credentials = _assert_from_source(rig, session)
    lifetime = _lifetime(rig)
    tokens_before = rig.emulator.tokens_issued if rig.family == "github" else 0
    old_token = new_token = ""
    if case.fault == "token file rotated":
        token_file = rig.token_file()
        old_token = token_file.read_text(encoding="utf-8")
        # A JWT with the claims the strict STS requires.
        new_token = fake_jwt(
            sub="rotated",
            aud="sts.amazonaws.com",
            iss="https://oidc.example",
            lifetime=dt.timedelta(hours=1),
        )
        assert old_token not in new_token
        token_file.write_text(new_token, encoding="utf-8")
        if rig.family == "container":
            rig.emulator.authorization = new_token  # the old token is refused from now on
        else:
            assert rig.sts is not None  # STS refuses the old token from now on
            stale = quote(old_token, safe="").encode()
            rig.sts.inject(Fault(sts_error("ExpiredTokenException"), body_contains=stale))
    elif case.fault == "token file deleted during use":
        rig.token_file().unlink()
    elif case.fault.startswith("endpoint fails during use"):
        rig.endpoint.inject(Fault(_reply(rig.family, "HTTP 5xx"), path=rig.path))
        if rig.family == "github":
            assert rig.sts is not None
            rig.sts.inject(Fault(_reply("sts", "HTTP 5xx")))
    expected = _rotate(rig)
    before = dt.timedelta(minutes=12 if "advisory" in case.fault else 5)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + lifetime - before, tick=False):
        if case.outcome == FAILS:
            _expect_failure(rig, case, credentials.get_frozen_credentials)
            return
        frozen = credentials.get_frozen_credentials()
    assert frozen.access_key != rig.stray
    if case.outcome == WORKS:  # the advisory window: the failing refresh is shrugged off
        assert frozen.access_key == first
        return
    assert frozen.access_key != first
    if expected is not None:
        assert frozen.access_key == expected
    if rig.family == "github":
        assert rig.emulator.tokens_issued == tokens_before + 1  # a fresh ID token per refresh
    if new_token and rig.sts is not None:
        assert rig.sts.faults_served == 0  # the stale token never reached STS


def _token_file(rig: Rig, fault: str) -> None:
    path = rig.token_file()
    if fault == "token file missing":
        path.unlink()
    elif fault == "token file empty":
        path.write_text("", encoding="utf-8")
    elif os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads any file: make it unreadable as text instead
        path.write_bytes(b"\xff\xfe\x00not utf-8")


# -- the tests ----------------------------------------------------------------


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail)] if c.xfail else [])
        for c in CASES
    ],
)
def test_fault(
    case: Case, sim: Simulation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="credpick")
    with rig_for(case.source, sim, monkeypatch) as rig:
        fault = case.fault
        if fault in NETWORK_FAULTS:
            _inject_network(rig, fault)
        elif fault == "expired credentials":
            _expired(rig)
        elif fault.startswith("token file") and fault not in (
            "token file rotated",
            "token file deleted during use",
        ):
            _token_file(rig, fault)
        elif fault.startswith("STS "):
            assert rig.sts is not None
            rig.sts.inject(Fault(sts_error(fault.removeprefix("STS "))))
        elif fault == "SSO token cache missing":
            rig.sso_cache().unlink()
        elif fault == "SSO token expired":
            cache = rig.sso_cache()
            token = json.loads(cache.read_text(encoding="utf-8"))
            token["expiresAt"] = "2020-01-01T00:00:00Z"
            # With a live registration botocore refreshes it through SSO-OIDC.
            token["registrationExpiresAt"] = "2020-01-01T00:00:00Z"
            cache.write_text(json.dumps(token), encoding="utf-8")
        elif fault == "token request hangs (hop limit 1)":
            rig.emulator.set_mode("token-hangs")
        elif fault == "HTTP 5xx once, at the probe":
            rig.endpoint.inject(Fault(text_response(500, "injected"), times=1))

        if (
            fault in ("credentials expiring during use", "token file rotated")
            or "during use" in fault
        ):
            _during_use(rig, case)
        elif case.outcome in (FAILS, BOUNDED):
            _expect_failure(rig, case)
        elif case.outcome == RECOVERS:
            _expect_failure(rig, case)
            _assert_from_source(rig, credpick.session(timeouts=TIMEOUTS))
        else:
            _assert_from_source(rig, credpick.session(timeouts=TIMEOUTS))
    used = [r.getMessage() for r in caplog.records if "using long-lived key" in r.getMessage()]
    assert used == [], "a stray long-lived key was used"


def test_the_matrix_covers_every_network_source_and_fault() -> None:
    assert {c.source for c in CASES} == set(SOURCES)
    for source in SOURCES:
        faults = {c.fault for c in CASES if c.source == source}
        assert set(NETWORK_FAULTS) <= faults
        assert {"expired credentials", "credentials expiring during use"} <= faults
    assert len({c.id for c in CASES}) == len(CASES)


def test_reliability_doc_carries_the_generated_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert render_table() in text, (
        "docs/reliability.md is out of date: paste the output of "
        "`python -m tests.reliability.test_faults` over its fault-matrix section"
    )
    assert f"**{len(CASES)} cases**" in text


if __name__ == "__main__":
    print(render_table())
