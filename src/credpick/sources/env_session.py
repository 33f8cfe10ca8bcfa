"""Temporary keys exported into the environment outside Lambda (a CI step, a script)."""

from __future__ import annotations

from .. import _envvars as ev
from .._context import Context
from .._mask import mask_key_id
from .._model import Candidate, SourceKind
from . import _envkeys
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.ENV_SESSION
LOOKS_AT = "temporary keys (ASIA with AWS_SESSION_TOKEN) in the environment"


def detect(ctx: Context) -> list[Candidate]:
    keys = _envkeys.read(ctx)
    if not keys.temporary or ctx.get(ev.LAMBDA_FUNCTION_NAME):
        return []
    return [
        Candidate(
            kind=KIND,
            origin="environment",
            evidence=keys.evidence(),
            reason="temporary keys in the environment; they cannot refresh",
            key_id=mask_key_id(keys.key_id),
        )
    ]


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _envkeys.build(inputs)
