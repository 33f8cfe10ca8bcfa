"""One module per credential source, each with the same two faces.

``detect(context) -> list[Candidate]`` gathers evidence without network I/O
(the metadata probe in :mod:`.imds` is the one gated exception), and
``build(candidate, inputs)`` returns botocore's own credential provider.
Adding a source means adding a module and a line below.
"""

from __future__ import annotations

from types import MappingProxyType

from .._model import SourceKind
from . import (
    assume_role,
    container,
    credential_process,
    ecs,
    eks_pod_identity,
    env_session,
    github_oidc,
    imds,
    lambda_,
    login,
    sso,
    static,
    web_identity,
)
from ._base import BuildInputs, CredentialProvider, NetworkSource, RegionSource, Source

# Detection order; ranking is separate (see credpick._kinds.RANK).
SOURCES: tuple[Source, ...] = (
    lambda_,
    ecs,
    eks_pod_identity,
    web_identity,
    github_oidc,
    imds,
    sso,
    login,
    assume_role,
    credential_process,
    container,
    env_session,
    static,
)

BY_KIND: MappingProxyType[SourceKind, Source] = MappingProxyType({s.KIND: s for s in SOURCES})

__all__ = [
    "BY_KIND",
    "SOURCES",
    "BuildInputs",
    "CredentialProvider",
    "NetworkSource",
    "RegionSource",
    "Source",
]
