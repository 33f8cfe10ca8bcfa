"""AssumeRoleWithWebIdentity through botocore's own refreshing fetcher.

Shared by the web-identity and github-oidc sources: they differ only in where
the token comes from. botocore calls the loader again on every refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from botocore.credentials import (
    AssumeRoleWithWebIdentityCredentialFetcher,
    DeferredRefreshableCredentials,
)

from ._base import BuildInputs


@attrs.frozen
class WebIdentityProvider:
    """A provider whose credentials load on first use and refresh themselves."""

    METHOD = "assume-role-with-web-identity"

    inputs: BuildInputs = attrs.field(repr=False)
    token_loader: Callable[[], str] = attrs.field(repr=False)
    role_arn: str
    session_name: str | None = None

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
        return DeferredRefreshableCredentials(
            method=self.METHOD, refresh_using=fetcher.fetch_credentials
        )
