"""Type-checked only (mypy --strict): the public API as a user writes it."""

from __future__ import annotations

import boto3
import botocore.session

import credpick
from credpick import AssumeRole, Candidate, Detection, Policy, SourceKind, migrate


def hook(detection: Detection) -> None:
    if detection.chosen is not None and detection.chosen.kind is SourceKind.STATIC:
        raise credpick.PolicyViolation("no keys here", kind=detection.chosen.kind.value)


policy = Policy(static_keys="forbid", allow_imdsv1=False, hook=hook)
session: boto3.Session = credpick.session(policy=policy, region_name="eu-west-1")
detection: Detection = credpick.detect(profile_name="dev", role_arn=None, region_name="eu-west-1")
region: str | None = detection.region
region_source: str | None = detection.region_source
wrapped: boto3.Session = credpick.wrap(boto3.Session(), policy=policy, replace=True)
from_botocore: boto3.Session = credpick.wrap(botocore.session.Session())
guarded: boto3.Session = credpick.guard(credpick.session(), policy=Policy(static_keys="forbid"))
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

vendor = AssumeRole(
    "arn:aws:iam::210987654321:role/vendor",
    external_id="acme-7d1c",
    session_name=None,
    duration_seconds=900,
    source_identity="alice",
    tags={"team": "data"},
)
hop = AssumeRole(role_arn="arn:aws:iam::111122223333:role/hop")
one_role: boto3.Session = credpick.session(assume_role=vendor)
two_roles: boto3.Session = credpick.session(role_arn=None, assume_role=[hop, vendor])
chained_wrap: boto3.Session = credpick.wrap(boto3.Session(), replace=True, assume_role=(hop,))
chain: tuple[AssumeRole, ...] = credpick.detect(assume_role=vendor).chain
link_json: dict[str, object] = chain[0].to_dict() if chain else {}
external_id_set: bool = vendor.external_id is not None


def predicate_hook(detection: Detection) -> bool | None:
    """Return None to accept; False (any value but None) refuses."""
    return None if detection.chosen is not None else False


predicate_policy = Policy(hook=predicate_hook)
root_long_lived: bool | None = candidates[0].provenance.root.long_lived if candidates else None
rooted: bool = candidates[0].rooted_in_long_lived if candidates else False
link_roles: list[str] = [link.role_arn for link in candidates[0].provenance.links]

# The migration toolkit, from its own subpackage and through the old top-level names.
scanned: migrate.ScanReport = migrate.scan(["."], include_env=False)
scan_kinds: list[migrate.IdKind] = [f.kind for f in scanned.findings]
scan_text: str = migrate.render_scan(scanned)
audited: migrate.AuditReport = migrate.audit(boto3.Session(), unused_days=30)
audit_flags: list[migrate.Flag] = [flag for key in audited.keys for flag in key.flags]
audit_keys: tuple[migrate.KeyFinding, ...] = audited.keys
audit_text: str = migrate.render_audit(audited, show_all=True)
old_scan: credpick.ScanReport = credpick.scan("src")
