"""Where a session's region comes from, in botocore's order, plus the instance.

1. ``region_name=``
2. ``AWS_REGION``
3. ``AWS_DEFAULT_REGION``
4. the profile's ``region``
5. on EC2, when the instance profile is the chosen source, the metadata
   service's ``placement/region``: one extra request, made only when a client
   first needs the region, then cached for the process.
"""

from __future__ import annotations

from typing import Any

from . import _envvars as ev
from . import _files
from ._context import Context
from ._model import Candidate, SourceKind, Status
from .exceptions import ConfigurationError

ARGUMENT = "region_name="
INSTANCE_METADATA = "instance metadata (placement/region)"


def resolve(
    ctx: Context, region_name: str | None, chosen: Candidate | None
) -> tuple[str | None, str | None]:
    """The region and where it came from; ``(None, None)`` when nothing says.

    The instance's region is reported as ``(cached value or None,
    INSTANCE_METADATA)``: detection stays free of extra requests.
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
    if (
        chosen is not None
        and chosen.kind is SourceKind.EC2_INSTANCE_PROFILE
        and chosen.status is Status.CHOSEN
    ):
        from .sources import _imds_region as imds

        return imds.cached_region(ctx), INSTANCE_METADATA
    return None, None


class _InstanceRegion:
    """A botocore config provider that asks the metadata service, once."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def provide(self) -> str | None:
        from .sources import _imds_region as imds

        return imds.region(self._ctx)

    def __deepcopy__(self, memo: dict[int, Any]) -> _InstanceRegion:
        # botocore deep-copies its config store per client; the cache is
        # module-level anyway, and the context is immutable.
        return self


def install_instance_region(botocore_session: Any, ctx: Context) -> None:
    """Make the instance's region botocore's last resort for ``region``.

    Anything botocore would find first (``set_config_variable``, the
    environment, the profile) still wins; the request is made only when a
    client is created without a region, or ``Session.region_name`` is read.
    """
    from botocore.configprovider import ChainProvider

    store = botocore_session.get_component("config_store")
    current = store.get_config_provider("region")
    providers = [p for p in (current, _InstanceRegion(ctx)) if p is not None]
    store.set_config_provider("region", ChainProvider(providers=providers))
