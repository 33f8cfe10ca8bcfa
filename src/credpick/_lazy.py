"""Names a package loads on first use (PEP 562), for each public package."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Any


def attribute(
    package: str, table: Mapping[str, str], namespace: MutableMapping[str, Any], name: str
) -> Any:
    """``package.name``, imported from the module ``table`` names for it.

    The value is stored in the package's ``namespace``, so later lookups skip
    the package's ``__getattr__``.

    Raises:
        AttributeError: ``name`` is not one of the package's names.
    """
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, package), name)
    namespace[name] = value
    return value
