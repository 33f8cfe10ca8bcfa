"""A profile whose credentials come from an external program, with a deadline.

credpick's own provider replaces botocore's ``ProcessProvider``, with the same
contract: the command line is split as botocore splits it; the program prints
``{"Version": 1, "AccessKeyId", "SecretAccessKey"[, "SessionToken",
"Expiration", "AccountId"]}``; credentials with an ``Expiration`` refresh by
running it again; the method is ``custom-process``. Unlike botocore's, it runs
the program under ``Timeouts.process`` and bounds its output (see
:mod:`._process_run`), and its errors name the program, never its arguments
(they often carry secrets) nor anything it printed. Like botocore's, the
program inherits this process's environment and standard input.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import attrs
from botocore.compat import compat_shell_split
from botocore.credentials import Credentials, RefreshableCredentials

from .. import _files
from .._context import Context
from .._model import Candidate, SourceKind, Status
from ..exceptions import SourceFailed
from . import _process_run
from ._base import BuildInputs, CredentialProvider, register_features

KIND = SourceKind.CREDENTIAL_PROCESS
LOOKS_AT = "the active profile's credential_process"
# botocore 1.37+ keeps the account on credentials (read without importing inspect).
_CARRIES_ACCOUNT = "account_id" in Credentials.__init__.__code__.co_varnames
METHOD = "custom-process"


def _program(command: str) -> str | None:
    """The program a command line runs (its first word), split as botocore splits it."""
    try:
        words = compat_shell_split(command)
    except ValueError:  # an unbalanced quote
        return None
    return str(words[0]) if words else None


def detect(ctx: Context) -> list[Candidate]:
    name, explicit, settings = _files.active_profile(ctx)
    command = settings.get("credential_process")
    if not command:
        return []
    program = _program(str(command))
    failed = program is None
    return [
        Candidate(
            kind=KIND,
            status=Status.FAILED if failed else Status.AVAILABLE,
            origin=f"profile '{name}'",
            # Only the program name: arguments often carry secrets or paths to them.
            evidence=(
                f"credential_process runs {program or '(unparsable command)'} (profile '{name}')",
            ),
            reason="the credential_process command line cannot be split (an unbalanced quote?)"
            if failed
            else "credentials from an external program",
            fix=f"fix the quoting of credential_process in profile '{name}'" if failed else None,
            explicit=explicit,
            profile=name,
            params={"command": str(command), "account_id": str(settings.get("aws_account_id", ""))},
        )
    ]


def _expiry(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _metadata(
    stdout: bytes, account_id: str | None, refresh: bool
) -> tuple[dict[str, Any] | None, str | None]:
    """botocore's credential metadata from the program's output, or what is wrong with it.

    The output (which holds the secret) stays in this frame, which returns.
    """
    try:
        doc = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # their messages quote the output
        return None, "printed something that is not JSON"
    if not isinstance(doc, dict):
        return None, "printed JSON that is not an object"
    version = doc.get("Version")
    if version != 1 or isinstance(version, bool):
        return None, 'printed no "Version": 1 (the only version there is)'
    for key in ("AccessKeyId", "SecretAccessKey"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            return None, f"printed no {key} string"
    token = doc.get("SessionToken")
    if token is not None and not isinstance(token, str):
        return None, "printed a SessionToken that is not a string"
    expiry = None
    if doc.get("Expiration") is not None:
        expiry = _expiry(doc["Expiration"])
        if expiry is None:
            return None, "printed an Expiration that is not an ISO 8601 time"
    elif refresh:  # a refreshable set must stay refreshable; botocore would fail on None
        return None, "printed no Expiration on refresh, after credentials that expire"
    account = doc.get("AccountId")
    return {
        "access_key": doc["AccessKeyId"],
        "secret_key": doc["SecretAccessKey"],
        "token": token or None,
        "expiry_time": expiry.isoformat() if expiry else None,
        "account_id": account if isinstance(account, str) and account else account_id,
    }, None


def _obtain(
    command: str, timeout: float, account_id: str | None, refresh: bool
) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """Run the program and parse its output: (metadata, problem, fix)."""
    try:
        argv = [str(word) for word in compat_shell_split(command)]
    except ValueError:
        argv = []
    if not argv:
        return None, "cannot be split into a command line", "fix the quoting of credential_process"
    outcome = _process_run.run(argv, timeout)
    if outcome.problem is not None:
        return None, outcome.problem, outcome.fix
    metadata, problem = _metadata(outcome.stdout, account_id, refresh)
    return (
        metadata,
        problem,
        (
            "make the program print the credentials JSON of the AWS CLI's credential_process "
            "contract on stdout, and nothing else"
            if problem
            else None
        ),
    )


@attrs.frozen
class ProcessProvider:
    """Runs the profile's ``credential_process`` program, with a deadline."""

    METHOD = METHOD

    command: str = attrs.field(repr=False)
    profile: str
    timeout: float
    account_id: str | None = attrs.field(default=None, repr=False)

    @property
    def program(self) -> str:
        """The program, without its arguments."""
        return _program(self.command) or "(unparsable command)"

    def fetch(self, *, refresh: bool = False) -> Mapping[str, Any]:
        """One run of the program: botocore's credential metadata.

        Raises:
            SourceFailed: The program could not run, failed, timed out or
                printed no credentials (on ``refresh``, none that expire).
        """
        metadata, problem, fix = _obtain(self.command, self.timeout, self.account_id, refresh)
        if metadata is not None:
            return metadata
        # Raised here, outside any except block; this frame holds no output.
        raise SourceFailed(
            f"the credential_process program {self.program} {problem}",
            kind=KIND.value,
            evidence=(f"credential_process runs {self.program} (profile '{self.profile}')",),
            fix=fix,
        )

    def _refresh(self) -> Mapping[str, Any]:
        return self.fetch(refresh=True)

    def load(self) -> Any:
        register_features("CREDENTIALS_PROFILE_PROCESS")  # as botocore's ProcessProvider
        metadata = self.fetch()
        register_features("CREDENTIALS_PROCESS")
        if metadata["expiry_time"] is None:
            # botocore carries the account on credentials since 1.37; older ones take no such argument.
            account = {"account_id": metadata["account_id"]} if _CARRIES_ACCOUNT else {}
            return Credentials(
                access_key=metadata["access_key"],
                secret_key=metadata["secret_key"],
                token=metadata["token"],
                method=METHOD,
                **account,
            )
        return RefreshableCredentials.create_from_metadata(
            metadata, refresh_using=self._refresh, method=METHOD
        )


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    return ProcessProvider(
        command=candidate.params["command"],
        profile=candidate.profile or "default",
        timeout=inputs.context.timeouts.process,
        account_id=candidate.params.get("account_id") or None,
    )
