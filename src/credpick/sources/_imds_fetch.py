"""Instance credentials over credpick's own IMDSv2 path: the first fetch and every refresh.

botocore's ``InstanceMetadataFetcher`` falls back to IMDSv1 on its own, has
only per-read timeouts, reads replies whole and swallows failures into ``{}``.
This module makes the same three requests (token, role name, credentials)
through :mod:`._imds_http`, so every fetch is bounded and capped, IMDSv1 is
used only when the policy allows it, and a failure is a ``SourceFailed`` that
names the endpoint. botocore's ``RefreshableCredentials`` still decides when
to refresh (its advisory and mandatory windows), and its static stability is
kept: see :func:`stretch`.

Each step returns a :class:`Step` instead of raising; errors are built from
its structured fields in the caller, after the helper that held the reply
body or token has returned.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from collections.abc import Mapping
from typing import Any

import attrs

from .._mask import display_url
from ..exceptions import SourceFailed
from . import _imds_http as http

KIND = "ec2-instance-profile"
TOKEN_PATH = "/latest/api/token"
ROLE_PATH = "/latest/meta-data/iam/security-credentials/"
TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aws-ec2-metadata-token"
# What may come back from the network and be used: a token is sent back as a
# header (printable ASCII), a role name goes into a URL (IAM's own rule).
TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,4096}")
ROLE_SHAPE = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_EXPIRY_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z")
_CODE_SHAPE = re.compile(r"[A-Za-z0-9]{1,64}")

HOP_LIMIT_FIX = (
    "from a container this usually means the instance's metadata hop limit is 1; raise it: "
    "aws ec2 modify-instance-metadata-options --instance-id <id> --http-put-response-hop-limit 2"
)
IMDSV1_FIX = (
    "require IMDSv2 on the instance (aws ec2 modify-instance-metadata-options "
    "--http-tokens required) or opt in with credpick.Policy(allow_imdsv1=True)"
)
UNHEALTHY_FIX = "the instance's metadata service is unhealthy; retry or replace the instance"
UNREACHABLE_FIX = (
    "enable the instance's metadata service (aws ec2 modify-instance-metadata-options "
    "--http-endpoint enabled) and check that no firewall or proxy blocks it"
)
#: botocore's own chain passes its advisory window here (15 min).
REFRESH_WINDOW = dt.timedelta(minutes=15)
logger = logging.getLogger("credpick")


@attrs.frozen
class Step:
    """One request's result: ``value`` (a token, a role name), or why there is none."""

    value: str | None = attrs.field(default=None, repr=False)
    reason: str = ""
    failure: http.Failure | None = None
    status: int | None = None

    @property
    def timed_out(self) -> bool:
        return self.failure is not None and self.failure.what == http.TIMEOUT

    @property
    def unreachable(self) -> bool:
        return self.failure is not None and self.failure.unreachable


def _failed(step: str, failure: http.Failure) -> Step:
    verb = "timed out" if failure.what in (http.TIMEOUT, http.CONNECT_TIMEOUT) else "failed"
    where = display_url(failure.endpoint)
    return Step(reason=f"the {step} request {verb}: {failure.cause} ({where})", failure=failure)


def _locate(conn: http.Connection, step: Step) -> Step:
    """The step, its reason naming the endpoint (a failure's already does)."""
    if step.value is not None or step.failure is not None:
        return step
    return attrs.evolve(step, reason=f"{step.reason} ({display_url(conn.endpoint)})")


def put_token(conn: http.Connection) -> Step:
    """``PUT /latest/api/token``; ``status`` 403, 404 or 405 means IMDSv1 only."""
    return _locate(conn, _put_token(conn))


def _put_token(conn: http.Connection) -> Step:
    got = conn.request("PUT", TOKEN_PATH, {TTL_HEADER: "21600"}, cap=http.TOKEN_CAP)
    if isinstance(got, http.Failure):
        return _failed("IMDSv2 token", got)
    if got.status in (403, 404, 405):
        return Step(
            reason=f"the IMDSv2 token request was refused (HTTP {got.status})", status=got.status
        )
    if got.status != 200:
        return Step(reason=f"the token request answered HTTP {got.status}", status=got.status)
    token = got.body.decode("utf-8", "replace").strip()
    if not TOKEN_SHAPE.fullmatch(token):  # it goes back out as a header
        return Step(reason="the token request returned something that is not a token", status=200)
    return Step(value=token, status=200)


def _headers(token: str | None) -> Mapping[str, str]:
    return {TOKEN_HEADER: token} if token else {}


def get_text(
    conn: http.Connection, step: str, path: str, token: str | None, cap: int, shape: re.Pattern[str]
) -> Step:
    """A one-line text reply (role name, region), checked against its shape."""
    return _locate(conn, _get_text(conn, step, path, token, cap, shape))


def _get_text(
    conn: http.Connection, step: str, path: str, token: str | None, cap: int, shape: re.Pattern[str]
) -> Step:
    got = conn.request("GET", path, _headers(token), cap=cap)
    if isinstance(got, http.Failure):
        return _failed(step, got)
    if got.status != 200:
        return Step(reason=f"the {step} request answered HTTP {got.status}", status=got.status)
    text = got.body.decode("utf-8", "replace").strip()
    # A name made only of dots would climb the URL path ("..").
    if not shape.fullmatch(text) or not text.strip("."):
        return Step(
            reason=f"the {step} request returned something that is not a {step}", status=200
        )
    return Step(value=text, status=200)


def get_role(conn: http.Connection, token: str | None) -> Step:
    """The instance profile's role name; ``status`` 404 means no role is attached."""
    found = get_text(conn, "role-name", ROLE_PATH, token, http.ROLE_NAME_CAP, ROLE_SHAPE)
    if found.status == 404:
        return _locate(conn, Step(reason="the instance has no IAM role attached", status=404))
    return found


def _credentials(body: bytes, role: str) -> dict[str, Any] | Step:
    """The credentials in botocore's metadata form, or why the document is unusable."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Step(reason="the metadata service returned credentials that are not valid JSON")
    code = data.get("Code", "Success")
    if code != "Success":
        shown = code if isinstance(code, str) and _CODE_SHAPE.fullmatch(code) else "(not shown)"
        return Step(reason=f"the credentials document reports code {shown}, not Success")
    names = ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")
    fields = [v for v in (data.get(k) for k in names) if isinstance(v, str) and v]
    if len(fields) != len(names):  # a null or a number where a string goes
        return Step(reason="the credentials document is missing fields, or they are not strings")
    if not _EXPIRY_SHAPE.fullmatch(fields[3]):
        return Step(reason="the credentials document has an Expiration that is not a UTC time")
    return {
        "role_name": role,
        "access_key": fields[0],
        "secret_key": fields[1],
        "token": fields[2],
        "expiry_time": fields[3],
    }


def get_credentials(conn: http.Connection, role: str, token: str | None) -> dict[str, Any] | Step:
    got = conn.request("GET", ROLE_PATH + role, _headers(token), cap=http.CREDENTIALS_CAP)
    if isinstance(got, http.Failure):
        return _failed("credentials", got)
    if got.status != 200:
        why = f"the credentials request answered HTTP {got.status}"
        return _locate(conn, Step(reason=why, status=got.status))
    found = _credentials(got.body, role)
    return _locate(conn, found) if isinstance(found, Step) else found


def stretch(metadata: dict[str, Any], now: dt.datetime) -> None:
    """botocore's static stability: stretch credentials at or near expiry.

    During an outage the metadata service keeps serving the last credentials,
    even expired, and AWS services accept them for a while; every AWS SDK then
    uses them for 15 to 25 more minutes (and retries in 2 to 10) instead of
    failing. Only credentials the instance itself served are stretched, so
    this is the same source, never a fallback.
    """
    text = str(metadata["expiry_time"]).replace("Z", "+00:00")
    expiry = dt.datetime.fromisoformat(text)
    offset = REFRESH_WINDOW + dt.timedelta(seconds=random.randint(120, 600))
    if now >= expiry - offset:
        metadata["expiry_time"] = (now + offset).strftime("%Y-%m-%dT%H:%M:%SZ")
        logger.warning(
            "the metadata service served credentials that expire at %s; using them until %s "
            "(static stability) and asking again before then",
            expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            metadata["expiry_time"],
        )


@attrs.frozen
class Hint:
    """What the probe already knows: its token and the role name."""

    role_name: str | None = None
    token: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class Problem:
    """Why a fetch gave no credentials, in fields a ``SourceFailed`` is built from."""

    reason: str
    fix: str


def _token(conn: http.Connection, allow_imdsv1: bool) -> str | Problem | None:
    """A fresh token; ``None`` for tokenless (IMDSv1) requests, only if allowed."""
    got = put_token(conn)
    if got.value is not None:
        return got.value
    v1_only = got.status in (403, 404, 405)
    if allow_imdsv1 and (v1_only or got.timed_out):
        return None  # what botocore does, and what the policy allows
    if v1_only:
        why = "the instance answers only IMDSv1, and the policy requires IMDSv2"
        return Problem(why, IMDSV1_FIX)
    return Problem(got.reason, HOP_LIMIT_FIX if got.timed_out else _fix(got))


def _fetch(
    conn: http.Connection, allow_imdsv1: bool, hint: Hint, now: dt.datetime
) -> dict[str, Any] | Problem:
    token: str | None = hint.token
    role: str | None = hint.role_name
    for fresh in (False, True):
        if fresh or token is None:
            got = _token(conn, allow_imdsv1)
            if isinstance(got, Problem):
                return got
            token = got
        if fresh or role is None:
            named = get_role(conn, token)
            if named.status == 401 and not fresh and hint.token:
                continue  # the probe's token expired (6 h): one fresh token, once
            if named.value is None:
                if named.status == 404:
                    return Problem(named.reason, "attach an instance profile to the instance")
                return Problem(named.reason, _fix(named))
            role = named.value
        found = get_credentials(conn, role, token)
        if isinstance(found, Step):
            if found.status == 401 and not fresh and hint.token:
                continue
            return Problem(found.reason, _fix(found))
        stretch(found, now)
        return found
    return Problem("the metadata service refused a fresh token (HTTP 401)", UNHEALTHY_FIX)


def _fix(step: Step) -> str:
    return UNREACHABLE_FIX if step.unreachable else UNHEALTHY_FIX


@attrs.frozen
class InstanceFetcher:
    """Fetch the instance profile's credentials; ``fetch`` is botocore's ``refresh_using``.

    Args:
        endpoint: The metadata endpoint.
        connect_timeout: Seconds for each connection's handshake.
        deadline: Seconds for each whole request once connected.
        allow_imdsv1: Whether tokenless requests may be made.
        clock: The context's clock (static stability compares against it).
        attempts: Tries of each request (see :class:`._imds_http.Connection`).
        retry_timeouts: Whether timeouts and connection failures are tried again.
    """

    endpoint: str
    connect_timeout: float
    deadline: float
    allow_imdsv1: bool
    clock: Any = attrs.field(repr=False)
    attempts: int = 1
    retry_timeouts: bool = False

    def fetch(self, hint: Hint | None = None) -> dict[str, Any]:
        """Token, role name and credentials; a failure raises ``SourceFailed``.

        Raises:
            SourceFailed: The metadata service gave no usable credentials.
        """
        outcome = self._attempt(hint or Hint())
        del hint  # it holds the probe's token: no raising frame keeps one
        if isinstance(outcome, Problem):
            # Raised here, after the frame holding the token and reply returned.
            raise SourceFailed(
                outcome.reason,
                kind=KIND,
                evidence=(f"metadata service at {display_url(self.endpoint)}",),
                fix=outcome.fix,
            )
        return outcome

    def _attempt(self, hint: Hint) -> dict[str, Any] | Problem:
        with http.Connection(
            self.endpoint,
            connect_timeout=self.connect_timeout,
            deadline=self.deadline,
            attempts=self.attempts,
            retry_timeouts=self.retry_timeouts,
        ) as conn:
            return _fetch(conn, self.allow_imdsv1, hint, self.clock())
