"""``credpick audit`` and ``credpick scan``: the migration commands.

Kept in credpick.migrate so ``credpick._cli`` stays about picking credentials;
``_cli.main`` calls :func:`add_commands` and :func:`run`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_commands(commands: Any) -> None:
    """Add the ``audit`` and ``scan`` sub-parsers."""
    audit = commands.add_parser(
        "audit",
        help="inventory IAM access keys and flag the ones to retire (read-only)",
        description="Read the IAM credential report and flag keys: root keys, rotation "
        "overdue, unused, never used, users with two active keys. Exit 1 when a key "
        "flagged by --fail-on exists.",
    )
    audit.add_argument("--profile", help="call IAM with this profile")
    audit.add_argument("--json", action="store_true", help="print the report as JSON")
    audit.add_argument("--show-all", action="store_true", help="list unflagged keys too")
    audit.add_argument("--detail", choices=("flagged", "all"), default="flagged")
    audit.add_argument(
        "--fail-on",
        default=None,
        metavar="FLAGS",
        help="comma-separated flags that fail the run, or 'all' "
        "(default: root-key,rotation-overdue,unused)",
    )
    audit.add_argument("--rotation-days", type=int, default=90)
    audit.add_argument("--multicloud-rotation-days", type=int, default=30)
    audit.add_argument("--multicloud-tag", default="credpick:multi-cloud")
    audit.add_argument("--unused-days", type=int, default=14)
    audit.add_argument("--max-workers", type=int, default=8)
    scan = commands.add_parser(
        "scan",
        help="find long-lived access key ids in files (pre-commit hook)",
        description="Find long-lived (AKIA) key ids in files and, with --env, the "
        "environment. Exit 1 when one is found. Temporary (ASIA) ids and AWS's "
        "documentation examples are reported but do not fail.",
    )
    scan.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    scan.add_argument("--env", action="store_true", help="scan the environment too")
    scan.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``audit`` or ``scan``; returns the exit code."""
    if args.command == "scan":
        from ._scan import render_scan, scan

        report = scan(args.paths, include_env=args.env)
        print(json.dumps(report.to_dict(), indent=2) if args.json else render_scan(report))
        return report.exit_code()
    from .._session import session
    from ._audit import audit
    from ._audit_report import parse_fail_on, render_audit

    fail_on = parse_fail_on(args.fail_on)  # bad flags fail before any IAM call
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
        else render_audit(result, show_all=args.show_all)
    )
    print(text)
    return result.exit_code(fail_on)
