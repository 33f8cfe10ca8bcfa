"""A profile that assumes a role from another profile or a named credential source."""

from __future__ import annotations

from .. import _files
from .._context import Context
from .._model import Candidate, SourceKind, Status
from . import _profile
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.ASSUME_ROLE
LOOKS_AT = "the active profile's role_arn with source_profile or credential_source"
_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")


def detect(ctx: Context) -> list[Candidate]:
    """``role_arn`` with ``source_profile`` or ``credential_source``."""
    name, explicit, settings = _profile.active(ctx)
    role_arn = settings.get("role_arn")
    source_profile = settings.get("source_profile")
    credential_source = settings.get("credential_source")
    if not role_arn or not (source_profile or credential_source):
        return []
    evidence = [f"role_arn={role_arn} in profile '{name}'"]
    problem = None
    if source_profile:
        evidence.append(f"source_profile={source_profile}")
        if not _files.load(ctx).knows(source_profile):
            problem = f"source_profile '{source_profile}' of profile '{name}' is not defined"
    if credential_source:
        evidence.append(f"credential_source={credential_source}")
        if credential_source not in _SOURCES:
            problem = f"credential_source '{credential_source}' is not one of {', '.join(_SOURCES)}"
        if source_profile:
            problem = f"profile '{name}' sets both source_profile and credential_source"
    return [
        Candidate(
            kind=KIND,
            status=Status.FAILED if problem else Status.AVAILABLE,
            origin=f"profile '{name}'",
            evidence=tuple(evidence),
            reason=problem or "assumes a role from the profile's source credentials",
            fix=f"fix profile '{name}' in {ctx.config_file}" if problem else None,
            explicit=explicit,
            role_arn=role_arn,
            profile=name,
        )
    ]


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return _profile.botocore_provider(inputs, "assume-role")
