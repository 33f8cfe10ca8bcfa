"""The instance's region from the metadata service (``placement/region``).

Split from :mod:`.imds` because only region resolution needs it: one request
with the probe's token, made on first use and cached beside the verdict.
"""

from __future__ import annotations

import http.client
import re

from .._context import Context
from .imds import (
    _TOKEN_PATH,
    _TOKEN_SHAPE,
    Probe,
    _cache_lock,
    _connect,
    _regions,
    _request,
    _Timeout,
    endpoint,
    probe,
)

_REGION_PATH = "/latest/meta-data/placement/region"
# A region name, and nothing else: never pass on (or log) an odd body.
_REGION_SHAPE = re.compile(r"[a-z]{2}(-[a-z0-9]+)+-\d{1,2}")


def cached_region(ctx: Context) -> str | None:
    """The region :func:`region` already fetched for this endpoint; no request."""
    with _cache_lock:
        return _regions.get(endpoint(ctx))


def _fetch_region(ctx: Context, verdict: Probe) -> str | None:
    conn = _connect(ctx, verdict.endpoint)
    if conn is None:
        return None
    try:
        headers = {"x-aws-ec2-metadata-token": verdict.token} if verdict.token else {}
        status, body = _request(conn, "GET", _REGION_PATH, headers)
        if status == 401:  # the probe's token expired (6 h): one fresh token, once
            status, token = _request(
                conn, "PUT", _TOKEN_PATH, {"x-aws-ec2-metadata-token-ttl-seconds": "21600"}
            )
            fresh = token.decode("utf-8", "replace").strip()
            if status != 200 or not _TOKEN_SHAPE.fullmatch(fresh):
                return None
            headers = {"x-aws-ec2-metadata-token": fresh}
            status, body = _request(conn, "GET", _REGION_PATH, headers)
    except (_Timeout, OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
    text = body.decode("utf-8", "replace").strip()
    return text if status == 200 and _REGION_SHAPE.fullmatch(text) else None


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
    if verdict.state in ("absent", "error", "no-role"):
        return None
    found = _fetch_region(ctx, verdict)
    if found is not None:
        with _cache_lock:
            _regions.setdefault(verdict.endpoint, found)
    return found
