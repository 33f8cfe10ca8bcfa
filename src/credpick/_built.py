"""What :func:`credpick._session.build` returns: the botocore session and what it loaded.

Apart from :mod:`._session` because only :mod:`credpick.aio` asks for it:
:func:`credpick.session` needs the botocore session alone, and creating an
attrs class costs about half a millisecond of every cold start.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Built:
    """A botocore session whose credentials are loaded and checked, and what was loaded.

    ``credentials`` are botocore's (refreshing as botocore's do); ``credpick.aio``
    hands them to aiobotocore's own refreshable credentials.
    """

    session: Any
    credentials: Any = attrs.field(repr=False)
    features: frozenset[str]
