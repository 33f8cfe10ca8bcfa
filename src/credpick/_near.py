"""Close matches for a name the user typed: ``did you mean 'prod'?``."""

from __future__ import annotations

from collections.abc import Iterable


def close_match(given: object, known: Iterable[str]) -> str | None:
    """The known name ``given`` most likely meant, or ``None``.

    The one rule credpick uses for every name typed (profiles, kinds, policy
    values, runtimes): the same name but for case, surrounding whitespace or
    ``_`` for ``-`` first (``Prod``, ``"prod "``, ``refuse_when_role``), then a
    name it begins (``ec2`` for ``ec2-instance-profile``) or the only one it is a
    whole word of (``refuse`` for ``refuse-when-role``), then the nearest
    spelling (``prodd``). Not text, blank, or already known: ``None``.
    """
    if not isinstance(given, str) or not given.strip():
        return None
    names = list(dict.fromkeys(known))  # in the order given: the first match wins
    if given in names:
        return None
    folded = given.strip().casefold().replace("_", "-")
    same = [k for k in names if k.strip().casefold().replace("_", "-") == folded]
    if same:
        return same[0]
    prefixed = [k for k in names if len(folded) > 1 and k.casefold().startswith(folded)]
    if prefixed:
        return prefixed[0]
    words = [k for k in names if folded in k.casefold().split("-")]
    if len(words) == 1:
        return words[0]
    import difflib  # only for a name that is wrong: not on the path of every session

    near = difflib.get_close_matches(given, names, n=1)
    return near[0] if near else None


def did_you_mean(given: str, known: Iterable[str]) -> str:
    """``"; did you mean 'prod'?"``, or ``""`` when nothing is close."""
    match = close_match(given, known)
    return f"; did you mean {match!r}?" if match is not None else ""
