"""Any other container credential endpoint, such as a local sidecar."""

from __future__ import annotations

from .._context import Context
from .._model import Candidate, SourceKind
from . import _container_uri
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.CONTAINER
LOOKS_AT = "AWS_CONTAINER_CREDENTIALS_FULL_URI"


def detect(ctx: Context) -> list[Candidate]:
    return _container_uri.detect(ctx, KIND, "a local container credential endpoint (sidecar)")


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _container_uri.build(candidate, inputs)
