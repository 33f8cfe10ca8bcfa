"""The tour, in user code: put the process in each emulated runtime and ask
credpick what it would use there, and why.

    python examples/tour.py
"""

from __future__ import annotations

import credpick
from credpick import SourceKind
from credpick.testing import Simulation, StsEmulator

# SourceKind members, not strings: a type checker then catches a misspelt runtime.
RUNTIMES = [
    ("EKS IRSA", [SourceKind.WEB_IDENTITY]),
    ("EC2 with a stray key", [SourceKind.EC2_INSTANCE_PROFILE, SourceKind.STATIC]),
    ("Laptop with SSO", [SourceKind.SSO]),
    ("Laptop with only a key", [SourceKind.STATIC]),
]


def main() -> None:
    with StsEmulator() as sts:  # shared: moto is slow to start
        for title, runtimes in RUNTIMES:
            with Simulation(sts=sts) as sim:
                for runtime in runtimes:
                    sim.use(runtime)
                detection = credpick.detect()
                credentials = credpick.session().get_credentials()
                print(f"== {title}: {credentials.method if credentials else None}")
                print(detection.explain())
                print()


if __name__ == "__main__":
    main()
