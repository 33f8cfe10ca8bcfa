"""Read the shared config and credentials files with botocore's own parser."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import botocore.configloader
import botocore.exceptions

from ._context import Context
from .exceptions import ConfigurationError


@attrs.frozen
class SharedFiles:
    """The parsed ``~/.aws/config`` and ``~/.aws/credentials``.

    ``profiles`` maps a profile name to its settings in the config file;
    ``credentials`` maps a section of the credentials file to its keys.
    """

    config_path: Path
    credentials_path: Path
    profiles: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    sso_sessions: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    credentials: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)

    def profile(self, name: str) -> Mapping[str, Any]:
        """The config-file settings of a profile (empty if absent)."""
        return self.profiles.get(name, {})

    def knows(self, name: str) -> bool:
        """Whether either file defines the profile."""
        return name in self.profiles or name in self.credentials


def _parse(path: Path) -> dict[str, Any]:
    if "\0" in str(path):
        raise ConfigurationError(
            f"the path {str(path)!r} holds a NUL byte",
            evidence=(str(path),),
            fix="fix AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE",
        )
    if not path.exists():
        return {}
    if path.is_dir():
        raise ConfigurationError(
            f"{path} is a directory, not an AWS config file",
            evidence=(str(path),),
            fix=f"remove the directory or point the variable at a file instead of {path}",
        )
    try:
        parsed: dict[str, Any] = botocore.configloader.raw_config_parse(str(path))
    except botocore.exceptions.ConfigParseError as exc:
        raise ConfigurationError(
            f"cannot parse {path}: the file is not valid INI",
            evidence=(str(path),),
            fix=f"fix the syntax of {path} (sections look like [profile NAME])",
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {path}: {exc.strerror}",
            evidence=(str(path),),
            fix=f"make {path} readable by this process",
        ) from exc
    return parsed


@functools.lru_cache(maxsize=16)
def load(ctx: Context) -> SharedFiles:
    """Parse both files once per context.

    Raises:
        ConfigurationError: A file is malformed or unreadable.
    """
    raw_config = _parse(ctx.config_file)
    profile_map = botocore.configloader.build_profile_map(raw_config)
    return SharedFiles(
        config_path=ctx.config_file,
        credentials_path=ctx.credentials_file,
        profiles=profile_map.get("profiles", {}),
        sso_sessions=profile_map.get("sso_sessions", {}),
        credentials=_parse(ctx.credentials_file),
    )
