"""Keys passed in code, held for the build: created only when some are.

Most processes pass no keys to :func:`credpick.session`, so this class is
imported by :func:`credpick.sources.static.explicit_keys` only when keys are
given: creating an attrs class costs about half a millisecond of every cold start.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._mask import mask_key_id


@attrs.frozen(repr=False)
class ExplicitKeys:
    """Keys passed to :func:`credpick.session`: kept for the build only, never in
    a :class:`~credpick.Candidate`; the repr shows the masked id alone."""

    key_id: str = attrs.field(repr=False)
    secret: str = attrs.field(repr=False)
    token: str | None = attrs.field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"ExplicitKeys({mask_key_id(self.key_id)})"

    def __reduce__(self) -> Any:  # never pickled with the secret
        raise TypeError("ExplicitKeys cannot be pickled")
