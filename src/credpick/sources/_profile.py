"""Profile-based sources share this: the active profile's settings, and
botocore's own provider for it, built from a session bound to that profile.

A role profile's ``source_profile`` may itself run a ``credential_process``;
botocore would run it with its own unbounded ``ProcessProvider``, so the
source-profile chain it builds is given credpick's bounded one instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.credentials import ProfileProviderBuilder, create_credential_resolver

from .. import _files
from ._base import BuildInputs, CredentialProvider

# The active profile: in _files, so that credential_process (whose provider this
# module runs for source profiles) can read it without importing this module.
active = _files.active_profile


class _SourceProfileProcess:
    """A source profile's ``credential_process``, run by credpick's bounded provider."""

    METHOD = "custom-process"

    def __init__(self, profile_name: str, load_config: Callable[[], Any], timeout: float) -> None:
        self._profile_name = profile_name
        self._load_config = load_config
        self._timeout = timeout

    def load(self) -> Any:
        from .credential_process import ProcessProvider

        settings = self._load_config().get("profiles", {}).get(self._profile_name, {})
        command = settings.get("credential_process")
        if not command:
            return None  # the next provider of the chain may have credentials
        account_id = settings.get("aws_account_id")
        return ProcessProvider(
            command=str(command),
            profile=self._profile_name,
            timeout=self._timeout,
            account_id=str(account_id) if account_id else None,
        ).load()


class _BoundedProfileProviders(ProfileProviderBuilder):  # type: ignore[misc]
    """botocore's source-profile chain, with credpick's bounded credential_process."""

    def __init__(self, original: ProfileProviderBuilder, timeout: float) -> None:
        self.__dict__.update(original.__dict__)  # botocore's own settings of the chain
        self._credpick_timeout = timeout

    def _create_process_provider(self, profile_name: str) -> _SourceProfileProcess:
        return _SourceProfileProcess(
            profile_name, lambda: self._session.full_config, self._credpick_timeout
        )


def botocore_provider(inputs: BuildInputs, method: str) -> CredentialProvider:
    """botocore's provider for ``method``, from the chain it would build itself."""
    resolver = create_credential_resolver(inputs.botocore_session, region_name=inputs.region)
    provider = resolver.get_provider(method)
    builder = getattr(provider, "_profile_provider_builder", None)
    if isinstance(builder, ProfileProviderBuilder):  # botocore keeps it in this attribute
        provider._profile_provider_builder = _BoundedProfileProviders(
            builder, inputs.context.timeouts.process
        )
    if method == "assume-role" and hasattr(provider, "_client_creator"):
        # botocore's own STS client waits 60 s per read, four times: bound it like ours.
        provider._client_creator = inputs.client_creator()
    return provider  # type: ignore[no-any-return]
