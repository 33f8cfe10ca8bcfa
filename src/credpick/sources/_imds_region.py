"""The instance's region from the metadata service (``placement/region``).

Split from :mod:`.imds` because only region resolution needs it: one bounded,
capped request with the probe's token, made on first use and cached beside
the verdict.
"""

from __future__ import annotations

import re

from .._context import Context
from . import _imds_fetch as fetch
from . import _imds_http as http
from .imds import Probe, _state, endpoint, probe

_REGION_PATH = "/latest/meta-data/placement/region"
# A region name, and nothing else: never pass on (or log) an odd body.
_REGION_SHAPE = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}")


def cached_region(ctx: Context) -> str | None:
    """The region :func:`region` already fetched for this endpoint; no request."""
    with _state.lock:
        return _state.regions.get(endpoint(ctx))


def _fetch_region(ctx: Context, verdict: Probe) -> str | None:
    t = ctx.timeouts
    with http.Connection(
        verdict.endpoint, connect_timeout=max(t.imds_connect, t.imds_read), deadline=t.imds_read
    ) as conn:
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
