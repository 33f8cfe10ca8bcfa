"""The instance-metadata settings, read as botocore reads them.

Each comes from its environment variable, else the active profile's key in the
config file (botocore's ``configprovider``), else the default:

============================================  ========================================  =========
variable                                      config-file key                           default
============================================  ========================================  =========
``AWS_EC2_METADATA_SERVICE_ENDPOINT``         ``ec2_metadata_service_endpoint``         by mode
``AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE``    ``ec2_metadata_service_endpoint_mode``    ``IPv4``
``AWS_IMDS_USE_IPV6``                         ``imds_use_ipv6``                         false
``AWS_METADATA_SERVICE_NUM_ATTEMPTS``         ``metadata_service_num_attempts``         see below
``AWS_METADATA_SERVICE_TIMEOUT``              ``metadata_service_timeout``              see below
``AWS_EC2_METADATA_V1_DISABLED``              ``ec2_metadata_v1_disabled``              false
============================================  ========================================  =========

Where credpick differs, on purpose: a bad value is a ``ConfigurationError``
naming where it was set (botocore raises for a bad mode, but silently uses a
bad endpoint until the first request); without ``num_attempts``, a reply of
5xx or 429 and a dropped connection are tried three times (botocore tries
once), never a timeout, so "not on EC2" stays one short wait; ``timeout`` is
the deadline of each whole request once connected (``Timeouts.imds_read``
when unset), while the connect timeout stays ``Timeouts.imds_connect``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _envvars as ev
from .. import _files, _validate
from .._context import Context
from ..exceptions import ConfigurationError

DEFAULT_ENDPOINT = "http://169.254.169.254/"
IPV6_ENDPOINT = "http://[fd00:ec2::254]/"
MODES = {"ipv4": DEFAULT_ENDPOINT, "ipv6": IPV6_ENDPOINT}
#: Tries of a transient failure (5xx, 429, a dropped connection) when
#: ``num_attempts`` is not set: as the Go and Rust SDKs, not botocore's one.
DEFAULT_ATTEMPTS = 3
#: Bounds that keep a configured probe finite.
MAX_ATTEMPTS = 10
MAX_TIMEOUT = 60.0

_NUM_ATTEMPTS = "AWS_METADATA_SERVICE_NUM_ATTEMPTS"
_TIMEOUT = "AWS_METADATA_SERVICE_TIMEOUT"
_USE_IPV6 = "AWS_IMDS_USE_IPV6"


@attrs.frozen
class Settings:
    """The metadata settings in force.

    Attributes:
        endpoint: The base URL, ending in ``/``.
        endpoint_set: Where a custom endpoint was set, or ``None`` for the default.
        attempts: Tries of each request.
        attempts_set: Whether ``num_attempts`` was set: then timeouts and
            connection failures are tried again too, as botocore does.
        deadline: Seconds for each whole request once connected.
        v1_disabled: IMDSv1 is off whatever the policy allows.
    """

    endpoint: str
    endpoint_set: str | None
    attempts: int
    attempts_set: bool
    deadline: float
    v1_disabled: bool


def _where(ctx: Context, profile: str, key: str) -> str:
    return f"{key} in profile '{profile}' ({ctx.config_file})"


def _lookup(
    ctx: Context, var: str, key: str, profile: str, config: Mapping[str, Any]
) -> tuple[str, str] | None:
    """The value and where it was set: the variable first, then the profile."""
    value = ctx.get(var)
    if value is not None:
        return value, var
    found = config.get(key)
    if isinstance(found, str) and found.strip():
        return found.strip(), _where(ctx, profile, key)
    return None


def _bad(where: str, value: str, allowed: str, fix: str) -> ConfigurationError:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return ConfigurationError(
        f"{where} is {shown!r}, which is not {allowed}", evidence=(where,), fix=fix
    )


def _flag(found: tuple[str, str] | None) -> bool:
    if found is None:
        return False
    value, where = found
    if value.lower() not in ("true", "false"):
        raise _bad(where, value, "true or false", f"set {where} to true or false")
    return value.lower() == "true"


def _endpoint(ctx: Context, found: tuple[str, str] | None, mode: str) -> str:
    if found is None:
        return MODES[mode]
    value, where = found
    from .. import _url  # only for an endpoint someone set

    _validate.endpoint(where, value)  # names where it was set; shows no user info or query
    url = _url.parse(value)
    if url.query is not None:
        raise _bad(where, url.display, "a URL without a query", f"drop the query from {where}")
    # Rebuilt from the parsed parts, so every later request reads what was checked.
    return url.display if url.display.endswith("/") else url.display + "/"


def _mode(found: tuple[str, str] | None, ipv6: bool) -> str:
    if found is None:
        return "ipv6" if ipv6 else "ipv4"
    value, where = found
    if value.lower() not in MODES:
        raise _bad(where, value, "IPv4 or IPv6", f"set {where} to IPv4 or IPv6, or unset it")
    return value.lower()


def _number(found: tuple[str, str] | None, *, whole: bool, top: float) -> float | None:
    if found is None:
        return None
    value, where = found
    kind = "a whole number" if whole else "a number of seconds"
    allowed = f"{kind} from 1 to {top:g}"
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        raise _bad(where, value, allowed, f"set {where} to {allowed}") from None
    if not math.isfinite(number) or not 0 < number <= top or (whole and number < 1):
        raise _bad(where, value, allowed, f"set {where} to {allowed}")
    return number


# Per context: detection asks several times (gate, endpoint, deadline). A
# Context compares by identity, so two snapshots never share an entry.
@functools.lru_cache(maxsize=16)
def settings(ctx: Context) -> Settings:
    """The metadata settings of this context.

    Raises:
        ConfigurationError: A setting is malformed; it names the variable or
            the profile's key.
    """
    profile, _ = ctx.active_profile()
    try:
        config = _files.load(ctx).profile(profile)
    except ConfigurationError:
        config = {}  # detection reports the broken file; the variables still count
    found = functools.partial(_lookup, ctx, profile=profile, config=config)
    endpoint = found(ev.IMDS_ENDPOINT, "ec2_metadata_service_endpoint")
    mode = _mode(
        found(ev.IMDS_ENDPOINT_MODE, "ec2_metadata_service_endpoint_mode"),
        _flag(found(_USE_IPV6, "imds_use_ipv6")),
    )
    attempts = _number(
        found(_NUM_ATTEMPTS, "metadata_service_num_attempts"), whole=True, top=MAX_ATTEMPTS
    )
    timeout = _number(found(_TIMEOUT, "metadata_service_timeout"), whole=False, top=MAX_TIMEOUT)
    return Settings(
        endpoint=_endpoint(ctx, endpoint, mode),
        endpoint_set=endpoint[1] if endpoint else None,
        attempts=int(attempts) if attempts is not None else DEFAULT_ATTEMPTS,
        attempts_set=attempts is not None,
        deadline=timeout if timeout is not None else ctx.timeouts.imds_read,
        v1_disabled=_flag(found(ev.IMDS_V1_DISABLED, "ec2_metadata_v1_disabled")),
    )
