"""docs/testing.md's ``py`` blocks are pytest tests for the plugin: they all pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BLOCK = re.compile(r"^```py\n(.*?)^```", re.S | re.M)
pytestmark = pytest.mark.skipif(not PAGE.exists(), reason="needs the source checkout")


def test_every_plugin_example_passes(pytester: pytest.Pytester) -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    for n, code in enumerate(blocks):
        pytester.makepyfile(**{f"test_doc_block_{n}": code})
    expected = sum(len(re.findall(r"^def test_", code, re.M)) for code in blocks)
    quiet = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")
    result = pytester.runpytest(*quiet, "--tb=short", "--strict-markers")
    result.assert_outcomes(passed=expected)
