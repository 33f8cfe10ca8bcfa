"""The ``AssumeRole`` value: one role to assume after the picked credentials.

A plain value checked against STS's own constraints when built; it sits with the
other values at the bottom of the layers (``docs/architecture.md``), so the
detection can carry a chain without importing the code that assumes it
(:mod:`credpick._chain`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from . import _validate
from ._mask import scrub
from .exceptions import ConfigurationError

# STS's own constraints, ASCII only: a role ARN (with an optional path),
# RoleSessionName and SourceIdentity, and ExternalId.
_ROLE_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.A
)
_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.A)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.A)


def _valid(test: Callable[[Any], bool], what: str, show: bool = True) -> Callable[..., None]:
    def validate(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (value is None and attribute.default is None) or test(value):
            return
        shown = f"={_validate.given(value)}" if show else ""  # an external id is never echoed
        raise ConfigurationError(
            f"AssumeRole({attribute.name}{shown}) is not {what}",
            fix=f"pass {what} as {attribute.name}=",
        )

    return validate


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and pattern.fullmatch(value) is not None


def _is_tags(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and len(value) <= 50
        and all(
            isinstance(k, str) and isinstance(v, str) and 1 <= len(k) <= 128 and len(v) <= 256
            for k, v in value.items()
        )
    )


def _freeze_tags(value: object) -> object:
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else value


_CHARS = "2 to 64 of [A-Za-z0-9_+=,.@-]"


@attrs.frozen
class AssumeRole:
    """One role to assume (``sts:AssumeRole``) after the picked credentials.

    Pass it, or a sequence of them for a chain, as ``assume_role=`` to
    :func:`credpick.session`, :func:`credpick.detect` or :func:`credpick.wrap`.

    Args:
        role_arn: The role, ``arn:aws:iam::ACCOUNT:role/NAME``.
        external_id: The external id the role's owner asks for (third-party
            access). Not a secret, but never shown: ``repr``, reports and logs
            say only whether it is set.
        session_name: ``RoleSessionName``; by default one that says where the
            process runs: ``credpick-lambda-FUNCTION``, ``credpick-ecs-TASK``,
            ``credpick-github-RUN_ID``, else ``credpick-HOSTNAME``.
        duration_seconds: 900 to 43200; STS's default (3600) when ``None``.
            Role chaining caps it at 3600.
        source_identity: ``SourceIdentity``, kept by every later link and
            shown in CloudTrail.
        tags: Session tags.

    Raises:
        ConfigurationError: A value STS would reject.

    .. versionadded:: 0.1.0
    """

    role_arn: str = attrs.field(
        validator=_valid(_matches(_ROLE_ARN), "a role ARN, arn:aws:iam::ACCOUNT:role/NAME")
    )
    external_id: str | None = attrs.field(
        default=None,
        repr=False,
        validator=_valid(_matches(_EXTERNAL_ID), "2 to 1224 of [A-Za-z0-9_+=,.@:/-]", False),
    )
    session_name: str | None = attrs.field(default=None, validator=_valid(_matches(_NAME), _CHARS))
    duration_seconds: int | None = attrs.field(
        default=None,
        validator=_valid(
            lambda v: type(v) is int and 900 <= v <= 43200,
            "a whole number of seconds from 900 to 43200 (3600 at most when chaining)",
        ),
    )
    source_identity: str | None = attrs.field(
        default=None, validator=_valid(_matches(_NAME), _CHARS)
    )
    # A mapping proxy cannot be hashed; equality still compares the tags.
    tags: Mapping[str, str] | None = attrs.field(
        default=None,
        converter=_freeze_tags,
        validator=_valid(_is_tags, "a mapping of up to 50 str keys to str values", False),
        hash=False,
    )

    def describe(self) -> str:
        """``ARN (external id set, session name '...', ...)``: no external id value."""
        notes = ["external id set"] if self.external_id else []
        if self.session_name:
            notes.append(f"session name {self.session_name!r}")
        if self.duration_seconds:
            notes.append(f"{self.duration_seconds} s")
        if self.source_identity:
            notes.append(f"source identity {self.source_identity!r}")
        if self.tags:
            notes.append(f"session tags: {', '.join(sorted(self.tags))}")
        return scrub(f"{self.role_arn} ({', '.join(notes)})" if notes else self.role_arn)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: whether an external id is set, and tag keys only."""
        return {
            "role_arn": scrub(self.role_arn),
            "external_id": self.external_id is not None,
            "session_name": self.session_name,
            "duration_seconds": self.duration_seconds,
            "source_identity": self.source_identity,
            "tags": sorted(self.tags or ()),
        }
