"""Loopback emulators of the AWS endpoints credpick talks to, for tests.

Every server binds 127.0.0.1 on an ephemeral port and hands out credentials
that are obviously fake (``ASIA...`` keys, ``FAKE-SECRET-credpick-`` secrets,
``FAKE-TOKEN-credpick-`` session tokens).

Names are imported on first use (PEP 562): the pytest plugin, which pytest
loads in every run, costs next to nothing until a test uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _lazy

if TYPE_CHECKING:
    from ._container import ContainerCredentialsEndpoint, ContainerMode
    from ._enforce import StaticKeyWatch
    from ._fakes import FakeCredentials, RecordedRequest
    from ._github import GitHubMode, GitHubOidcEndpoint
    from ._guard import GuardPolicy, NonLoopbackConnection, RealAwsConnection, SocketGuard
    from ._imds import ImdsEmulator, ImdsMode
    from ._net import refusing_endpoint, silent_endpoint, unroutable_endpoint
    from ._server import LoopbackServer
    from ._signin import SigninEndpoint, SigninMode
    from ._simulation import EnvPatcher, RuntimeHandle, Simulation
    from ._sso import SsoPortal
    from ._sso_oidc import SsoOidcEndpoint, SsoOidcMode
    from ._sts import StsEmulator, StsErrorCode, StsRejecting

_LAZY = {
    "ContainerCredentialsEndpoint": "._container",
    "ContainerMode": "._container",
    "EnvPatcher": "._simulation",
    "FakeCredentials": "._fakes",
    "GitHubMode": "._github",
    "GitHubOidcEndpoint": "._github",
    "GuardPolicy": "._guard",
    "ImdsEmulator": "._imds",
    "ImdsMode": "._imds",
    "LoopbackServer": "._server",
    "NonLoopbackConnection": "._guard",
    "RealAwsConnection": "._guard",
    "RecordedRequest": "._fakes",
    "RuntimeHandle": "._simulation",
    "SigninEndpoint": "._signin",
    "SigninMode": "._signin",
    "Simulation": "._simulation",
    "SocketGuard": "._guard",
    "SsoOidcEndpoint": "._sso_oidc",
    "SsoOidcMode": "._sso_oidc",
    "SsoPortal": "._sso",
    "StaticKeyWatch": "._enforce",
    "StsEmulator": "._sts",
    "StsErrorCode": "._sts",
    "StsRejecting": "._sts",
    "refusing_endpoint": "._net",
    "silent_endpoint": "._net",
    "unroutable_endpoint": "._net",
}

__all__ = [
    "ContainerCredentialsEndpoint",
    "ContainerMode",
    "EnvPatcher",
    "FakeCredentials",
    "GitHubMode",
    "GitHubOidcEndpoint",
    "GuardPolicy",
    "ImdsEmulator",
    "ImdsMode",
    "LoopbackServer",
    "NonLoopbackConnection",
    "RealAwsConnection",
    "RecordedRequest",
    "RuntimeHandle",
    "SigninEndpoint",
    "SigninMode",
    "Simulation",
    "SocketGuard",
    "SsoOidcEndpoint",
    "SsoOidcMode",
    "SsoPortal",
    "StaticKeyWatch",
    "StsEmulator",
    "StsErrorCode",
    "StsRejecting",
    "refusing_endpoint",
    "silent_endpoint",
    "unroutable_endpoint",
]


# Hidden from type checkers: a module-level __getattr__ would type every name,
# typos included, as Any. They see the real imports under TYPE_CHECKING instead.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        return _lazy.attribute(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(__all__)
