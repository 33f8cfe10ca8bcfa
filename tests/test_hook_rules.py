"""The policy hook's rules, word for word: what it is given, what refuses, and what the
refusal says (the hook's value shown short and scrubbed, or the type of what it raised).

Written against the mutants of ``credpick._detect`` (``_hook_verdict``, ``_shown``) that
survived the suite (docs/reliability.md, "Mutation testing"), through ``credpick.detect``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Policy, SourceKind, Status

from .helpers import ROLE_ARN, STATIC_KEY_ID, write
from .security._leaks import assert_clean_error

RAISED_FIX = (
    "fix the policy hook: return None to accept, raise PolicyViolation or return False to refuse"
)
RETURNED_FIX = "return None from the hook to accept the pick"


class HookBroke(Exception):
    """An exception of this module, so its module and qualified name can be checked."""


@pytest.fixture
def irsa(make_context: Any, tmp_path: Path) -> Any:
    token = write(tmp_path / "irsa-token", "eyJhbGciOi.fake.token")
    return make_context({"AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE_ARN})


def judged(context: Any, hook: Any) -> credpick.Detection:
    return credpick.detect(context=context, policy=Policy(hook=hook))


def refusal(detection: credpick.Detection) -> credpick.PolicyViolation:
    assert isinstance(detection.error, credpick.PolicyViolation)
    assert detection.chosen is not None and detection.chosen.status is Status.REFUSED
    return detection.error


def test_the_hook_is_given_the_detection_and_none_accepts(irsa: Any) -> None:
    seen: list[object] = []
    d = judged(irsa, seen.append)
    assert d.ok and d.error is None
    assert len(seen) == 1 and isinstance(seen[0], credpick.Detection)
    assert seen[0].chosen is not None and seen[0].chosen.kind is SourceKind.WEB_IDENTITY


def test_a_hook_that_raises_refuses_naming_the_exception_type_only(irsa: Any) -> None:
    def hook(detection: credpick.Detection) -> None:
        raise HookBroke("MARKER-SECRET-static-wJalrXUtnFEMI")

    error = refusal(judged(irsa, hook))
    assert error.reason == f"the policy hook raised {__name__}.HookBroke"
    assert error.kind == "web-identity"
    assert error.fix == RAISED_FIX
    assert error.__context__ is None and error.__cause__ is None
    assert_clean_error(error)


def test_a_hook_that_returns_false_refuses_saying_so(irsa: Any) -> None:
    error = refusal(judged(irsa, lambda d: False))
    assert error.reason == "the policy hook returned False, which refuses the pick"
    assert error.kind == "web-identity"
    assert error.fix == RETURNED_FIX


def test_a_hook_that_returns_an_object_is_shown_by_its_type(irsa: Any) -> None:
    error = refusal(judged(irsa, lambda d: ["MARKER-SECRET-static-wJalrXUtnFEMI"]))
    assert error.reason == "the policy hook returned list, which refuses the pick"


def test_a_returned_string_of_sixty_characters_is_shown_whole(irsa: Any) -> None:
    value = "x" * 58  # its repr, quotes included, is 60 characters
    error = refusal(judged(irsa, lambda d: value))
    assert error.reason == f"the policy hook returned '{value}', which refuses the pick"


def test_a_longer_returned_string_is_cut_to_sixty_characters(irsa: Any) -> None:
    value = "x" * 59  # its repr is 61 characters
    error = refusal(judged(irsa, lambda d: value))
    shown = ("'" + value)[:57] + "..."
    assert len(shown) == 60
    assert error.reason == f"the policy hook returned {shown}, which refuses the pick"


def test_a_returned_key_id_is_masked(irsa: Any) -> None:
    error = refusal(judged(irsa, lambda d: STATIC_KEY_ID))
    assert error.reason == "the policy hook returned 'AKIA...MPLE', which refuses the pick"
