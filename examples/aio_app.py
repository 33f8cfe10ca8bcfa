"""An asyncio service on credpick.aio: the safest credentials, as an aiobotocore session.

    pip install 'credpick[aio]'         # aioboto3 too, for its part below
    python examples/aio_app.py

Prints who the session signs as (STS GetCallerIdentity), through aiobotocore and,
when it is installed, through aioboto3 on the same session.
"""

from __future__ import annotations

import asyncio
import importlib.util

import credpick
import credpick.aio


async def main() -> int:
    try:
        session = await credpick.aio.session()
    except credpick.CredpickError as exc:
        print(f"no safe credentials: {exc}")
        return 1
    async with session.create_client("sts") as sts:
        identity = await sts.get_caller_identity()
    print(f"aiobotocore signs as {identity['Arn']}")
    if importlib.util.find_spec("aioboto3") is None:
        print("aioboto3 skipped: it is not installed (pip install aioboto3)")
        return 0
    import aioboto3

    boto = aioboto3.Session(botocore_session=session)
    async with boto.client("sts") as sts:
        identity = await sts.get_caller_identity()
    print(f"aioboto3 signs as {identity['Arn']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
