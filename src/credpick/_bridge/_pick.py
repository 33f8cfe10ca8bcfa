"""Pick once, with the command line's policy, and read the current credentials.

Every bridge command starts here: ``--require`` and the recursion guard are a
policy hook, so a refusal is a :class:`~credpick.PolicyViolation` from the same
decision the library makes, before anything is printed, served or started.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from typing import Any

import attrs
from botocore.compat import compat_shell_split

from .. import _redact
from .._detection import Detection, Policy
from .._kinds import SourceKind
from .._mask import mask_key_id
from .._model import Candidate
from ..exceptions import PolicyViolation

#: Set by ``credpick process`` for the programs it runs: the profiles being
#: resolved above, so a nested ``credpick process`` for one of them refuses.
RESOLVING = "CREDPICK_PROCESS_PROFILES"


@attrs.frozen
class Options:
    """The policy options every bridge command takes."""

    profile: str | None = None
    forbid_static: bool = False
    require: tuple[str, ...] = ()
    allow_imdsv1: bool = False

    def policy(self) -> Policy:
        """The policy, with ``--require`` and the recursion guard as its hook."""
        return Policy(
            static_keys="forbid" if self.forbid_static else "refuse-when-role",
            allow_imdsv1=self.allow_imdsv1,
            hook=self._judge,
        )

    def _judge(self, detection: Detection) -> None:
        chosen = detection.chosen
        if chosen is None:
            return
        if runs_credpick_process(chosen):
            raise PolicyViolation(
                f"profile '{chosen.profile}' gets its credentials from credpick process "
                "itself, which would run itself forever",
                kind=chosen.kind.value,
                fix=f"give 'credpick process' another profile (--profile) than "
                f"'{chosen.profile}', or, where AWS_PROFILE selects '{chosen.profile}', "
                "hide it: credential_process = env -u AWS_PROFILE credpick process",
            )
        if self.require and chosen.kind.value not in self.require:
            raise PolicyViolation(
                f"{chosen.kind.value} ({chosen.origin}) would be used, "
                f"but --require allows only {', '.join(self.require)}",
                kind=chosen.kind.value,
                fix="run where one of the required sources is available, or widen --require",
            )


def runs_credpick_process(chosen: Candidate) -> bool:
    """Whether a ``credential_process`` candidate's command is ``credpick process``:
    a word named ``credpick`` (the script, or ``-m credpick``), then ``process``."""
    if chosen.kind is not SourceKind.CREDENTIAL_PROCESS:
        return False
    try:
        words = [str(w) for w in compat_shell_split(str(chosen.params.get("command", "")))]
    except ValueError:
        return False
    for i, word in enumerate(words):
        if os.path.basename(word) in ("credpick", "credpick.exe"):
            return "process" in words[i + 1 :]
    return False


def pick(options: Options) -> Any:
    """The session credpick would build, its credentials loaded and judged.

    Raises:
        CredpickError: As :func:`credpick.session` does; ``--require`` and the
            recursion guard refuse with a ``PolicyViolation``.
    """
    from .._session import session

    return session(policy=options.policy(), profile_name=options.profile)


@attrs.frozen
class Current:
    """Credentials as they are now: the only values the bridge hands out."""

    access_key: str = attrs.field(repr=lambda key: repr(mask_key_id(key)))
    secret_key: str = attrs.field(repr=False)
    token: str | None = attrs.field(repr=False)
    expiry: dt.datetime | None

    @property
    def stamp(self) -> str | None:
        """The expiry in ISO 8601, UTC, with a ``Z``: as both protocols write it."""
        if self.expiry is None:
            return None
        return self.expiry.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def process_json(self) -> str:
        """The ``credential_process`` reply (version 1)."""
        doc: dict[str, object] = {
            "Version": 1,
            "AccessKeyId": self.access_key,
            "SecretAccessKey": self.secret_key,
        }
        if self.token:
            doc["SessionToken"] = self.token
        if self.stamp:
            doc["Expiration"] = self.stamp
        return json.dumps(doc)


def current(credentials: Any) -> Current:
    """Read botocore credentials through ``get_frozen_credentials()`` (which refreshes
    them when due), redacting botocore's log records while it does."""
    with _redact.boundary(_redact.credentials_secrets(credentials)):
        frozen = credentials.get_frozen_credentials()
    # botocore keeps the expiry of refreshable credentials only here.
    expiry = getattr(credentials, "_expiry_time", None)
    return Current(
        access_key=frozen.access_key,
        secret_key=frozen.secret_key,
        token=frozen.token or None,
        expiry=expiry if isinstance(expiry, dt.datetime) else None,
    )


def reader(credentials: Any) -> Callable[[], Current]:
    """A function that reads ``credentials`` as they are each time it is called.

    One reader at a time: the keys and the expiry are read apart, and a refresh
    between the two would pair old keys with the new expiry.
    """
    lock = threading.Lock()

    def read() -> Current:
        with lock:
            return current(credentials)

    return read


#: How long the session tokens that stand in for long-lived keys last.
SESSION_TOKEN_SECONDS = 3600


def temporary(session: Any) -> Any:
    """The session's credentials, or, where they are long-lived keys (the policy
    allowed them: no role was available), refreshing STS ``GetSessionToken``
    credentials made from them, as aws-vault does: a program served over the
    container protocol never holds a long-lived key, and the protocol carries a
    session token.

    Raises:
        SourceFailed: STS refused or failed ``GetSessionToken``.
    """
    from botocore.credentials import RefreshableCredentials

    from .._keys import classify

    credentials = session.get_credentials()
    if not classify(credentials).long_lived:
        return credentials
    client = _bounded_sts(session)

    def fetch() -> dict[str, Any]:
        reply = _session_token(client, credentials)
        return {
            "access_key": reply["AccessKeyId"],
            "secret_key": reply["SecretAccessKey"],
            "token": reply["SessionToken"],
            "expiry_time": reply["Expiration"].isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(
        fetch(), refresh_using=fetch, method="credpick-session-token"
    )


def _bounded_sts(session: Any) -> Any:
    """An STS client with the deadlines and the reply cap of every credpick source:
    boto3's defaults would wait 60 s a read, retried, on an endpoint that hangs."""
    from botocore.config import Config

    from .._context import Context
    from .._http import API_REPLY, bound_client

    ctx = Context.from_process()
    t = ctx.timeouts
    config = Config(
        connect_timeout=t.connect,
        read_timeout=t.http,
        retries={"mode": "standard", "total_max_attempts": t.attempts},
    )
    client = session.client(
        "sts",
        region_name=session.region_name or "us-east-1",
        endpoint_url=ctx.endpoint_url("sts"),
        config=config,
    )
    return bound_client(client, total=t.http, cap=API_REPLY)


def _session_token(client: Any, credentials: Any) -> Any:
    import botocore.exceptions

    from ..exceptions import SourceFailed

    problem = None
    with _redact.boundary(_redact.credentials_secrets(credentials)):
        try:
            reply = client.get_session_token(DurationSeconds=SESSION_TOKEN_SECONDS)
            _redact.remember(reply["Credentials"]["SecretAccessKey"])
            _redact.remember(reply["Credentials"]["SessionToken"])
            return reply["Credentials"]
        except botocore.exceptions.ClientError as exc:
            problem = f"was rejected with {exc.response.get('Error', {}).get('Code', 'Unknown')}"
        except botocore.exceptions.BotoCoreError as exc:  # not str(exc): it quotes the URL
            problem = f"failed ({type(exc).__name__})"
    raise SourceFailed(
        f"STS GetSessionToken, which turns the long-lived key into a session, {problem}",
        fix="check the key is active and may call sts:GetSessionToken, or use a role",
    )
