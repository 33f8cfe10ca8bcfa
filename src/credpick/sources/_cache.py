"""The JSON token caches the AWS CLI writes (SSO, ``aws login``), read bounded.

Shared by the sso and login sources: at detection, and when botocore's own
providers read the cache (:class:`BoundedJSONCache`), every entry goes through
:mod:`credpick._safe_io`, so a FIFO or a huge file there is a verdict, not a hang.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.utils import JSONFileCache

from .. import _safe_io

#: The problem :func:`read_json` gives for a file that is not there.
MISSING = "missing"


def read_json(path: str | Path) -> tuple[Mapping[str, Any] | None, str | None]:
    """The cached JSON object, or why there is none (:data:`MISSING` if absent).

    The reason never quotes the file: a JSON error would echo its tokens.
    """
    try:
        text = _safe_io.read_text(path, limit=_safe_io.JSON_CACHE)
    except _safe_io.FileProblem as problem:
        return None, MISSING if problem.reason == "does not exist" else problem.reason
    try:
        cached = json.loads(text)
    except (ValueError, RecursionError):
        return None, "is not valid JSON"
    if not isinstance(cached, dict):
        return None, "is not a JSON object"
    return cached, None


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time from a cache (``Z`` allowed), timezone aware, or ``None``."""
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class BoundedJSONCache(JSONFileCache):  # type: ignore[misc]
    """botocore's JSON file cache, reading each entry bounded and non-blocking.

    An entry that cannot be read is absent, as botocore's own cache treats a
    file it cannot parse; credpick's detection has already named the problem.
    """

    def __contains__(self, cache_key: str) -> bool:
        return read_json(self._convert_cache_key(cache_key))[0] is not None

    def __getitem__(self, cache_key: str) -> Any:
        cached = read_json(self._convert_cache_key(cache_key))[0]
        if cached is None:
            raise KeyError(cache_key)
        return cached
