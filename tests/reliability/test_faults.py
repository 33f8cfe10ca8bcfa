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
import threading
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
from credpick.testing._runtimes import fake_static_key
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
OPS_ROLE = "arn:aws:iam::123456789012:role/credpick-ops"

WORKS = "works"
REFRESHES = "refreshes"
FAILS = "fails"
BOUNDED = "bounded"
RECOVERS = "recovers"
REFUSED = "refused"
_OUTCOME_TEXT = {
    WORKS: "works",
    REFRESHES: "keeps working: refreshed",
    FAILS: "SourceFailed",
    BOUNDED: "bounded wait, then SourceFailed",
    RECOVERS: "SourceFailed; the next call works",
    REFUSED: "StaticKeysRefused, nothing fetched",
}

#: Assume-role profiles whose root is a platform (``credential_source``), by label:
#: the runtime their root comes from. Their rows fault the root's endpoint and STS.
ROLE_SOURCES = {
    "assume-role (EcsContainer)": "ecs",
    "assume-role (Ec2InstanceMetadata)": "ec2-instance-profile",
    "assume-role (Environment)": "env-session",
}
SOURCES = (
    "ec2-instance-profile",
    "ecs",
    "eks-pod-identity",
    "container",
    "web-identity",
    "github-oidc",
    "sso",
    "login",
    *ROLE_SOURCES,
)
_FAMILY = {
    "ec2-instance-profile": "imds",
    "ecs": "container",
    "eks-pod-identity": "container",
    "container": "container",
    "web-identity": "sts",
    "github-oidc": "github",
    "sso": "sso",
    "login": "signin",
    "assume-role (EcsContainer)": "container",
    "assume-role (Ec2InstanceMetadata)": "imds",
    "assume-role (Environment)": "assume",  # no root endpoint: the faults hit STS
}
#: What ``credentials.method`` says for sources whose credentials are not the emulator's.
_ASSUME_ROLE_LABEL = "assume-role"


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

    @property
    def kind(self) -> str:
        """The SourceKind the case picks (and its SourceFailed names)."""
        return _ASSUME_ROLE_LABEL if self.source in ROLE_SOURCES else self.source

    def row(self) -> str:
        outcome = _OUTCOME_TEXT[self.outcome]
        if self.outcome in (FAILS, BOUNDED, RECOVERS, REFUSED):
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
    "signin": Response(200, b'{"accessToken": {"accessKeyId": "ASIA', "application/json"),
    "assume": Response(
        200, b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA", "text/xml"
    ),
}
_SIGNIN_ERROR = {403: "AccessDeniedException", 500: "InternalServerException"}


def _reply(family: str, fault: str) -> Response:
    if fault == "malformed body":
        return _MALFORMED[family]
    if fault == "wrong content type (an HTML page)":
        return HTML_PAGE
    status = {"HTTP 4xx": 403, "HTTP 5xx": 500}.get(fault, 429)
    if family in ("sts", "assume"):
        code = {403: "AccessDenied", 500: "InternalFailure", 429: "Throttling"}[status]
        return sts_error(code, 400 if status == 429 else status)
    if family == "sso":
        kind = {403: "ForbiddenException", 500: "InternalServerException"}
        return typed_error(status, kind.get(status, "TooManyRequestsException"))
    if family == "signin":  # botocore reads the code from the header, `error` from the body
        kind = _SIGNIN_ERROR.get(status, "TooManyRequestsError")
        return json_response(
            status,
            {"error": "injected", "message": "injected fault"},
            headers=(("x-amzn-ErrorType", kind),),
        )
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
    "signin": {
        "connection refused": (
            FAILS,
            "(AWS_ENDPOINT_URL_SIGNIN) is unreachable (EndpointConnectionError)",
        ),
        "packet drop": (BOUNDED, "(AWS_ENDPOINT_URL_SIGNIN) is unreachable (ConnectTimeoutError)"),
        "read hang": (BOUNDED, "(AWS_ENDPOINT_URL_SIGNIN) is unreachable (ReadTimeoutError)"),
        "HTTP 4xx": (FAILS, "refreshing the login session failed: LoginError"),
        "HTTP 5xx": (FAILS, "refused the refresh with InternalServerException"),
        "malformed body": (FAILS, "is missing fields or cannot be parsed"),
        "wrong content type (an HTML page)": (FAILS, "is missing fields or cannot be parsed"),
        "throttled": (FAILS, "refused the refresh with TooManyRequestsError"),
        # botocore's standard retry does not know the code TooManyRequestsError
        "throttled once": (RECOVERS, "refused the refresh with TooManyRequestsError"),
    },
    "assume": {
        "connection refused": (
            FAILS,
            "(AWS_ENDPOINT_URL_STS) is unreachable (EndpointConnectionError)",
        ),
        "packet drop": (BOUNDED, "(AWS_ENDPOINT_URL_STS) is unreachable (ConnectTimeoutError)"),
        "read hang": (BOUNDED, "(AWS_ENDPOINT_URL_STS) is unreachable (ReadTimeoutError)"),
        "HTTP 4xx": (FAILS, "rejected with AccessDenied"),
        "HTTP 5xx": (FAILS, "rejected with InternalFailure"),
        "malformed body": (FAILS, "(AWS_ENDPOINT_URL_STS) is missing fields or cannot be parsed"),
        "wrong content type (an HTML page)": (
            FAILS,
            "(AWS_ENDPOINT_URL_STS) is missing fields or cannot be parsed",
        ),
        "throttled": (FAILS, "rejected with Throttling"),
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
    "signin": {"expired credentials": (FAILS, "served credentials that had already expired")},
    "assume": {"expired credentials": (FAILS, "served credentials that had already expired")},
}


def _role_cases(source: str) -> list[Case]:
    """A profile's role over a platform: faults at the root's endpoint, then at STS."""
    cases: list[Case] = []
    family = _FAMILY[source]
    if family != "assume":
        for fault in NETWORK_FAULTS:
            outcome, cause = _NETWORK_EXPECT[family][fault]
            cases.append(Case(source, fault, outcome, cause))
    # Over the environment's keys botocore's own provider assumes the role, and
    # _session.translate words its errors; over a platform, credpick's _chain does.
    sts_expect = _NETWORK_EXPECT["sts" if family == "assume" else "assume"]
    for fault in NETWORK_FAULTS:
        outcome, cause = sts_expect[fault]
        cases.append(Case(source, f"STS: {fault}", outcome, cause))
    outcome, cause = _LIFETIME_EXPECT["assume"]["expired credentials"]
    cases += [
        Case(source, "STS: expired credentials", outcome, cause),
        Case(source, "credentials expiring during use", REFRESHES, "new set"),
        Case(source, "STS fails during use (advisory window)", WORKS, "current set kept"),
        Case(
            source,
            "STS fails during use (mandatory window)",
            FAILS,
            "rejected with InternalFailure",
        ),
    ]
    return cases


def _login_cases() -> list[Case]:
    source = "login"
    return [
        *(Case(source, f, *_NETWORK_EXPECT["signin"][f]) for f in NETWORK_FAULTS),
        Case(source, "expired credentials", *_LIFETIME_EXPECT["signin"]["expired credentials"]),
        Case(source, "credentials expiring during use", REFRESHES, "new set"),
        # botocore's login fetcher asks the service only under 5 minutes left, so the
        # advisory window (15 to 10 minutes) sends nothing: the fault is never reached.
        Case(
            source,
            "endpoint fails during use (advisory window)",
            WORKS,
            "current set kept; nothing is sent above 5 minutes left",
        ),
        Case(
            source,
            "endpoint fails during use (mandatory window)",
            FAILS,
            "refused the refresh with InternalServerException",
        ),
        Case(
            source, "refresh token expired (TOKEN_EXPIRED)", FAILS, "the login session has expired"
        ),
        Case(
            source,
            "refresh denied (INSUFFICIENT_PERMISSIONS)",
            FAILS,
            "may not create login credentials",
        ),
        Case(source, "login cache missing", FAILS, "the user has not run `aws login`"),
    ]


def _cases() -> list[Case]:
    cases: list[Case] = []
    for source in SOURCES:
        if source in ROLE_SOURCES:
            cases += _role_cases(source)
            continue
        if source == "login":
            cases += _login_cases()
            continue
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
        Case(
            "web-identity",
            "AWS_ROLE_ARN without a token file",
            FAILS,
            "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not",
        ),
    ]
    # Long-lived keys passed in code beside a broken role: refused, never a fallback.
    for source, fault in (("ecs", "HTTP 5xx"), ("web-identity", "token file missing")):
        cases.append(
            Case(
                source,
                f"long-lived keys passed in code; {fault}",
                REFUSED,
                f"refused: {source} (environment)",
            )
        )
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
    kind: str = ""

    def __attrs_post_init__(self) -> None:
        self.kind = self.kind or self.source

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

    def login_cache(self) -> Path:
        (found,) = (Path(os.environ["HOME"]) / ".aws" / "login" / "cache").glob("*.json")
        return found

    def cached_login(self) -> dict[str, Any]:
        token: dict[str, Any] = json.loads(self.login_cache().read_text(encoding="utf-8"))
        return token


def _stray_in_legacy_file(sim: Simulation, mp: pytest.MonkeyPatch) -> str:
    """A stray key where the environment's keys are taken: AWS_CREDENTIAL_FILE."""
    key_id, secret = fake_static_key()
    path = sim.workdir / "ec2-credentials.txt"
    path.write_text(f"AWSAccessKeyId={key_id}\nAWSSecretKey={secret}\n", encoding="utf-8")
    mp.setenv("AWS_CREDENTIAL_FILE", str(path))
    return key_id


@contextlib.contextmanager
def _role_rig(case: Case, sim: Simulation, mp: pytest.MonkeyPatch) -> Iterator[Rig]:
    """A profile whose role stands on a platform, with STS and the root behind faults."""
    source = case.source
    root = ROLE_SOURCES[source]
    handle = sim.use(root)
    if root == "env-session":  # the environment's keys are the root: the stray goes elsewhere
        stray = _stray_in_legacy_file(sim, mp)
    else:
        stray = sim.use("static").env["AWS_ACCESS_KEY_ID"]
    credential_source = source.split("(")[1].rstrip(")")
    sim._append(
        sim.config_file,
        f"[profile credpick-ops]\nrole_arn = {OPS_ROLE}\ncredential_source = {credential_source}\n"
        "region = us-east-1\n\n",
    )
    mp.setenv("AWS_PROFILE", "credpick-ops")
    family = _FAMILY[source]
    with contextlib.ExitStack() as stack:
        sts = stack.enter_context(FaultyEndpoint(sim.sts().url))
        mp.setenv("AWS_ENDPOINT_URL_STS", sts.url)
        endpoint = sts
        if family == "imds":
            endpoint = stack.enter_context(FaultyEndpoint(handle.emulator))
            mp.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url + "/")
        elif family == "container":
            endpoint = stack.enter_context(FaultyEndpoint(handle.emulator))
            mp.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url + handle.emulator.path)
        yield Rig(source, family, handle, stray, endpoint, sts, kind=case.kind)


@contextlib.contextmanager
def rig_for(case: Case, sim: Simulation, mp: pytest.MonkeyPatch) -> Iterator[Rig]:
    source = case.source
    if source in ROLE_SOURCES:
        with _role_rig(case, sim, mp) as rig:
            yield rig
        return
    if source == "login":  # a cache near its end, so the first load asks the service
        handle = sim.use(source, expired="during use" not in case.fault)
    else:
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
            elif family == "signin":
                mp.setenv("AWS_ENDPOINT_URL_SIGNIN", endpoint.url)
            else:
                mp.setenv("AWS_ENDPOINT_URL_SSO", endpoint.url)
        yield Rig(source, family, handle, stray, endpoint, sts)


def _moto_sts(rig: Rig) -> bool:
    """Whether the credentials come from moto's STS (a new set on every call)."""
    return rig.family in ("sts", "github") or rig.kind == _ASSUME_ROLE_LABEL


def _lifetime(rig: Rig) -> dt.timedelta:
    """How long the source's credentials last (moto's STS: one hour)."""
    if _moto_sts(rig):
        return dt.timedelta(hours=1)
    if rig.family == "signin":
        expires = dt.datetime.fromisoformat(rig.cached_login()["accessToken"]["expiresAt"])
        return expires - dt.datetime.now(dt.timezone.utc)
    expiration: dt.datetime = rig.emulator.credentials.expiration
    return expiration - dt.datetime.now(dt.timezone.utc)


def _rotate(rig: Rig) -> str | None:
    """New credentials upstream (emulators); their key id, when known."""
    if _moto_sts(rig) or rig.family == "signin":
        return None  # moto and the sign-in emulator issue a new set on every call
    fresh: FakeCredentials = rig.emulator.rotate(expires_in=dt.timedelta(hours=12))
    return fresh.access_key_id


def _root_key(rig: Rig) -> str:
    """The key id the platform under a credential_source profile hands out."""
    if rig.handle.emulator is None:
        return str(rig.handle.env["AWS_ACCESS_KEY_ID"])
    return str(rig.emulator.credentials.access_key_id)


def _assert_from_source(rig: Rig, session: Any) -> tuple[str, Any]:
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key != rig.stray and credentials.method != "env"
    if rig.kind == _ASSUME_ROLE_LABEL:  # the profile's role, not the platform's own
        assert frozen.access_key.startswith("ASIA")
        assert frozen.access_key != _root_key(rig)
    elif rig.family == "signin":
        assert credentials.method == "login"
        # botocore writes a refreshed set back to the cache; the emulator issued it
        assert frozen.access_key == rig.cached_login()["accessToken"]["accessKeyId"]
        if rig.emulator.requests:
            assert frozen.access_key == rig.emulator.credentials.access_key_id
    elif rig.family in ("sts", "github"):
        assert credentials.method == "assume-role-with-web-identity"
        assert frozen.access_key.startswith("ASIA")
    else:
        assert frozen.access_key == rig.emulator.credentials.access_key_id
    detection = credpick.detect(timeouts=TIMEOUTS)
    assert detection.chosen is not None and detection.chosen.kind is SourceKind(rig.kind)
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
    assert info.value.kind == rig.kind
    assert case.cause in str(info.value), str(info.value)
    text = str(info.value) + repr(info.value) + " ".join(info.value.attempts)
    assert rig.stray not in text
    return info.value


def _expect_refusal(rig: Rig, case: Case) -> None:
    """Long-lived keys passed in code beside a broken role: refused, the role not tried."""
    key_id, secret = fake_static_key()
    with pytest.raises(credpick.StaticKeysRefused) as info:
        credpick.session(aws_access_key_id=key_id, aws_secret_access_key=secret, timeouts=TIMEOUTS)
    assert case.cause in str(info.value), str(info.value)
    text = str(info.value) + repr(info.value) + " ".join(info.value.attempts)
    for secret_part in (rig.stray, key_id, secret):
        assert secret_part not in text
    assert rig.endpoint.faults_served == 0  # refused before anything was fetched


# -- applying each fault ---------------------------------------------------------


def _inject_network(rig: Rig, fault: str) -> None:
    endpoint, family, path = rig.endpoint, rig.family, rig.path
    if fault.startswith("STS: "):  # a role profile's STS, behind its root
        assert rig.sts is not None
        endpoint, family, path, fault = rig.sts, "assume", None, fault.removeprefix("STS: ")
    if fault in ("connection refused", "packet drop"):
        credpick.detect(timeouts=TIMEOUTS)  # the metadata probe happens before the fault
        endpoint.cut("refuse" if fault == "connection refused" else "drop")
    elif fault == "read hang":
        endpoint.inject(Fault(Hang.HANG, path=path))
    else:
        once = 1 if fault == "throttled once" else None
        endpoint.inject(Fault(_reply(family, fault), path=path, times=once))


def _signin_credentials(credentials: FakeCredentials, expires_in: int) -> Response:
    """A CreateOAuth2Token reply carrying ``credentials`` for ``expires_in`` seconds."""
    return json_response(
        200,
        {
            "accessToken": {
                "accessKeyId": credentials.access_key_id,
                "secretAccessKey": credentials.secret_access_key,
                "sessionToken": credentials.token,
            },
            "tokenType": "aws_sigv4",
            "expiresIn": expires_in,
            "refreshToken": "refresh-injected",
        },
    )


def _expired(rig: Rig, fault: str) -> None:
    stale = dt.timedelta(hours=-1)
    if fault.startswith("STS: "):
        assert rig.sts is not None
        reply = sts_credentials(FakeCredentials.issue(expires_in=stale), action="AssumeRole")
        rig.sts.inject(Fault(reply))
    elif rig.family == "signin":
        rig.endpoint.inject(Fault(_signin_credentials(FakeCredentials.issue(), -3600)))
    elif rig.family in ("sts", "github"):
        assert rig.sts is not None
        rig.sts.inject(Fault(sts_credentials(FakeCredentials.issue(expires_in=stale))))
    else:
        rig.emulator.rotate(expires_in=stale)


def _window(rig: Rig, fault: str) -> dt.timedelta:
    """How long before expiry to travel to: botocore's advisory or mandatory window."""
    if "advisory" in fault:
        return dt.timedelta(minutes=12)
    # botocore's login fetcher asks the service only under 5 minutes left.
    return dt.timedelta(minutes=4 if rig.family == "signin" else 5)


def _during_use(rig: Rig, case: Case) -> None:
    session = credpick.session(timeouts=TIMEOUTS)
    first, credentials = _assert_from_source(rig, session)
    lifetime = _lifetime(rig)
    tokens_before = rig.emulator.tokens_issued if rig.family == "github" else 0
    failing: FaultyEndpoint | None = None
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
    elif case.fault.startswith("STS fails during use"):
        assert rig.sts is not None
        failing = rig.sts
        rig.sts.inject(Fault(_reply("assume", "HTTP 5xx")))
    elif "fails during use" in case.fault:
        failing = rig.endpoint
        rig.endpoint.inject(Fault(_reply(rig.family, "HTTP 5xx"), path=rig.path))
        if rig.family == "github":
            assert rig.sts is not None
            rig.sts.inject(Fault(_reply("sts", "HTTP 5xx")))
    expected = _rotate(rig)
    before = _window(rig, case.fault)
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + lifetime - before, tick=False):
        if case.outcome == FAILS:
            _expect_failure(rig, case, credentials.get_frozen_credentials)
            return
        frozen = credentials.get_frozen_credentials()
    assert frozen.access_key != rig.stray
    if case.outcome == WORKS:  # the advisory window: the failing refresh is shrugged off
        assert frozen.access_key == first
        if failing is not None and rig.family == "signin":
            assert failing.faults_served == 0  # nothing was sent: see _login_cases
        elif failing is not None and rig.kind == _ASSUME_ROLE_LABEL:
            assert failing.faults_served > 0  # the refresh was tried, and failed
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


def _inject(rig: Rig, fault: str, mp: pytest.MonkeyPatch) -> None:
    """Apply one fault (the during-use ones are applied by :func:`_during_use`)."""
    bare = fault.removeprefix("STS: ")
    if "during use" in fault:
        return  # applied by _during_use, once the session works
    if bare in NETWORK_FAULTS:
        _inject_network(rig, fault)
    elif bare == "expired credentials":
        _expired(rig, fault)
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
    elif fault == "refresh token expired (TOKEN_EXPIRED)":
        rig.emulator.set_mode("expired")
    elif fault == "refresh denied (INSUFFICIENT_PERMISSIONS)":
        rig.emulator.set_mode("insufficient-permissions")
    elif fault == "login cache missing":
        rig.login_cache().unlink()
    elif fault == "AWS_ROLE_ARN without a token file":
        mp.delenv("AWS_WEB_IDENTITY_TOKEN_FILE")
    elif fault.startswith("long-lived keys passed in code; "):
        _inject(rig, fault.removeprefix("long-lived keys passed in code; "), mp)


# -- the tests ----------------------------------------------------------------


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else []
        )
        for c in CASES
    ],
)
def test_fault(
    case: Case, sim: Simulation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="credpick")
    with rig_for(case, sim, monkeypatch) as rig:
        fault = case.fault
        _inject(rig, fault, monkeypatch)
        if case.outcome == REFUSED:
            _expect_refusal(rig, case)
        elif (
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


# -- the legacy key files: not network, so a file-fault test beside the matrix -----

#: Where botocore reads a legacy key file from: the variable that names it, or ``~/.boto``.
LEGACY_PLACES = {"AWS_CREDENTIAL_FILE": "ec2.txt", "BOTO_CONFIG": "boto.cfg", "~/.boto": ".boto"}
LEGACY_FAULTS = ("a FIFO", "over its cap", "unreadable", "a symlink to /dev/zero")


def _hostile_legacy_file(sim: Simulation, mp: pytest.MonkeyPatch, place: str, fault: str) -> Path:
    path = sim.home / LEGACY_PLACES[place]
    if place != "~/.boto":
        mp.setenv(place, str(path))
    key_id, secret = fake_static_key()
    if place == "AWS_CREDENTIAL_FILE":
        text = f"AWSAccessKeyId={key_id}\nAWSSecretKey={secret}\n"
    else:
        text = f"[Credentials]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    if fault == "a FIFO":
        os.mkfifo(path)
    elif fault == "over its cap":
        path.write_text(text + "#" * (1024 * 1024 + 1), encoding="utf-8")
    elif fault == "a symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_text(text, encoding="utf-8")
        if os.geteuid() != 0:
            path.chmod(0)
        else:  # root reads any file: make it unreadable as text instead
            path.write_bytes(b"\xff\xfe\x00" + text.encode())
    return path


def _bounded(call: Callable[[], Any]) -> Any:
    """Run ``call`` in a thread that must end within HANG_GUARD (a FIFO blocks forever)."""
    result: dict[str, Any] = {}

    def attempt() -> None:
        try:
            result["value"] = call()
        except credpick.CredpickError as exc:
            result["error"] = exc

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert not worker.is_alive(), "credpick hung on the file"
    return result


@pytest.mark.parametrize("fault", LEGACY_FAULTS)
@pytest.mark.parametrize("place", LEGACY_PLACES)
@pytest.mark.parametrize("beside", ["ecs", None], ids=["beside a role", "alone"])
def test_a_hostile_legacy_key_file(
    sim: Simulation,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    place: str,
    fault: str,
    beside: str | None,
) -> None:
    """Beside a role the role is used; alone a bounded SourceFailed names the file
    (a symlink to /dev/zero reads as empty: no key there, nothing found)."""
    caplog.set_level(logging.WARNING, logger="credpick")
    handle = sim.use(beside) if beside else None
    path = _hostile_legacy_file(sim, monkeypatch, place, fault)
    result = _bounded(lambda: credpick.session(timeouts=TIMEOUTS).get_credentials())
    if handle is not None:
        assert "error" not in result, result
        frozen = result["value"].get_frozen_credentials()
        assert frozen.access_key == handle.emulator.credentials.access_key_id
    elif fault == "a symlink to /dev/zero":
        assert isinstance(result.get("error"), credpick.NoCredentialsFound), result
    else:
        error = result.get("error")
        assert isinstance(error, credpick.SourceFailed), result
        assert error.kind == "static" and str(path) in str(error)
    used = [r.getMessage() for r in caplog.records if "using long-lived key" in r.getMessage()]
    assert used == []


def test_the_matrix_covers_every_network_source_and_fault() -> None:
    assert {c.source for c in CASES} == set(SOURCES)
    for source in SOURCES:
        faults = {c.fault for c in CASES if c.source == source}
        assert "credentials expiring during use" in faults
        if source in ROLE_SOURCES:  # STS always; the root's endpoint when it has one
            assert {f"STS: {f}" for f in (*NETWORK_FAULTS, "expired credentials")} <= faults
            if _FAMILY[source] != "assume":
                assert set(NETWORK_FAULTS) <= faults
            continue
        assert set(NETWORK_FAULTS) <= faults
        assert "expired credentials" in faults
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
