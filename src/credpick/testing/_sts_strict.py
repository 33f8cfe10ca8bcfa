"""A strict front for moto: what real STS refuses, refused; who an emulator's key belongs to, told.

moto's server takes any string as a web identity token, accepts calls signed
with credentials that expired, and answers ``GetCallerIdentity`` with
``user/moto`` for keys it did not issue itself. :class:`StrictSts` stands in
front of it on loopback and forwards every request (every service moto knows)
except where it must answer as AWS would:

- ``AssumeRoleWithWebIdentity`` whose token is not a JWT with ``sub``, ``aud``,
  ``iss`` and ``exp`` claims: ``InvalidIdentityToken``; past ``exp``:
  ``ExpiredTokenException``.
- any request signed with a key an emulator (or moto, through this front)
  issued that has expired: ``ExpiredToken``.
- ``GetCallerIdentity`` signed with a key an emulator issued: that key's
  assumed-role ARN, as :data:`IDENTITIES` records it.

Signatures are not verified, as moto does not verify them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import http.client
import json
import re
import threading
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import attrs

from credpick.testing._server import Hang, LoopbackServer, Request, Response

__all__ = ["IDENTITIES", "Identities", "Identity", "StrictSts", "assumed_role_arn", "fake_jwt"]

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]{16,128})/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")
_REQUIRED_CLAIMS = ("sub", "aud", "iss", "exp")
_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
# Not forwarded in either direction: they describe one hop, not the message.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-type"}
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@attrs.frozen
class Identity:
    """Who a key belongs to, and until when it may sign."""

    arn: str
    expiration: dt.datetime


class Identities:
    """Process-wide record of the temporary keys the emulators issued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Identity] = {}

    def remember(self, access_key_id: str, arn: str, expiration: dt.datetime) -> None:
        """Record that ``access_key_id`` is ``arn``'s until ``expiration``."""
        with self._lock:
            self._by_key[access_key_id] = Identity(arn, expiration)

    def get(self, access_key_id: str) -> Identity | None:
        """The identity of a key, or None for a key no emulator issued."""
        with self._lock:
            return self._by_key.get(access_key_id)


#: The one record the emulators write to and :class:`StrictSts` reads.
IDENTITIES = Identities()


_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)")


def assumed_role_arn(role_arn: str, session: str) -> str | None:
    """``arn:aws:iam::A:role/NAME`` as STS reports a session of it (None: not a role ARN)."""
    found = _ROLE_ARN.fullmatch(role_arn)
    if found is None:
        return None
    return f"arn:aws:sts::{found.group(1)}:assumed-role/{found.group(2)}/{session}"


def fake_jwt(*, sub: str, aud: str, iss: str, lifetime: dt.timedelta) -> str:
    """An unsigned-looking ID token with the claims STS requires (obviously fake)."""

    def part(value: object) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(_now().timestamp())
    claims = {
        "sub": sub,
        "aud": aud,
        "iss": iss,
        "iat": now,
        "exp": now + int(lifetime.total_seconds()),
    }
    header = {"alg": "RS256", "kid": "credpick-fake", "typ": "JWT"}
    return ".".join((part(header), part(claims), "RkFLRS1zaWduYXR1cmUtY3JlZHBpY2s"))


def _error(code: str, message: str, status: int = 400) -> Response:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
        "  <Error>\n"
        "    <Type>Sender</Type>\n"
        f"    <Code>{escape(code)}</Code>\n"
        f"    <Message>{escape(message)}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
        "</ErrorResponse>\n"
    )
    return Response(status=status, body=body.encode(), content_type="text/xml")


def _b64_json(part: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None


def check_web_identity_token(token: str, now: dt.datetime) -> Response | None:
    """STS's answer to a token it refuses, or None for one it would pass to the issuer."""
    parts = token.split(".")
    header = _b64_json(parts[0]) if len(parts) == 3 else None
    claims = _b64_json(parts[1]) if len(parts) == 3 else None
    if not isinstance(header, dict) or not isinstance(claims, dict) or not parts[2]:
        return _error(
            "InvalidIdentityToken",
            "The ID Token provided is not a valid JWT. "
            "(You may see this error if you sent an Access Token)",
        )
    missing = [c for c in _REQUIRED_CLAIMS if not claims.get(c)]
    exp = claims.get("exp")
    if missing or isinstance(exp, bool) or not isinstance(exp, int | float):
        listed = ", ".join(missing) or "exp"
        return _error("InvalidIdentityToken", f"The ID Token lacks the claims: {listed}")
    if exp <= now.timestamp():
        return _error(
            "ExpiredTokenException",
            f"Token expired: current date/time {int(now.timestamp())} must be before "
            f"the expiration date/time {int(exp)}",
        )
    return None


def _caller_identity(identity: Identity, access_key_id: str) -> Response:
    arn = identity.arn
    account = arn.split(":")[4]
    session = arn.rsplit("/", 1)[-1]
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
        "  <GetCallerIdentityResult>\n"
        f"    <Arn>{escape(arn)}</Arn>\n"
        f"    <UserId>AROA{access_key_id[4:20]}:{escape(session)}</UserId>\n"
        f"    <Account>{account}</Account>\n"
        "  </GetCallerIdentityResult>\n"
        f"  <ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>\n"
        "</GetCallerIdentityResponse>\n"
    )
    return Response(status=200, body=body.encode(), content_type="text/xml")


def _remember_issued(body: bytes) -> None:
    """Record the key an AssumeRole* answer from moto carries, so its expiry holds."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return
    key = root.find(f".//{_NS}Credentials/{_NS}AccessKeyId")
    expiration = root.find(f".//{_NS}Credentials/{_NS}Expiration")
    arn = root.find(f".//{_NS}AssumedRoleUser/{_NS}Arn")
    if key is None or expiration is None or arn is None:
        return
    try:
        when = dt.datetime.fromisoformat((expiration.text or "").replace("Z", "+00:00"))
    except ValueError:
        return
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    IDENTITIES.remember(key.text or "", arn.text or "", when)


class StrictSts(LoopbackServer):
    """Loopback front for a moto server at ``upstream`` (``host``, ``port``).

    Args:
        upstream: moto's address.
        clock: The time credentials and tokens expire by.
    """

    def __init__(self, upstream: tuple[str, int], clock: Callable[[], dt.datetime] = _now) -> None:
        super().__init__()
        self._upstream = upstream
        self.clock = clock

    def _handle(self, request: Request) -> Response | Hang:
        signer, service = self._signer(request)
        identity = IDENTITIES.get(signer) if signer else None
        now = self.clock()
        if identity is not None and identity.expiration <= now:
            return _error("ExpiredToken", "The security token included in the request is expired")
        action = self._action(request)
        if action == "AssumeRoleWithWebIdentity":
            token = self._param(request, "WebIdentityToken") or ""
            refused = check_web_identity_token(token, now)
            if refused is not None:
                return refused
        if action == "GetCallerIdentity" and service == "sts" and identity is not None:
            return _caller_identity(identity, signer or "")
        reply = self._forward(request)
        if action.startswith("AssumeRole") and reply.status == 200:
            _remember_issued(reply.body)
        return reply

    @staticmethod
    def _signer(request: Request) -> tuple[str | None, str | None]:
        found = _CREDENTIAL.search(request.header("Authorization") or "")
        if found is None:
            found = _CREDENTIAL.search("Credential=" + request.query.get("X-Amz-Credential", ""))
        return (found.group(1), found.group(2)) if found else (None, None)

    @staticmethod
    def _param(request: Request, name: str) -> str | None:
        if request.method == "POST" and b"=" in request.body:
            form = parse_qs(request.body.decode("utf-8", "replace"))
            if name in form:
                return form[name][0]
        return request.query.get(name)

    def _action(self, request: Request) -> str:
        return self._param(request, "Action") or ""

    def _forward(self, request: Request) -> Response:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.request(
                request.method, request.target, body=request.body, headers=dict(request.headers)
            )
            answer = connection.getresponse()
            body = answer.read()
            headers = answer.getheaders()
        finally:
            connection.close()
        kept = [(n, v) for n, v in headers if n.lower() not in _HOP_HEADERS]
        if request.method == "HEAD":
            kept += [(n, v) for n, v in headers if n.lower() == "content-length"]
        content_type = answer.getheader("Content-Type") or "text/plain"
        return Response(
            status=answer.status, body=body, content_type=content_type, headers=tuple(kept)
        )
