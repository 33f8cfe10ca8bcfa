"""Types that catch typos, seen as a user sees them (mypy --strict, tests/typing/mypy.ini).

One mypy run checks every target at once: tests/typing/, the Python examples of
the README and docs/ (a page's blocks in order, as one module, as test_docs.py
runs them), examples/*.py, and snippets that must fail. With boto3-stubs
installed (the tests extra), typed clients are checked too.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "typing" / "mypy.ini"
pytestmark = pytest.mark.skipif(not CONFIG.exists(), reason="needs the source checkout")

PAGES = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
STUBS = importlib.util.find_spec("mypy_boto3_s3") is not None
needs_stubs = pytest.mark.skipif(not STUBS, reason="needs boto3-stubs[s3,sts] (the tests extra)")

# name: (code, what mypy must say about its last line, needs the stubs)
WRONG = {
    "session_typo": ("import credpick\n\ncredpick.sesion()\n", 'has no attribute "sesion"', False),
    "testing_typo": (
        "import credpick.testing\n\ncredpick.testing.Simlation\n",
        'has no attribute "Simlation"',
        False,
    ),
    "testing_from_typo": (
        "from credpick.testing import Simlation\n",
        'has no attribute "Simlation"',
        False,
    ),
    "migrate_typo": ("from credpick import migrate\n\nmigrate.scna()\n", '"scna"', False),
    "runtime_typo": (
        'from credpick.testing import Simulation\n\nSimulation().use("ec3")\n',
        'Argument 1 to "use" of "Simulation" has incompatible type "Literal[\'ec3\']"',
        False,
    ),
    "wrap_not_a_session": (
        "import credpick\n\ncredpick.wrap(5)\n",
        'Argument 1 to "wrap" has incompatible type "int"',
        True,
    ),
    "client_method_typo": (
        'import credpick\n\ncredpick.session().client("s3").list_bucket()\n',
        '"S3Client" has no attribute "list_bucket"',
        True,
    ),
    "client_is_not_any": (
        "import credpick\nfrom mypy_boto3_sts import STSClient\n\n"
        'sts: STSClient = credpick.session().client("s3")\n',
        "Incompatible types in assignment",
        True,
    ),
}
ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<message>.*)$", re.M)


def _doc_module(page: Path) -> str:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, list[str]]:
    """Every target's mypy errors, by target name, from one run."""
    # Written where mypy's cache is kept, at the same paths each run: mypy's
    # incremental cache then keeps a second run cheap, and it is never handed
    # the errors of a file at an old path.
    cache = ROOT / ".mypy_cache" / "user-view"
    where = cache / "targets"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    targets: dict[str, Path] = {}
    for page in PAGES:
        code = _doc_module(page)
        if code:
            targets[f"doc_{page.stem}"] = where / f"doc_{page.stem.replace('-', '_')}.py"
            targets[f"doc_{page.stem}"].write_text(code, encoding="utf-8")
    for name, (code, _, stubs) in WRONG.items():
        if STUBS or not stubs:
            targets[f"wrong_{name}"] = where / f"wrong_{name}.py"
            targets[f"wrong_{name}"].write_text(code, encoding="utf-8")
    for example in EXAMPLES:
        targets[f"example_{example.stem}"] = example
    for typed in sorted((ROOT / "tests" / "typing").glob("*.py")):
        if STUBS or typed.stem != "stubs":
            targets[f"typing_{typed.stem}"] = typed
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(CONFIG)]
        + ["--cache-dir", str(cache / "cache")]
        + [str(p) for p in targets.values()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    by_path: dict[str, list[str]] = {str(p.resolve()): [] for p in targets.values()}
    for m in ERROR.finditer(result.stdout):
        path = str((ROOT / m["path"]).resolve())
        assert path in by_path, result.stdout  # an error in credpick or elsewhere
        by_path[path].append(f"{m['line']}: {m['message']}")
    return {name: by_path[str(p.resolve())] for name, p in targets.items()}


@pytest.mark.parametrize("page", [p for p in PAGES if _doc_module(p)], ids=lambda p: p.name)
def test_doc_examples_pass_mypy_strict(mypy_errors: dict[str, list[str]], page: Path) -> None:
    assert mypy_errors[f"doc_{page.stem}"] == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_pass_mypy_strict(mypy_errors: dict[str, list[str]], example: Path) -> None:
    assert mypy_errors[f"example_{example.stem}"] == []


def test_the_typed_api_passes_mypy_strict(mypy_errors: dict[str, list[str]]) -> None:
    assert mypy_errors["typing_api"] == []


@needs_stubs
def test_typed_clients_pass_mypy_strict_with_boto3_stubs(
    mypy_errors: dict[str, list[str]],
) -> None:
    assert mypy_errors["typing_stubs"] == []


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=[needs_stubs] if stubs else [])
        for name, (_, _, stubs) in WRONG.items()
    ],
)
def test_a_typo_fails_mypy_strict(mypy_errors: dict[str, list[str]], name: str) -> None:
    code, expected, _ = WRONG[name]
    last = str(code.rstrip("\n").count("\n") + 1)
    errors = mypy_errors[f"wrong_{name}"]
    assert any(e.startswith(f"{last}: ") and expected in e for e in errors), errors
