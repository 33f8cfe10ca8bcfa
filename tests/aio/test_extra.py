"""Without aiobotocore credpick.aio says which extra to install; the core never needs it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def test_importing_credpick_aio_without_aiobotocore_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "aiobotocore", None)  # an import of it now fails
    monkeypatch.setitem(sys.modules, "aiobotocore.credentials", None)
    monkeypatch.setitem(sys.modules, "aiobotocore.session", None)
    monkeypatch.delitem(sys.modules, "credpick.aio", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'credpick\[aio\]'") as info:
        importlib.import_module("credpick.aio")
    assert info.value.__cause__ is None


def test_the_core_does_not_import_aiobotocore() -> None:
    code = (
        "import sys, credpick; credpick.session; credpick.wrap; print('aiobotocore' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
