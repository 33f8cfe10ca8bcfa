"""``credpick exec -- CMD``: run a command with a private credential endpoint.

The child's own credential chain must end at the endpoint. Every SDK's chain puts
the container provider late (botocore's: after the environment, the profile's
roles, SSO, the shared files, ``credential_process`` and the legacy files), so the
child's environment loses what would come first (:data:`REMOVED`), its shared
credentials file is ``/dev/null``, and its config file is a private copy without
any credential setting: the profile (``AWS_PROFILE``) still gives the child its
region, output and endpoints.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType

from .. import _safe_io
from .._context import Context
from .._mask import shown
from ..exceptions import ConfigurationError
from ._pick import Options, pick, reader, temporary
from ._server import CredentialServer

#: Variables that would make the child's chain stop before the endpoint.
REMOVED = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    # botocore prefers the relative URI and the token file to the two set here.
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_CREDENTIAL_FILE",
)
#: Profile settings that choose credentials; the child's config copy has none.
CREDENTIAL_SETTINGS = frozenset(
    {
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_security_token",
        "role_arn",
        "source_profile",
        "credential_source",
        "credential_process",
        "web_identity_token_file",
        "role_session_name",
        "external_id",
        "mfa_serial",
        "duration_seconds",
        "sso_session",
        "sso_start_url",
        "sso_region",
        "sso_account_id",
        "sso_role_name",
        "sso_registration_scopes",
        "login_session",
    }
)
#: Passed on to the child; SIGINT only when the terminal did not already send it.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
NOT_FOUND = 127  # the shell's codes
NOT_EXECUTABLE = 126


def config_without_credentials(source: Path, target: Path, profile: str) -> None:
    """Write to ``target`` (mode 0600) the config file at ``source`` without any
    credential setting, and with a section for ``profile``: the child's SDK fails on
    an ``AWS_PROFILE`` it cannot find, and a profile that lived only in the
    credentials file (now ``/dev/null``) would be one. A missing or unreadable
    ``source`` gives that section alone."""
    parser = configparser.RawConfigParser(interpolation=None, strict=False)
    try:  # bounded, as every shared-file read: a FIFO or a huge file is no hang
        parser.read_string(_safe_io.read_text(source, limit=_safe_io.SHARED_FILE))
    except (_safe_io.FileProblem, configparser.Error):
        parser = configparser.RawConfigParser(interpolation=None, strict=False)
    for section in parser.sections():
        for key in list(parser[section]):
            if key.lower() in CREDENTIAL_SETTINGS:
                parser.remove_option(section, key)
    section = "default" if profile == "default" else f"profile {profile}"
    if not parser.has_section(section):
        parser.add_section(section)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        parser.write(file)


def child_env(
    environ: Mapping[str, str], endpoint: Mapping[str, str], config: Path
) -> dict[str, str]:
    """The child's environment: no keys, no earlier source, the endpoint's two variables."""
    env = {k: v for k, v in environ.items() if k not in REMOVED}
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_CONFIG_FILE"] = str(config)
    env["BOTO_CONFIG"] = os.devnull  # else ~/.boto's keys come before the endpoint
    env.update(endpoint)
    return env


@contextlib.contextmanager
def _private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="credpick-exec-"))  # mode 0700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _terminal_sent_it() -> bool:
    """Whether a SIGINT came from our terminal, which sent it to the child too:
    stdin is a terminal whose foreground process group is ours (and the child's)."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


@contextlib.contextmanager
def _forwarding(child: subprocess.Popen[bytes]) -> Iterator[None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT and _terminal_sent_it():
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    saved = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def exit_status(returncode: int) -> int:
    """The child's exit code, or 128 + the signal that killed it (the shell's rule)."""
    return 128 - returncode if returncode < 0 else returncode


def _start(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    program = argv[0]
    try:
        return subprocess.Popen(list(argv), env=dict(env))
    except FileNotFoundError:
        problem, code = "was not found", NOT_FOUND
    except PermissionError:
        problem, code = "is not executable", NOT_EXECUTABLE
    raise _CannotStart(f"the command {program!r} {problem}", code)


class _CannotStart(ConfigurationError):
    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason, fix="check the command after '--' and the PATH")
        self.code = code


def run(options: Options, argv: Sequence[str]) -> int:
    """Run ``argv`` with a private endpoint; the child's exit status.

    Raises:
        CredpickError: The policy refused or no credentials could be loaded;
            the command was not started.
    """
    if not argv:
        raise ConfigurationError(
            "no command to run", fix="name it after '--': credpick exec -- aws s3 ls"
        )
    credentials = temporary(pick(options))
    ctx = Context.from_process(profile_name=options.profile)
    with _private_dir() as private, CredentialServer(reader(credentials)) as server:
        config = private / "config"
        config_without_credentials(ctx.config_file, config, ctx.active_profile()[0])
        env = child_env(os.environ, server.env(), config)
        if options.profile:  # the profile the pick used gives the child its settings
            env["AWS_PROFILE"] = options.profile
            env.pop("AWS_DEFAULT_PROFILE", None)
        try:
            child = _start(argv, env)
        except _CannotStart as exc:
            print(shown(f"credpick exec: {exc.reason} (fix: {exc.fix})"), file=sys.stderr)
            return exc.code
        with _forwarding(child):
            returncode = child.wait()
    return exit_status(returncode)
