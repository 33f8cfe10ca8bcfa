"""Every error path of the fault matrix ends in a SourceFailed a person can act on.

The matrix (``test_faults.CASES``) is walked with its own rig: each case that
ends in a ``SourceFailed`` runs again here, and the error it raises must carry a
fix, name the source, and name the endpoint, file or variable involved (shown
masked, as ``display_url`` shows a URL).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

import credpick
from credpick.testing._simulation import Simulation

from . import test_faults
from .test_faults import BOUNDED, CASES, FAILS, RECOVERS, Case, Rig

#: The variable each family's endpoint is set by, in the rig.
_VARIABLE = {
    "imds": "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "container": "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "sts": "AWS_ENDPOINT_URL_STS",
    "github": "ACTIONS_ID_TOKEN_REQUEST_URL",
    "sso": "AWS_ENDPOINT_URL_SSO",
    "signin": "AWS_ENDPOINT_URL_SIGNIN",
    "assume": "AWS_ENDPOINT_URL_STS",
}
_TOKEN_VARIABLE = {
    "eks-pod-identity": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "web-identity": "AWS_WEB_IDENTITY_TOKEN_FILE",
}


def _places(rig: Rig, case: Case) -> list[str]:
    """What the error may name for the place that failed: any one will do."""
    if case.fault == "AWS_ROLE_ARN without a token file":
        return ["AWS_WEB_IDENTITY_TOKEN_FILE"]
    if case.fault.startswith("token file"):
        return [_TOKEN_VARIABLE[case.source]]
    if case.fault.startswith("login cache"):
        return ["login cache", "aws login"]
    if case.fault.startswith("SSO token"):
        return ["sso cache", "aws sso login"]
    endpoint = rig.sts if case.fault.startswith(("STS ", "STS:")) else rig.endpoint
    assert endpoint is not None
    return [urlsplit(endpoint.url).netloc, _VARIABLE[rig.family]]


def _failing(c: Case) -> bool:
    return c.outcome in (FAILS, BOUNDED, RECOVERS) and not c.xfail


@pytest.mark.usefixtures("no_retry_sleep")
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES if _failing(c)])
def test_every_failure_names_its_source_place_and_fix(
    case: Case, sim: Simulation, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[list[str], credpick.SourceFailed]] = []
    expect = test_faults._expect_failure

    def recording(rig: Rig, case: Case, call: Any = None) -> credpick.SourceFailed:
        failure = expect(rig, case, call)
        seen.append((_places(rig, case), failure))  # while the rig's endpoints run
        return failure

    monkeypatch.setattr(test_faults, "_expect_failure", recording)
    test_faults.test_fault(case, sim, monkeypatch, caplog)

    assert seen, "the case raised no SourceFailed"
    for places, failure in seen:
        text = "\n".join([str(failure), *failure.evidence])
        kind = case.source.split(" (")[0]  # "assume-role (EcsContainer)": the row's label
        assert failure.kind == kind
        assert failure.fix, f"no fix: {failure}"
        assert str(failure).startswith(f"{kind}: "), str(failure)
        assert any(p in text for p in places), f"names none of {places}: {text}"
