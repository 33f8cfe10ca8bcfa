"""The checks every public function and value runs on its arguments.

One place, so every bad argument reads the same: one line that names the
argument, what was given (shortened, key ids masked, secrets never shown),
what is allowed and, where one is close, the value that was probably meant::

    Policy(static_keys='refuse') is not one of 'refuse-when-role', 'forbid',
    'allow': did you mean 'refuse-when-role'?

Each check raises :class:`~credpick.ConfigurationError`. It sits at the bottom
of the layers, with the values, so every layer can use it; callers pass the
types they accept, so it imports none of them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

from ._mask import scrub
from ._mask import shown as _shown_text
from ._near import close_match as close_match  # the one rule, shared
from .exceptions import ConfigurationError

T = TypeVar("T")

_LONGEST = 40  # characters of a given value a message quotes


def given(value: object, *, secret: bool = False) -> str:
    """A value as a message quotes it: a short repr, or only its type when secret."""
    if secret:
        return a_type(value)
    if isinstance(value, str | int | float | bool | bytes) or value is None:
        text = repr(value)
    else:
        text = a_type(value)  # an object's repr can hold anything
    if len(text) > _LONGEST:
        text = text[: _LONGEST - 3] + "..."
    return _shown_text(text)


def a_type(value: object) -> str:
    """``'an int'``, ``'a dict'``: the type of ``value`` in words."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def fail(
    where: str,
    name: str,
    value: object,
    allowed: str,
    *,
    match: str | None = None,
    secret: bool = False,
    fix: str | None = None,
    detail: str | None = None,
) -> NoReturn:
    """Raise the one-line error for argument ``name`` of ``where`` (``""``: positional)."""
    shown = given(value, secret=secret)
    head = (
        f"{where}({name}={shown}) is not {allowed}"
        if name
        else f"{where}({shown}) is not {allowed}"
    )
    if detail is not None:
        head += f" ({detail})"
    if match is not None:
        head += f": did you mean {match}?"
    default = f"pass {name}= as {allowed}" if name else f"pass {allowed}"
    raise ConfigurationError(head, fix=fix or default)


def choice(where: str, name: str, value: object, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, with a close match when it is not."""
    options = tuple(allowed)
    if isinstance(value, str) and value in options:
        return value
    unknown(where, name, value, options)


def unknown(where: str, name: str, value: object, allowed: Iterable[str]) -> NoReturn:
    """Raise for a value that is none of ``allowed``, naming the closest one."""
    options = tuple(allowed)
    match = close_match(value, options)
    listed = ", ".join(repr(o) for o in options)
    fix = f"pass {name + '=' if name else ''}{match!r}" if match else None
    fail(where, name, value, f"one of {listed}", match=repr(match) if match else None, fix=fix)


def instance(
    where: str,
    name: str,
    value: object,
    kind: type[T] | tuple[type, ...],
    allowed: str,
    *,
    optional: bool = False,
    match: str | None = None,
    secret: bool = False,
) -> None:
    """Check ``value`` is a ``kind`` (or ``None`` when ``optional``).

    ``bool`` never passes for ``int``: ``True`` is no number of days.
    """
    if value is None and optional:
        return
    wants_bool = kind is bool or (isinstance(kind, tuple) and bool in kind)
    if isinstance(value, bool) and not wants_bool:
        fail(where, name, value, allowed, match=match, secret=secret)
    if not isinstance(value, kind):
        fail(where, name, value, allowed, match=match, secret=secret)


def text(where: str, name: str, value: object, *, optional: bool = True) -> None:
    """A ``str`` (or ``None``)."""
    instance(where, name, value, str, "a str or None" if optional else "a str", optional=optional)


def boolean(where: str, name: str, value: object) -> None:
    """``True`` or ``False``: ``"no"`` is a true value in Python, so it is refused."""
    match = None
    if isinstance(value, str):
        meant = value.strip().lower()
        if meant in ("true", "yes", "on", "1"):
            match = f"{name}=True"
        elif meant in ("false", "no", "off", "0", ""):
            match = f"{name}=False"
    instance(where, name, value, bool, "True or False", match=match)


def function(where: str, name: str, value: object, *, optional: bool = True) -> None:
    """A callable (or ``None``)."""
    if (value is None and optional) or callable(value):
        return
    fail(where, name, value, "a callable or None" if optional else "a callable")


def seconds(where: str, name: str, value: object) -> None:
    """A positive, finite number of seconds (not a bool, not a str)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        match = None
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if math.isfinite(number) and number > 0:
                match = f"{name}={value.strip()}"
        fail(
            where,
            name,
            value,
            "a positive, finite number of seconds",
            match=match,
            fix=f"pass {name}= as a number of seconds greater than 0",
        )


def whole(where: str, name: str, value: object, *, low: int = 1, high: int | None = None) -> None:
    """A whole number from ``low`` (to ``high``), not a bool and not a str."""
    span = f"from {low} to {high}" if high is not None else f"of {low} or more"
    ok = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )
    if not ok:
        digits = isinstance(value, str) and value.strip().isdigit()
        match = f"{name}={value.strip()}" if digits and isinstance(value, str) else None
        fail(where, name, value, f"a whole number {span}", match=match)


def path(where: str, name: str, value: object) -> None:
    """A filesystem path: a ``str`` or an ``os.PathLike`` of one."""
    if isinstance(value, str) or (
        isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)
    ):
        return
    fail(where, name, value, "a path (a str or a pathlib.Path)")


def str_mapping(where: str, name: str, value: object) -> Mapping[str, str]:
    """A mapping of ``str`` to ``str``, as ``os.environ`` is."""
    allowed = "a mapping of str to str, such as os.environ"
    if not isinstance(value, Mapping):
        fail(where, name, value, allowed)
    for key, item in value.items():
        if not isinstance(key, str):
            fail(where, name, value, allowed, detail=f"the key {given(key)} is not a str")
        if not isinstance(item, str):
            # The value of a variable may be a secret: name the variable only.
            detail = f"the value of {given(key)} is {given(item, secret=True)}, not a str"
            fail(where, name, value, allowed, detail=detail)
    return value


def result(where: str, what: str, value: T, test: Callable[[Any], bool], allowed: str) -> T:
    """Check what a callable the caller passed returned (``Context(clock=...)``)."""
    if test(value):
        return value
    raise ConfigurationError(
        f"{where} returned {given(value)}, not {allowed}",
        fix=f"pass {what} that returns {allowed}",
    )


def endpoint(variable: str, value: str) -> str:
    """An endpoint URL read from ``variable``, checked as the transport will read it.

    The value is shown only as far as it is safe to: user info and the query
    (which may hold a token) never appear.
    """
    from . import _url  # only where an endpoint variable is set

    try:
        _url.parse(value)
    except _url.UrlRefused as refused:
        raise ConfigurationError(
            f"{variable}={_endpoint_shown(value)} is not a valid endpoint URL: it {refused.reason}",
            evidence=(f"{variable} is set",),
            fix=f"set {variable} to an http or https URL with a host and a port from "
            "1 to 65535, or unset it",
        ) from None
    return value


def _endpoint_shown(value: str) -> str:
    if "@" in value or "?" in value or "#" in value:
        from ._mask import display_url

        return display_url(value)  # user info, query and fragment dropped
    text = repr(value)  # as typed: its display form would hide the mistake
    return scrub(text if len(text) <= 2 * _LONGEST else text[: 2 * _LONGEST - 3] + "...")
