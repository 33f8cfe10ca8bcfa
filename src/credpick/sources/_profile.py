"""Profile-based sources share this: the active profile's settings, and
botocore's own provider for it, built from a session bound to that profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.credentials import create_credential_resolver

from .. import _files
from .._context import Context
from ._base import BuildInputs, CredentialProvider


def active(ctx: Context) -> tuple[str, bool, Mapping[str, Any]]:
    """The active profile's name, whether it was chosen explicitly, and its settings."""
    name, explicit = ctx.active_profile()
    return name, explicit, _files.load(ctx).profile(name)


def botocore_provider(inputs: BuildInputs, method: str) -> CredentialProvider:
    """botocore's provider for ``method``, from the chain it would build itself."""
    resolver = create_credential_resolver(inputs.botocore_session, region_name=inputs.region)
    provider = resolver.get_provider(method)
    return provider  # type: ignore[no-any-return]
