"""What the credpick.aio tests share: the skip when aiobotocore is absent, and small async helpers."""

from __future__ import annotations

from typing import Any

import pytest

REASON = "credpick.aio needs aiobotocore: pip install 'credpick[aio]'"


def require_aiobotocore() -> None:
    """Skip the calling module cleanly, with the reason, when aiobotocore is absent."""
    pytest.importorskip("aiobotocore", reason=REASON)


async def caller_arn(session: Any) -> str:
    """``GetCallerIdentity`` through an aiobotocore client of ``session``: who it signs as."""
    async with session.create_client("sts") as sts:
        reply = await sts.get_caller_identity()
    arn = reply["Arn"]
    assert isinstance(arn, str)
    return arn


async def frozen(session: Any) -> Any:
    """The session's credentials now (aiobotocore refreshes them here if due)."""
    credentials = await session.get_credentials()
    return await credentials.get_frozen_credentials()
