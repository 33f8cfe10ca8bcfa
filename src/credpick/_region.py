"""Where a session's region comes from, in botocore's order, plus the instance.

1. ``region_name=``
2. ``AWS_REGION``
3. ``AWS_DEFAULT_REGION``
4. the profile's ``region``
5. the chosen source's own region, for a source that knows where it runs
   (on EC2, the metadata service's ``placement/region``): one extra request,
   made only when a client first needs the region, then cached for the process.
   Such a source declares ``REGION_SOURCE`` (see
   :class:`credpick.sources.RegionSource`); nothing here names one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from . import _envvars as ev
from . import _files
from ._context import Context
from ._model import Candidate, Status
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from .sources import RegionSource

ARGUMENT = "region_name="


def _knows_region(chosen: Candidate | None) -> RegionSource | None:
    """The chosen source's module, when it can tell the region it runs in."""
    if chosen is None or chosen.status is not Status.CHOSEN:
        return None
    from .sources import BY_KIND

    source = BY_KIND.get(chosen.kind)
    return cast("RegionSource", source) if hasattr(source, "REGION_SOURCE") else None


def resolve(
    ctx: Context, region_name: str | None, chosen: Candidate | None
) -> tuple[str | None, str | None]:
    """The region and where it came from; ``(None, None)`` when nothing says.

    The chosen source's region is reported as ``(cached value or None, its
    REGION_SOURCE)``: detection stays free of extra requests.
    """
    if region_name:
        return region_name, ARGUMENT
    for var in (ev.REGION, ev.DEFAULT_REGION):
        value = ctx.get(var)
        if value:
            return value, var
    profile = (chosen.profile if chosen is not None else None) or ctx.active_profile()[0]
    try:
        value = _files.load(ctx).profile(profile).get("region")
    except ConfigurationError:
        value = None  # detection reports the broken file; the region just stays unknown
    if value:
        return str(value), f"profile '{profile}' ({ctx.config_file})"
    source = _knows_region(chosen)
    if source is not None:
        return source.cached_region(ctx), source.REGION_SOURCE
    return None, None


class _SourceRegion:
    """A botocore config provider that asks the chosen source, once."""

    def __init__(self, source: RegionSource, ctx: Context) -> None:
        self._source = source
        self._ctx = ctx

    def provide(self) -> str | None:
        return self._source.region(self._ctx)

    def __deepcopy__(self, memo: dict[int, Any]) -> _SourceRegion:
        # botocore deep-copies its config store per client; the source caches
        # at module level anyway, and the context is immutable.
        return self


def install_source_region(botocore_session: Any, ctx: Context, chosen: Candidate) -> bool:
    """Make the chosen source's region botocore's last resort for ``region``.

    Anything botocore would find first (``set_config_variable``, the
    environment, the profile) still wins; the request is made only when a
    client is created without a region, or ``Session.region_name`` is read.
    ``False`` when the chosen source cannot tell its region.
    """
    source = _knows_region(chosen)
    if source is None:
        return False
    from botocore.configprovider import ChainProvider

    store = botocore_session.get_component("config_store")
    current = store.get_config_provider("region")
    providers = [p for p in (current, _SourceRegion(source, ctx)) if p is not None]
    store.set_config_provider("region", ChainProvider(providers=providers))
    return True
