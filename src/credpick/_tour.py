"""The tour: every emulated runtime, what credpick picks there, and why."""

from __future__ import annotations

import time
from collections.abc import Sequence

import attrs

from ._detect import detect
from ._policy import Policy
from ._session import session
from .exceptions import ConfigurationError, CredpickError


@attrs.frozen
class Scenario:
    title: str
    runtimes: tuple[str, ...]
    policy: Policy = attrs.field(factory=Policy)
    options: dict[str, dict[str, object]] = attrs.field(factory=dict)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("AWS Lambda", ("lambda",)),
    Scenario("Amazon ECS task", ("ecs",)),
    Scenario("EKS Pod Identity", ("eks-pod-identity",)),
    Scenario("EKS IRSA (web identity)", ("web-identity",)),
    Scenario("GitHub Actions OIDC", ("github-oidc",)),
    Scenario("EC2 instance", ("ec2-instance-profile",)),
    Scenario("EC2 instance + stray AKIA key", ("ec2-instance-profile", "static")),
    Scenario(
        "EC2, IMDSv1 only",
        ("ec2-instance-profile",),
        options={"ec2-instance-profile": {"mode": "imdsv1-only"}},
    ),
    Scenario(
        "EC2 without a role + key",
        ("ec2-instance-profile", "static"),
        options={"ec2-instance-profile": {"mode": "no-role"}},
    ),
    Scenario("Laptop, SSO profile", ("sso",)),
    Scenario("Laptop, expired SSO + key", ("sso", "static"), options={"sso": {"expired": True}}),
    Scenario("Laptop, aws login + key", ("login", "static")),
    Scenario("Assume-role profile", ("assume-role",)),
    Scenario("credential_process profile", ("credential-process",)),
    Scenario("Sidecar credential endpoint", ("container",)),
    Scenario("CI step with exported keys", ("env-session",)),
    Scenario("Laptop, AKIA key only", ("static",)),
    Scenario("Laptop, AKIA key, forbid", ("static",), Policy(static_keys="forbid")),
    Scenario("Nothing at all", ()),
)


@attrs.frozen
class Row:
    title: str
    picked: str
    outcome: str
    why: str
    millis: float


def run_scenario(scenario: Scenario, sim_factory: object) -> Row:
    """Run one scenario inside a fresh simulation and summarise it."""
    with sim_factory() as sim:  # type: ignore[operator]
        for runtime in scenario.runtimes:
            sim.use(runtime, **scenario.options.get(runtime, {}))
        start = time.perf_counter()
        detection = detect(policy=scenario.policy)
        try:
            s = session(policy=scenario.policy)
            method = s.get_credentials().method
            outcome = f"session ({method})"
        except CredpickError as exc:
            outcome = type(exc).__name__
        millis = (time.perf_counter() - start) * 1000
    chosen = detection.chosen
    picked = chosen.kind.value if chosen else "-"
    if detection.error is not None:
        why = detection.error.reason
    else:
        assert chosen is not None
        others = [c for c in detection.candidates if c is not chosen]
        why = chosen.reason + "".join(f"; {c.kind.value} {c.status.value}" for c in others)
    return Row(scenario.title, picked, outcome, why, millis)


def render(rows: Sequence[Row]) -> str:
    """A fixed-width table that fits one screen."""
    headers = ("runtime", "picked", "outcome", "ms", "why")
    cells = [(r.title, r.picked, r.outcome, f"{r.millis:.0f}", r.why) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers[:-1])]

    def line(values: Sequence[str]) -> str:
        fixed = "  ".join(v.ljust(w) for v, w in zip(values[:-1], widths, strict=True))
        return f"{fixed}  {values[-1]}"

    out = [line(headers), line(["-" * w for w in widths] + ["-" * 3])]
    out += [line(c) for c in cells]
    return "\n".join(out)


def tour() -> str:
    """Run every scenario on loopback emulators and return the table."""
    try:  # moto is imported late by the STS emulator: ask for it first
        import moto.server  # noqa: F401

        from .testing import Simulation, StsEmulator
        from .testing._guard import SocketGuard
    except ImportError as exc:  # the emulators are an extra
        missing = (exc.name or "moto").split(".")[0]
        raise ConfigurationError(
            f"the tour needs the testing extra, and {missing} is not installed",
            fix="pip install 'credpick[testing]'",
        ) from exc
    # The tour is a demo: it must never reach beyond loopback, even by mistake.
    # (Its log records are the CLI's business: quiet by default, shown with -v.)
    with SocketGuard(), StsEmulator() as sts:
        rows = [run_scenario(s, lambda: Simulation(sts=sts)) for s in SCENARIOS]
    return render(rows)
