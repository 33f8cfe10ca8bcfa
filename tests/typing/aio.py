"""Type-checked only (mypy --strict): credpick.aio as a user writes it."""

from __future__ import annotations

import credpick
import credpick.aio


async def service() -> None:
    policy = credpick.Policy(static_keys="forbid")
    session = await credpick.aio.session(
        region_name="eu-west-1",
        policy=policy,
        assume_role=credpick.AssumeRole("arn:aws:iam::123456789012:role/reader"),
        timeouts=credpick.Timeouts(http=2.0),
    )
    checked = await credpick.aio.wrap(session, policy=policy, replace=True)
    async with checked.create_client("sts") as sts:
        await sts.get_caller_identity()
