"""Long-lived access keys: the environment, the credentials file, the config file.

These are what credpick exists to keep out of production: an IAM user's
``AKIA`` key never expires, so a leak lasts until someone notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.credentials import ConfigProvider, SharedCredentialProvider

from .. import _envvars as ev
from .. import _files
from .._context import Context
from .._mask import is_temporary_key_id, mask_key_id
from .._model import Candidate, SourceKind, Status
from . import _envkeys
from ._base import BuildInputs, CredentialProvider

KIND = SourceKind.STATIC
LOOKS_AT = "AWS_ACCESS_KEY_ID, and the active profile's keys in the credentials and config files"
_FIX = "use a role (instance profile, task role, IRSA, SSO) and delete the key"


def _from_env(ctx: Context) -> list[Candidate]:
    keys = _envkeys.read(ctx)
    if not keys.present or keys.temporary:
        return []
    problem = keys.half_pair_problem()
    if problem:
        return [
            Candidate(
                kind=KIND,
                status=Status.FAILED,
                origin="environment",
                evidence=keys.evidence(),
                reason=problem,
                fix=f"set both {ev.ACCESS_KEY_ID} and {ev.SECRET_ACCESS_KEY}, or neither",
                long_lived=True,
                key_id=mask_key_id(keys.key_id),
            )
        ]
    return [
        Candidate(
            kind=KIND,
            origin="environment",
            evidence=keys.evidence(),
            reason=f"long-lived key in {ev.ACCESS_KEY_ID}",
            fix=f"unset {ev.ACCESS_KEY_ID}/{ev.SECRET_ACCESS_KEY}; {_FIX}",
            long_lived=True,
            key_id=mask_key_id(keys.key_id),
            params={"store": "env"},
        )
    ]


def _from_section(
    section: Mapping[str, Any], *, store: str, where: str, profile: str, explicit: bool
) -> list[Candidate]:
    key_id = section.get("aws_access_key_id")
    has_secret = bool(section.get("aws_secret_access_key"))
    if not key_id and not has_secret:
        return []
    token = bool(section.get("aws_session_token") or section.get("aws_security_token"))
    temporary = bool(key_id) and token and is_temporary_key_id(str(key_id))
    evidence = [f"aws_access_key_id={mask_key_id(key_id)} in {where}" if key_id else where]
    if not (key_id and has_secret):
        missing = "aws_secret_access_key" if key_id else "aws_access_key_id"
        return [
            Candidate(
                kind=KIND,
                status=Status.FAILED,
                origin=f"profile '{profile}'",
                evidence=tuple(evidence),
                reason=f"{where} has only half a key pair: {missing} is missing",
                fix=f"add {missing} to {where}, or remove the other key",
                long_lived=True,
                explicit=explicit,
                key_id=mask_key_id(key_id),
                profile=profile,
            )
        ]
    return [
        Candidate(
            kind=KIND,
            origin=f"profile '{profile}'",
            evidence=tuple(evidence),
            reason=("temporary" if temporary else "long-lived") + f" key in {where}",
            fix=None if temporary else f"remove the keys from {where}; {_FIX}",
            long_lived=not temporary,
            explicit=explicit,
            key_id=mask_key_id(key_id),
            profile=profile,
            params={"store": store, "profile": profile},
        )
    ]


def detect(ctx: Context) -> list[Candidate]:
    """Keys in the environment, then the active profile's keys in each file."""
    found = _from_env(ctx)
    files = _files.load(ctx)
    profile, explicit = ctx.active_profile()
    found += _from_section(
        files.credentials.get(profile, {}),
        store="credentials-file",
        where=f"[{profile}] of {files.credentials_path}",
        profile=profile,
        explicit=explicit,
    )
    found += _from_section(
        files.profile(profile),
        store="config-file",
        where=f"profile '{profile}' of {files.config_path}",
        profile=profile,
        explicit=explicit,
    )
    return found


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    ctx = inputs.context
    store = candidate.params.get("store")
    profile = candidate.params.get("profile", "default")
    if store == "credentials-file":
        return SharedCredentialProvider(  # type: ignore[no-any-return]
            creds_filename=str(ctx.credentials_file), profile_name=profile
        )
    if store == "config-file":
        return ConfigProvider(  # type: ignore[no-any-return]
            config_filename=str(ctx.config_file), profile_name=profile
        )
    return _envkeys.build(inputs)
