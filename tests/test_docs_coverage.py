"""The reference pages are checked against the code, so they cannot drift from it.

The conventions, which a page must follow for a name, a command or an option to
count as documented:

- **A public name** (the ``__all__`` of ``credpick``, ``credpick.migrate`` and
  ``credpick.exceptions`` in docs/api.md; of ``credpick.testing`` in docs/testing.md)
  has an *entry*: a heading, the first cell of a table row, or the term of a list
  item (``- `name(...)`: what it does``) holding a backticked span that starts with
  the name, bare or qualified (```credpick.session(...)```, ```migrate.scan```).
- **A command** of ``credpick`` (the sub-parsers of ``credpick._cli._parser()``) has a
  section in docs/cli.md: a heading that starts ```credpick COMMAND``. **Each of its
  options** appears in that section (the heading counts) in a backticked span or in an
  example's ``$ credpick ...`` line; a global option (``--version``, ``--verbose``, also
  when a command accepts it too) appears so outside every command's section.
- **Every exit code** the command line can return (the integer constants that
  ``credpick._cli`` and ``credpick.migrate._cli`` return or ``exit()`` with; a bare
  ``return 130`` fails the test, so each code has a name) is a row of the table under
  ``## Exit codes``.
- **A JSON key list** is a backticked ``{"key", "other" (a note), ...}``. Every such list
  in the docs is exactly the keys of one of credpick's ``to_dict()`` shapes; docs/api.md
  shows each shape's list, and each command with ``--json`` shows its shape's list in
  its section of docs/cli.md, or names it (```AuditReport.to_dict()```).
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import credpick
from credpick import migrate

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
pytestmark = pytest.mark.skipif(not (DOCS / "api.md").exists(), reason="needs the source checkout")

SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^(#+) ")
# A list may wrap, as Markdown's inline code may: a newline counts as a space.
KEY_LIST = re.compile(r'`\{("[\w-]+"(?: \([^)`]*\))?(?:,\s+"[\w-]+"(?: \([^)`]*\))?)*)\}`')
QUOTED = re.compile(r'"([\w-]+)"')

# -- public names -------------------------------------------------------------------


def _term(line: str) -> str:
    """The part of a line that can name an entry: a heading, a table row's first
    cell, or a list item's term (up to its first colon outside backticks)."""
    if HEADING.match(line):
        return line
    if line.startswith("| "):
        return line.split(" | ")[0]
    if line.startswith("- `"):
        inside = False
        for i, char in enumerate(line):
            if char == "`":
                inside = not inside
            elif char == ":" and not inside:
                return line[:i]
    return ""


def documented_names(page: Path, prefixes: tuple[str, ...]) -> set[str]:
    names = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        for span in SPAN.findall(_term(line)):
            span = span.lstrip("@")
            for prefix in prefixes:
                if span.startswith(prefix):
                    span = span[len(prefix) :]
                    break
            match = re.match(r"[A-Za-z_]\w*", span)
            if match:
                names.add(match.group(0))
    return names


PUBLIC = [
    ("credpick", "api.md"),
    ("credpick.migrate", "api.md"),
    ("credpick.exceptions", "api.md"),
    ("credpick.testing", "testing.md"),
]
PREFIXES = ("credpick.migrate.", "credpick.testing.", "credpick.exceptions.", "credpick.")
PREFIXES += ("migrate.", "exceptions.")


@pytest.mark.parametrize(("module", "page"), PUBLIC, ids=[m for m, _ in PUBLIC])
def test_every_public_name_has_an_entry(module: str, page: str) -> None:
    names = set(importlib.import_module(module).__all__)
    missing = sorted(names - documented_names(DOCS / page, PREFIXES))
    assert missing == [], f"docs/{page} has no entry for {module}: {', '.join(missing)}"


def test_the_entry_convention_is_not_loose(tmp_path: Path) -> None:
    # A name in running prose, in a later table cell or in a code block is no entry.
    page = tmp_path / "page.md"
    page.write_text(
        "# `credpick.session(*, policy=None)`\n"
        "| `Context` | see `Timeouts` |\n"
        "- `migrate.scan(paths)` and `migrate.audit()`: finds `ScanReport`s\n"
        "Prose about `detect`.\n"
        "```python\nwrap(session)\n```\n",
        encoding="utf-8",
    )
    assert documented_names(page, PREFIXES) == {"session", "Context", "scan", "audit"}


# -- the command line -----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from credpick import _cli

    return _cli._parser()


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("credpick's parser has no sub-commands")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    """Each option by its longest spelling (``--verbose`` for ``-v/--verbose``), and
    each positional by its metavar; ``--help`` left out."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            found.append(max(action.option_strings, key=len))
        else:
            metavar = action.metavar if isinstance(action.metavar, str) else action.dest
            found.append(metavar)
    return found


def _sections(text: str) -> dict[str, str]:
    """Each heading's section (to the next heading of its level or above), by heading."""
    lines = text.splitlines()
    sections = {}
    for i, line in enumerate(lines):
        head = HEADING.match(line)
        if not head:
            continue
        end = next(
            (
                j
                for j in range(i + 1, len(lines))
                if (m := HEADING.match(lines[j])) and len(m.group(1)) <= len(head.group(1))
            ),
            len(lines),
        )
        sections[line] = "\n".join(lines[i:end])
    return sections


def _command_section(text: str, command: str) -> str | None:
    for heading, section in _sections(text).items():
        if re.match(rf"#+ `credpick {re.escape(command)}(?![\w-])", heading):
            return section
    return None


def _mentions(section: str, option: str) -> bool:
    word = re.compile(rf"(?<![\w-]){re.escape(option)}(?![\w-])")
    examples = re.findall(r"^\$ credpick .*$", section, re.M)
    return any(word.search(span) for span in SPAN.findall(section) + examples)


CLI_PAGE = DOCS / "cli.md"


def test_every_command_has_a_section() -> None:
    text = CLI_PAGE.read_text(encoding="utf-8")
    commands = _commands(_parser())
    assert {"explain", "check", "whoami", "tour", "audit", "scan"} <= set(commands)
    missing = [c for c in commands if _command_section(text, c) is None]
    assert missing == [], f"docs/cli.md has no `## \\`credpick COMMAND ...\\`` for {missing}"


def test_every_option_of_every_command_is_in_its_section() -> None:
    text = CLI_PAGE.read_text(encoding="utf-8")
    missing = []
    parser = _parser()
    shared = set(_options(parser))  # a global option, documented once
    for command, sub in _commands(parser).items():
        section = _command_section(text, command) or ""
        wanted = [o for o in _options(sub) if o not in shared]
        missing += [f"{command} {o}" for o in wanted if not _mentions(section, o)]
    assert missing == [], f"docs/cli.md does not document: {', '.join(missing)}"


def test_the_global_options_are_documented_outside_the_commands() -> None:
    text = CLI_PAGE.read_text(encoding="utf-8")
    parser = _parser()
    outside = text
    for command in _commands(parser):
        outside = outside.replace(_command_section(text, command) or "\0", "")
    options = _options(parser)
    assert "--version" in options and "--verbose" in options
    assert [o for o in options if not _mentions(outside, o)] == []


def test_the_option_check_sees_a_missing_option() -> None:
    section = "## `credpick scan [PATH ...] [--env]`\n\n| `--json` | as JSON |\n"
    section += "```console\n$ credpick scan --max-workers 2\n```\n"
    assert _mentions(section, "--env") and _mentions(section, "PATH")
    assert _mentions(section, "--max-workers") and _mentions(section, "--json")
    assert not _mentions(section, "--max-bytes")
    assert not _mentions("`--json-lines`", "--json") and not _mentions("--env", "--env")


def _cli_modules() -> list[ModuleType]:
    from credpick import _cli
    from credpick.migrate import _cli as migrate_cli

    return [_cli, migrate_cli]


def _bare_int_returns(module: ModuleType) -> Iterator[str]:
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Return)
            and isinstance(node.value, ast.Constant)
            and type(node.value.value) is int
        ):
            yield f"{module.__name__}:{node.lineno}: return {node.value.value}"


def _code_names(module: ModuleType) -> Iterator[str]:
    """Names a CLI module returns or exits with: ``return FAILED``, ``self.exit(USAGE, ...)``."""
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name):
            yield node.value.id
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "exit":
                yield node.args[0].id


def exit_codes() -> set[int]:
    """The codes the CLI can return: the integer constants its modules return or exit
    with (``MAX_BYTES`` is an integer constant too, but no exit code)."""
    codes = set()
    for module in _cli_modules():
        for name in _code_names(module):
            value = vars(module).get(name)
            if name.isupper() and type(value) is int:
                codes.add(value)
    return codes


def test_every_exit_code_has_a_name() -> None:
    bare = [line for module in _cli_modules() for line in _bare_int_returns(module)]
    assert bare == [], "name these exit codes (a constant in _cli.py): " + "; ".join(bare)


def test_every_exit_code_is_in_the_table() -> None:
    sections = _sections(CLI_PAGE.read_text(encoding="utf-8"))
    table = sections.get("## Exit codes", "")
    rows = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}
    codes = exit_codes()
    assert {0, 1, 2, 3, 4} <= codes
    assert sorted(codes - rows) == [], "docs/cli.md's exit-code table misses these"
    assert sorted(rows - codes) == [], "docs/cli.md's exit-code table has codes the CLI lacks"


# -- JSON key lists -------------------------------------------------------------------


def _shapes(tmp_path: Path) -> dict[str, set[str]]:
    """The keys of each to_dict() shape, from real values."""
    from credpick.migrate import AuditReport, Flag, KeyFinding

    detection = credpick.detect()  # the isolated runtime: nothing found, every key still there
    (tmp_path / "app.env").write_text("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n", encoding="utf-8")
    scanned = migrate.scan([tmp_path])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    finding = KeyFinding(
        user="deploy-bot",
        key_id="AKIAIOSFODNN7EXAMPLE",
        slot=1,
        status="Active",
        created=now,
        last_used=None,
        last_used_service=None,
        last_used_region=None,
        multi_cloud=False,
        rotation_limit_days=90,
        age_days=120,
        idle_days=None,
        flags=(Flag.ROTATION_OVERDUE,),
    )
    audited = AuditReport(
        keys=(finding,),
        users=1,
        generated_at=now,
        now=now,
        rotation_days=90,
        multicloud_rotation_days=30,
        multicloud_tag="credpick:multi-cloud",
        unused_days=14,
        detail="flagged",
    )
    role = credpick.AssumeRole("arn:aws:iam::111122223333:role/hop")
    return {
        "Detection": set(detection.to_dict()),
        "AssumeRole": set(role.to_dict()),
        "ScanReport": set(scanned.to_dict()),
        "ScanFinding": set(scanned.findings[0].to_dict()),
        "AuditReport": set(audited.to_dict()),
        "KeyFinding": set(finding.to_dict()),
    }


def _key_lists(text: str) -> list[set[str]]:
    return [set(QUOTED.findall(m)) for m in KEY_LIST.findall(text)]


PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_json_key_list_is_a_real_shape(page: Path, tmp_path: Path) -> None:
    shapes = _shapes(tmp_path)
    for keys in _key_lists(page.read_text(encoding="utf-8")):
        near = min(shapes.values(), key=lambda s: len(s ^ keys))
        assert keys in shapes.values(), (
            f"{page.name}: stale key list; missing {sorted(near - keys)}, extra {sorted(keys - near)}"
        )


JSON_SHAPE = {"explain": "Detection", "audit": "AuditReport", "scan": "ScanReport"}


def test_each_json_command_shows_its_keys(tmp_path: Path) -> None:
    shapes = _shapes(tmp_path)
    text = CLI_PAGE.read_text(encoding="utf-8")
    with_json = [c for c, p in _commands(_parser()).items() if "--json" in _options(p)]
    assert sorted(with_json) == sorted(JSON_SHAPE)
    for command in with_json:
        section = _command_section(text, command) or ""
        shape = JSON_SHAPE[command]
        named = f"`{shape}.to_dict()`" in section
        wanted = shapes[shape]
        assert named or wanted in _key_lists(section), (
            f"credpick {command} --json: name `{shape}.to_dict()` or list {sorted(wanted)}"
        )


def test_the_api_page_shows_every_report_shape(tmp_path: Path) -> None:
    lists = _key_lists((DOCS / "api.md").read_text(encoding="utf-8"))
    missing = [name for name, keys in _shapes(tmp_path).items() if keys not in lists]
    assert missing == [], f"docs/api.md shows no key list for {missing}"


# -- where the project lives ----------------------------------------------------------

REPOSITORY = "https://github.com/credpick/credpick"


def test_the_package_names_its_urls() -> None:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as f:
        urls = tomllib.load(f)["project"]["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Repository", "Issues", "Changelog"}
    assert all(url.startswith(REPOSITORY) for url in urls.values())
    assert urls["Repository"] == REPOSITORY


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_placeholder_is_left_in_the_docs(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert re.findall(r"<(?:owner|org|user|repo)>", text) == []
    for url in re.findall(r"https://github\.com/[\w.-]+/credpick\b", text):
        assert url == REPOSITORY
