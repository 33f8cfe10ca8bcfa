"""A profile that assumes a role from another profile or a named credential source.

It resolves like botocore: the profile's ``role_arn`` is the identity, and what
feeds it (``source_profile``'s keys, the environment's keys, the container
endpoint, the instance profile) is its root. A platform role named by
``credential_source`` is therefore folded into this candidate (:func:`absorb`),
never left to compete with it and win.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .. import _envvars as ev
from .. import _files
from .._context import Context
from .._keys import is_long_lived
from .._link import Link, LinkKind
from .._mask import mask_key_id
from .._model import Candidate, Provenance, Root, RootKind, SourceKind, Status
from .._model import account_of as _account
from .._near import did_you_mean
from ..exceptions import SourceFailed
from . import _container_uri, _envkeys, _profile, container, ecs, eks_pod_identity, imds
from ._base import BuildInputs, CredentialProvider, Source

KIND = SourceKind.ASSUME_ROLE
LOOKS_AT = "the active profile's role_arn with source_profile or credential_source"
_SOURCES = ("Environment", "Ec2InstanceMetadata", "EcsContainer")
_CONTAINER_KINDS = (SourceKind.ECS, SourceKind.EKS_POD_IDENTITY, SourceKind.CONTAINER)
# Which detected candidates a credential_source stands for.
_FOLDS: Mapping[SourceKind | None, tuple[SourceKind, ...]] = {
    SourceKind.ECS: _CONTAINER_KINDS,
    SourceKind.EC2_INSTANCE_PROFILE: (SourceKind.EC2_INSTANCE_PROFILE,),
    SourceKind.STATIC: (SourceKind.STATIC, SourceKind.ENV_SESSION, SourceKind.LAMBDA),
}
# The sources a credential_source profile builds on (absorb() may set any container
# kind as the root), named here: the registry (sources/__init__.py) imports this module.
_PLATFORMS: Mapping[SourceKind, Source] = {
    SourceKind.ECS: ecs,
    SourceKind.EKS_POD_IDENTITY: eks_pod_identity,
    SourceKind.CONTAINER: container,
    SourceKind.EC2_INSTANCE_PROFILE: imds,
}
_MAX_DEPTH = 8  # botocore follows source_profile chains; a loop must end


def _section_root(name: str, section: Mapping[str, Any], where: str) -> Root | None:
    key_id = section.get("aws_access_key_id")
    if not key_id:
        return None
    token = section.get("aws_session_token") or section.get("aws_security_token")
    return Root(
        kind=RootKind.PROFILE_KEYS,
        origin=f"profile '{name}' ({where})",
        long_lived=is_long_lived(str(key_id), token),
        key_id=mask_key_id(str(key_id)),
        source=SourceKind.STATIC,
    )


def _profile_chain(ctx: Context, name: str, depth: int = 0) -> tuple[Root, tuple[Link, ...]]:
    """The root and links behind ``source_profile = name``, as botocore resolves it."""
    files = _files.load(ctx)
    settings = files.profile(name)
    origin = f"profile '{name}'"
    role_arn = settings.get("role_arn")
    source = settings.get("source_profile")
    if role_arn and depth < _MAX_DEPTH and (source or settings.get("credential_source")):
        link_kind = LinkKind.SOURCE_PROFILE if source else LinkKind.CREDENTIAL_SOURCE
        if source and source != name:
            root, links = _profile_chain(ctx, str(source), depth + 1)
        elif source:  # a profile that is its own source uses its own keys
            root, links = _keys_root(ctx, name), ()
        else:
            root, links = _credential_source_root(ctx, str(settings["credential_source"])), ()
        link = Link(link_kind, str(role_arn), origin, account=_account(str(role_arn)))
        return root, (*links, link)
    if settings.get("credential_process"):
        return Root(kind=RootKind.PROGRAM, origin=origin, long_lived=None), ()
    if settings.get("sso_session") or settings.get("sso_start_url"):
        return Root(kind=RootKind.SSO_CACHE, origin=origin), ()
    if settings.get("web_identity_token_file"):
        return Root(kind=RootKind.TOKEN_FILE, origin=origin, role_arn=role_arn), ()
    return _keys_root(ctx, name), ()


def _keys_root(ctx: Context, name: str) -> Root:
    files = _files.load(ctx)
    found = _section_root(
        name, files.credentials.get(name, {}), str(files.credentials_path)
    ) or _section_root(name, files.profile(name), str(files.config_path))
    # No keys at all: botocore fails at load; detection cannot say more.
    return found or Root(kind=RootKind.PROFILE_KEYS, origin=f"profile '{name}'", long_lived=None)


def _credential_source_root(ctx: Context, credential_source: str) -> Root:
    if credential_source == "Environment":
        keys = _envkeys.read(ctx)
        return Root(
            kind=RootKind.ENV_KEYS,
            origin="environment",
            long_lived=is_long_lived(keys.key_id, keys.has_token) if keys.present else None,
            key_id=mask_key_id(keys.key_id),
            source=SourceKind.STATIC,
        )
    if credential_source == "EcsContainer":
        endpoint = _container_uri.classify(ctx)
        return Root(
            kind=RootKind.CONTAINER_ENDPOINT,
            origin="environment",
            long_lived=None,  # a sidecar can serve anything: judged once loaded
            source=SourceKind.ECS,
            params={"uri": endpoint.uri} if endpoint else {},
        )
    return Root(
        kind=RootKind.INSTANCE_METADATA,
        origin="instance metadata",
        source=SourceKind.EC2_INSTANCE_PROFILE,
    )


def _source_problem(ctx: Context, credential_source: str) -> str | None:
    if credential_source == "Environment" and not _envkeys.read(ctx).complete:
        return (
            f"credential_source = Environment, but {ev.ACCESS_KEY_ID} and "
            f"{ev.SECRET_ACCESS_KEY} are not both set"
        )
    if credential_source == "EcsContainer" and _container_uri.classify(ctx) is None:
        return "credential_source = EcsContainer, but no container credential endpoint is set"
    return None


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
    root = Root(kind=RootKind.PROFILE_KEYS, origin=f"profile '{name}'", long_lived=None)
    links: tuple[Link, ...] = ()
    if source_profile:
        evidence.append(f"source_profile={source_profile}")
        files = _files.load(ctx)
        if not files.knows(source_profile):
            problem = (
                f"source_profile '{source_profile}' of profile '{name}' is not defined"
                + did_you_mean(str(source_profile), files.names())
            )
        elif source_profile == name:
            root = _keys_root(ctx, name)
        else:
            root, links = _profile_chain(ctx, str(source_profile))
    if credential_source:
        evidence.append(f"credential_source={credential_source}")
        if credential_source not in _SOURCES:
            problem = f"credential_source '{credential_source}' is not one of {', '.join(_SOURCES)}"
        else:
            root = _credential_source_root(ctx, str(credential_source))
            problem = _source_problem(ctx, str(credential_source))
        if source_profile:
            problem = f"profile '{name}' sets both source_profile and credential_source"
    link_kind = LinkKind.CREDENTIAL_SOURCE if credential_source else LinkKind.SOURCE_PROFILE
    link = Link(link_kind, str(role_arn), f"profile '{name}'", account=_account(str(role_arn)))
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
            provenance=Provenance(root, (*links, link)),
        )
    ]


def _platform(c: Candidate) -> SourceKind | None:
    """The source a ``credential_source`` profile stands on, or ``None``."""
    links = c.provenance.links
    if c.kind is not KIND or len(links) != 1 or links[0].kind is not LinkKind.CREDENTIAL_SOURCE:
        return None
    return c.provenance.root.source


def absorb(found: Sequence[Candidate]) -> list[Candidate]:
    """Fold the candidates a ``credential_source`` stands for into its profile's
    candidate: the task or instance role (or the environment's keys) is the
    root of the configured role, not a rival that wins. A root that is broken
    makes the profile's candidate broken too (fail closed)."""
    users = [c for c in found if _platform(c) is not None and c.status is Status.AVAILABLE]
    if not users:
        return list(found)
    user = users[0]
    platform = _platform(user)
    folded = [
        c
        for c in found
        if c.kind in _FOLDS.get(platform, ())
        and (c.kind is SourceKind.EC2_INSTANCE_PROFILE or c.origin == "environment")
    ]
    rest = [c for c in found if c not in folded and c is not user]
    root = user.provenance.root
    for c in folded:
        if c.kind in _CONTAINER_KINDS:
            root = attrs.evolve(root, source=c.kind, params=c.params)
        elif c.kind is SourceKind.EC2_INSTANCE_PROFILE:
            root = attrs.evolve(root, params=c.params)
    user = attrs.evolve(user, provenance=attrs.evolve(user.provenance, root=root))
    broken = next((c for c in folded if c.status in (Status.FAILED, Status.UNAVAILABLE)), None)
    if platform is SourceKind.EC2_INSTANCE_PROFILE and not folded:
        user = attrs.evolve(
            user,
            status=Status.FAILED,
            reason="credential_source = Ec2InstanceMetadata, but no instance metadata "
            "service was found",
            fix="run it on an EC2 instance with an instance profile, or change "
            f"credential_source of {user.origin}",
        )
    elif broken is not None:
        user = attrs.evolve(
            user,
            status=Status.FAILED,
            reason=f"its credential_source, {broken.kind.value} ({broken.origin}): {broken.reason}",
            fix=broken.fix,
            evidence=(*user.evidence, *broken.evidence),
        )
    elif folded and folded[0].kind is not SourceKind.STATIC:
        user = attrs.evolve(user, evidence=(*user.evidence, *folded[0].evidence))
    return [user, *rest]


class _OverPlatform:
    """``sts:AssumeRole`` over credpick's own platform provider (the container
    endpoint, or the instance profile over IMDSv2 only), as ``_chain.assume``
    does for ``assume_role=``. botocore's ``credential_source`` would read
    ``os.environ`` and fall back to IMDSv1."""

    def __init__(self, candidate: Candidate, inputs: BuildInputs) -> None:
        self._candidate = candidate
        self._inputs = inputs

    def load(self) -> Any:
        from .._chain import AssumeRole, assume, links
        from .._obtained import watch

        c, inputs = self._candidate, self._inputs
        root = c.provenance.root
        kind = root.source or SourceKind.ECS
        base_candidate = Candidate(kind=kind, origin=root.origin, params=root.params)
        failure: SourceFailed | None = None
        try:
            base = _PLATFORMS[kind].build(base_candidate, inputs).load()
        except SourceFailed as exc:  # the root's own error: say whose root it is
            failure = SourceFailed(
                f"the profile's credential_source ({kind.value}) failed: {exc.reason}",
                kind=KIND.value,
                evidence=(*c.evidence, *exc.evidence),
                fix=exc.fix,
            )
        if failure is not None:
            raise failure
        if base is None:
            return None
        watch(base, c, inputs.policy, root=True)  # a sidecar serving AKIA is still refused
        settings = _files.load(inputs.context).profile(c.profile or "default")
        duration = settings.get("duration_seconds")
        link = AssumeRole(
            str(c.role_arn),
            external_id=settings.get("external_id"),
            session_name=settings.get("role_session_name"),
            duration_seconds=int(str(duration)) if str(duration or "").isdigit() else None,
        )
        chain = links(link, inputs.context)
        return assume(base, chain, inputs, f"{kind.value} ({root.origin})")


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    if _platform(candidate) not in (None, SourceKind.STATIC):
        return _OverPlatform(candidate, inputs)
    return _profile.botocore_provider(inputs, "assume-role")
