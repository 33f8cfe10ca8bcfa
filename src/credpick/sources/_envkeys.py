"""Keys in the environment: shared by the lambda, env-session and static sources."""

from __future__ import annotations

import attrs
from botocore.credentials import EnvProvider

from .. import _envvars as ev
from .._context import Context
from .._mask import is_temporary_key_id, mask_key_id
from ._base import BuildInputs, CredentialProvider


@attrs.frozen
class EnvKeys:
    """What the environment holds, without the secret values themselves."""

    key_id: str | None
    has_secret: bool
    has_token: bool
    token_var: str | None

    @property
    def present(self) -> bool:
        return self.key_id is not None or self.has_secret

    @property
    def complete(self) -> bool:
        return self.key_id is not None and self.has_secret

    @property
    def temporary(self) -> bool:
        """Temporary keys: an ``ASIA`` id with a session token."""
        return self.complete and self.has_token and is_temporary_key_id(self.key_id or "")

    def evidence(self) -> tuple[str, ...]:
        lines = []
        if self.key_id is not None:
            lines.append(f"{ev.ACCESS_KEY_ID}={mask_key_id(self.key_id)}")
        if self.has_secret:
            lines.append(f"{ev.SECRET_ACCESS_KEY} is set")
        if self.token_var:
            lines.append(f"{self.token_var} is set")
        return tuple(lines)

    def half_pair_problem(self) -> str | None:
        if self.key_id is not None and not self.has_secret:
            return f"{ev.ACCESS_KEY_ID} is set but {ev.SECRET_ACCESS_KEY} is not"
        if self.has_secret and self.key_id is None:
            return f"{ev.SECRET_ACCESS_KEY} is set but {ev.ACCESS_KEY_ID} is not"
        return None


def read(ctx: Context) -> EnvKeys:
    """Look at the key variables the way botocore's ``EnvProvider`` does."""
    token_var = next((v for v in (ev.SESSION_TOKEN, ev.LEGACY_SECURITY_TOKEN) if ctx.get(v)), None)
    return EnvKeys(
        key_id=ctx.get(ev.ACCESS_KEY_ID),
        has_secret=ctx.get(ev.SECRET_ACCESS_KEY) is not None,
        has_token=token_var is not None,
        token_var=token_var,
    )


def build(inputs: BuildInputs) -> CredentialProvider:
    """botocore's own environment provider, over the context's variables."""
    return EnvProvider(environ=dict(inputs.context.env))  # type: ignore[no-any-return]
