"""The code under test: a tiny app that stores reports in S3 with whatever credentials it has."""

from __future__ import annotations

from typing import Any

import credpick


def s3_client(endpoint_url: str | None = None) -> Any:
    """An S3 client on the safest credentials this process can use."""
    return credpick.session().client("s3", endpoint_url=endpoint_url)


def store(s3: Any, bucket: str, name: str, body: str) -> bool:
    """Store a report; like much real code, it turns every failure into False."""
    try:
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=name, Body=body.encode())
    except Exception:
        return False
    return True
