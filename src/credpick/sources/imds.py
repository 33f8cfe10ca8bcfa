"""EC2 instance profile, through the instance metadata service (IMDSv2).

The only source whose detection touches the network. The probe is gated (skipped
when the metadata service is disabled or the hardware says this is not EC2),
uses a short connect timeout so an address that drops packets answers at once,
and its verdict is cached for the process. The probe's token and role name are
reused by the first credential fetch, so a session costs botocore's three
requests (token, role name, credentials), not more.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import CredentialRetrievalError
from botocore.utils import InstanceMetadataFetcher

from .. import _envvars as ev
from .._context import Context
from .._model import Candidate, SourceKind, Status
from ..exceptions import SourceFailed
from ._base import BuildInputs

KIND = SourceKind.EC2_INSTANCE_PROFILE
LOOKS_AT = "the instance metadata service"
NETWORK = True

DEFAULT_ENDPOINT = "http://169.254.169.254/"
IPV6_ENDPOINT = "http://[fd00:ec2::254]/"
_TOKEN_PATH = "/latest/api/token"
_ROLE_PATH = "/latest/meta-data/iam/security-credentials/"
# What may come back from the network and be used: a token is sent back as a
# header (printable ASCII), a role name goes into a URL (IAM's own rule).
_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,4096}")
_ROLE_SHAPE = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_HOP_LIMIT_FIX = (
    "from a container this usually means the instance's metadata hop limit is 1; raise it: "
    "aws ec2 modify-instance-metadata-options --instance-id <id> --http-put-response-hop-limit 2"
)


@attrs.frozen
class Probe:
    """The verdict on one metadata endpoint.

    ``state`` is one of: ``absent`` (nothing answers), ``v2`` (tokens work),
    ``v1-only`` (token PUT refused), ``token-timeout`` (the token PUT never
    answered), ``error`` (an unusable answer), ``no-role`` (no instance profile).
    """

    endpoint: str
    state: str
    detail: str
    role_name: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    retry_after: dt.datetime | None = None


#: How long a connect timeout counts as "no metadata service here".
ABSENT_RETRY = dt.timedelta(minutes=5)
_cache: dict[str, Probe] = {}
_regions: dict[str, str] = {}
_cache_lock = threading.Lock()
_probe_locks: dict[str, threading.Lock] = {}


def clear_cache() -> None:
    """Forget every cached verdict and region (tests, or after the instance changes)."""
    with _cache_lock:
        _cache.clear()
        _regions.clear()


def endpoint(ctx: Context) -> str:
    """The metadata endpoint botocore would use."""
    custom = ctx.get(ev.IMDS_ENDPOINT)
    if custom:
        return custom if custom.endswith("/") else custom + "/"
    if (ctx.get(ev.IMDS_ENDPOINT_MODE) or "").lower() == "ipv6":
        return IPV6_ENDPOINT
    return DEFAULT_ENDPOINT


def _read(ctx: Context, path: str) -> str | None:
    try:
        return (ctx.root / path).read_text(encoding="utf-8", errors="replace").strip().lower()
    except OSError:
        return None


def skip_reason(ctx: Context) -> str | None:
    """Why the metadata service need not be probed, or ``None`` to probe."""
    if ctx.flag(ev.IMDS_DISABLED):
        return f"{ev.IMDS_DISABLED}=true"
    if ctx.get(ev.IMDS_ENDPOINT):
        return None  # someone pointed us at an endpoint: ask it
    vendor = _read(ctx, "sys/class/dmi/id/sys_vendor")
    signs = (
        vendor == "amazon ec2",
        (_read(ctx, "sys/class/dmi/id/product_uuid") or "").startswith("ec2"),
        (_read(ctx, "sys/class/dmi/id/board_asset_tag") or "").startswith("i-"),
        (_read(ctx, "sys/hypervisor/uuid") or "").startswith("ec2"),
    )
    if vendor is not None and not any(signs):
        return f"hardware vendor is '{vendor}' (/sys/class/dmi/id/sys_vendor), not Amazon EC2"
    return None


class _Timeout(Exception):
    pass


def _request(
    conn: http.client.HTTPConnection, method: str, path: str, headers: Mapping[str, str]
) -> tuple[int, bytes]:
    try:
        conn.request(method, path, headers=dict(headers))
        response = conn.getresponse()
        return response.status, response.read()
    except TimeoutError as exc:
        raise _Timeout from exc


def _open(ctx: Context, url: str) -> tuple[http.client.HTTPConnection | None, bool]:
    """Connect with the short connect timeout, then switch to the read timeout.

    Returns the connection (or ``None``) and whether the connect timed out.
    """
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=ctx.timeouts.imds_connect)
    try:
        conn.connect()
    except TimeoutError:
        return None, True
    except OSError:
        return None, False
    assert conn.sock is not None
    conn.sock.settimeout(ctx.timeouts.imds_read)
    return conn, False


def _connect(ctx: Context, url: str) -> http.client.HTTPConnection | None:
    return _open(ctx, url)[0]


def _probe(ctx: Context, url: str) -> Probe:
    conn, timed_out = _open(ctx, url)
    if conn is None and timed_out:
        # A refusal is final, but a connect that timed out may be a busy
        # instance: remember it for a while, not for the life of the process.
        return Probe(
            url,
            "absent",
            f"no answer within {ctx.timeouts.imds_connect} s at {url}",
            retry_after=ctx.clock() + ABSENT_RETRY,
        )
    if conn is None:
        return Probe(url, "absent", f"nothing answers at {url} (connection refused)")
    try:
        try:
            status, body = _request(
                conn, "PUT", _TOKEN_PATH, {"x-aws-ec2-metadata-token-ttl-seconds": "21600"}
            )
        except _Timeout:
            return Probe(url, "token-timeout", "the IMDSv2 token request timed out")
        headers: dict[str, str] = {}
        if status == 200:
            token = body.decode("utf-8", "replace").strip()
            if not _TOKEN_SHAPE.fullmatch(token):  # it goes back out as a header
                return Probe(
                    url, "error", "the token request returned something that is not a token"
                )
            headers["x-aws-ec2-metadata-token"] = token
        elif status in (403, 404, 405):
            # No IMDSv1 request here: whether to make one is the policy's call.
            return Probe(url, "v1-only", f"the IMDSv2 token request was refused (HTTP {status})")
        else:
            return Probe(url, "error", f"the token request answered HTTP {status}")
        try:
            status, body = _request(conn, "GET", _ROLE_PATH, headers)
        except _Timeout:
            return Probe(url, "error", "the role-name request timed out")
        if status == 404:
            return Probe(url, "no-role", "the instance has no IAM role attached")
        role = body.decode("utf-8", "replace").strip().splitlines()
        if status != 200 or not role:
            return Probe(url, "error", f"the role-name request answered HTTP {status}")
        if not _ROLE_SHAPE.fullmatch(role[0]):  # it goes into a URL, and into evidence
            return Probe(
                url, "error", "the role-name request returned something that is not a role name"
            )
        return Probe(url, "v2", f"role '{role[0]}' over IMDSv2", role[0], token)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Probe(
            url, "error", f"the metadata service broke the connection ({type(exc).__name__})"
        )
    finally:
        conn.close()


def probe(ctx: Context) -> Probe:
    """The cached verdict for this context's endpoint, probing once if needed.

    Concurrent callers share one probe: the first probes while the others wait
    for its verdict, so threads never act on different verdicts (one using the
    role while another, whose probe lost a race, used a stray key). An
    ``error`` verdict is not cached: a passing 5xx must not break the process
    for good, so the next caller asks again.
    """
    url = endpoint(ctx)

    def fresh(cached: Probe | None) -> Probe | None:
        if (
            cached is not None
            and cached.retry_after is not None
            and ctx.clock() >= cached.retry_after
        ):
            return None
        return cached

    with _cache_lock:
        cached = fresh(_cache.get(url))
        if cached is not None:
            return cached
        single_flight = _probe_locks.setdefault(url, threading.Lock())
    with single_flight:
        with _cache_lock:
            cached = fresh(_cache.get(url))
        if cached is not None:
            return cached
        verdict = _probe(ctx, url)
        if verdict.state != "error":
            with _cache_lock:
                _cache[url] = verdict
    return verdict


def detect(ctx: Context) -> list[Candidate]:
    """Probe the metadata service (gated; see :func:`skip_reason`)."""
    if skip_reason(ctx) is not None:
        return []
    verdict = probe(ctx)
    if verdict.state == "absent":
        return []
    evidence = (f"metadata service at {verdict.endpoint}", verdict.detail)
    status, reason, fix = Status.AVAILABLE, "instance profile role", None
    if verdict.state == "no-role":
        status, reason = Status.UNAVAILABLE, verdict.detail
        fix = "attach an instance profile to the instance"
    elif verdict.state == "error":
        status, reason = Status.FAILED, verdict.detail
        fix = "check the instance's metadata options (http-endpoint enabled)"
    elif verdict.state == "token-timeout":
        reason, fix = verdict.detail, _HOP_LIMIT_FIX
    elif verdict.state == "v1-only":
        reason = verdict.detail
    return [
        Candidate(
            kind=KIND,
            status=status,
            origin="instance metadata",
            evidence=evidence,
            reason=reason,
            fix=fix,
            role_arn=None,
            params={"endpoint": verdict.endpoint, "state": verdict.state},
        )
    ]


def _first_fetch(ctx: Context, verdict: Probe) -> dict[str, Any] | None:
    """Fetch the credentials with the probe's token and role: one request."""
    if verdict.role_name is None:
        return None
    conn = _connect(ctx, verdict.endpoint)
    if conn is None:
        # The service answered the probe: a slow connect now (the probe's short
        # connect timeout is for telling "not EC2" apart) is not a verdict.
        # botocore's fetcher starts over, with its own timeout and token.
        return None
    headers = {"x-aws-ec2-metadata-token": verdict.token} if verdict.token else {}
    try:
        status, body = _request(conn, "GET", _ROLE_PATH + verdict.role_name, headers)
    except (_Timeout, OSError, http.client.HTTPException) as exc:
        what = "timed out" if isinstance(exc, _Timeout) else f"failed ({type(exc).__name__})"
        raise SourceFailed(f"the credentials request {what}", kind=KIND.value) from None
    finally:
        conn.close()
    if status == 401:
        return None  # token expired since the probe: let botocore start over
    if status != 200:
        raise SourceFailed(f"the credentials request answered HTTP {status}", kind=KIND.value)
    try:
        data = json.loads(body)
        fields = [data[k] for k in ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")]
        if not all(isinstance(v, str) and v for v in fields):
            raise TypeError  # a null or a number where a string belongs
        return {
            "role_name": verdict.role_name,
            "access_key": fields[0],
            "secret_key": fields[1],
            "token": fields[2],
            "expiry_time": fields[3],
        }
    except (ValueError, KeyError, TypeError):
        # Never quote the body: it may hold a secret.
        raise SourceFailed(
            "the metadata service returned credentials that are not valid JSON",
            kind=KIND.value,
            fix="the instance's metadata service is unhealthy; retry or replace the instance",
        ) from None


@attrs.frozen
class ImdsProvider:
    """Credentials from the instance profile, refreshed by botocore's fetcher."""

    METHOD = "iam-role"

    inputs: BuildInputs = attrs.field(repr=False)

    def load(self) -> Any:
        ctx = self.inputs.context
        verdict = probe(ctx)
        fetcher = InstanceMetadataFetcher(
            timeout=ctx.timeouts.imds_read,
            num_attempts=1,
            env=dict(ctx.env),
            config={
                "ec2_metadata_service_endpoint": verdict.endpoint,
                "ec2_metadata_v1_disabled": not self.inputs.policy.allow_imdsv1,
                # botocore's own chain passes its advisory window (15 min) here.
                "ec2_credential_refresh_window": 15 * 60,
            },
        )
        metadata = _first_fetch(ctx, verdict) or fetcher.retrieve_iam_role_credentials()
        if not metadata:
            # botocore's fetcher swallows errors and returns {}: fail closed here.
            raise SourceFailed("the metadata service returned no credentials", kind=KIND.value)
        return RefreshableCredentials.create_from_metadata(
            metadata, method=self.METHOD, refresh_using=_refresher(fetcher)
        )


def _refresher(fetcher: InstanceMetadataFetcher) -> Callable[[], dict[str, Any]]:
    """botocore's fetcher, but a failed fetch raises instead of returning ``{}``.

    botocore turns ``{}`` into an error outside its refresh error handling, so
    a metadata hiccup 10 to 15 minutes before expiry (the advisory window,
    when the current credentials are still good) would fail the caller. A
    raised error is logged there and the current credentials are kept.
    """

    def refresh() -> dict[str, Any]:
        metadata: dict[str, Any] = fetcher.retrieve_iam_role_credentials()
        if not metadata:
            raise CredentialRetrievalError(
                provider="iam-role", error_msg="the metadata service returned no credentials"
            )
        return metadata

    return refresh


def build(candidate: Candidate, inputs: BuildInputs) -> ImdsProvider:
    return ImdsProvider(inputs=inputs)
