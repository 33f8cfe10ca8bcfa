"""The tour, in user code: put the process in each emulated runtime and ask
credpick what it would use there, and why.

    python examples/tour.py
"""

from __future__ import annotations

import credpick
from credpick.testing import Simulation, StsEmulator

RUNTIMES = [
    ("EKS IRSA", ["web-identity"]),
    ("EC2 with a stray key", ["ec2-instance-profile", "static"]),
    ("Laptop with SSO", ["sso"]),
    ("Laptop with only a key", ["static"]),
]


def main() -> None:
    with StsEmulator() as sts:  # shared: moto is slow to start
        for title, runtimes in RUNTIMES:
            with Simulation(sts=sts) as sim:
                for runtime in runtimes:
                    sim.use(runtime)
                detection = credpick.detect()
                session = credpick.session()
                print(f"== {title}: {session.get_credentials().method}")
                print(detection.explain())
                print()


if __name__ == "__main__":
    main()
