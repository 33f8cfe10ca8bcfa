"""Refuse every AWS request botocore signs with a long-lived key.

Where to hook: botocore offers a ``before-sign`` event, but it is emitted per
session, before botocore has decided whether to sign at all, and code under
test can build sessions and clients we never see. Every signature, from every
client of every session (including clients built before the watch started,
presigned URLs and the STS calls behind an assumed role), goes through
``RequestSigner.get_auth_instance`` with the credentials it is about to use,
and only when the request is really signed: unsigned operations such as
``AssumeRoleWithWebIdentity`` never reach it. So the watch wraps that method
on the class, and wraps ``RequestSigner.sign`` only to learn the operation name.
"""

from __future__ import annotations

import contextvars
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from .._keys import KeyClass, classify, is_long_lived
from ..exceptions import StaticKeysRefused

__all__ = ["StaticKeyWatch"]

# Frames inside these packages are not where the test's code called AWS.
_LIBRARIES = ("botocore", "boto3", "s3transfer", "credpick")
_operation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "credpick_signing_operation", default=None
)


@attrs.frozen
class _Resolved:
    """The credentials a signer is about to use, shaped for :func:`classify`."""

    access_key: str | None
    token: str | None = attrs.field(repr=False)
    method: str | None


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):
        return True
    for name in _LIBRARIES:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path and filename.startswith(str(Path(path).parent)):
            return True
    # The standard library (threads, executors), but not what is installed beside it.
    stdlib = sysconfig.get_paths()["stdlib"]
    return filename.startswith(stdlib) and "-packages" not in filename


def _assuming_a_role() -> bool:
    """Whether botocore is signing the AssumeRole call behind a profile's ``role_arn``."""
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if type(owner).__name__ == "AssumeRoleCredentialFetcher":
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _call_site() -> str | None:
    """The innermost frame outside botocore and friends: the code that called AWS."""
    for frame in reversed(traceback.extract_stack()):
        if not _is_library(frame.filename):
            return f"{frame.filename}:{frame.lineno}"
    return None


#: The placeholder key moto's ``mock_aws`` puts in the environment while active.
MOTO_FAKE_KEY_ID = "FOOBARKEY"


def _moto_fake_key(access_key: str) -> bool:
    """Whether this is moto's own placeholder key, signed while a moto mock is active.

    ``mock_aws`` sets ``AWS_ACCESS_KEY_ID=FOOBARKEY`` (no session token, so it
    looks long-lived) and answers every request in the process. Any other key,
    an ``AKIA`` id passed in code included, is still judged.
    """
    models = sys.modules.get("moto.core.models")  # moto is never imported here
    mock = getattr(models, "MockAWS", None)
    return access_key == MOTO_FAKE_KEY_ID and getattr(mock, "_nested_count", 0) > 0


def refusal(service: str, operation: str, key: KeyClass, where: str | None) -> StaticKeysRefused:
    """Build the error for one request signed with a long-lived key.

    Args:
        service: The client's service, such as ``s3``.
        operation: The operation, such as ``ListBuckets``.
        key: What :func:`credpick._keys.classify` said of the credentials.
        where: ``file:line`` of the code that made the call, if known.

    Returns:
        The error; its message names the client, the operation and the key's origin.
    """
    evidence = [
        f"client: {service}",
        f"operation: {operation}",
        f"access key: {key.key_id or 'unknown'}",
        f"from: {key.origin}",
    ]
    if where:
        evidence.append(f"called at: {where}")
    return StaticKeysRefused(
        f"the {service} client signed {operation} with a long-lived access key "
        f"({key.key_id or 'unknown'}) from {key.origin}",
        kind="static",
        evidence=evidence,
        fix=(
            "use a role: build the client from credpick.session() and put the test in a "
            "role-based runtime (credpick_runtime.use('ec2-instance-profile'), 'ecs', "
            "'web-identity', ...), instead of passing keys or reading AWS_ACCESS_KEY_ID"
        ),
    )


def _long_lived(signer: Any, auth: Any, request_credentials: Any) -> KeyClass | None:
    """What the signer's credentials are, if long-lived by the one rule; else ``None``."""
    frozen = getattr(auth, "credentials", None)  # bearer-token signers have none
    access_key = getattr(frozen, "access_key", None)
    if not isinstance(access_key, str) or not access_key:
        return None  # no credentials (anonymous), or not ours to judge: botocore will fail
    if _moto_fake_key(access_key):
        return None  # moto answers in this process: its placeholder key goes nowhere
    token = getattr(frozen, "token", None)
    if not is_long_lived(access_key, token):  # the one rule, as the policy applies it
        return None
    source = request_credentials or getattr(signer, "_credentials", None)
    return classify(
        _Resolved(access_key=access_key, token=token, method=getattr(source, "method", None))
    )


class _Patch:
    """The one patch on ``RequestSigner``, shared by every active watch.

    Watches nest (a test that runs pytest in-process, say); a signature is
    the business of the innermost one, as the narrowest scope.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: list[StaticKeyWatch] = []
        self._saved: list[tuple[str, Any]] = []

    def enter(self, watch: StaticKeyWatch) -> None:
        with self.lock:
            if not self.active:
                self._install()
            self.active.append(watch)

    def exit(self, watch: StaticKeyWatch) -> None:
        with self.lock:
            if watch in self.active:
                self.active.remove(watch)
            if not self.active:
                self._uninstall()

    def innermost(self) -> StaticKeyWatch | None:
        with self.lock:
            return self.active[-1] if self.active else None

    def _install(self) -> None:
        from botocore.signers import RequestSigner

        real_sign = RequestSigner.sign
        real_auth = RequestSigner.get_auth_instance

        def sign(signer: Any, operation_name: str, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            token = _operation.set(operation_name)
            try:
                return real_sign(signer, operation_name, *args, **kwargs)
            finally:
                _operation.reset(token)

        def get_auth_instance(signer: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            auth = real_auth(signer, *args, **kwargs)
            watch = self.innermost()
            if watch is not None:
                watch._check(signer, auth, kwargs.get("request_credentials"))
            return auth

        self._saved = [("sign", real_sign), ("get_auth_instance", real_auth)]
        patched: list[tuple[str, Callable[..., Any]]] = [
            ("sign", sign),
            ("get_auth_instance", get_auth_instance),
        ]
        for name, new in patched:
            setattr(RequestSigner, name, new)

    def _uninstall(self) -> None:
        from botocore.signers import RequestSigner

        while self._saved:
            name, old = self._saved.pop()
            setattr(RequestSigner, name, old)


_PATCH = _Patch()


class StaticKeyWatch:
    """While entered, refuse and record every request signed with a long-lived key.

    The refused call raises :class:`credpick.StaticKeysRefused`; the error is
    also kept in :attr:`violations`, so a caller that swallows it can still be
    failed. Unsigned requests are never refused. Watches nest: the innermost
    one active refuses and records.

    Attributes:
        violations: The errors raised, oldest first. Clear it in a test that
            provoked one on purpose.

    .. versionadded:: 0.1.0
    """

    def __init__(self) -> None:
        self.violations: list[StaticKeysRefused] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StaticKeyWatch(violations={len(self.violations)})"

    def __enter__(self) -> StaticKeyWatch:
        _PATCH.enter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _PATCH.exit(self)

    def _check(self, signer: Any, auth: Any, request_credentials: Any) -> None:
        __tracebackhide__ = True
        # Classified in a helper that returns: the raising frame keeps no secret.
        key = _long_lived(signer, auth, request_credentials)
        if key is None:
            return
        if key.method == "explicit" and _assuming_a_role():
            # botocore passes a source profile's keys to its STS client explicitly.
            key = attrs.evolve(key, origin="a source_profile's keys (the AssumeRole call)")
        service = str(getattr(signer, "_signing_name", None) or "unknown")
        error = refusal(service, _operation.get() or "a request", key, _call_site())
        with self._lock:
            self.violations.append(error)
        raise error
