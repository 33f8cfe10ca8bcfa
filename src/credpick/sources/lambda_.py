"""AWS Lambda: the execution role's temporary keys, put in the environment."""

from __future__ import annotations

from .. import _envvars as ev
from .._context import Context
from .._mask import mask_key_id
from .._model import Candidate, SourceKind
from . import _envkeys
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.LAMBDA
LOOKS_AT = "AWS_LAMBDA_FUNCTION_NAME with temporary keys in the environment"


def detect(ctx: Context) -> list[Candidate]:
    """Lambda sets the function name and the role's ``ASIA`` keys with a token."""
    function = ctx.get(ev.LAMBDA_FUNCTION_NAME)
    keys = _envkeys.read(ctx)
    if function is None or not keys.temporary:
        return []
    return [
        Candidate(
            kind=KIND,
            origin="environment",
            evidence=(f"{ev.LAMBDA_FUNCTION_NAME}={function}", *keys.evidence()),
            reason="Lambda execution role",
            key_id=mask_key_id(keys.key_id),
        )
    ]


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _envkeys.build(inputs)
