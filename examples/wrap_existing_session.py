"""A library hands you a boto3 session: check it before you use it.

Refused keys are replaced by credpick's own pick, and the result is guarded,
so a key swapped in later is caught on its next request:

    python examples/wrap_existing_session.py
"""

from __future__ import annotations

import sys

import boto3

import credpick


def session_from_a_library() -> boto3.Session:
    """Stands in for code you do not control: it uses the default chain."""
    return boto3.Session()


def main() -> int:
    given = session_from_a_library()
    try:
        credpick.wrap(given)
        print("the given session complies")
    except credpick.StaticKeysRefused as exc:
        print(f"refused: {exc.reason}")
    except credpick.CredpickError as exc:
        print(f"cannot check the session: {exc.reason}", file=sys.stderr)
        return 1
    try:
        session = credpick.guard(credpick.wrap(given, replace=True))
    except credpick.CredpickError as exc:
        print(f"no compliant session here: {exc.reason}", file=sys.stderr)
        return 1
    credentials = session.get_credentials()
    method = credentials.method if credentials is not None else "no"
    print(f"using {method} credentials in {session.region_name}")
    # Every client created from here on checks what signs each request.
    s3 = session.client("s3")
    s3.generate_presigned_url("get_object", Params={"Bucket": "reports", "Key": "q3.csv"})
    print("signed a request with the guarded session")
    return 0


if __name__ == "__main__":
    sys.exit(main())
