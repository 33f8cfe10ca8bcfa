"""Every Python example in the README and docs/ runs, on an emulated instance.

A page's blocks run in order in one namespace, as a reader would type them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from credpick.testing import Simulation

ROOT = Path(__file__).resolve().parent.parent
PAGES = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_doc_examples_run(page: Path) -> None:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    if any("credpick.aio" in code for code in blocks):  # docs/aio.md: the aio extra
        pytest.importorskip("aiobotocore", reason="needs credpick[aio]")
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    with Simulation() as sim:
        sim.use("ec2-instance-profile")
        for n, code in enumerate(blocks):
            exec(compile(code, f"{page.name}[{n}]", "exec"), namespace)
