"""An application that only accepts role credentials from its own account.

On a laptop with only a long-lived key this refuses to start, and says why:

    python examples/app_with_policy.py
"""

from __future__ import annotations

import sys

import credpick

ACCOUNT = "123456789012"


def own_account_only(detection: credpick.Detection) -> None:
    chosen = detection.chosen
    if chosen is not None and chosen.role_arn and f"::{ACCOUNT}:" not in chosen.role_arn:
        raise credpick.PolicyViolation(
            f"role {chosen.role_arn} is not in account {ACCOUNT}", kind=chosen.kind.value
        )


def main() -> int:
    policy = credpick.Policy(static_keys="forbid", hook=own_account_only)
    try:
        session = credpick.session(policy=policy)
    except credpick.CredpickError as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)
        return 1
    chosen = credpick.detect(policy=policy).chosen  # None only if nothing was picked
    print(f"started with {chosen.kind.value if chosen else 'no'} credentials")
    sts = session.client("sts")
    print("caller:", sts.get_caller_identity()["Arn"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
