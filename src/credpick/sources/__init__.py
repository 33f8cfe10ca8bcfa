"""One module per credential source, each with the same two faces.

``detect(context) -> list[Candidate]`` gathers evidence without network I/O
(the metadata probe in :mod:`.imds` is the one gated exception), and
``build(candidate, inputs)`` returns botocore's own credential provider.
Adding a source means adding a module and a line below.

A source's module is imported only when it can find something: each line
below declares, without importing anything, the environment variables and
the active profile's keys its ``detect`` starts from (:class:`Declared`).
When none is present, its ``detect`` is known to return ``[]`` and is not
run; ``tests/test_coldstart.py`` proves the lazy path gives the same
detection, pick and verdict as running every module (:func:`modules`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .._kinds import SourceKind
from ._base import BuildInputs, CredentialProvider, NetworkSource, RegionSource, Source

if TYPE_CHECKING:
    from .._context import Context
    from .._model import Candidate


class Declared:
    """A source, by what its ``detect`` starts from; its module loads on first real use.

    Args:
        module: The module's name in this package.
        kind: Its ``KIND``.
        looks_at: Its ``LOOKS_AT`` (a test pins that both say the same).
        variables: Environment variables: when one is set, the module runs.
        profile_keys: Keys of the active profile in the config file: likewise.
        role_arn: The module also runs when ``role_arn=`` was passed.
        always: The module always runs (its evidence is not declared here).
        network: ``NETWORK`` (the metadata probe): it runs last, when its
            ``skip`` finds no reason not to; ``skip_in`` names the light module
            that holds that ``skip`` (the source re-exports it), so asking
            does not import the source.
    """

    __slots__ = (
        "KIND",
        "LOOKS_AT",
        "NETWORK",
        "_always",
        "_module",
        "_profile_keys",
        "_role_arn",
        "_skip_in",
        "_variables",
    )

    def __init__(
        self,
        module: str,
        kind: SourceKind,
        looks_at: str,
        *,
        variables: tuple[str, ...] = (),
        profile_keys: tuple[str, ...] = (),
        role_arn: bool = False,
        always: bool = False,
        network: bool = False,
        skip_in: str | None = None,
    ) -> None:
        self.KIND = kind
        self.LOOKS_AT = looks_at
        self.NETWORK = network
        self._module = module
        self._variables = variables
        self._profile_keys = profile_keys
        self._role_arn = role_arn
        self._always = always
        self._skip_in = f"{__name__}.{skip_in}" if skip_in else None

    def __repr__(self) -> str:
        return f"<source {self.KIND.value} ({__name__}.{self._module})>"

    def load(self) -> ModuleType:
        """The source's module (imported now if it was not yet)."""
        return importlib.import_module(f"{__name__}.{self._module}")

    def __getattr__(self, name: str) -> Any:
        # Everything else a source declares (build, gate, REGION_SOURCE...) is
        # the module's own: asking for it loads the module.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)

    def may_find(self, ctx: Context) -> bool:
        """Whether anything ``detect`` starts from is present in ``ctx``."""
        if self._always or (self._role_arn and ctx.role_arn):
            return True
        if any(name in ctx.env for name in self._variables):
            return True
        if self._profile_keys:
            from .. import _files

            settings = _files.active_profile(ctx)[2]
            return any(key in settings for key in self._profile_keys)
        return False

    def detect(self, ctx: Context) -> list[Candidate]:
        if not self.may_find(ctx):
            return []
        return self.load().detect(ctx)  # type: ignore[no-any-return]

    def skip(self, ctx: Context, found: Sequence[Candidate]) -> str | None:
        where = self.load() if self._skip_in is None else importlib.import_module(self._skip_in)
        return where.skip(ctx, found)  # type: ignore[no-any-return]

    def build(self, candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
        return self.load().build(candidate, inputs)  # type: ignore[no-any-return]


_CONTAINER_URIS = ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")

# Detection order; ranking is separate (see credpick._kinds.RANK).
SOURCES: tuple[Source, ...] = (
    Declared(
        "lambda_",
        SourceKind.LAMBDA,
        "AWS_LAMBDA_FUNCTION_NAME with temporary keys in the environment",
        variables=("AWS_LAMBDA_FUNCTION_NAME",),
    ),
    Declared(
        "ecs",
        SourceKind.ECS,
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or FULL_URI with ECS metadata variables",
        variables=_CONTAINER_URIS,
    ),
    Declared(
        "eks_pod_identity",
        SourceKind.EKS_POD_IDENTITY,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        variables=_CONTAINER_URIS,
    ),
    Declared(
        "web_identity",
        SourceKind.WEB_IDENTITY,
        "AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or a profile's web_identity_token_file",
        variables=("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"),
        profile_keys=("web_identity_token_file",),
        role_arn=True,
    ),
    Declared(
        "github_oidc",
        SourceKind.GITHUB_OIDC,
        "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        variables=("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ),
    # The fallback probe: always considered; its gate (settings checked, "a
    # safer source decided", disabled, not EC2 hardware) answers without it.
    Declared(
        "imds",
        SourceKind.EC2_INSTANCE_PROFILE,
        "the instance metadata service",
        always=True,
        network=True,
        skip_in="_imds_decide",
    ),
    Declared(
        "sso",
        SourceKind.SSO,
        "the active profile's sso_session or sso_start_url",
        profile_keys=("sso_session", "sso_start_url"),
    ),
    Declared(
        "login",
        SourceKind.LOGIN,
        "the active profile's login_session, and its cache in ~/.aws/login/cache",
        profile_keys=("login_session",),
    ),
    Declared(
        "assume_role",
        SourceKind.ASSUME_ROLE,
        "the active profile's role_arn with source_profile or credential_source",
        profile_keys=("role_arn",),
    ),
    Declared(
        "credential_process",
        SourceKind.CREDENTIAL_PROCESS,
        "the active profile's credential_process",
        profile_keys=("credential_process",),
    ),
    Declared(
        "container",
        SourceKind.CONTAINER,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        variables=_CONTAINER_URIS,
    ),
    Declared(
        "env_session",
        SourceKind.ENV_SESSION,
        "temporary keys (ASIA with AWS_SESSION_TOKEN) in the environment",
        variables=("AWS_ACCESS_KEY_ID",),
    ),
    # Keys in the environment, either shared file's sections and the legacy
    # files: the last resort reads too many places to declare; it always runs.
    Declared(
        "static",
        SourceKind.STATIC,
        "AWS_ACCESS_KEY_ID, the active profile's keys in the credentials and config files, "
        "AWS_CREDENTIAL_FILE, and BOTO_CONFIG (else /etc/boto.cfg and ~/.boto)",
        always=True,
    ),
)


class _ByKind(Mapping[SourceKind, Source]):
    """``BY_KIND``: a kind's source; its module loads when used, not when looked up."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self._sources = {s.KIND: s for s in sources}

    def __getitem__(self, kind: SourceKind) -> Source:
        return self._sources[kind]

    def __iter__(self) -> Iterator[SourceKind]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


BY_KIND: Mapping[SourceKind, Source] = _ByKind(SOURCES)


def modules() -> tuple[Source, ...]:
    """Every source's module, imported, in detection order: the full path,
    which runs every ``detect`` whatever the environment holds."""
    return tuple(s.load() if isinstance(s, Declared) else s for s in SOURCES)


def absorb(found: Sequence[Candidate]) -> list[Candidate]:
    """:func:`.assume_role.absorb`, which only folds into an ``assume-role``
    candidate: without one, it returns ``found`` and its module is not needed."""
    if not any(c.kind is SourceKind.ASSUME_ROLE for c in found):
        return list(found)
    from . import assume_role

    return assume_role.absorb(found)


__all__ = [
    "BY_KIND",
    "SOURCES",
    "BuildInputs",
    "CredentialProvider",
    "Declared",
    "NetworkSource",
    "RegionSource",
    "Source",
    "absorb",
    "modules",
]
