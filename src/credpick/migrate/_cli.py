"""``credpick audit`` and ``credpick scan``: the migration commands.

Kept in credpick.migrate so ``credpick._cli`` stays about picking credentials;
``_cli.main`` calls :func:`add_commands` and :func:`run`. Arguments are checked
here, by argparse, so a mistake is a usage error (exit 2) before any work starts.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
from collections.abc import Callable
from typing import Any

#: Default for ``scan --max-bytes``: ``credpick.migrate._scan.MAX_BYTES``, kept literal
#: so ``--help`` does not load the scanner (a test pins the two together).
MAX_BYTES = 1024 * 1024


def _at_least_one(text: str) -> int:
    """An argparse ``type``: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is less than 1")
    return value


def _fail_on(text: str) -> str:
    """An argparse ``type``: comma-separated audit flags, or ``all``; a close match
    is suggested for a typo."""
    from ._audit_report import Flag

    known = [f.value for f in Flag]
    if text.strip() == "all":
        return "all"
    for value in text.split(","):
        value = value.strip()
        if value not in known:
            close = difflib.get_close_matches(value, [*known, "all"], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise argparse.ArgumentTypeError(
                f"{value!r} is not an audit flag ({hint}flags: {', '.join(known)}, or 'all')"
            )
    return text


def _existing(text: str) -> str:
    """An argparse ``type``: a path that exists (a file or a directory)."""
    if not os.path.exists(text):  # a dangling symlink too
        raise argparse.ArgumentTypeError(f"no such file or directory: {text}")
    return text


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the ``audit`` and ``scan`` sub-parsers with ``add`` (``add_parser``)."""
    audit = add(
        "audit",
        help="inventory IAM access keys and flag the ones to retire (read-only)",
        description="Read the IAM credential report and flag keys: root keys, rotation "
        "overdue, unused, never used, users with two active keys. Exit 1 when a key "
        "flagged by --fail-on exists.",
    )
    audit.add_argument("--profile", help="call IAM with this profile")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    audit.add_argument("--show-all", action="store_true", help="list unflagged keys too")
    audit.add_argument(
        "--detail",
        choices=("flagged", "all"),
        default="flagged",
        help="look up only flagged keys (default), or every user and key",
    )
    audit.add_argument(
        "--fail-on",
        type=_fail_on,
        default=None,
        metavar="FLAGS",
        help="comma-separated flags that fail the run, or 'all' "
        "(default: root-key,rotation-overdue,unused)",
    )
    days: dict[str, Any] = {"type": _at_least_one, "metavar": "DAYS"}
    audit.add_argument("--rotation-days", default=90, help="rotate after (90)", **days)
    audit.add_argument(
        "--multicloud-rotation-days",
        default=30,
        help="rotate after, for users tagged --multicloud-tag (30)",
        **days,
    )
    audit.add_argument(
        "--multicloud-tag", default="credpick:multi-cloud", help="the tag of multi-cloud users"
    )
    audit.add_argument("--unused-days", default=14, help="unused after (14)", **days)
    audit.add_argument(
        "--max-workers", type=_at_least_one, default=8, metavar="N", help="IAM calls at once (8)"
    )
    scan = add(
        "scan",
        help="find long-lived access key ids in files (pre-commit hook)",
        description="Find long-lived (AKIA) key ids in files and, with --env, the "
        "environment. Exit 1 when one is found, 4 when a file named on the command line "
        "could not be read or is over --max-bytes. Temporary (ASIA) ids and AWS's "
        "documentation examples are reported but do not fail.",
    )
    scan.add_argument("paths", nargs="*", type=_existing, default=["."], metavar="PATH")
    scan.add_argument("--env", action="store_true", help="scan the environment too")
    scan.add_argument("--json", action="store_true", help="print the report as JSON")
    scan.add_argument(
        "--max-bytes",
        type=_at_least_one,
        default=MAX_BYTES,
        metavar="N",
        help=f"read files up to this size ({MAX_BYTES}); a named file over it fails",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``audit`` or ``scan``; returns the exit code."""
    if args.command == "scan":
        from ._scan import render_scan, scan

        report = scan(args.paths, include_env=args.env, max_bytes=args.max_bytes)
        print(json.dumps(report.to_dict(), indent=2) if args.json else render_scan(report))
        return report.exit_code()
    from .._session import session
    from ._audit import audit
    from ._audit_report import parse_fail_on, render_audit

    fail_on = parse_fail_on(args.fail_on)  # checked by argparse already
    result = audit(
        session(profile_name=args.profile) if args.profile else None,
        rotation_days=args.rotation_days,
        multicloud_rotation_days=args.multicloud_rotation_days,
        multicloud_tag=args.multicloud_tag,
        unused_days=args.unused_days,
        detail=args.detail,
        max_workers=args.max_workers,
    )
    text = (
        json.dumps(result.to_dict(), indent=2)
        if args.json
        else render_audit(result, show_all=args.show_all, fail_on=fail_on)
    )
    print(text)
    return result.exit_code(fail_on)
