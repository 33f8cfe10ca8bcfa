"""What the pytest plugin does, kept out of the plugin module (fixtures and hooks only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import pytest

from ..exceptions import ConfigurationError, StaticKeysRefused
from ._guard import NonLoopbackConnection, RealAwsConnection, SocketGuard

if TYPE_CHECKING:
    from ._enforce import StaticKeyWatch
    from ._sts import StsEmulator

__all__ = [
    "SETTINGS",
    "Checks",
    "SharedSts",
    "checks_for",
    "enabled",
    "existing_checks",
    "fail_with",
    "runtime_requests",
]

#: ``(command-line flag, ini name, help)`` of every boolean setting.
SETTINGS = (
    (
        "--credpick-forbid-static",
        "credpick_forbid_static",
        "fail every test in which botocore signs a request with a long-lived (AKIA) key",
    ),
    (
        "--credpick-no-real-aws",
        "credpick_no_real_aws",
        "refuse connections to real AWS and the metadata addresses for the whole run",
    ),
)


def enabled(config: pytest.Config, ini: str) -> bool:
    """Whether a setting is on, by its flag or its ini option.

    Args:
        config: The pytest config.
        ini: The ini name, such as ``credpick_forbid_static``.

    Returns:
        True when either the command-line flag or the ini option says so.
    """
    return bool(config.getoption(ini) or config.getini(ini))


class SharedSts:
    """One moto server for the whole session, started on first use, reset once per test.

    moto takes about a second to start; a reset is one loopback request.
    """

    def __init__(self) -> None:
        self._emulator: StsEmulator | None = None
        self._owner: str | None = None

    def acquire(self, test_id: str) -> StsEmulator:
        """The running emulator, wiped if the previous user was another test.

        Args:
            test_id: The node id of the test asking.

        Returns:
            The shared emulator.
        """
        if self._emulator is None:
            from ._sts import StsEmulator

            self._emulator = StsEmulator().start()
        if self._owner != test_id:
            # Even a new server: moto keeps its state per process, not per server.
            self._emulator.reset()
        self._owner = test_id
        return self._emulator

    def stop(self) -> None:
        """Stop the server if it was started."""
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None


@attrs.define
class Checks:
    """The guard and the key watch active for one test, and what was reported of them."""

    guard: SocketGuard | None = None
    watch: StaticKeyWatch | None = None
    attempts_seen: int = 0
    violations_seen: int = 0

    def take(self) -> list[BaseException]:
        """Errors recorded since the last call: the ones the test has not failed with yet.

        Returns:
            The errors to fail with, the real-AWS one first.
        """
        errors: list[BaseException] = []
        if self.guard is not None:
            attempts = self.guard.attempts
            new = attempts[min(self.attempts_seen, len(attempts)) :]
            self.attempts_seen = len(attempts)
            if new:
                kind = RealAwsConnection if self.guard.policy == "aws" else NonLoopbackConnection
                errors.append(
                    kind(
                        "blocked by credpick's socket guard, and the code under test "
                        f"caught the error: {', '.join(new)}"
                    )
                )
        if self.watch is not None:
            violations = self.watch.violations
            errors.extend(violations[min(self.violations_seen, len(violations)) :])
            self.violations_seen = len(violations)
        return errors

    def after_call(self, raised: BaseException | None) -> None:
        """Fail the test with what the code under test swallowed.

        Args:
            raised: What the test function raised, or None.

        Raises:
            BaseException: The first error recorded during the call, unless the
                test is already failing with a guard error or a recorded one.
        """
        __tracebackhide__ = True
        errors = self.take()
        if not errors or (raised is not None and not isinstance(raised, Exception)):
            return  # nothing new, or a skip, an exit, or the guard's own error
        if raised is not None and any(raised is e for e in errors):
            return  # the test already fails with it
        fail_with(errors[0])

    def at_teardown(self) -> None:
        """Fail at teardown with anything recorded after the call (fixtures, threads).

        Raises:
            BaseException: The first such error.
        """
        __tracebackhide__ = True
        errors = self.take()
        if errors:
            fail_with(errors[0])

    def refused(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a refusal this test's key watch recorded."""
        return self.watch is not None and any(exc is v for v in self.watch.violations)


def fail_with(error: BaseException) -> NoReturn:
    """Fail the test with ``error``: a refused key as its reason alone, first.

    A refusal is raised inside botocore's signer, so its traceback is about
    130 lines of botocore before the two that matter; the call site (the
    test's own line) is shown under the reason instead. Anything else (the socket guard's errors) is raised
    as it is, with its traceback.

    Raises:
        BaseException: ``error``, when it is not a refusal.
    """
    __tracebackhide__ = True
    if isinstance(error, StaticKeysRefused):
        lines = [f"{type(error).__module__}.{type(error).__name__}: {error}"]
        lines += [f"  {e}" for e in error.evidence if e.startswith("called at: ")]
        pytest.fail("\n".join(lines), pytrace=False)
    raise error


_CHECKS = pytest.StashKey[Checks]()


def checks_for(item: pytest.Item) -> Checks:
    """The test's :class:`Checks`, created on first use.

    Args:
        item: The test item.

    Returns:
        Its checks.
    """
    if _CHECKS not in item.stash:
        item.stash[_CHECKS] = Checks()
    return item.stash[_CHECKS]


def existing_checks(item: pytest.Item) -> Checks | None:
    """The test's :class:`Checks` if a plugin fixture made one, else None."""
    return item.stash.get(_CHECKS, None)


def runtime_requests(item: pytest.Item) -> list[tuple[str, dict[str, Any]]] | None:
    """Read ``@pytest.mark.credpick_runtime`` marks: ``(kind, options)``, outermost first.

    ``@pytest.mark.credpick_runtime("ecs", mode="error")`` gives one kind its
    options; with several kinds, use ``options={"ecs": {"mode": "error"}}``.

    Args:
        item: The test item.

    Returns:
        What to ``use()``, in order; None when the test has no such mark.

    Raises:
        ConfigurationError: A mark that cannot be read (also a ValueError).
    """
    marks = list(item.iter_markers("credpick_runtime"))
    if not marks:
        return None
    wanted: list[tuple[str, dict[str, Any]]] = []
    for mark in reversed(marks):  # module and class marks first: they layer underneath
        kinds = [str(k) for k in mark.args]
        kwargs = dict(mark.kwargs)
        per_kind = kwargs.pop("options", None) or {}
        if not isinstance(per_kind, Mapping):
            raise ConfigurationError("options= must map a runtime to its options: {'ecs': {...}}")
        stray = sorted(set(per_kind) - set(kinds))
        if stray:
            raise ConfigurationError(f"options= names {stray[0]!r}, which the mark does not use")
        if kwargs and len(kinds) != 1:
            raise ConfigurationError(
                "with several runtimes, pass options per runtime: "
                "options={'ecs': {'mode': 'error'}}"
            )
        for kind in kinds:
            wanted.append((kind, {**kwargs, **dict(per_kind.get(kind, {}))}))
    return wanted
