"""credpick's pytest plugin: emulated AWS runtimes, and the no-long-lived-keys policy.

Registered through the ``pytest11`` entry point, so installing credpick is
enough. It changes nothing until a test uses it: by a fixture
(``credpick_runtime``, ``forbid_static_keys``, ``credpick_sts``), a marker
(``credpick_runtime``, ``forbid_static_keys``), a flag
(``--credpick-forbid-static``, ``--credpick-no-real-aws``) or the matching ini
option. This module holds fixtures and hooks only; the logic lives in
:mod:`credpick.testing._pytest_support` and the modules it names.
See docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, cast

import pytest

from ._guard import GuardPolicy, SocketGuard
from ._pytest_support import (
    SETTINGS,
    SharedSts,
    checks_for,
    enabled,
    existing_checks,
    fail_with,
    runtime_requests,
)

if TYPE_CHECKING:
    from .._model import SourceKindName
    from ._enforce import StaticKeyWatch
    from ._simulation import Simulation
    from ._sts import StsEmulator

_MARKERS = (
    "credpick_runtime(*kinds, options=None, **options): run the test isolated, in the "
    "emulated AWS runtimes named (layered in order); see credpick's docs/testing.md",
    "forbid_static_keys: fail the test if any AWS request is signed with a long-lived key",
)


# -- hooks -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("credpick", "credpick: emulated AWS runtimes and key policy")
    for flag, ini, help_text in SETTINGS:
        group.addoption(flag, action="store_true", dest=ini, default=False, help=help_text)
        parser.addini(ini, help=help_text, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    if enabled(config, "credpick_no_real_aws"):
        # For the whole run, collection and session fixtures included.
        guard = SocketGuard(policy="aws").__enter__()
        config.add_cleanup(guard.__exit__)


def pytest_report_header(config: pytest.Config) -> str | None:
    on = [flag for flag, ini, _ in SETTINGS if enabled(config, ini)]
    return f"credpick: {', '.join(on)}" if on else None


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    # What the code under test swallowed (``except Exception``) still fails the test.
    __tracebackhide__ = True
    refused: BaseException | None = None
    try:
        result = yield
    except BaseException as exc:
        checks = existing_checks(pyfuncitem)
        if checks is not None:
            checks.after_call(exc)
        if not (checks is not None and checks.refused(exc)):
            raise
        refused = exc
    if refused is not None:  # outside the except: no botocore frames, no chained context
        fail_with(refused)
    checks = existing_checks(pyfuncitem)
    if checks is not None:
        checks.after_call(None)
    return result


# -- settings a project can override -----------------------------------------


@pytest.fixture
def credpick_guard_policy() -> GuardPolicy | None:
    """What the plugin's socket guard refuses; override this fixture to change it.

    Returns:
        ``"aws"`` (default: the metadata addresses and AWS host names),
        ``"loopback"`` (everything but loopback), or None for no guard.
    """
    return "aws"


@pytest.fixture
def credpick_region() -> str | None:
    """``AWS_REGION`` and ``AWS_DEFAULT_REGION`` inside ``credpick_runtime``; override to
    return None to leave both unset.

    Returns:
        The region, ``us-east-1`` by default.
    """
    return "us-east-1"


# -- fixtures ----------------------------------------------------------------


@pytest.fixture(scope="session")
def _credpick_shared_sts() -> Iterator[SharedSts]:
    shared = SharedSts()
    yield shared
    shared.stop()


@pytest.fixture
def credpick_socket_guard(
    request: pytest.FixtureRequest, credpick_guard_policy: GuardPolicy | None
) -> Iterator[SocketGuard | None]:
    """Refuse connections to real AWS during the test (see ``credpick_guard_policy``).

    Yields:
        The guard (its ``attempts`` lists what was refused), or None when off.
    """
    if credpick_guard_policy is None:
        yield None
        return
    checks = checks_for(request.node)
    with SocketGuard(policy=credpick_guard_policy) as guard:
        checks.guard = guard
        yield guard
    checks.at_teardown()


@pytest.fixture
def credpick_sts(request: pytest.FixtureRequest, _credpick_shared_sts: SharedSts) -> StsEmulator:
    """moto (STS and every other service) on loopback: shared by the session, reset per test.

    Returns:
        The running emulator; ``credpick_sts.url`` is an ``endpoint_url``.
    """
    return _credpick_shared_sts.acquire(request.node.nodeid)


@pytest.fixture
def credpick_runtime(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    credpick_region: str | None,
    credpick_socket_guard: SocketGuard | None,
    _credpick_shared_sts: SharedSts,
) -> Iterator[Simulation]:
    """An isolated test, and ``credpick_runtime.use(kind, **options)`` to enter a runtime.

    No ``AWS_*``/``ACTIONS_*``/``ECS_*``/``GITHUB_*``/``BOTO_*`` variable from
    outside, ``HOME`` and the AWS files in a temporary folder, the metadata
    service disabled until a runtime turns it on. Every change goes through
    ``monkeypatch``, so it is undone even when the test fails.

    Yields:
        The :class:`~credpick.testing.Simulation`.
    """
    from ._simulation import Simulation

    node_id = request.node.nodeid
    sim = Simulation(
        tmp_path_factory.mktemp("credpick"),
        sts=lambda: _credpick_shared_sts.acquire(node_id),
        monkeypatch=monkeypatch,
        region=credpick_region,
    )
    with sim:
        yield sim


@pytest.fixture
def forbid_static_keys(
    request: pytest.FixtureRequest, credpick_socket_guard: SocketGuard | None
) -> Iterator[StaticKeyWatch]:
    """Fail the test with ``credpick.StaticKeysRefused`` if a request is signed with a long-lived key.

    Yields:
        The watch; its ``violations`` lists what was refused.
    """
    from ._enforce import StaticKeyWatch

    checks = checks_for(request.node)
    with StaticKeyWatch() as watch:
        checks.watch = watch
        yield watch
    checks.at_teardown()


@pytest.fixture(autouse=True)
def _credpick_marks(request: pytest.FixtureRequest) -> None:
    # Does nothing unless a mark, a flag or an ini option asks for something.
    node = request.node
    config = request.config
    if enabled(config, "credpick_no_real_aws"):
        request.getfixturevalue("credpick_socket_guard")
    problem = None
    try:
        wanted = runtime_requests(node)
        if wanted is not None:
            sim: Simulation = request.getfixturevalue("credpick_runtime")
            for kind, options in wanted:
                # A mark's kind is whatever the test wrote: use() checks it at run time
                # and says "did you mean" (a ValueError, reported below).
                sim.use(cast("SourceKindName", kind), **options)
    except ValueError as exc:
        problem = str(exc)
    if problem is not None:  # outside the except: no "during handling" chain in the report
        pytest.fail(f"@pytest.mark.credpick_runtime: {problem}", pytrace=False)
    if node.get_closest_marker("forbid_static_keys") or enabled(config, "credpick_forbid_static"):
        request.getfixturevalue("forbid_static_keys")
