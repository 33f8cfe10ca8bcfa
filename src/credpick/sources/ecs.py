"""Amazon ECS (and Fargate): the task role, served by the ECS agent."""

from __future__ import annotations

from .._context import Context
from .._model import Candidate, SourceKind
from . import _container_uri
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.ECS
LOOKS_AT = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or FULL_URI with ECS metadata variables"


def detect(ctx: Context) -> list[Candidate]:
    return _container_uri.detect(ctx, KIND, "ECS task role from the container credential endpoint")


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _container_uri.build(candidate, inputs)
