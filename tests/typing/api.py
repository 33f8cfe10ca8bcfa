"""Type-checked only (mypy --strict): the public API as a user writes it."""

from __future__ import annotations

import boto3

import credpick
from credpick import Candidate, Detection, Policy, SourceKind


def hook(detection: Detection) -> None:
    if detection.chosen is not None and detection.chosen.kind is SourceKind.STATIC:
        raise credpick.PolicyViolation("no keys here", kind=detection.chosen.kind.value)


policy = Policy(static_keys="forbid", allow_imdsv1=False, hook=hook)
session: boto3.Session = credpick.session(policy=policy, region_name="eu-west-1")
detection: Detection = credpick.detect(profile_name="dev", role_arn=None)
chosen: Candidate | None = detection.chosen
candidates: tuple[Candidate, ...] = detection.candidates
report: str = detection.explain()
as_json: dict[str, object] = detection.to_dict()
kind: str = candidates[0].kind.value if candidates else SourceKind.STATIC.value
errors: tuple[type[credpick.CredpickError], ...] = (
    credpick.PolicyViolation,
    credpick.StaticKeysRefused,
    credpick.NoCredentialsFound,
    credpick.SourceFailed,
    credpick.ConfigurationError,
)
