"""One immutable snapshot of everything detection reads.

Nothing below this module reads ``os.environ``, the home directory or the clock
directly: they take a :class:`Context`. That is what lets tests put any runtime
in memory, and it is why the snapshot is taken once, at the call.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from . import _envvars as ev
from . import _validate
from ._detection import check_policy
from .exceptions import ConfigurationError

#: Test-only: the loopback ``host:port`` that ``Context.from_process()`` gives as
#: :attr:`Context.ecs_agent_for_tests`. Only :class:`credpick.testing.Simulation`
#: sets it (and restores it); no environment variable or file does.
_ECS_AGENT_FOR_TESTS: str | None = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _freeze_env(env: object) -> Mapping[str, str]:
    return MappingProxyType(dict(_validate.str_mapping("Context", "env", env)))


def _home(value: Any) -> Path:
    _validate.path("Context", "home", value)
    return Path(value)


def _root(value: Any) -> Path:
    _validate.path("Context", "root", value)
    return Path(value)


def _clock(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # Its result is checked where it is read: Context.now().
    _validate.function("Context", attribute.name, value, optional=False)


def _timeouts(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _validate.instance("Context", attribute.name, value, Timeouts, "a credpick.Timeouts")


def _text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _validate.text("Context", attribute.name, value)


def _seconds(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # bool is an int, and "1" or NaN would fail far from here, inside a socket call.
    _validate.seconds("Timeouts", attribute.name, value)


def _attempts(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _validate.whole("Timeouts", attribute.name, value, low=1, high=10)


def _loopback_agent(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # Test-only, and never a way to send a task's credential request off the host.
    if value is None:
        return
    from . import _url

    try:
        parsed = _url.parse(f"http://{value}/") if isinstance(value, str) else None
    except _url.UrlRefused:
        parsed = None
    if parsed is None or not parsed.is_loopback or parsed.port is None or parsed.path != "/":
        from .exceptions import ConfigurationError

        raise ConfigurationError(
            f"Context({attribute.name}={value!r}) is not a loopback host:port",
            fix=f"pass {attribute.name}= as '127.0.0.1:PORT' of a test's ECS agent stand-in",
        )


@attrs.frozen
class Timeouts:
    """Deadlines of everything credpick waits for, in seconds.

    Every network call has a connect timeout and a deadline for the whole
    reply (not only for each socket read, so an endpoint that trickles one
    byte at a time cannot hold a load), and every program has a deadline.

    Attributes:
        imds_connect: Connect timeout of the metadata probe. Short, because an
            address that drops packets should give a verdict at once.
        imds_read: Deadline of each metadata request once connected, reply
            included.
        http: Deadline of one attempt of every other HTTP call credpick makes
            or drives (STS, the SSO portal and SSO-OIDC, the container
            endpoint, GitHub's token endpoint), reply included.
        connect: Connect timeout of those calls.
        attempts: How many times those calls are tried (a transient failure,
            such as a 5xx or a reset connection, is tried again).
        process: Deadline of a ``credential_process`` program; at the
            deadline its whole process group is killed.

    Raises:
        ConfigurationError: A value that is not a positive, finite number
            (``attempts``: a whole number from 1 to 10).

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``connect``, ``attempts`` and ``process``; values are validated.
    """

    imds_connect: float = attrs.field(default=0.25, validator=_seconds)
    imds_read: float = attrs.field(default=1.0, validator=_seconds)
    http: float = attrs.field(default=5.0, validator=_seconds)
    connect: float = attrs.field(default=1.0, validator=_seconds)
    attempts: int = attrs.field(default=2, validator=_attempts)
    process: float = attrs.field(default=60.0, validator=_seconds)


@attrs.frozen(eq=False)
class Context:
    """What credpick may look at while it detects.

    Build it with :meth:`from_process` (the usual case), or directly in tests.

    Attributes:
        env: The environment variables.
        home: The home directory (for ``~/.aws``).
        root: The filesystem root for hardware identity files (``/sys/...``).
        clock: Returns the current time, timezone aware.
        timeouts: Network timeouts.
        profile_name: A profile the caller asked for in code.
        role_arn: A role the caller asked for in code.
        ecs_agent_for_tests: Test-only. A loopback ``host:port`` that stands in
            for the ECS agent (169.254.170.2) when
            ``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` is resolved, so a test
            can serve the relative-URI path on loopback. ``None`` (always, in
            production) means the real agent.

    Raises:
        ConfigurationError: ``ecs_agent_for_tests`` is not a loopback ``host:port``.

    Raises:
        ConfigurationError: ``env`` is not a mapping of str to str, ``home`` or
            ``root`` not a path, ``clock`` not callable (and, when it is read,
            a clock that returns anything but an aware datetime), ``timeouts``
            not a :class:`Timeouts`, or a name not a str.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 Arguments are checked, with ``ConfigurationError``;
       ``ecs_agent_for_tests``.
    """

    env: Mapping[str, str] = attrs.field(converter=_freeze_env, repr=False)
    home: Path = attrs.field(converter=_home)
    root: Path = attrs.field(default=Path("/"), converter=_root)
    clock: Callable[[], dt.datetime] = attrs.field(default=_utcnow, repr=False, validator=_clock)
    timeouts: Timeouts = attrs.field(default=Timeouts(), validator=_timeouts)
    profile_name: str | None = attrs.field(default=None, validator=_text)
    role_arn: str | None = attrs.field(default=None, validator=_text)
    ecs_agent_for_tests: str | None = attrs.field(default=None, validator=_loopback_agent)

    @classmethod
    def from_process(
        cls,
        *,
        profile_name: str | None = None,
        role_arn: str | None = None,
        timeouts: Timeouts | None = None,
    ) -> Context:
        """Snapshot this process's environment and home directory now."""
        env = dict(os.environ)
        home = Path(env.get("HOME") or os.path.expanduser("~"))
        return cls(
            env=env,
            home=home,
            timeouts=timeouts or Timeouts(),
            profile_name=profile_name,
            role_arn=role_arn,
            ecs_agent_for_tests=_ECS_AGENT_FOR_TESTS,
        )

    def now(self) -> dt.datetime:
        """The clock's time, checked: a clock that returns anything but an aware
        datetime is a ConfigurationError here, not a TypeError in a comparison."""
        return _validate.result(
            "Context(clock=...)",
            "clock=",
            self.clock(),
            lambda t: isinstance(t, dt.datetime) and t.tzinfo is not None,
            "a timezone-aware datetime",
        )

    def get(self, name: str) -> str | None:
        """An environment variable, with empty values treated as unset."""
        value = self.env.get(name)
        return value if value else None

    def flag(self, name: str) -> bool:
        """Whether a boolean environment variable is ``true``."""
        return (self.env.get(name) or "").strip().lower() == "true"

    def expand(self, path: str) -> Path:
        """Expand ``~`` against this context's home, not the process's."""
        if path == "~" or path.startswith("~/"):
            return self.home / path[2:]
        return Path(path)

    @property
    def config_file(self) -> Path:
        """The shared config file (``AWS_CONFIG_FILE`` or ``~/.aws/config``)."""
        return self.expand(self.get(ev.CONFIG_FILE) or "~/.aws/config")

    @property
    def credentials_file(self) -> Path:
        """The shared credentials file."""
        return self.expand(self.get(ev.SHARED_CREDENTIALS_FILE) or "~/.aws/credentials")

    @property
    def sso_cache_dir(self) -> Path:
        """Where the AWS CLI caches Identity Center tokens."""
        return self.home / ".aws" / "sso" / "cache"

    def active_profile(self) -> tuple[str, bool]:
        """The profile in force and whether it was chosen explicitly.

        Order as botocore: ``profile_name=``, ``AWS_DEFAULT_PROFILE``,
        ``AWS_PROFILE``, then ``default``.
        """
        if self.profile_name:
            return self.profile_name, True
        for var in (ev.DEFAULT_PROFILE, ev.PROFILE):
            value = self.get(var)
            if value:
                return value, True
        return "default", False

    def profile_origin(self) -> str:
        """How the active profile was chosen, for evidence lines."""
        if self.profile_name:
            return "profile_name="
        for var in (ev.DEFAULT_PROFILE, ev.PROFILE):
            if self.get(var):
                return var
        return "default profile"

    def endpoint_place(self, service: str, label: str) -> str:
        """``label at URL (VARIABLE)`` when an override sets the service's endpoint,
        else ``label (its default endpoint)``: the place an error names."""
        url = self.endpoint_url(service)
        if url is None:
            return f"{label} (its default endpoint)"
        from ._mask import display_url

        specific = f"{ev.ENDPOINT_URL}_{service.upper().replace('-', '_')}"
        variable = specific if self.get(specific) else ev.ENDPOINT_URL
        return f"{label} at {display_url(url)} ({variable})"

    def endpoint_url(self, service: str) -> str | None:
        """The endpoint override botocore would use for ``service``, if any.

        ``AWS_ENDPOINT_URL_<SERVICE>`` beats ``AWS_ENDPOINT_URL``;
        ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns both off.

        Raises:
            ConfigurationError: The variable in force is not a valid URL; the
                message names it.
        """
        if self.flag(ev.IGNORE_CONFIGURED_ENDPOINT_URLS):
            return None
        specific = f"{ev.ENDPOINT_URL}_{service.upper().replace('-', '_')}"
        for name in (specific, ev.ENDPOINT_URL):
            value = self.get(name)
            if value:
                return _validate.endpoint(name, value)
        return None


def argument_error(
    where: str,
    *,
    policy: object,
    timeouts: object,
    context: object,
    names: Mapping[str, object],
    secrets: Mapping[str, object] = MappingProxyType({}),
) -> ConfigurationError | None:
    """What is wrong with the arguments :func:`credpick.session` and
    :func:`credpick.detect` share, or ``None``.

    Returned, not raised, and without a traceback: the caller drops the keys
    from its frame first, so no traceback can keep them.

    Args:
        where: The function, as the message names it.
        policy: ``policy=``: a :class:`~credpick.Policy` or ``None``.
        timeouts: ``timeouts=``: a :class:`Timeouts` or ``None``.
        context: ``context=``: a :class:`Context` or ``None``.
        names: Arguments that are a ``str`` or ``None`` (``region_name=``...).
        secrets: The same, whose values are never shown (the keys).
    """
    try:
        _check_arguments(where, policy, timeouts, context, names, secrets)
    except ConfigurationError as exc:
        return exc.with_traceback(None)
    return None


def _check_arguments(
    where: str,
    policy: object,
    timeouts: object,
    context: object,
    names: Mapping[str, object],
    secrets: Mapping[str, object],
) -> None:
    check_policy(where, policy)
    optional = "or None"
    seconds = "timeouts=credpick.Timeouts(...)" if isinstance(timeouts, int | float) else None
    _validate.instance(
        where,
        "timeouts",
        timeouts,
        Timeouts,
        f"a credpick.Timeouts {optional}",
        optional=True,
        match=seconds,
    )
    _validate.instance(
        where, "context", context, Context, f"a credpick.Context {optional}", optional=True
    )
    for name, value in names.items():
        _validate.text(where, name, value)
    for name, value in secrets.items():
        _validate.instance(where, name, value, str, "a str or None", optional=True, secret=True)
