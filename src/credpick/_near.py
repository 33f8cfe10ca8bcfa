"""Close matches for a name the user typed: ``did you mean 'prod'?``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_match(given: str, known: Iterable[str]) -> str | None:
    """The known name ``given`` most likely meant, or ``None``.

    The same name but for case or surrounding whitespace first (``Prod``,
    ``"prod "``), then a name it begins (``ec2`` for ``ec2-instance-profile``),
    then the nearest spelling (``prodd``).
    """
    names = list(dict.fromkeys(known))  # in the order given: the first match wins
    if given in names:
        return None
    folded = given.strip().casefold()
    same = [k for k in names if k.strip().casefold() == folded]
    if same:
        return same[0]
    prefixed = [k for k in names if len(folded) > 1 and k.casefold().startswith(folded)]
    if prefixed:
        return prefixed[0]
    near = difflib.get_close_matches(given, names, n=1)
    return near[0] if near else None


def did_you_mean(given: str, known: Iterable[str]) -> str:
    """``"; did you mean 'prod'?"``, or ``""`` when nothing is close."""
    match = close_match(given, known)
    return f"; did you mean {match!r}?" if match is not None else ""
