"""The metadata probe's gate: whether asking the network is worth it.

Apart from :mod:`.imds` so that detection can answer "a safer source
decided", "disabled" or "not EC2 hardware" (every runtime but EC2) without
importing the probe, its HTTP client and its fetcher. :mod:`.imds` re-exports
these names, so both paths ask one gate.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import _envvars as ev
from .. import _safe_io
from .._context import Context
from .._kinds import RANK, SourceKind
from .._model import Candidate, Status
from ._imds_settings import settings

KIND = SourceKind.EC2_INSTANCE_PROFILE
_DMI_CAP = 4096


def _read(ctx: Context, path: str) -> str | None:
    # Bounded and non-blocking: a FIFO planted at a DMI path must not hang detection.
    try:
        data = _safe_io.read_bytes(ctx.root / path, limit=_DMI_CAP)
    except _safe_io.FileProblem:
        return None
    return data.decode("utf-8", "replace").strip().lower()


# Each file, and how its (lower-cased) content starts on EC2.
_SIGNS = (
    ("sys/class/dmi/id/sys_vendor", "amazon ec2"),
    ("sys/class/dmi/id/product_uuid", "ec2"),
    ("sys/class/dmi/id/board_asset_tag", "i-"),
    ("sys/hypervisor/uuid", "ec2"),
)


def hardware_signs(ctx: Context) -> tuple[str, ...]:
    """The hardware identity files under ``ctx.root`` that say EC2."""
    found = []
    for path, mark in _SIGNS:
        value = _read(ctx, path)
        exact = path.endswith("sys_vendor")
        if value is not None and (value == mark if exact else value.startswith(mark)):
            found.append("/" + path)
    return tuple(found)


def skip_reason(ctx: Context) -> str | None:
    """Why the metadata service need not be probed, or ``None`` to probe."""
    if ctx.flag(ev.IMDS_DISABLED):
        return f"{ev.IMDS_DISABLED}=true"
    if settings(ctx).endpoint_set:
        return None  # someone pointed us at an endpoint: ask it
    vendor = _read(ctx, "sys/class/dmi/id/sys_vendor")
    if vendor is not None and not hardware_signs(ctx):
        return f"hardware vendor is '{vendor}' (/sys/class/dmi/id/sys_vendor), not Amazon EC2"
    return None


def _could_decide(found: Sequence[Candidate]) -> bool:
    """Whether the instance profile could change the pick, or a profile's
    ``credential_source = Ec2InstanceMetadata`` stands on it."""
    if any(c.provenance.root.source is KIND for c in found):
        return True
    for c in found:
        if c.status is Status.UNAVAILABLE:
            continue
        if c.rank < RANK[KIND] or (c.explicit and c.role_based):
            return False
    return True


def skip(ctx: Context, found: Sequence[Candidate]) -> str | None:
    """Why detection need not probe, given what the cheap sources ``found``.

    Raises:
        ConfigurationError: A metadata setting is malformed (checked even
            when the probe is skipped, as botocore does).
    """
    settings(ctx)
    if not _could_decide(found):
        return "a safer source decided"
    return skip_reason(ctx)
