"""AssumeRoleWithWebIdentity through botocore's own refreshing fetcher.

Shared by the web-identity and github-oidc sources: they differ only in where
the token comes from. botocore calls the loader again on every refresh, so the
token file's loader here is bounded (:mod:`credpick._safe_io`) on every call,
where botocore's ``FileWebIdentityTokenLoader`` reads whatever is there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from botocore.credentials import (
    AssumeRoleWithWebIdentityCredentialFetcher,
    DeferredRefreshableCredentials,
)

from .. import _safe_io
from ..exceptions import SourceFailed
from ._base import BuildInputs, register_features


@attrs.frozen
class TokenFileLoader:
    """Reads a web identity token file on each call: bounded, non-blocking, checked.

    The token is stripped and must be printable ASCII of at most
    :data:`~credpick._safe_io.WEB_IDENTITY_TOKEN` characters.
    """

    path: str
    variable: str
    kind: str = "web-identity"

    def __call__(self) -> str:
        token, problem = _safe_io.read_token(self.path, limit=_safe_io.WEB_IDENTITY_TOKEN)
        if problem is None:
            return token
        raise SourceFailed(
            f"the token file cannot be read on refresh: {self.variable} points at "
            f"{self.path}, which {problem}",
            kind=self.kind,
            evidence=(f"{self.variable}={self.path}",),
            fix="check that the token volume is mounted and its file is refreshed",
        )


@attrs.frozen
class WebIdentityProvider:
    """A provider whose credentials load on first use and refresh themselves."""

    METHOD = "assume-role-with-web-identity"

    inputs: BuildInputs = attrs.field(repr=False)
    token_loader: Callable[[], str] = attrs.field(repr=False)
    role_arn: str
    session_name: str | None = None
    #: botocore's User-Agent feature ids for this flow, registered at load and every fetch.
    feature_ids: frozenset[str] = frozenset({"CREDENTIALS_STS_ASSUME_ROLE_WEB_ID"})

    def load(self) -> Any:
        extra: dict[str, str] = {}
        if self.session_name:
            extra["RoleSessionName"] = self.session_name
        fetcher = AssumeRoleWithWebIdentityCredentialFetcher(
            client_creator=self.inputs.client_creator(),
            web_identity_token_loader=self.token_loader,
            role_arn=self.role_arn,
            extra_args=extra,
        )
        fetcher.feature_ids = set(self.feature_ids)  # botocore's fetcher registers them
        register_features(*self.feature_ids)
        return DeferredRefreshableCredentials(
            method=self.METHOD, refresh_using=fetcher.fetch_credentials
        )
