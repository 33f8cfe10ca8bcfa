"""EC2 instance profile, through the instance metadata service (IMDSv2).

The only source whose detection touches the network. The probe is gated
(skipped when the metadata service is disabled or the hardware says this is
not EC2), bounded (a short connect timeout, then one deadline per request and
a cap on every reply; see :mod:`._imds_http`), shared by concurrent callers,
reset in a forked child, and its verdict is cached: negative verdicts only for
a while (:data:`RETRY_AFTER`). The probe's token and role name are reused by
the first credential fetch, so a session costs three requests (token, role
name, credentials). Every fetch, the first and each refresh, goes through
credpick's own IMDSv2 path (:mod:`._imds_fetch`).

Fail closed: where the metadata service must exist (an endpoint set in
``AWS_EC2_METADATA_SERVICE_ENDPOINT``, or hardware that says EC2), an
endpoint that refuses, drops or fails TLS is a failed candidate, never "not
on EC2", so a stray long-lived key beside it is not used.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from typing import TYPE_CHECKING, Any

import attrs
from botocore.credentials import RefreshableCredentials

from .. import _envvars as ev
from .._context import Context
from .._mask import display_url
from .._model import Candidate, SourceKind, Status
from ..exceptions import SourceFailed
from . import _imds_fetch as fetch
from . import _imds_http as http
from . import _imds_settings
from ._base import BuildInputs, register_features

# The probe's gate, apart so that detection can ask it without importing this module.
from ._imds_decide import _read as _read
from ._imds_decide import hardware_signs as hardware_signs
from ._imds_decide import skip as skip
from ._imds_decide import skip_reason as skip_reason
from ._imds_settings import settings

if TYPE_CHECKING:
    from .._detection import Policy

KIND = SourceKind.EC2_INSTANCE_PROFILE
LOOKS_AT = "the instance metadata service"
#: Detection asks the network: it runs after every cheap source, and only when
#: :func:`skip` finds no reason not to (see ``credpick._detect.gather``).
NETWORK = True
#: Where the region comes from when this source is chosen and nothing else
#: names one (see ``credpick._region``).
REGION_SOURCE = "instance metadata (placement/region)"

DEFAULT_ENDPOINT = _imds_settings.DEFAULT_ENDPOINT
IPV6_ENDPOINT = _imds_settings.IPV6_ENDPOINT
#: How long a negative verdict (nothing answers, no role, IMDSv1 only, a token
#: request that timed out) is kept before the service is asked again.
RETRY_AFTER = dt.timedelta(minutes=5)


@attrs.frozen
class Probe:
    """The verdict on one metadata endpoint.

    ``state`` is one of: ``unreachable`` (nothing answers: refused, dropped,
    or no TLS session), ``v2`` (tokens work), ``v1-only`` (token PUT
    refused), ``token-timeout`` (the token PUT never answered in time),
    ``error`` (an unusable answer), ``no-role`` (no instance profile).
    """

    endpoint: str
    state: str
    detail: str
    role_name: str | None = None
    token: str | None = attrs.field(default=None, repr=False)
    retry_after: dt.datetime | None = None


class _Flight:
    """A probe in progress: the callers that wait for it share its verdict."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.verdict: Probe | None = None


class _State:
    """Everything the module shares between threads, replaced whole in a forked child."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.verdicts: dict[str, Probe] = {}
        self.regions: dict[str, str] = {}
        self.flights: dict[str, _Flight] = {}

    def after_fork(self) -> None:
        # The parent's threads do not exist here: a lock one of them held
        # stays held forever, and a probe it had in flight never finishes.
        # Finished verdicts are about the same instance, so they stay.
        self.lock = threading.Lock()
        self.flights = {}


_state = _State()
if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_state.after_fork)


def clear_cache() -> None:
    """Forget every cached verdict and region (tests, or after the instance changes)."""
    with _state.lock:
        _state.verdicts.clear()
        _state.regions.clear()


def endpoint(ctx: Context) -> str:
    """The metadata endpoint botocore would use (see :mod:`._imds_settings`).

    Raises:
        ConfigurationError: The endpoint or the mode is malformed.
    """
    return settings(ctx).endpoint


def looked(ctx: Context) -> str:
    """Where the probe looked, for :attr:`Detection.looked`."""
    return f"probed {display_url(endpoint(ctx))}"


def must_answer(ctx: Context) -> str | None:
    """Why the metadata service must exist here, or ``None`` when silence means "not EC2"."""
    where = settings(ctx).endpoint_set
    if where:
        return f"{where} is set"
    signs = hardware_signs(ctx)
    if signs:
        return f"the hardware says EC2 ({', '.join(signs)})"
    return None


def _connection(ctx: Context, url: str, *, connect_timeout: float) -> http.Connection:
    """A bounded connection with the settings' deadline and tries; connection
    failures are tried again only where the service must answer."""
    found = settings(ctx)
    return http.Connection(
        url,
        connect_timeout=connect_timeout,
        deadline=found.deadline,
        attempts=found.attempts,
        retry_timeouts=found.attempts_set,
    )


def _probe(ctx: Context, url: str) -> Probe:
    """Token, then role name, on one bounded connection. Never raises for the network."""
    with _connection(ctx, url, connect_timeout=ctx.timeouts.imds_connect) as conn:
        token = fetch.put_token(conn)
        if token.value is None:
            if token.failure is not None and token.failure.unreachable:
                return Probe(url, "unreachable", token.failure.cause)
            if token.timed_out:
                return Probe(url, "token-timeout", token.reason)
            if token.status in (403, 404, 405):
                # No IMDSv1 request here: whether to make one is the policy's call.
                return Probe(url, "v1-only", token.reason)
            return Probe(url, "error", token.reason)
        role = fetch.get_role(conn, token.value)
        if role.status == 404:
            return Probe(url, "no-role", role.reason)
        if role.value is None:
            return Probe(url, "error", role.reason)
        return Probe(url, "v2", f"role '{role.value}' over IMDSv2", role.value, token.value)


def _fresh(ctx: Context, cached: Probe | None, strict: bool) -> Probe | None:
    if cached is None:
        return None
    if cached.retry_after is not None and ctx.now() >= cached.retry_after:
        return None
    if strict and cached.state == "unreachable":
        return None  # a failure where the service must exist is asked again each time
    return cached


def _keep(ctx: Context, verdict: Probe) -> Probe | None:
    """The verdict as cached: negative ones with a retry time, errors not at all."""
    if verdict.state == "error":
        return None  # a passing 5xx must not break the process for good
    if verdict.state == "v2":
        return verdict
    return attrs.evolve(verdict, retry_after=ctx.now() + RETRY_AFTER)


def probe(ctx: Context) -> Probe:
    """The cached verdict for this context's endpoint, probing once if needed.

    Concurrent callers share one probe: the first probes while the others
    wait for its verdict, so threads never act on different verdicts (one
    using the role while another, whose probe lost a race, used a stray key).
    """
    url = endpoint(ctx)
    strict = must_answer(ctx) is not None
    with _state.lock:
        cached = _fresh(ctx, _state.verdicts.get(url), strict)
        if cached is not None:
            return cached
        flight = _state.flights.get(url)
        leader = flight is None
        if flight is None:
            flight = _state.flights[url] = _Flight()
    if not leader:
        # The leader's probe is bounded; this bound only guards against a bug.
        found = settings(ctx)
        flight.done.wait(2 * found.attempts * (ctx.timeouts.imds_connect + found.deadline) + 5.0)
        return flight.verdict or _probe(ctx, url)
    verdict: Probe | None = None
    try:
        verdict = _probe(ctx, url)
    finally:
        kept = _keep(ctx, verdict) if verdict is not None else None
        with _state.lock:
            if kept is not None:
                _state.verdicts[url] = kept
            if _state.flights.get(url) is flight:
                del _state.flights[url]
        flight.verdict = kept or verdict
        flight.done.set()
    return kept or verdict


def _candidate(verdict: Probe, status: Status, reason: str, fix: str | None) -> Candidate:
    return Candidate(
        kind=KIND,
        status=status,
        origin="instance metadata",
        evidence=(f"metadata service at {display_url(verdict.endpoint)}", verdict.detail),
        reason=reason,
        fix=fix,
        role_arn=None,
        params={"endpoint": verdict.endpoint, "state": verdict.state},
    )


def detect(ctx: Context) -> list[Candidate]:
    """Probe the metadata service (gated; see :func:`skip_reason`)."""
    if skip_reason(ctx) is not None:
        return []
    found = _judge(ctx, probe(ctx))
    if settings(ctx).v1_disabled:  # for gate(): the setting beats allow_imdsv1
        found = [attrs.evolve(c, params={**c.params, "v1": "disabled"}) for c in found]
    return found


def _judge(ctx: Context, verdict: Probe) -> list[Candidate]:
    if verdict.state == "unreachable":
        why = must_answer(ctx)
        if why is None:
            return []  # no hardware signs, no endpoint set: this is not EC2
        shown = display_url(verdict.endpoint)
        where = settings(ctx).endpoint_set
        fix = (
            f"point {where} at a metadata service that answers, or unset it"
            if where
            else f"{fetch.UNREACHABLE_FIX}; or set {ev.IMDS_DISABLED}=true where this "
            "process must not use the instance profile"
        )
        reason = f"the metadata service at {shown} cannot be reached ({verdict.detail}), and {why}"
        return [_candidate(verdict, Status.FAILED, reason, fix)]
    if verdict.state == "no-role":
        fix = "attach an instance profile to the instance"
        return [_candidate(verdict, Status.UNAVAILABLE, verdict.detail, fix)]
    if verdict.state == "error":
        fix = "check the instance's metadata options (http-endpoint enabled)"
        return [_candidate(verdict, Status.FAILED, verdict.detail, fix)]
    if verdict.state == "token-timeout":
        return [_candidate(verdict, Status.AVAILABLE, verdict.detail, fetch.HOP_LIMIT_FIX)]
    if verdict.state == "v1-only":
        return [_candidate(verdict, Status.AVAILABLE, verdict.detail, None)]
    return [_candidate(verdict, Status.AVAILABLE, "instance profile role", None)]


_IMDSV1_OPT_IN = "or opt in with credpick.Policy(allow_imdsv1=True)"


def gate(candidate: Candidate, policy: Policy) -> Candidate:
    """The policy's IMDSv1 rule (``allow_imdsv1``), for the instance profile
    itself or a chain rooted in it: an instance that answers only IMDSv1, or
    whose token request timed out, is a failed candidate unless allowed."""
    if candidate.kind is KIND:
        state = candidate.params.get("state")
    elif candidate.provenance.root.source is KIND:
        state = candidate.provenance.root.params.get("state")
    else:
        return candidate
    allowed = policy.allow_imdsv1 and candidate.params.get("v1") != "disabled"
    if state is None or allowed:
        return candidate
    if state == "v1-only":
        return attrs.evolve(
            candidate,
            status=Status.FAILED,
            reason="the instance answers only IMDSv1, and the policy requires IMDSv2",
            fix="require IMDSv2 on the instance (aws ec2 modify-instance-metadata-options "
            f"--http-tokens required) {_IMDSV1_OPT_IN}",
        )
    if state == "token-timeout":
        return attrs.evolve(
            candidate, status=Status.FAILED, fix=f"{candidate.fix}; {_IMDSV1_OPT_IN}"
        )
    return candidate


def _fetcher(ctx: Context, url: str, allow_imdsv1: bool) -> fetch.InstanceFetcher:
    found = settings(ctx)
    # The probe's short connect timeout tells "not EC2" apart; a service
    # that answered it gets the read deadline to accept a fetch, as botocore.
    return fetch.InstanceFetcher(
        endpoint=url,
        connect_timeout=max(ctx.timeouts.imds_connect, found.deadline),
        deadline=found.deadline,
        allow_imdsv1=allow_imdsv1 and not found.v1_disabled,
        clock=ctx.now,
        attempts=found.attempts,
        retry_timeouts=found.attempts_set,
    )


_NOT_USABLE = {
    "no-role": "attach an instance profile to the instance",
    "error": fetch.UNHEALTHY_FIX,
    "unreachable": fetch.UNREACHABLE_FIX,
}


@attrs.frozen
class InstanceProvider:
    """Credentials from the instance profile, refreshed through credpick's IMDSv2 path.

    botocore's ``RefreshableCredentials`` decides when to refresh; every
    fetch (the first reuses the probe's token and role name) is bounded and
    capped, and a failure raises :class:`~credpick.SourceFailed`.
    """

    METHOD = "iam-role"

    context: Context = attrs.field(repr=False)
    allow_imdsv1: bool = False

    def load(self) -> Any:
        """Fetch now; the result refreshes itself.

        Raises:
            SourceFailed: The metadata service gave no usable credentials.
        """
        ctx = self.context
        if ctx.flag(ev.IMDS_DISABLED):
            raise SourceFailed(
                f"the instance profile was asked for, but {ev.IMDS_DISABLED}=true",
                kind=KIND.value,
                fix=f"unset {ev.IMDS_DISABLED}, or use another credential source",
            )
        verdict = probe(ctx)
        fetcher = _fetcher(ctx, verdict.endpoint, self.allow_imdsv1)
        if verdict.state in _NOT_USABLE:
            shown = display_url(verdict.endpoint)
            reason = (
                f"the metadata service at {shown} cannot be reached ({verdict.detail})"
                if verdict.state == "unreachable"
                else verdict.detail
            )
            raise SourceFailed(
                reason,
                kind=KIND.value,
                evidence=(f"metadata service at {display_url(verdict.endpoint)}",),
                fix=_NOT_USABLE[verdict.state],
            )
        metadata = fetcher.fetch(fetch.Hint(verdict.role_name, verdict.token))
        register_features("CREDENTIALS_IMDS")  # as botocore's InstanceMetadataProvider
        return RefreshableCredentials.create_from_metadata(
            metadata, method=self.METHOD, refresh_using=fetcher.fetch
        )


def instance_credentials(ctx: Context, policy: Policy) -> InstanceProvider:
    """A provider of the instance profile's credentials, for other sources.

    For a profile's ``credential_source = Ec2InstanceMetadata``: the same
    probe, bounded IMDSv2 path and refresh as the ``ec2-instance-profile``
    source; IMDSv1 only with ``Policy(allow_imdsv1=True)``. Its ``load()``
    raises :class:`~credpick.SourceFailed` when the service cannot deliver.
    """
    return InstanceProvider(context=ctx, allow_imdsv1=policy.allow_imdsv1)


def build(candidate: Candidate, inputs: BuildInputs) -> InstanceProvider:
    return instance_credentials(inputs.context, inputs.policy)


# The instance's region (``placement/region``), for credpick._region: one
# bounded, capped request with the probe's token, made on first use and cached
# beside the verdict.

_REGION_PATH = "/latest/meta-data/placement/region"
# A region name, and nothing else: never pass on (or log) an odd body.
_REGION_SHAPE = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}")


def cached_region(ctx: Context) -> str | None:
    """The region :func:`region` already fetched for this endpoint; no request."""
    with _state.lock:
        return _state.regions.get(endpoint(ctx))


def _fetch_region(ctx: Context, verdict: Probe) -> str | None:
    connect = max(ctx.timeouts.imds_connect, settings(ctx).deadline)
    with _connection(ctx, verdict.endpoint, connect_timeout=connect) as conn:
        found = fetch.get_text(
            conn, "region", _REGION_PATH, verdict.token, http.REGION_CAP, _REGION_SHAPE
        )
        if found.status == 401:  # the probe's token expired (6 h): one fresh token, once
            token = fetch.put_token(conn)
            if token.value is None:
                return None
            found = fetch.get_text(
                conn, "region", _REGION_PATH, token.value, http.REGION_CAP, _REGION_SHAPE
            )
    return found.value


def region(ctx: Context) -> str | None:
    """The instance's region (``placement/region``): one request, then cached.

    Reuses the probe's token. Asked only when the instance profile is the
    chosen source and nothing else named a region; ``None`` when the
    metadata service cannot say (botocore then raises ``NoRegionError``).
    """
    cached = cached_region(ctx)
    if cached is not None:
        return cached
    verdict = probe(ctx)
    if verdict.state in ("unreachable", "error", "no-role"):
        return None
    found = _fetch_region(ctx, verdict)
    if found is not None:
        with _state.lock:
            _state.regions.setdefault(verdict.endpoint, found)
    return found
