"""Read the shared config and credentials files, bounded, and parse them as botocore does.

The files are read through :mod:`credpick._safe_io` (no FIFO, no device, at
most :data:`~credpick._safe_io.SHARED_FILE` bytes) and parsed from that text
with the same ``configparser`` rules botocore's ``raw_config_parse`` uses, so
botocore's own session, pointed at the same files, sees what credpick saw.
A parse error names the file and the line number, never the line's text:
the bad line may be a secret key.
"""

from __future__ import annotations

import configparser
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import botocore.configloader

from . import _envvars as ev
from . import _safe_io
from ._context import Context
from .exceptions import ConfigurationError


@attrs.frozen
class SharedFiles:
    """The parsed ``~/.aws/config`` and ``~/.aws/credentials``.

    ``profiles`` maps a profile name to its settings in the config file;
    ``credentials`` maps a section of the credentials file to its keys.
    """

    config_path: Path
    credentials_path: Path
    profiles: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    sso_sessions: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)
    credentials: Mapping[str, Mapping[str, Any]] = attrs.field(repr=False)

    def profile(self, name: str) -> Mapping[str, Any]:
        """The config-file settings of a profile (empty if absent)."""
        return self.profiles.get(name, {})

    def names(self) -> list[str]:
        """Every profile either file defines, config file first, in file order."""
        return list(dict.fromkeys([*self.profiles, *self.credentials]))

    def knows(self, name: str) -> bool:
        """Whether either file defines the profile."""
        return name in self.profiles or name in self.credentials


#: Which shared file: its variable, its name in messages, its section syntax.
#: Plain tuples, read only when an error is worded: a class here would cost
#: every session's import.
_FileKind = tuple[str, str, str]
CONFIG: _FileKind = (ev.CONFIG_FILE, "config file", "[profile NAME] (or [default])")
CREDENTIALS: _FileKind = (ev.SHARED_CREDENTIALS_FILE, "credentials file", "[NAME] (or [default])")


def _nested(value: str) -> dict[str, str] | None:
    """An indented block (``s3 =`` then ``  key = value`` lines), as botocore parses it."""
    parsed = {}
    for line in value.splitlines():
        line = line.strip()
        if not line:
            continue
        if "=" not in line:
            return None
        key, inner = line.split("=", 1)
        parsed[key.strip()] = inner.strip()
    return parsed


def _syntax(exc: configparser.Error) -> str:
    """Where the syntax breaks, from the error's structured fields only."""
    lineno = getattr(exc, "lineno", None)
    if lineno is None and isinstance(exc, configparser.ParsingError) and exc.errors:
        lineno = exc.errors[0][0]
    what = {
        "MissingSectionHeaderError": "a setting comes before any section header",
        "DuplicateSectionError": "a section is defined twice",
        "DuplicateOptionError": "a setting is defined twice in one section",
        "ParsingError": "a line is neither a section header nor key = value",
    }.get(type(exc).__name__, "the file is not valid INI")
    return f"{what} (line {lineno})" if lineno else what


def _bad_block_line(text: str, section: str, option: str) -> int | None:
    """The number of the first indented line without ``=`` under ``option`` in ``section``.

    configparser keeps no line numbers for values, so the text is walked again
    with its rules (a header, then ``option =`` or ``option :``, then indented lines).
    """
    current, inside = None, False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not line[:1].isspace():
            inside = False
            if stripped.startswith("[") and stripped.endswith("]"):
                current = stripped[1:-1]
            elif current == section and ("=" in line or ":" in line):
                key = line.split("=" if "=" in line else ":", 1)[0].strip().lower()
                inside = current == section and key == option
        elif inside and stripped and "=" not in stripped:
            return number
    return None


def _parse_text(path: Path) -> dict[str, Any] | str:
    """The parsed file, or why it cannot be used. Contents stay in this frame."""
    try:
        text = _safe_io.read_text(path, limit=_safe_io.SHARED_FILE)
    except _safe_io.FileProblem as problem:
        return "" if problem.reason == "does not exist" else problem.reason
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        return f"cannot be parsed: {_syntax(exc)}"
    parsed: dict[str, Any] = {}
    for section in parser.sections():
        parsed[section] = {}
        for option in parser.options(section):
            value = parser.get(section, option)
            if value.startswith("\n"):  # botocore's one level of nesting
                nested = _nested(value)
                if nested is None:
                    where = _bad_block_line(text, section, option)
                    return (
                        f"cannot be parsed: the indented block of '{option}' in "
                        f"[{section}] has a line without '='"
                        + (f" (line {where})" if where else "")
                    )
                parsed[section][option] = nested
            else:
                parsed[section][option] = value
    return parsed


def _error(path: Path, kind: _FileKind, ctx: Context, reason: str) -> ConfigurationError:
    """The error for a shared file that cannot be used, from a reason without contents."""
    variable, label, section = kind
    if ctx.get(variable):
        named, evidence = f"{variable} points at {path}", f"{variable}={path}"
    else:
        named, evidence = f"the {label} {path}", str(path)
    if reason.startswith("cannot be parsed"):
        fix = f"fix the syntax of {path}: sections look like {section}, settings like key = value"
    elif "over the limit" in reason:
        fix = f"point {variable} at the real {label}; a shared file is never this large"
    elif "UTF-8" in reason:
        fix = f"save {path} as UTF-8 text"
    elif reason.startswith(("cannot be opened", "cannot be read")):
        fix = f"make {path} readable by this process"
    else:
        fix = f"point {variable} at a regular file (or /dev/null for none), or remove {path}"
    return ConfigurationError(f"{named}, which {reason}", evidence=(evidence,), fix=fix)


def _build(ctx: Context) -> SharedFiles | ConfigurationError:
    """Both files parsed, or the error for the first that cannot be used.

    A missing file or a character device (``/dev/null``) is empty, as in botocore.
    """
    parsed: list[dict[str, Any]] = []
    for path, kind in ((ctx.config_file, CONFIG), (ctx.credentials_file, CREDENTIALS)):
        outcome = _parse_text(path)
        if isinstance(outcome, str):
            if outcome:
                return _error(path, kind, ctx, outcome)
            outcome = {}
        parsed.append(outcome)
    profile_map = botocore.configloader.build_profile_map(parsed[0])
    return SharedFiles(
        config_path=ctx.config_file,
        credentials_path=ctx.credentials_file,
        profiles=profile_map.get("profiles", {}),
        sso_sessions=profile_map.get("sso_sessions", {}),
        credentials=parsed[1],
    )


@functools.lru_cache(maxsize=16)
def load(ctx: Context) -> SharedFiles:
    """Parse both files once per context.

    Raises:
        ConfigurationError: A file is malformed, unreadable, over
            :data:`~credpick._safe_io.SHARED_FILE` bytes, or not a regular
            file (a FIFO, a directory).
    """
    # Raised in this frame, which holds no file contents, outside any except block.
    result = _build(ctx)
    if isinstance(result, ConfigurationError):
        raise result
    return result


def active_profile(ctx: Context) -> tuple[str, bool, Mapping[str, Any]]:
    """The active profile's name, whether it was chosen explicitly, and its settings."""
    name, explicit = ctx.active_profile()
    return name, explicit, load(ctx).profile(name)
