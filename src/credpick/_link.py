"""A role assumed on top of a chain's root: :class:`~credpick.Link`.

Apart from :mod:`credpick._model` because only assume-role profiles make links:
every other session's path skips creating these two classes.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._mask import scrub


class LinkKind(str, enum.Enum):
    """How a role is assumed on top of a chain's root.

    .. versionadded:: 0.2.0
    """

    #: A profile's ``role_arn`` over another profile's credentials.
    SOURCE_PROFILE = "source-profile"
    #: A profile's ``role_arn`` over ``credential_source``.
    CREDENTIAL_SOURCE = "credential-source"


@attrs.frozen
class Link:
    """A role assumed on top of the root (or of the link before): how it is
    configured (``kind``), the role and its account, the profile that says so
    (``origin``); ``long_lived`` is always ``False``, a role's keys are temporary.

    .. versionadded:: 0.2.0
    """

    kind: LinkKind
    role_arn: str = attrs.field(converter=scrub)
    origin: str = attrs.field(converter=scrub)
    account: str | None = None
    long_lived: bool = False

    def describe(self) -> str:
        return f"assumes {self.role_arn} ({self.kind.value}, {self.origin})"

    def to_dict(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "kind": self.kind.value}
