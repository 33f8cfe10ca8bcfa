"""Type-checked only: with boto3-stubs, credpick's sessions give typed clients.

tests/test_typing.py checks this file with tests/typing/mypy.ini when the stubs
are installed (``pip install 'boto3-stubs[sts,s3]'``, in the tests extra).
"""

from __future__ import annotations

import boto3
from mypy_boto3_s3 import S3Client
from mypy_boto3_sts import STSClient

import credpick

session: boto3.Session = credpick.session()
s3: S3Client = session.client("s3")
sts: STSClient = credpick.session(region_name="eu-west-1").client("sts")
account: str = sts.get_caller_identity()["Account"]
names: list[str] = [b.get("Name", "") for b in s3.list_buckets().get("Buckets", [])]
wrapped_s3: S3Client = credpick.wrap(boto3.Session()).client("s3")
guarded_sts: STSClient = credpick.guard(credpick.session()).client("sts")
