"""``credpick process``: credpick's pick as ``credential_process`` JSON on stdout.

No cache: each run resolves afresh (docs/bridge.md says what that costs and why).
A refusal raises before anything is written, so stdout holds credentials or nothing.
"""

from __future__ import annotations

import json
import os
from typing import TextIO

from .._context import Context
from ..exceptions import PolicyViolation
from ._pick import RESOLVING, Options, current, pick


def _resolving() -> list[str]:
    try:
        names = json.loads(os.environ.get(RESOLVING) or "[]")
    except ValueError:
        return []
    return [str(n) for n in names] if isinstance(names, list) else []


def _guard_recursion(profile: str) -> list[str]:
    """Refuse when a ``credpick process`` above this one resolves the same profile;
    else the list to hand the programs this one runs."""
    above = _resolving()
    if profile in above:
        raise PolicyViolation(
            f"credpick process for profile '{profile}' was started by a credpick "
            "process resolving the same profile: its credential_process runs credpick "
            "process again, and would forever",
            fix=f"give 'credpick process' another profile (--profile) than '{profile}'",
        )
    return [*above, profile]


def run(options: Options, out: TextIO) -> None:
    """Resolve and write the JSON to ``out``, once, with a newline.

    Raises:
        CredpickError: The policy refused or no credentials could be loaded;
            nothing was written.
    """
    profile = Context.from_process(profile_name=options.profile).active_profile()[0]
    chain = _guard_recursion(profile)
    saved = os.environ.get(RESOLVING)
    # The credential_process programs this resolution may run inherit the marker.
    os.environ[RESOLVING] = json.dumps(chain)
    try:
        credentials = pick(options).get_credentials()
        text = current(credentials).process_json()
    finally:
        if saved is None:
            os.environ.pop(RESOLVING, None)
        else:
            os.environ[RESOLVING] = saved
    out.write(text + "\n")
    out.flush()
