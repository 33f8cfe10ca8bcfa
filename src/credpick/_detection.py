"""What a detection decided, the policy it applied, and how both are shown.

:class:`Detection` and :class:`Policy` refer to each other (a policy's hook
judges a detection, a detection records its policy), so they live together, with
the renderings :meth:`Detection.explain` and :meth:`Detection.to_dict` use: the
values stay at the bottom of the layers and import nothing that decides or
builds (``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import _validate
from ._mask import shown, shown_all
from ._model import Candidate, Status, _scrub_opt

if TYPE_CHECKING:
    from ._role import AssumeRole
    from .exceptions import CredpickError

StaticKeys = Literal["refuse-when-role", "forbid", "allow"]
STATIC_KEYS: tuple[StaticKeys, ...] = ("refuse-when-role", "forbid", "allow")


def _static_keys(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _validate.choice("Policy", attribute.name, value, STATIC_KEYS)


def _allow_imdsv1(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _validate.boolean("Policy", attribute.name, value)


def _hook(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # Checked here, not when the first detection calls it far from this line.
    _validate.function("Policy", attribute.name, value)


@attrs.frozen
class Policy:
    """What credpick may pick.

    Args:
        static_keys: ``"refuse-when-role"`` (default) never uses long-lived keys
            when a role-based source exists; ``"forbid"`` never uses them;
            ``"allow"`` never refuses them (roles are still preferred).
        allow_imdsv1: Accept instance credentials over IMDSv1. Off by default.
        hook: Called with the :class:`~credpick.Detection` before a session is
            built. Return ``None`` to accept it; raise
            :class:`~credpick.PolicyViolation`, or return ``False`` (any value
            but ``None``), to refuse it. Any other exception it raises is
            reported as a :class:`~credpick.PolicyViolation` from the hook.

    Raises:
        ConfigurationError: ``static_keys`` is not one of the three values (the
            message suggests the closest), ``allow_imdsv1`` is not a bool, or
            ``hook`` is not callable.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 Arguments are checked, with ``ConfigurationError``.
    """

    static_keys: StaticKeys = attrs.field(default="refuse-when-role", validator=_static_keys)
    allow_imdsv1: bool = attrs.field(default=False, validator=_allow_imdsv1)
    hook: Callable[[Detection], object] | None = attrs.field(
        default=None, repr=False, validator=_hook
    )


def check_policy(where: str, value: object) -> None:
    """``policy=`` of a public function: a :class:`Policy` or ``None``.

    Raises:
        ConfigurationError: Anything else, with what was probably meant
            (``policy="forbid"``: ``Policy(static_keys='forbid')``).
    """
    match = None
    # policy="forbid" names a static_keys value exactly; "forbd" nearly does.
    meant = value if value in STATIC_KEYS else _validate.close_match(value, STATIC_KEYS)
    if isinstance(value, str) and meant:
        match = f"policy=credpick.Policy(static_keys={meant!r})"
    elif isinstance(value, dict):
        match = "policy=credpick.Policy(...)"
    _validate.instance(
        where, "policy", value, Policy, "a credpick.Policy or None", optional=True, match=match
    )


@attrs.frozen
class Detection:
    """What credpick found, what it picked, and why. No session is built.

    Attributes:
        candidates: Every source found, best first, whatever its status.
        chosen: The candidate a session would be built from, or ``None``.
        error: The error :func:`credpick.session` would raise, or ``None``.
        looked: Every place credpick looked, found or not.
        policy: The policy applied.
        region: The region a session would use, if known. ``None`` with
            :attr:`region_source` set means the instance metadata service
            will be asked when a client first needs it.
        region_source: Where the region comes from: ``"region_name="``,
            ``"AWS_REGION"``, ``"AWS_DEFAULT_REGION"``, ``"profile 'NAME' (PATH)"``
            or ``"instance metadata (placement/region)"``; ``None`` if nowhere.
        chain: The roles a session assumes in turn from the chosen source's
            credentials (``assume_role=``), first to last, with their session
            names filled in; empty when none was asked for.

    .. versionadded:: 0.1.0
    """

    candidates: tuple[Candidate, ...]
    chosen: Candidate | None
    error: CredpickError | None
    looked: tuple[str, ...]
    policy: Policy
    region: str | None = attrs.field(default=None, converter=_scrub_opt)
    region_source: str | None = attrs.field(default=None, converter=_scrub_opt)
    chain: tuple[AssumeRole, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether a session can be built from this detection."""
        return self.error is None and self.chosen is not None

    def raise_for_error(self) -> None:
        """Raise :attr:`error` if there is one.

        Raises:
            CredpickError: The detection's error.
        """
        if self.error is not None:
            raise self.error

    def explain(self) -> str:
        """A human report: one line per candidate with its evidence and verdict."""
        return explain(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the detection. Holds no secret."""
        return to_dict(self)


_MARK = {
    Status.CHOSEN: "*",
    Status.AVAILABLE: "+",
    Status.IGNORED: "-",
    Status.REFUSED: "x",
    Status.FAILED: "!",
    Status.UNAVAILABLE: ".",
}
_HEADERS = ("STATUS", "KIND", "RANK", "ORIGIN", "REASON")


def _region_line(detection: Detection) -> str:
    if detection.region_source is None:
        return "region: none (set AWS_REGION, or pass region_name=)"
    if detection.region is None:
        return f"region: from {detection.region_source}, fetched when a client first needs it"
    return f"region: {detection.region} (from {detection.region_source})"


def explain(detection: Detection) -> str:
    """One screen: the verdict, the region, then a table with one row per
    candidate (the chosen one marked ``*``), each with its reason."""
    lines = []
    chosen = detection.chosen
    if detection.error is not None:
        head = f"credpick: no session ({type(detection.error).__name__}): {detection.error.reason}"
    elif chosen is not None:
        head = f"credpick picked {chosen.kind.value} from {chosen.origin}: {chosen.reason}"
    else:
        head = "credpick: nothing picked"
    lines.append(head)
    if detection.error is not None and detection.error.fix:
        lines.append(f"  fix: {detection.error.fix}")
    lines.extend(f"  then assumes {link.describe()}" for link in detection.chain)
    lines.append(_region_line(detection))
    if not detection.candidates:
        lines.append("  no credential source found")
        return shown("\n".join([*lines, *_looked_lines(detection)]))
    rows = [
        (c.status.value, c.kind.value, str(c.rank), c.origin, c.reason)
        for c in detection.candidates
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS[:-1])]
    indent = " " * (3 + widths[0] + 2)  # under KIND: long evidence keeps its width

    def row(mark: str, cells: tuple[str, ...]) -> str:
        fixed = "  ".join(v.ljust(w) for v, w in zip(cells[:-1], widths, strict=True))
        return f"{mark}  {fixed}  {cells[-1]}".rstrip()

    lines.append("")
    lines.append(row(" ", _HEADERS))
    for c, cells in zip(detection.candidates, rows, strict=True):
        lines.append(row(_MARK[c.status], cells))
        if c.evidence:
            lines.append(f"{indent}evidence: {'; '.join(c.evidence)}")
        lines.append(f"{indent}chain: {c.provenance.describe()}")
        if c.fix and c.status is not Status.CHOSEN:
            lines.append(f"{indent}fix: {c.fix}")
    return shown("\n".join([*lines, *_looked_lines(detection)]))


def _looked_lines(detection: Detection) -> list[str]:
    """Every place looked, when nothing was picked: what was tried is what helps then."""
    if detection.chosen is not None or not detection.looked:
        return []
    return ["", "looked at:", *(f"  - {place}" for place in detection.looked)]


def to_dict(detection: Detection) -> dict[str, Any]:
    """JSON-safe dict; the shape is part of the public API."""
    error = detection.error
    shape = {
        "chosen": detection.chosen.kind.value if detection.chosen else None,
        "ok": detection.ok,
        "error": None
        if error is None
        else {
            "type": type(error).__name__,
            "kind": error.kind,
            "reason": error.reason,
            "fix": error.fix,
        },
        "policy": {
            "static_keys": detection.policy.static_keys,
            "allow_imdsv1": detection.policy.allow_imdsv1,
            "hook": detection.policy.hook is not None,
        },
        "region": detection.region,
        "region_source": detection.region_source,
        "assume_role": [link.to_dict() for link in detection.chain],
        "candidates": [c.to_dict() for c in detection.candidates],
        "looked": list(detection.looked),
    }
    result: dict[str, Any] = shown_all(shape)
    return result
