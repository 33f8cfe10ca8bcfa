"""What the metadata probe accepts as a token and a role name, through detect().

The token goes back out as a header and the role name into a URL, so anything
not shaped like one is a broken instance, never sent on and never a reason to
use a stray key. Removing either shape check (an earlier mutation experiment's
survivor) fails the "space", "too-long" and role cases; http.client itself
refuses CR/LF and non-ASCII header values, so those two pin the outcome only.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest

import credpick
from credpick.testing import ImdsEmulator, Simulation
from credpick.testing._faults import Fault, FaultyEndpoint
from credpick.testing._server import Response

from ..helpers import STATIC_ENV, assert_no_secret

ROLES = "/latest/meta-data/iam/security-credentials/"


@attrs.frozen
class Metadata:
    endpoint: FaultyEndpoint
    emulator: ImdsEmulator

    def after_the_token(self) -> list[str]:
        """Paths the service was asked for after the token request."""
        return [r.path for r in self.emulator.requests if r.path != "/latest/api/token"]


@pytest.fixture
def metadata(credpick_runtime: Simulation, monkeypatch: pytest.MonkeyPatch) -> Iterator[Metadata]:
    """The instance's metadata service behind a fault injector, and a stray key."""
    emulator = credpick_runtime.use("ec2-instance-profile").emulator
    assert isinstance(emulator, ImdsEmulator)
    for k, v in STATIC_ENV.items():
        monkeypatch.setenv(k, v)
    with FaultyEndpoint(emulator) as endpoint:
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.url + "/")
        emulator.clear_requests()
        yield Metadata(endpoint, emulator)


def assert_fails_closed(d: credpick.Detection, leaked: str) -> None:
    assert isinstance(d.error, credpick.SourceFailed)
    assert d.error.kind == "ec2-instance-profile"
    assert d.chosen is not None and d.chosen.kind is credpick.SourceKind.EC2_INSTANCE_PROFILE
    assert d.candidates[-1].status is credpick.Status.IGNORED  # the stray key stays unused
    assert_no_secret(str(d.error), d.explain())
    assert leaked not in str(d.error) + d.explain()


def test_a_plain_token_and_role_pass(metadata: Metadata) -> None:
    d = credpick.detect()
    assert d.ok and d.chosen is not None
    assert d.chosen.kind is credpick.SourceKind.EC2_INSTANCE_PROFILE
    assert metadata.after_the_token() == [ROLES]


@pytest.mark.parametrize(
    "token",
    [b"tok\r\nX-Injected: yes", "t\u00f6ken-\u2603".encode(), b"two words", b"A" * 5000],
    ids=["crlf", "not-ascii", "space", "too-long"],
)
def test_a_reply_that_is_not_a_token_is_never_sent_back(metadata: Metadata, token: bytes) -> None:
    metadata.endpoint.inject(Fault(Response(200, token), path="/latest/api/token"))
    assert_fails_closed(credpick.detect(), "X-Injected")
    assert metadata.after_the_token() == []


@pytest.mark.parametrize(
    "role",
    [b"../../../latest/user-data", b"role?x=1", b"r" * 65],
    ids=["path", "query", "too-long"],
)
def test_a_reply_that_is_not_a_role_name_fails_closed(metadata: Metadata, role: bytes) -> None:
    metadata.endpoint.inject(Fault(Response(200, role), path=ROLES))
    assert_fails_closed(credpick.detect(), "user-data")
    assert metadata.after_the_token() == []  # the name never goes into a URL
