"""A profile whose credentials come from an external program."""

from __future__ import annotations

import shlex

from .._context import Context
from .._model import Candidate, SourceKind
from . import _profile
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.CREDENTIAL_PROCESS
LOOKS_AT = "the active profile's credential_process"


def detect(ctx: Context) -> list[Candidate]:
    name, explicit, settings = _profile.active(ctx)
    command = settings.get("credential_process")
    if not command:
        return []
    try:
        program = shlex.split(str(command))[0]
    except (ValueError, IndexError):
        program = "(unparsable command)"
    return [
        Candidate(
            kind=KIND,
            origin=f"profile '{name}'",
            # Only the program name: arguments often carry secrets or paths to them.
            evidence=(f"credential_process runs {program} (profile '{name}')",),
            reason="credentials from an external program",
            explicit=explicit,
            profile=name,
        )
    ]


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _profile.botocore_provider(inputs, "custom-process")
