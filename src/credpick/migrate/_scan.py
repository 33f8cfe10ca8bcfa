"""``credpick.scan``: find AWS access key ids in files and the environment.

An access key id is four letters of prefix and sixteen of upper-case letters
and digits, standing alone: not inside a longer run of letters and digits.
Which prefixes matter, and how (AWS's "unique ID prefixes" table):

- ``AKIA``: an access key of an IAM user or the root user. Long-lived: it
  works until someone deletes it. These are what ``scan`` fails on.
- ``ASIA`` (temporary STS keys) and ``ABIA`` (STS service bearer tokens):
  they expire on their own, so they are reported apart and do not fail.
- Any id ending in ``EXAMPLE`` (``AKIAIOSFODNN7EXAMPLE`` and its kin) is one
  of AWS's documentation examples: reported apart as ``example``, never a leak.
- Not reported: ``ACCA`` (a context-specific credential, not an access key),
  and ids that name things but sign nothing: ``AIDA`` users, ``AROA`` roles,
  ``AGPA`` groups, ``AIPA`` instance profiles, ``ANPA``/``ANVA`` managed
  policies and versions, ``APKA`` public keys, ``ASCA`` certificates.

Every id is masked (``AKIA...WXYZ``) in the report and its output.
"""

from __future__ import annotations

import enum
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from .. import _validate
from .._mask import ensure_masked
from ..exceptions import ConfigurationError


class IdKind(str, enum.Enum):
    """What a found key id is.

    .. versionadded:: 0.1.0
    """

    #: ``AKIA``: a long-lived access key. Fails the scan.
    LONG_LIVED = "long-lived"
    #: ``ASIA`` or ``ABIA``: temporary STS credentials that expire on their own.
    TEMPORARY = "temporary"
    #: One of AWS's documentation examples (the id ends in ``EXAMPLE``).
    EXAMPLE = "example"

    @classmethod
    def _missing_(cls, value: object) -> IdKind:
        _validate.unknown("IdKind", "", value, [k.value for k in cls])

    def __str__(self) -> str:
        return self.value


#: The prefixes scan reports, and what each means. Everything else is ignored.
PREFIXES: Mapping[str, IdKind] = MappingProxyType(
    {"AKIA": IdKind.LONG_LIVED, "ASIA": IdKind.TEMPORARY, "ABIA": IdKind.TEMPORARY}
)
#: Directory names not descended into when walking a directory.
DEFAULT_IGNORE = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox"}
    | {".mypy_cache", ".ruff_cache", ".pytest_cache"}
)
#: Files larger than this are skipped while walking (lock files and data dumps, not
#: config); a file named explicitly that is larger fails the scan instead.
MAX_BYTES = 1024 * 1024

_ID = re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(PREFIXES)})[A-Z0-9]{{16}}(?![A-Za-z0-9])")
_SNIFF = 8192  # a NUL byte in the first 8 KiB means binary, as git decides


def _kind(key_id: str) -> IdKind:
    return IdKind.EXAMPLE if key_id.endswith("EXAMPLE") else PREFIXES[key_id[:4]]


@attrs.frozen
class ScanFinding:
    """One key id found.

    Attributes:
        path: The file, as given or walked; ``env:NAME`` for an environment variable.
        line: 1-based line number; ``None`` in the environment.
        column: 1-based column of the id's first character; ``None`` in the environment.
        key_id: The masked id (``AKIA...WXYZ``).
        kind: What the id is.

    .. versionadded:: 0.1.0
    """

    path: str
    line: int | None
    column: int | None
    key_id: str = attrs.field(converter=ensure_masked)
    kind: IdKind

    @property
    def where(self) -> str:
        """``path:line:column``, or ``env:NAME``."""
        return self.path if self.line is None else f"{self.path}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; the id is masked."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "key_id": self.key_id,
            "kind": self.kind.value,
        }


@attrs.frozen
class ScanReport:
    """What :func:`credpick.scan` found.

    Attributes:
        findings: Every id found, long-lived first, then by place.
        files_scanned: How many files were read.
        skipped: ``(path, reason)`` for each file not read: binary, too large,
            unreadable, or a symlink met while walking.
        failed: ``(path, reason)`` for each file named explicitly (not found by
            walking a directory) that could not be read: too large, unreadable,
            or not a regular file. Such a file fails the scan: nothing vouches
            for it. A named binary file is only skipped.

    .. versionadded:: 0.1.0
    """

    findings: tuple[ScanFinding, ...]
    files_scanned: int
    skipped: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()

    def of_kind(self, kind: IdKind) -> tuple[ScanFinding, ...]:
        """The findings of one kind."""
        return tuple(f for f in self.findings if f.kind is kind)

    @property
    def long_lived(self) -> tuple[ScanFinding, ...]:
        """``AKIA`` ids: the ones that fail the scan."""
        return self.of_kind(IdKind.LONG_LIVED)

    def exit_code(self) -> int:
        """``1`` when a long-lived key id was found; else ``4`` when a named file
        could not be read (:attr:`failed`); else ``0``.

        Returns:
            The process exit code for ``credpick scan``.

        .. versionadded:: 0.1.0
        """
        if self.long_lived:
            return 1
        return 4 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; ids are masked."""
        return {
            "files_scanned": self.files_scanned,
            "counts": {k.value: len(self.of_kind(k)) for k in IdKind},
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
        }


def _find(text: str, path: str, *, lines: bool) -> Iterator[ScanFinding]:
    line, line_start, pos = 1, 0, 0
    for match in _ID.finditer(text):
        if lines:  # count newlines only up to each match: one pass over the text
            newlines = text.count("\n", pos, match.start())
            if newlines:
                line += newlines
                line_start = text.rfind("\n", 0, match.start()) + 1
            pos = match.start()
        yield ScanFinding(
            path=path,
            line=line if lines else None,
            column=match.start() - line_start + 1 if lines else None,
            key_id=match.group(0),
            kind=_kind(match.group(0)),
        )


def _read(path: str, max_bytes: int) -> tuple[str | None, str | None]:
    """The file's text, or ``None`` and why it was skipped."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            return None, "not a regular file"
        if info.st_size > max_bytes:
            return None, f"larger than {max_bytes} bytes"
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        return None, f"unreadable ({type(exc).__name__})"
    if b"\0" in data[:_SNIFF]:
        return None, "binary"
    return data.decode("utf-8", errors="replace"), None


def _walk(root: str, ignore: frozenset[str], skipped: list[tuple[str, str]]) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ignore)  # pruned in place: not entered
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.islink(path):  # may point anywhere, or at a file seen already
                skipped.append((path, "symlink"))
            else:
                yield path


def _listed(name: str, value: object, each: str) -> list[Any]:
    """An iterable argument as a list, or a ConfigurationError naming it."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        _validate.fail("scan", name, value, f"an iterable of {each}")
    return list(value)


def _check_arguments(
    paths: object, include_env: object, environ: object, ignore: object, max_bytes: object
) -> tuple[list[str | os.PathLike[str]], frozenset[str]]:
    listed = _listed("paths", paths, "paths (str or pathlib.Path)")
    for item in listed:
        _validate.path("scan", "paths", item)
    _validate.boolean("scan", "include_env", include_env)
    if environ is not None:
        _validate.str_mapping("scan", "environ", environ)
    names = _listed("ignore", ignore, "directory names (str)")
    for name in names:
        _validate.text("scan", "ignore", name, optional=False)
    _validate.whole("scan", "max_bytes", max_bytes, low=1)
    return listed, frozenset(names)


def scan(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    include_env: bool = False,
    environ: Mapping[str, str] | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
    max_bytes: int = MAX_BYTES,
) -> ScanReport:
    """Find AWS access key ids in files, directories and the environment.

    Directories are walked (without following symlinks), skipping the
    ``ignore`` names; binary files and files over ``max_bytes`` met there are
    skipped and listed in the report (``skipped``). Files named explicitly are
    always read: one that is over ``max_bytes``, unreadable or not a regular
    file is listed in ``failed`` and fails the scan (``exit_code()`` 4).

    Args:
        paths: Files and directories to scan (or a single one).
        include_env: Also scan the values of the environment variables.
        environ: The environment to scan; ``os.environ`` by default.
        ignore: Directory names not to descend into.
        max_bytes: Skip walked files larger than this; fail named ones.

    Returns:
        The report; ``exit_code()`` is 1 when a long-lived (``AKIA``) id was
        found, 4 when a named file could not be read.

    Raises:
        ConfigurationError: A path does not exist, or an argument is of the
            wrong type (the message names it).

    .. versionadded:: 0.1.0
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one path, not an iterable of its characters
    paths, ignored = _check_arguments(paths, include_env, environ, ignore, max_bytes)
    skipped: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    findings: list[ScanFinding] = []
    seen: set[str] = set()
    files = 0

    def files_of(given: str) -> Iterator[str]:
        if os.path.isdir(given):
            yield from _walk(given, ignored, skipped)
        elif os.path.exists(given):
            yield given
        else:
            raise ConfigurationError(
                f"no such file or directory: {given}", fix="name files or directories that exist"
            )

    for given in (os.fspath(p) for p in paths):
        for path in files_of(given):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            text, why = _read(path, max_bytes)
            if text is None:
                named = path == given and why != "binary"
                (failed if named else skipped).append((path, why or "skipped"))
                continue
            files += 1
            findings.extend(_find(text, Path(path).as_posix(), lines=True))
    if include_env:
        env = os.environ if environ is None else environ
        for name in sorted(env):
            findings.extend(_find(env[name], f"env:{name}", lines=False))
    order = list(IdKind)
    findings.sort(key=lambda f: (order.index(f.kind), f.path, f.line or 0, f.column or 0))
    return ScanReport(tuple(findings), files, tuple(skipped), tuple(failed))


_HEADINGS = {
    IdKind.LONG_LIVED: "long-lived access key ids (AKIA)",
    IdKind.TEMPORARY: "temporary ids (ASIA, ABIA), which expire on their own; not failing",
    IdKind.EXAMPLE: "AWS documentation examples; not failing",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def render_scan(report: ScanReport) -> str:
    """The report for people: each id where it was found, grouped by kind.

    Args:
        report: The scan report.

    Returns:
        The text, without a trailing newline.

    Raises:
        ConfigurationError: ``report`` is not a :class:`ScanReport`.

    .. versionadded:: 0.1.0
    """
    _validate.instance("render_scan", "report", report, ScanReport, "a credpick.migrate.ScanReport")
    found = len(report.long_lived)
    lines = [
        f"credpick scan: {_count(report.files_scanned, 'file')} scanned; "
        f"{_count(found, 'long-lived key id')} found"
        + (f"; {_count(len(report.failed), 'named file')} not read" if report.failed else "")
    ]
    for kind in IdKind:
        group = report.of_kind(kind)
        if group:
            lines.append(f"{_HEADINGS[kind]}:")
            lines.extend(f"  {f.where}  {f.key_id}" for f in group)
    if report.skipped:
        reasons: dict[str, int] = {}
        for _, why in report.skipped:
            reasons[why] = reasons.get(why, 0) + 1
        lines.append("skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())))
    # One line each: a file the caller named and that was not read fails the scan.
    lines.extend(f"not read: {path}: {why}" for path, why in report.failed)
    if any(why.startswith("larger than") for _, why in report.failed):
        lines.append("fix: raise the limit with --max-bytes (max_bytes=) to scan larger files")
    if found:
        lines.append(
            "fix: a key id in a file usually has its secret beside it: treat the key as "
            "leaked, deactivate it, and move its user to a role (docs/migration.md)"
        )
    return "\n".join(lines)
