"""The promises about the code itself: ruff clean, mypy --strict clean, and built in
layers without an import cycle (docs/architecture.md)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not (ROOT / "pyproject.toml").exists(), reason="needs the source checkout"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


# -- layers -------------------------------------------------------------------

TOOLKIT = "credpick.testing"  # a test toolkit that imports from everywhere: outside both contracts


def _config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config: dict[str, Any] = tomllib.load(f)["tool"]["importlinter"]
    return config


def _graph() -> Any:
    import grimp

    # Type-checking and deferred imports are edges too: a layer cannot lean on
    # one above it even for a type.
    return grimp.build_graph("credpick", exclude_type_checking_imports=False)


def _layers_kept(graph: Any) -> Any:
    from importlinter.contracts.layers import LayersContract

    config = _config()
    (contract,) = config["contracts"]
    options = {k: v for k, v in contract.items() if k not in ("id", "name", "type")}
    session = {"root_packages": [config["root_package"]], "include_external_packages": False}
    return LayersContract(contract["name"], session, options).check(graph, verbose=False)


def test_lint_imports_keeps_the_layers_contract() -> None:
    config = _config()
    assert config["include_external_packages"] is False
    assert "exclude_type_checking_imports" not in config  # they count
    (contract,) = config["contracts"]
    assert contract["type"] == "layers" and contract["containers"] == ["credpick"]
    code = (
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}  # this checkout, not an install
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_layers_contract_refuses_an_upward_import() -> None:
    graph = _graph()
    assert _layers_kept(graph).kept
    for importer, imported in [
        ("credpick._model", "credpick._chain"),  # a value reaching for the code that uses it
        ("credpick.sources.imds", "credpick._policy"),  # a source reaching for the decision
        ("credpick._context", "credpick.sources._base"),
        ("credpick._session", "credpick._wrap"),
    ]:
        broken = copy.deepcopy(graph)
        broken.add_import(importer=importer, imported=imported)
        assert not _layers_kept(broken).kept, (importer, imported)


def _without_toolkit(graph: Any) -> Any:
    for module in [m for m in graph.modules if m == TOOLKIT or m.startswith(TOOLKIT + ".")]:
        graph.remove_module(module)
    return graph


def _cycles(graph: Any) -> list[list[str]]:
    """One cycle through each module that reaches itself, as the path that does."""
    found = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                found.append([module, *back])
                break
    return found


def test_no_module_of_credpick_reaches_itself() -> None:
    graph = _without_toolkit(_graph())
    assert "credpick._model" in graph.modules and "credpick.sources.imds" in graph.modules
    assert not any(m.startswith(TOOLKIT) for m in graph.modules)
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = _without_toolkit(_graph())
    graph.add_import(importer="credpick._model", imported="credpick._detection")
    assert ["credpick._detection", "credpick._model", "credpick._detection"] in _cycles(graph)


# -- a source is one file -------------------------------------------------------

#: Where a source kind may be named outside ``sources/``: the kinds and rank table,
#: the default roots table, and the guided tour's scenarios.
_KIND_TABLES = {"_kinds.py", "_model.py", "_tour.py"}


def _core_importers(graph: Any, name: str) -> set[str]:
    """The modules outside ``sources/`` that import ``name`` directly."""
    return {
        m
        for m in graph.find_modules_that_directly_import(name)
        if not m.startswith("credpick.sources")
    }


@pytest.mark.parametrize(("module", "kind"), [("imds", "EC2_INSTANCE_PROFILE"), ("login", "LOGIN")])
def test_a_source_needs_nothing_outside_its_module(module: str, kind: str) -> None:
    # The proof of "adding a source touches its module, its tests, its docs and
    # the rank table": no core module imports the source or names its kind.
    assert _core_importers(_without_toolkit(_graph()), f"credpick.sources.{module}") == set()
    core = ROOT / "src" / "credpick"
    naming = [
        str(path.relative_to(core))
        for path in sorted(core.rglob("*.py"))
        if path.parts[len(core.parts)] not in ("sources", "testing")
        and path.name not in _KIND_TABLES
        and f"SourceKind.{kind}" in path.read_text(encoding="utf-8")
    ]
    assert naming == []


def test_the_source_check_sees_a_core_module_that_names_a_source() -> None:
    graph = _without_toolkit(_graph())
    graph.add_import(importer="credpick._detect", imported="credpick.sources.imds")
    assert _core_importers(graph, "credpick.sources.imds") == {"credpick._detect"}
