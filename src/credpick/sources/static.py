"""Long-lived access keys: the environment, the credentials and config files,
the legacy files (``AWS_CREDENTIAL_FILE``, ``~/.boto``), and keys passed in code.

These are what credpick exists to keep out of production: an IAM user's
``AKIA`` key never expires, so a leak lasts until someone notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.credentials import (
    BotoProvider,
    ConfigProvider,
    Credentials,
    OriginalEC2Provider,
    SharedCredentialProvider,
)

from .. import _envvars as ev
from .. import _files
from .._context import Context
from .._keys import is_long_lived
from .._mask import is_temporary_key_id, mask_key_id
from .._model import Candidate, Provenance, Root, RootKind, SourceKind, Status
from ..exceptions import ConfigurationError
from . import _envkeys, _legacy
from ._base import BuildInputs, CredentialProvider

if TYPE_CHECKING:
    from ._explicit import ExplicitKeys
    from ._legacy_key import LegacyKey

KIND = SourceKind.STATIC
LOOKS_AT = (
    "AWS_ACCESS_KEY_ID, the active profile's keys in the credentials and config files, "
    "AWS_CREDENTIAL_FILE, and BOTO_CONFIG (else /etc/boto.cfg and ~/.boto)"
)
_FIX = "use a role (instance profile, task role, IRSA, SSO) and delete the key"


def _tokenless(where: str, token: str) -> str:
    # The rule still judges it long-lived (it fails closed); the words say what is wrong.
    return (
        f"{token} is missing: {where} holds a temporary (ASIA) key, which needs its session token"
    )


def _tokenless_fix(setting: str, remove: str) -> str:
    """``setting``: how the token is given (``"set AWS_SESSION_TOKEN to"``)."""
    return (
        f"{setting} the session token issued with the key (they come as a set, "
        f"from sts assume-role or aws configure export-credentials), or {remove}"
    )


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
    tokenless = is_temporary_key_id(keys.key_id or "")  # ASIA, but no AWS_SESSION_TOKEN
    return [
        Candidate(
            kind=KIND,
            origin="environment",
            evidence=keys.evidence(),
            reason=_tokenless(ev.ACCESS_KEY_ID, ev.SESSION_TOKEN)
            if tokenless
            else f"long-lived key in {ev.ACCESS_KEY_ID}",
            fix=_tokenless_fix(
                f"set {ev.SESSION_TOKEN} to", f"unset {ev.ACCESS_KEY_ID}/{ev.SECRET_ACCESS_KEY}"
            )
            if tokenless
            else f"unset {ev.ACCESS_KEY_ID}/{ev.SECRET_ACCESS_KEY}; {_FIX}",
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
    tokenless = not temporary and is_temporary_key_id(str(key_id))
    reason = ("temporary" if temporary else "long-lived") + f" key in {where}"
    fix = None if temporary else f"remove the keys from {where}; {_FIX}"
    if tokenless:
        reason = _tokenless(where, "aws_session_token")
        fix = _tokenless_fix(f"add aws_session_token to {where}: set it to", "remove the keys")
    return [
        Candidate(
            kind=KIND,
            origin=f"profile '{profile}'",
            evidence=tuple(evidence),
            reason=reason,
            fix=fix,
            long_lived=not temporary,
            explicit=explicit,
            key_id=mask_key_id(key_id),
            profile=profile,
            params={"store": store, "profile": profile},
        )
    ]


def _from_legacy(found: LegacyKey) -> Candidate:
    where = str(found.path)
    origin = f"{where} ({found.via})" if found.via != "the default location" else where
    evidence = (
        f"{found.id_name}={found.key_id} in {where}" if found.key_id else where,
        f"read by botocore as {found.store}",
    )
    root = Root(kind=RootKind.LEGACY_FILE, origin=origin, long_lived=True, key_id=found.key_id)
    common: dict[str, Any] = {
        "kind": KIND,
        "origin": origin,
        "evidence": evidence,
        "long_lived": True,
        "key_id": found.key_id,
        "provenance": Provenance(root),
    }
    if found.problem is not None:
        return Candidate(
            status=Status.FAILED,
            reason=f"{where} (from {found.via}) {found.problem}",
            fix=f"make {where} a regular file, or delete it and use a role",
            **common,
        )
    if not (found.key_id and found.has_secret):
        return Candidate(
            status=Status.FAILED,
            reason=f"{where} has only half a key pair",
            fix=f"delete the key from {where}",
            **common,
        )
    return Candidate(
        reason=f"long-lived key in {where}",
        fix=f"delete the key from {where}; use a role (instance profile, task role, IRSA, SSO)",
        params={"store": found.store, "path": where},
        **common,
    )


def detect(ctx: Context) -> list[Candidate]:
    """Keys in the environment, the active profile's keys in each file, then
    the legacy files botocore reads after every profile source."""
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
    found += [_from_legacy(key) for key in _legacy.find(ctx)]
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
    # botocore's own providers, pointed at the file detection saw, not os.environ's.
    if store == _legacy.EC2_METHOD:
        return OriginalEC2Provider(  # type: ignore[no-any-return]
            environ={_legacy.EC2_VARIABLE: candidate.params["path"]}
        )
    if store == _legacy.BOTO_METHOD:
        return BotoProvider(  # type: ignore[no-any-return]
            environ={_legacy.BOTO_VARIABLE: candidate.params["path"]}
        )
    if store == "explicit":
        return _Given(inputs.explicit_keys)
    return _envkeys.build(inputs)


# -- keys passed in code ---------------------------------------------------------------

EXPLICIT_ORIGIN = "keys passed in code"


class _Given:
    """A provider that hands botocore the keys passed in code (method ``explicit``)."""

    METHOD = "explicit"

    def __init__(self, keys: ExplicitKeys | None) -> None:
        self._keys = keys

    def __repr__(self) -> str:
        return f"_Given({self._keys!r})"

    def load(self) -> Any:
        keys = self._keys
        if keys is None:
            return None
        return Credentials(keys.key_id, keys.secret, keys.token, method=self.METHOD)


def _half_pair(key_id: object, secret: object, token: object) -> str | None:
    if key_id and not secret:
        return "aws_secret_access_key"
    if secret and not key_id:
        return "aws_access_key_id"
    if token and not (key_id or secret):
        return "aws_access_key_id and aws_secret_access_key"
    return None


def explicit_keys(key_id: object, secret: object, token: object) -> ExplicitKeys | None:
    """The keys passed in code, or ``None`` when none were (empty counts as none,
    as in ``boto3.Session``); half a pair gives ``None`` too: see :func:`explicit`."""
    if not (key_id and secret) or _half_pair(key_id, secret, token):
        return None
    from ._explicit import ExplicitKeys  # only when keys are passed in code

    return ExplicitKeys(str(key_id), str(secret), str(token) if token else None)


def explicit(key_id: object, secret: object, token: object) -> Candidate | ConfigurationError:
    """The candidate for keys passed in code: ``static`` when long-lived (the one
    rule, :func:`credpick._keys.is_long_lived`), ``env-session`` when temporary.
    Half a pair is a :class:`ConfigurationError` naming the missing argument."""
    missing = _half_pair(key_id, secret, token)
    if missing is not None:
        return ConfigurationError(
            f"{missing}= is missing: keys passed in code need both "
            "aws_access_key_id= and aws_secret_access_key=",
            evidence=tuple(
                f"{name}= given"
                for name, value in (
                    ("aws_access_key_id", key_id),
                    ("aws_secret_access_key", secret),
                    ("aws_session_token", token),
                )
                if value
            ),
            fix=f"pass {missing}=, or pass no keys",
        )
    masked = mask_key_id(str(key_id))
    long_lived = is_long_lived(key_id, token)
    tokenless = long_lived and is_temporary_key_id(key_id)
    evidence = [f"aws_access_key_id={masked}", "aws_secret_access_key= given"]
    if token:
        evidence.append("aws_session_token= given")
    root = Root(
        kind=RootKind.EXPLICIT_KEYS, origin=EXPLICIT_ORIGIN, long_lived=long_lived, key_id=masked
    )
    return Candidate(
        kind=KIND if long_lived else SourceKind.ENV_SESSION,
        origin=EXPLICIT_ORIGIN,
        evidence=tuple(evidence),
        reason=_tokenless("aws_access_key_id=", "aws_session_token=")
        if tokenless
        else ("long-lived " if long_lived else "temporary ") + EXPLICIT_ORIGIN,
        fix=_tokenless_fix("pass aws_session_token= with", "pass no keys")
        if tokenless
        else (f"pass no keys in code; {_FIX}" if long_lived else None),
        long_lived=long_lived,
        explicit=True,
        key_id=masked,
        params={"store": "explicit"},
        provenance=Provenance(root),
    )
