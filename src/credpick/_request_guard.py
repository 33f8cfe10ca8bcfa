"""Check every signed request against the policy, cheaply.

:func:`wrap` checks a session once; credentials can still change afterwards
(someone calls ``set_credentials``, a refreshable provider starts returning an
IAM user's key). :func:`guard` hooks botocore's ``before-sign`` event, so the
credentials are checked as they are about to sign, on every request. The
decision is cached per credential identity (access key id, whether there is a
token, botocore's method), so the steady-state cost is one dictionary lookup.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, NamedTuple, TypeVar

import botocore
import botocore.auth
from botocore.credentials import Credentials, RefreshableCredentials

from ._detection import check_policy
from ._keys import classify
from ._policy import Policy
from ._report import audit
from ._wrap import botocore_session, describe, refusal, runtime_role
from .exceptions import StaticKeysRefused

_UNIQUE_ID = "credpick-request-guard"
S = TypeVar("S")
_MISSING = object()
_MAX_IDENTITIES = 256  # a bound, not a tuning knob: real processes see a handful
_MARGIN = 60.0  # seconds of slack on top of botocore's own advisory refresh window
# Signature versions that sign with a bearer token, not with access keys.
_TOKEN_AUTH = frozenset(
    name for name, cls in botocore.auth.AUTH_TYPE_MAPS.items() if getattr(cls, "REQUIRES_TOKEN", 0)
)


class _Seen(NamedTuple):
    """What :func:`credpick._keys.classify` needs, without the secret."""

    access_key: str
    token: str | None
    method: str | None


class _Reader:
    """Reads the access key id and token the signer is about to use.

    ``get_frozen_credentials()`` of refreshable credentials costs tens of
    microseconds (botocore builds a local-timezone ``now`` each time), and the
    signer calls it right after us. Far from expiry botocore will not refresh
    on this request, so the values set now are the ones it signs with; only
    near expiry (or if botocore's internals change) do we pay the full read.
    """

    def __init__(self) -> None:
        self._deadline: tuple[object, float] = (None, 0.0)  # (expiry seen, trust until)

    def __call__(self, credentials: Any) -> tuple[str, str | None]:
        if type(credentials) is Credentials:
            return credentials.access_key, credentials.token  # plain attributes
        if isinstance(credentials, RefreshableCredentials):
            expiry = getattr(credentials, "_expiry_time", None)
            key = getattr(credentials, "_access_key", None)
            seen, until = self._deadline
            if seen is not expiry:
                until = self._trust_until(credentials, expiry)
                self._deadline = (expiry, until)
            if isinstance(key, str) and time.time() < until:
                return key, getattr(credentials, "_token", None)
        # One consistent read, refreshing if due: a refresh could change the key.
        frozen = credentials.get_frozen_credentials()
        return frozen.access_key, frozen.token

    @staticmethod
    def _trust_until(credentials: Any, expiry: object) -> float:
        window = getattr(credentials, "_advisory_refresh_timeout", None)
        if not isinstance(expiry, dt.datetime) or not isinstance(window, int | float):
            return 0.0
        return expiry.timestamp() - window - _MARGIN


class _Guard:
    """The ``before-sign`` handler: one per guarded session."""

    def __init__(self, policy: Policy, bs: Any) -> None:
        self._policy = policy
        self._bs = bs
        # identity -> None (allowed) or the refusal's reason.
        self._decisions: dict[tuple[str, bool, str | None], StaticKeysRefused | None] = {}
        self._lock = threading.Lock()
        self._role: list[Any] = []  # filled once: [Candidate | None]
        self._read = _Reader()

    def _credentials(self, request: Any, request_signer: Any) -> Any:
        signing = getattr(request, "context", None)
        signing = signing.get("signing") if signing else None
        if signing and signing.get("request_credentials") is not None:
            return signing["request_credentials"]
        # What the signer will use; botocore has no public accessor. Should
        # the attribute ever go, fall back to the session's credentials.
        found = getattr(request_signer, "_credentials", _MISSING)
        return self._bs.get_credentials() if found is _MISSING else found

    def _runtime_role(self) -> Any:
        with self._lock:
            if not self._role:
                self._role.append(runtime_role(self._policy))
            return self._role[0]

    def _decide(
        self, identity: tuple[str, bool, str | None], seen: _Seen, service: str, operation: str
    ) -> StaticKeysRefused | None:
        keys = classify(seen)
        why, role = refusal(keys, self._policy, self._runtime_role)
        fields = {
            "service": service,
            "operation": operation,
            "key_id": keys.key_id,
            "method": keys.method,
            "origin": keys.origin,
            "long_lived": keys.long_lived,
            "role_source": role.kind.value if role else None,
        }
        where = f"{service}.{operation}"
        decision: StaticKeysRefused | None = None
        if why is None:
            audit("guard", "allowed", f"{where} signed with key {keys.key_id}", fields)
        else:
            what = f"long-lived key {keys.key_id} from {keys.origin}"
            audit("guard", "refused", f"{where} refused: {what}: {why}", fields)
            decision = StaticKeysRefused(
                f"{where} refused: {what}: {why}",
                kind="static",
                evidence=(
                    f"service {service}, operation {operation}",
                    f"access key {keys.key_id}",
                    f"botocore method {keys.method!r}",
                ),
                fix=(f"drop the key and use {describe(role)}" if role else "use a role")
                + ", e.g. credpick.session()",
            )
        if len(self._decisions) >= _MAX_IDENTITIES:
            self._decisions.clear()
        self._decisions[identity] = decision
        return decision

    def _check(
        self,
        request: Any,
        request_signer: Any,
        signature_version: Any,
        operation_name: str | None,
        event_name: str,
    ) -> StaticKeysRefused | None:
        # The key id and token live only in this frame, which has returned by
        # the time a refusal is raised: an error tracker recording the locals
        # of the raising frame finds neither.
        if signature_version is botocore.UNSIGNED or signature_version in _TOKEN_AUTH:
            return None
        credentials = self._credentials(request, request_signer)
        if credentials is None:
            return None  # botocore raises NoCredentialsError itself
        key, token = self._read(credentials)
        method = getattr(credentials, "method", None)
        identity = (key, bool(token), method)
        try:
            return self._decisions[identity]
        except KeyError:
            pass
        service = event_name.split(".")[1] if event_name.count(".") >= 2 else "?"
        return self._decide(identity, _Seen(key, token, method), service, operation_name or "?")

    def __call__(
        self,
        *,
        request: Any = None,
        request_signer: Any = None,
        signature_version: Any = None,
        operation_name: str | None = None,
        event_name: str = "",
        **_: Any,
    ) -> None:
        decision = self._check(
            request, request_signer, signature_version, operation_name, event_name
        )
        if decision is not None:
            # A fresh instance per request: raising one shared exception
            # object would chain tracebacks across unrelated requests.
            raise StaticKeysRefused(
                decision.reason,
                kind=decision.kind,
                evidence=decision.evidence,
                fix=decision.fix,
            )


def guard(session: S, *, policy: Policy | None = None) -> S:
    """Check every request the session signs from now on against the policy.

    Installs a botocore ``before-sign`` handler on the session, so every
    client created from it afterwards checks the credentials that are about
    to sign, whatever happened to them since the session was built. Long-lived
    keys the policy refuses raise :class:`~credpick.StaticKeysRefused` naming
    the service, the operation and where the key came from; the request is
    not sent. Unsigned requests are not checked. The decision is cached per
    credential identity. Calling it again replaces the policy.

    Create clients after guarding: clients copy the session's event handlers
    when they are created.

    Args:
        session: A ``boto3.Session`` or a ``botocore.session.Session``.
        policy: The policy; ``Policy()`` by default. Only ``static_keys``
            applies per request.

    Returns:
        ``session`` itself, guarded.

    Raises:
        ConfigurationError: ``session`` is not a session, or ``policy`` not a
            :class:`~credpick.Policy`.

    .. versionadded:: 0.1.0
    """
    check_policy("guard", policy)
    bs = botocore_session(session)
    bs.unregister("before-sign", unique_id=_UNIQUE_ID)
    bs.register("before-sign", _Guard(policy or Policy(), bs), unique_id=_UNIQUE_ID)
    return session
