"""EKS Pod Identity: the agent on 169.254.170.23, authorised by a projected token."""

from __future__ import annotations

from .._context import Context
from .._model import Candidate, SourceKind
from . import _container_uri
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.EKS_POD_IDENTITY
LOOKS_AT = "AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"


def detect(ctx: Context) -> list[Candidate]:
    return _container_uri.detect(ctx, KIND, "EKS Pod Identity agent")


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _container_uri.build(candidate, inputs)
