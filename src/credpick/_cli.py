"""The ``credpick`` command line: ``main(argv) -> exit code``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .exceptions import CredpickError

EXAMPLES = """\
examples:
  credpick tour               what credpick picks on every emulated runtime
  credpick explain            what this process would use, and why
  credpick explain --json     the same, as JSON
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="credpick",
        description="Pick the safest AWS credentials this process can use.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"credpick {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("tour", help="run every emulated runtime and print a table")
    explain = commands.add_parser("explain", help="print the detection report")
    explain.add_argument("--profile", help="use this profile, as profile_name= would")
    explain.add_argument("--json", action="store_true", help="print Detection.to_dict() as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "tour":
            from ._tour import tour

            print(tour())
            return 0
        from ._detect import detect

        detection = detect(profile_name=args.profile)
        if args.json:
            print(json.dumps(detection.to_dict(), indent=2))
        else:
            print(detection.explain())
        return 0
    except CredpickError as exc:
        print(f"credpick: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
