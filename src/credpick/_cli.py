"""The ``credpick`` command line: ``main(argv) -> exit code``.

Expected errors print one line on stderr and return a documented code (see
``docs/cli.md``); an unexpected exception is a bug in credpick: one line that says
so and exit 70, with the traceback under ``-v``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from . import __version__
from ._kinds import SourceKind
from .exceptions import (
    ConfigurationError,
    CredpickError,
    NoCredentialsFound,
    PolicyViolation,
)

if TYPE_CHECKING:
    from ._context import Context
    from ._detection import Detection

OK = 0
VIOLATION = 1  # a policy violation: long-lived keys, --require, a hook
USAGE = 2  # argparse's own
NO_CREDENTIALS = 3
FAILED = 4  # the chosen source cannot deliver, or the configuration is unusable
BUG = 70  # sysexits' EX_SOFTWARE: an unexpected exception, a bug in credpick
INTERRUPTED = 130  # the shell's code for SIGINT

# From the one list; _kinds imports nothing else, so --help stays cheap.
KINDS = tuple(kind.value for kind in SourceKind)

EXAMPLES = """\
examples:
  credpick explain                        what this process would use, and why
  credpick explain --json                 the same, as JSON (Detection.to_dict())
  credpick check --forbid-static          in CI: fail if any long-lived key is within reach
  credpick check --require ecs eks-pod-identity
                                          fail unless one of these sources is used
  credpick whoami                         the account and ARN the session signs as
  credpick tour                           what credpick picks on every emulated runtime
  credpick audit --json                   flag IAM access keys to rotate or retire
  credpick scan .                         find long-lived key ids in files (pre-commit)
  credpick process --profile dev          credential_process JSON, for ~/.aws/config
  credpick serve                          the container credential endpoint on 127.0.0.1
  credpick exec -- terraform plan         run a command with credpick's pick

exit codes:
  0 ok, 1 policy violation (audit, scan: a flagged key), 2 usage error,
  3 no credentials found, 4 the chosen source failed or the configuration is unusable
  (scan: a named file could not be read), 70 a bug in credpick, 130 interrupted;
  exec returns the command's own code (128 + N when signal N killed it)
"""


VERBOSE_HELP = (
    "show more on stderr: credpick's log records, an error's evidence and candidates, "
    "and a bug's traceback"
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and still exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="credpick",
        description="Pick the safest AWS credentials this process can use.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"credpick {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    # -v after the command too; SUPPRESS keeps a sub-parser from resetting it.
    common = _Parser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    add = functools.partial(commands.add_parser, parents=[common])
    add("tour", help="run every emulated runtime and print a table")
    explain = add("explain", help="what this process would use, and why")
    explain.add_argument("--profile", help="use this profile, as profile_name= would")
    explain.add_argument("--json", action="store_true", help="print Detection.to_dict() as JSON")
    check = add(
        "check",
        help="exit 0 only if a compliant source would be used (for CI)",
        description="Exit 0 when a compliant credential source would be used; else print "
        "one line on stderr and exit 1 (policy), 3 (nothing found) or 4 (source failed).",
    )
    check.add_argument(
        "--forbid-static",
        action="store_true",
        help="long-lived keys are a violation, even merely present (environment, shared files)",
    )
    check.add_argument(
        "--require",
        nargs="+",
        action="extend",
        choices=KINDS,
        metavar="KIND",
        help="fail unless the chosen source is one of these kinds",
    )
    check.add_argument("--allow-imdsv1", action="store_true", help="accept IMDSv1 on EC2")
    check.add_argument("--profile", help="use this profile, as profile_name= would")
    whoami = add("whoami", help="call STS GetCallerIdentity with credpick's pick")
    whoami.add_argument("--profile", help="use this profile, as profile_name= would")
    from .migrate._cli import add_commands

    add_commands(add)
    _add_bridge(add)
    return parser


def _add_bridge(add: Any) -> None:
    """``process``, ``serve`` and ``exec``: the pick handed to other programs (docs/bridge.md)."""
    policy = _Parser(add_help=False)
    policy.add_argument("--profile", help="use this profile, as profile_name= would")
    policy.add_argument(
        "--forbid-static", action="store_true", help="refuse long-lived keys, even alone"
    )
    policy.add_argument(
        "--require",
        nargs="+",
        action="extend",
        choices=KINDS,
        metavar="KIND",
        help="refuse unless the chosen source is one of these kinds",
    )
    policy.add_argument("--allow-imdsv1", action="store_true", help="accept IMDSv1 on EC2")
    add(
        "process",
        parents=[policy],
        help="print the pick as credential_process JSON (for ~/.aws/config)",
    )
    serve = add(
        "serve",
        parents=[policy],
        help="serve the pick on 127.0.0.1 over the container credential protocol",
    )
    serve.add_argument("--port", type=_port, default=0, help="the port (default: a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    run = add(
        "exec",
        parents=[policy],
        help="run a command with a private credential endpoint: credpick exec -- CMD ARGS",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS")


def _port(text: str) -> int:
    """A TCP port, 0 (a free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {text!r}")
    return port


def _bridge(args: argparse.Namespace) -> int:
    from ._bridge._pick import Options

    options = Options(
        profile=args.profile,
        forbid_static=args.forbid_static,
        require=tuple(args.require or ()),
        allow_imdsv1=args.allow_imdsv1,
    )
    if args.command == "process":
        if sys.stdout.isatty():
            _say(
                "process",
                "refusing to print credentials to a terminal (fix: set it as a "
                "profile's credential_process, or pipe it: credpick process | jq .Expiration)",
            )
            return USAGE
        from ._bridge import process

        process.run(options, sys.stdout)
        return OK
    if args.command == "serve":
        from ._bridge import serve

        serve.run(options, sys.stdout, host=args.host, port=args.port)
        return OK
    from ._bridge import exec_

    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    return exec_.run(options, argv)


def one_line(exc: CredpickError) -> str:
    """An error as one line: kind, reason and fix; never the candidate list."""
    text = f"{exc.kind}: {exc.reason}" if exc.kind else exc.reason
    if exc.fix:
        text += f" (fix: {exc.fix})"
    return " ".join(text.split())


def details(exc: CredpickError) -> list[str]:
    """What ``-v`` adds under the one line: the evidence and the candidate list."""
    lines = [f"  evidence: {e}" for e in exc.evidence]
    if exc.attempts:
        lines.append("  candidates:")
        lines.extend(f"    - {a}" for a in exc.attempts)
    return lines


def exit_code(exc: CredpickError) -> int:
    """The documented exit code for an error."""
    if isinstance(exc, PolicyViolation):
        return VIOLATION
    if isinstance(exc, NoCredentialsFound):
        return NO_CREDENTIALS
    return FAILED  # SourceFailed, ConfigurationError


def _explain(args: argparse.Namespace) -> int:
    from ._detect import detect

    detection = detect(profile_name=args.profile)
    if args.json:
        print(json.dumps(detection.to_dict(), indent=2))
    else:
        print(detection.explain())
    return OK


def present_keys(ctx: Context) -> list[str]:
    """Every long-lived key this process could pick up, masked: the environment,
    every section of the shared credentials and config files, and the legacy
    files botocore reads (``AWS_CREDENTIAL_FILE``, ``BOTO_CONFIG``, ``~/.boto``)."""
    from . import _envvars as ev
    from . import _files
    from ._mask import is_temporary_key_id, mask_key_id
    from .sources import _legacy

    found = []
    token = ctx.get(ev.SESSION_TOKEN) or ctx.get(ev.LEGACY_SECURITY_TOKEN)
    for var in (ev.ACCESS_KEY_ID, ev.LEGACY_ACCESS_KEY):
        key = ctx.get(var)
        if key and not (token and is_temporary_key_id(key)):
            found.append(f"environment ({var}={mask_key_id(key)})")
    files = _files.load(ctx)
    sections = [
        (f"[{name}] of {files.credentials_path}", s) for name, s in files.credentials.items()
    ] + [(f"profile '{name}' of {files.config_path}", s) for name, s in files.profiles.items()]
    for where, section in sections:
        key = section.get("aws_access_key_id")
        temp = section.get("aws_session_token") or section.get("aws_security_token")
        if key and not (temp and is_temporary_key_id(str(key))):
            found.append(f"{where} ({mask_key_id(str(key))})")
        elif not key and section.get("aws_secret_access_key"):
            found.append(f"{where} (aws_secret_access_key without an id)")
    for legacy in _legacy.find(ctx):  # neither file can hold a session token
        # A file that cannot be read may hold a key: it fails the check too.
        what = legacy.key_id or legacy.problem or "a secret key without an id"
        found.append(f"{legacy.path} ({what})")
    return found


def _check(args: argparse.Namespace) -> int:
    from ._context import Context
    from ._detect import detect
    from ._policy import Policy

    policy = Policy(
        static_keys="forbid" if args.forbid_static else "refuse-when-role",
        allow_imdsv1=args.allow_imdsv1,
    )
    ctx = Context.from_process(profile_name=args.profile)
    detection: Detection = detect(policy=policy, context=ctx)
    if isinstance(detection.error, ConfigurationError):
        raise detection.error
    if args.forbid_static:
        keys = present_keys(ctx)
        if keys:
            _say("check", f"policy violation: long-lived keys present: {'; '.join(keys)}")
            return VIOLATION
    if detection.error is not None:
        raise detection.error
    chosen = detection.chosen
    if chosen is None:  # pragma: no cover - apply() always sets an error then
        raise NoCredentialsFound("no AWS credentials found")
    if args.require and chosen.kind.value not in args.require:
        _say(
            "check",
            f"policy violation: {chosen.kind.value} ({chosen.origin}) would be used, "
            f"but --require allows only {', '.join(args.require)}",
        )
        return VIOLATION
    if not chosen.provenance.known and (args.forbid_static or chosen.role_available):
        # Only loading tells: a program or a sidecar can deliver an IAM user's key.
        # The library's own verdict decides; its error exits as any other.
        from ._session import session

        session(policy=policy, context=ctx)
    _say("check", f"ok: {chosen.kind.value} ({chosen.origin}) would be used")
    return OK


def check_endpoint(service: str) -> None:
    """Raise the ``ConfigurationError`` naming the variable when the endpoint
    override botocore would use for ``service`` is malformed (botocore's own
    error would be a bare ``ValueError`` with a traceback)."""
    from ._context import Context

    Context.from_process().endpoint_url(service)


def _whoami(args: argparse.Namespace) -> int:

    from ._detect import detect
    from ._session import session

    check_endpoint("sts")
    detection = detect(profile_name=args.profile)
    detection.raise_for_error()
    kind = detection.chosen.kind.value if detection.chosen else "?"
    built = session(profile_name=args.profile)
    identity, problem = _caller_identity(built)
    if problem is not None:
        _say("whoami", f"{kind}: {problem}")
        return FAILED
    print(f"account  {identity.get('Account')}")
    print(f"arn      {identity.get('Arn')}")
    print(f"source   {kind}")
    return OK


def _caller_identity(built: Any) -> tuple[Any, str | None]:
    """STS GetCallerIdentity, or what went wrong in words from structured facts."""
    import botocore.exceptions

    from . import _redact
    from ._mask import display_url

    credentials = built.get_credentials()
    with _redact.boundary(_redact.credentials_secrets(credentials)):
        try:
            client = built.client("sts")
        except ValueError:  # botocore's word for an endpoint it cannot parse
            return None, (
                "the STS endpoint is not a valid URL "
                "(AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the profile's endpoint_url)"
            )
        try:
            return client.get_caller_identity(), None
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            return None, f"STS GetCallerIdentity was rejected with {code}"
        except botocore.exceptions.NoRegionError:
            return None, "no region for STS (set AWS_REGION, or a profile's region)"
        except botocore.exceptions.BotoCoreError as exc:
            # Not str(exc): it quotes the endpoint URL, user info and query included.
            url = getattr(exc, "kwargs", {}).get("endpoint_url")
            where = f" at {display_url(url)}" if isinstance(url, str) else ""
            return None, f"STS GetCallerIdentity failed: {type(exc).__name__}{where}"


def _shown(text: str) -> str:
    from ._report import shown

    return shown(text)


def _say(command: str, text: str) -> None:
    print(f"credpick {command}: {_shown(' '.join(text.split()))}", file=sys.stderr)


@contextlib.contextmanager
def _logging(verbose: bool) -> Iterator[None]:
    """Show credpick's log records only with ``-v``: the output already says it."""
    log = logging.getLogger("credpick")
    handler: logging.Handler = (
        logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()
    )
    handler.setFormatter(logging.Formatter("credpick %(levelname)s: %(message)s"))
    saved = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO if verbose else logging.ERROR)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


def _bug(command: str, exc: BaseException, verbose: bool) -> None:
    """An unexpected exception: say it is a bug; the traceback only with ``-v``.

    The traceback shows frames and exception types, never messages: a message can
    quote a value (a URL with a token, a secret) that no output may hold.
    """
    if verbose:
        frames = traceback.format_tb(exc.__traceback__)
        chain: list[str] = []
        cause: BaseException | None = exc
        while cause is not None and len(chain) < 10:
            chain.append(type(cause).__qualname__)
            cause = cause.__cause__ or cause.__context__
        from ._report import shown

        text = "Traceback (most recent call last):\n" + "".join(frames)
        sys.stderr.write(shown(text) + f"{' <- '.join(chain)} (messages not shown)\n")
        hint = ""
    else:
        hint = "; run it again with -v for the traceback"
    _say(
        command,
        f"internal error: {type(exc).__name__}: this is a bug in credpick, please report it{hint}",
    )


def _run(args: argparse.Namespace) -> int:
    command = args.command
    if command == "tour":
        from ._tour import tour

        print(tour())
        return OK
    if command == "check":
        return _check(args)
    if command == "whoami":
        return _whoami(args)
    if command in ("process", "serve", "exec"):
        return _bridge(args)
    if command in ("audit", "scan"):
        from .migrate._cli import run

        if command == "audit":
            check_endpoint("iam")
        return run(args)
    return _explain(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Every :class:`~credpick.exceptions.CredpickError` is one line on stderr (more with
    ``-v``) and its documented code; an unexpected exception is a bug in credpick.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` by default.

    Returns:
        0 ok, 1 policy violation, 3 no credentials found, 4 the chosen source
        failed or the configuration is unusable, 70 a bug in credpick, 130
        interrupted. Usage errors exit 2 (``SystemExit``, as argparse does).

    .. versionadded:: 0.1.0
    """
    args = _parser().parse_args(argv)
    command, verbose = args.command, bool(args.verbose)
    try:
        with _logging(verbose):
            return _run(args)
    except CredpickError as exc:
        _say(command, one_line(exc))
        if verbose:
            for line in details(exc):
                print(_shown(line), file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        _say(command, "interrupted")
        return INTERRUPTED
    except Exception as exc:  # not a user's mistake: every expected error is a CredpickError
        _bug(command, exc, verbose)
        return BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
