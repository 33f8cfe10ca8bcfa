"""Loopback emulators of the AWS endpoints credpick talks to, for tests.

Every server binds 127.0.0.1 on an ephemeral port and hands out credentials
that are obviously fake (``ASIA...`` keys, ``FAKE-SECRET-credpick-`` secrets,
``FAKE-TOKEN-credpick-`` session tokens).
"""

from credpick.testing._container import ContainerCredentialsEndpoint, ContainerMode
from credpick.testing._fakes import FakeCredentials, RecordedRequest
from credpick.testing._github import GitHubMode, GitHubOidcEndpoint
from credpick.testing._imds import ImdsEmulator, ImdsMode
from credpick.testing._net import refusing_endpoint, silent_endpoint, unroutable_endpoint
from credpick.testing._server import LoopbackServer
from credpick.testing._simulation import RuntimeHandle, Simulation
from credpick.testing._sso import SsoPortal
from credpick.testing._sts import StsEmulator, StsErrorCode, StsRejecting

__all__ = [
    "ContainerCredentialsEndpoint",
    "ContainerMode",
    "FakeCredentials",
    "GitHubMode",
    "GitHubOidcEndpoint",
    "ImdsEmulator",
    "ImdsMode",
    "LoopbackServer",
    "RecordedRequest",
    "RuntimeHandle",
    "Simulation",
    "SsoPortal",
    "StsEmulator",
    "StsErrorCode",
    "StsRejecting",
    "refusing_endpoint",
    "silent_endpoint",
    "unroutable_endpoint",
]
