"""Every credential source, with marker secrets on the wire, on its happy path
and its failure paths; shared by ``test_logs.py`` and ``test_error_chains.py``.

Each scenario puts the process in an emulated runtime whose endpoint (or STS,
or the program) hands out the markers of ``tests.security._leaks``, puts a
:class:`FaultyEndpoint` in front, and returns the action to run: building a
session, or, for a failure later, refreshing one inside the mandatory window.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import time_machine

import credpick
from credpick.testing import Simulation
from credpick.testing._fakes import FakeCredentials
from credpick.testing._faults import Fault, FaultyEndpoint, sts_credentials, sts_error, typed_error
from credpick.testing._server import Response, json_response, text_response
from tests.helpers import (
    SESSION_TOKEN,
    STATIC_ENV,
    STATIC_KEY_ID,
    STATIC_SECRET,
    TEMP_ENV,
    TEMP_KEY_ID,
    TEMP_SECRET,
)
from tests.security._leaks import (
    ALL_MARKERS,
    AUTHORIZATION_TOKEN,
    BEARER_TOKEN,
    PROCESS_OUTPUT,
    SSO_ACCESS_TOKEN,
    SSO_CLIENT_SECRET,
    SSO_REFRESH_TOKEN,
    WEB_IDENTITY_TOKEN,
)

#: Prefixes of the random secrets the emulators mint (metadata tokens, GitHub's
#: request token, fake keys): any of them in a text is a leak too.
MINTED = ("FAKE-SECRET-credpick-", "FAKE-TOKEN-credpick-", "FAKE-IMDS-TOKEN-", "FAKE-GHA-")
MARKERS = (*ALL_MARKERS, *MINTED)
IMDS_CREDS = "/latest/meta-data/iam/security-credentials/"
_HOUR = dt.timedelta(hours=1)
_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def marked(expires_in: dt.timedelta = _HOUR) -> FakeCredentials:
    """Credentials whose key id, secret and token are the markers."""
    expiry = (dt.datetime.now(dt.timezone.utc) + expires_in).replace(microsecond=0)
    return FakeCredentials(TEMP_KEY_ID, TEMP_SECRET, SESSION_TOKEN, expiry)


def assume_role_reply(creds: FakeCredentials) -> Response:
    """STS's ``AssumeRole`` reply (its own result element) carrying ``creds``."""
    body = (
        f'<AssumeRoleResponse xmlns="{_NS}"><AssumeRoleResult><Credentials>'
        f"<AccessKeyId>{creds.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{creds.secret_access_key}</SecretAccessKey>"
        f"<SessionToken>{creds.token}</SessionToken>"
        f"<Expiration>{creds.expiration_iso}</Expiration></Credentials>"
        "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/credpick-ops/x</Arn>"
        "<AssumedRoleId>AROAFAKEFAKEFAKEFAKE:x</AssumedRoleId></AssumedRoleUser>"
        f"</AssumeRoleResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
        "</ResponseMetadata></AssumeRoleResponse>"
    )
    return Response(200, body.encode(), "text/xml")


# What a proxy that echoes the request would answer: the request's secret
# header lines, and a secret field for good measure.
_ECHO = (
    f"Authorization: {AUTHORIZATION_TOKEN}\r\nAuthorization: Bearer {BEARER_TOKEN}\r\n"
    f"X-aws-ec2-metadata-token: FAKE-IMDS-TOKEN-echoed\r\n"
    f"x-amz-sso_bearer_token: {SSO_ACCESS_TOKEN}\r\nX-Amz-Security-Token: {SESSION_TOKEN}\r\n"
)
_TRUNCATED_JSON = (
    f'{{"AccessKeyId": "{TEMP_KEY_ID}", "SecretAccessKey": "{TEMP_SECRET}", '
    f'"Token": "{SESSION_TOKEN}'
).encode()

FAMILY = {
    "ecs": "container",
    "eks-pod-identity": "container",
    "container": "container",
    "ec2-instance-profile": "imds",
    "web-identity": "sts",
    "github-oidc": "sts",
    "sso": "sso",
    "assume-role": "assume",
    "credential-process": "process",
    "static": "local",
    "env-session": "local",
    "lambda": "local",
}


def _echo(family: str) -> Response:
    if family == "sts":
        return sts_error(
            "InternalFailure", 500, message=_ECHO + f"WebIdentityToken={WEB_IDENTITY_TOKEN}"
        )
    if family == "assume":
        return sts_error("InternalFailure", 500, message=_ECHO)
    if family == "sso":
        return typed_error(500, "InternalServerException", message=_ECHO)
    if family == "imds":
        return text_response(500, _ECHO)
    return json_response(500, {"Code": "InternalError", "Message": _ECHO, "Token": SESSION_TOKEN})


def _rejected(family: str) -> Response:
    if family == "sts":
        return sts_error("InvalidIdentityToken", message=f"WebIdentityToken={WEB_IDENTITY_TOKEN}")
    if family == "assume":
        return sts_error("AccessDenied", 403, message=_ECHO)
    if family == "sso":
        return typed_error(401, "UnauthorizedException", message=_ECHO)
    if family == "imds":
        return text_response(401, _ECHO)
    return json_response(401, {"Code": "AccessDenied", "Message": _ECHO})


def _malformed(family: str) -> Response:
    if family in ("sts", "assume"):
        body = (
            f"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
            f"<AccessKeyId>{TEMP_KEY_ID}</AccessKeyId><SecretAccessKey>{TEMP_SECRET}"
            f"</SecretAccessKey><SessionToken>{SESSION_TOKEN}"
        )
        return Response(200, body.encode(), "text/xml")
    if family == "sso":
        body = (
            f'{{"roleCredentials": {{"accessKeyId": "{TEMP_KEY_ID}", '
            f'"secretAccessKey": "{TEMP_SECRET}", "sessionToken": "{SESSION_TOKEN}'
        )
        return Response(200, body.encode(), "application/json")
    return Response(200, _TRUNCATED_JSON, "application/json")


@attrs.define
class Rig:
    """A runtime with markers on the wire, and the faulty endpoint in front of it."""

    source: str
    sim: Simulation
    mp: pytest.MonkeyPatch
    stack: contextlib.ExitStack
    handle: Any = None
    front: FaultyEndpoint | None = None
    path: str | None = None
    extra: list[str] = attrs.Factory(list)

    @property
    def family(self) -> str:
        return FAMILY[self.source]

    def serve(self, creds: FakeCredentials) -> None:
        """What the endpoint hands out from now on."""
        if self.family in ("sts", "assume"):
            assert self.front is not None
            self.front.heal()
            reply = assume_role_reply(creds) if self.family == "assume" else sts_credentials(creds)
            self.front.inject(Fault(reply))
        elif self.family in ("container", "imds", "sso"):
            emulator = self.handle.emulator
            with emulator._lock:
                emulator._credentials = creds

    def fail(self, reply: Response) -> None:
        assert self.front is not None
        self.front.heal()
        self.front.inject(Fault(reply, path=self.path))

    def markers(self) -> tuple[str, ...]:
        """The markers, plus secrets minted during the test (GitHub's ID token)."""
        minted = [self.handle.emulator.last_token] if self.source == "github-oidc" else []
        return (*MARKERS, *self.extra, *(m for m in minted if m))


def _container(rig: Rig) -> None:
    handle = rig.handle = rig.sim.use(rig.source)
    emulator = handle.emulator
    if rig.source == "ecs":
        rig.mp.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTHORIZATION_TOKEN)
        emulator.authorization = AUTHORIZATION_TOKEN
    elif rig.source == "eks-pod-identity":
        Path(handle.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).write_text(AUTHORIZATION_TOKEN)
        emulator.authorization = AUTHORIZATION_TOKEN
    front = rig.front = rig.stack.enter_context(FaultyEndpoint(emulator))
    rig.mp.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", front.url + emulator.path)


def _imds(rig: Rig) -> None:
    rig.handle = rig.sim.use("ec2-instance-profile")
    front = rig.front = rig.stack.enter_context(FaultyEndpoint(rig.handle.emulator))
    rig.mp.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", front.url + "/")
    rig.path = IMDS_CREDS


def _sts(rig: Rig) -> None:
    handle = rig.handle = rig.sim.use(rig.source)
    if rig.source == "web-identity":
        Path(handle.env["AWS_WEB_IDENTITY_TOKEN_FILE"]).write_text(WEB_IDENTITY_TOKEN)
    else:
        handle.emulator.request_token = BEARER_TOKEN
        rig.mp.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", BEARER_TOKEN)
    front = rig.front = rig.stack.enter_context(FaultyEndpoint(handle.sts.url))
    rig.mp.setenv("AWS_ENDPOINT_URL_STS", front.url)


def _sso(rig: Rig) -> None:
    handle = rig.handle = rig.sim.use("sso")
    handle.emulator.access_token = SSO_ACCESS_TOKEN
    (cache,) = rig.sim.sso_cache_dir.glob("*.json")
    token = json.loads(cache.read_text(encoding="utf-8"))
    token.update(
        accessToken=SSO_ACCESS_TOKEN,
        refreshToken=SSO_REFRESH_TOKEN,
        clientId="credpick-client",
        clientSecret=SSO_CLIENT_SECRET,
        registrationExpiresAt="2099-01-01T00:00:00Z",
    )
    cache.write_text(json.dumps(token), encoding="utf-8")
    front = rig.front = rig.stack.enter_context(FaultyEndpoint(handle.emulator))
    rig.mp.setenv("AWS_ENDPOINT_URL_SSO", front.url)


def _assume(rig: Rig) -> None:
    handle = rig.handle = rig.sim.use("assume-role")
    rig.sim.credentials_file.write_text(
        f"[credpick-base]\naws_access_key_id = {STATIC_KEY_ID}\n"
        f"aws_secret_access_key = {STATIC_SECRET}\n",
        encoding="utf-8",
    )
    front = rig.front = rig.stack.enter_context(FaultyEndpoint(handle.sts.url))
    rig.mp.setenv("AWS_ENDPOINT_URL_STS", front.url)


def program(rig: Rig, body: str) -> None:
    """The profile's credential_process becomes this Python program."""
    script = rig.sim.workdir / "credential_process.py"
    script.write_text(body, encoding="utf-8")


_PRINTS_MARKERS = (
    "import json\n"
    f"print(json.dumps({{'Version': 1, 'AccessKeyId': {TEMP_KEY_ID!r}, "
    f"'SecretAccessKey': {TEMP_SECRET!r}, 'SessionToken': {SESSION_TOKEN!r}}}))\n"
)
_FAILS_LOUDLY = (
    "import sys\n"
    f"sys.stderr.write('secret key {TEMP_SECRET} token {SESSION_TOKEN} {PROCESS_OUTPUT}')\n"
    "sys.exit(1)\n"
)
_PRINTS_GARBAGE = f"print({('{' + repr('SecretAccessKey') + ': ' + repr(TEMP_SECRET))!r})\n"


def _process(rig: Rig) -> None:
    rig.handle = rig.sim.use("credential-process")
    program(rig, _PRINTS_MARKERS)


def _local(rig: Rig) -> None:
    if rig.source == "static":
        env = STATIC_ENV
    else:
        if rig.source == "lambda":
            rig.handle = rig.sim.use("lambda")
        env = TEMP_ENV
    for name, value in env.items():
        rig.mp.setenv(name, value)


_SETUP: dict[str, Callable[[Rig], None]] = {
    "container": _container,
    "imds": _imds,
    "sts": _sts,
    "sso": _sso,
    "assume": _assume,
    "process": _process,
    "local": _local,
}


@contextlib.contextmanager
def rig_for(source: str, sim: Simulation, mp: pytest.MonkeyPatch) -> Iterator[Rig]:
    with contextlib.ExitStack() as stack:
        rig = Rig(source, sim, mp, stack)
        _SETUP[rig.family](rig)
        rig.serve(marked())
        yield rig


# -- the scenarios -----------------------------------------------------------

NETWORK = (
    "ecs",
    "eks-pod-identity",
    "container",
    "ec2-instance-profile",
    "web-identity",
    "github-oidc",
    "sso",
)


def _build() -> Any:
    session = credpick.session()
    return session.get_credentials().get_frozen_credentials()


def _refresh_later(rig: Rig) -> Any:
    credentials = credpick.session().get_credentials()
    rig.fail(_echo(rig.family))
    later = dt.datetime.now(dt.timezone.utc) + _HOUR - dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        return credentials.get_frozen_credentials()


def action(rig: Rig, case: str) -> Callable[[], Any]:
    """Set the fault up; the call that then succeeds or raises."""
    if case == "happy":
        return _build
    if case == "refresh fails later":
        return lambda: _refresh_later(rig)
    if case == "expired credentials":
        rig.serve(marked(expires_in=-_HOUR))
    elif case == "HTTP 500 echoing the request":
        rig.fail(_echo(rig.family))
    elif case == "token rejected (4xx)":
        rig.fail(_rejected(rig.family))
    elif case == "malformed reply":
        if rig.family == "process":
            program(rig, _PRINTS_GARBAGE)
        else:
            rig.fail(_malformed(rig.family))
    elif case == "program fails, stderr holds secrets":
        program(rig, _FAILS_LOUDLY)
    else:
        raise AssertionError(case)
    return _build


FAILURES = (
    "HTTP 500 echoing the request",
    "token rejected (4xx)",
    "malformed reply",
    "expired credentials",
    "refresh fails later",
)


def scenarios() -> list[tuple[str, str]]:
    """(source, case) pairs: every source's happy path, then its failures."""
    found = [(source, "happy") for source in FAMILY]
    found += [(source, case) for source in NETWORK for case in FAILURES]
    found += [
        ("assume-role", "HTTP 500 echoing the request"),
        ("assume-role", "token rejected (4xx)"),
        ("assume-role", "malformed reply"),
        ("assume-role", "expired credentials"),
        ("credential-process", "program fails, stderr holds secrets"),
        ("credential-process", "malformed reply"),
    ]
    return found


#: Cases that end well: the metadata service's static stability stretches
#: expired credentials, as botocore does.
SUCCEEDS = {("ec2-instance-profile", "expired credentials")}
