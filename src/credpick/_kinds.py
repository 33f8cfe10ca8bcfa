"""The source kinds and the rank table: the one place that lists them.

Kept free of attrs and of every other credpick module, so the command line's
``--help`` (which offers the kinds as choices) stays cheap. Adding a source
means a line here and its module in :mod:`credpick.sources`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal


class SourceKind(str, enum.Enum):
    """Where credentials can come from.

    .. versionadded:: 0.1.0
    """

    LAMBDA = "lambda"
    ECS = "ecs"
    EKS_POD_IDENTITY = "eks-pod-identity"
    WEB_IDENTITY = "web-identity"
    GITHUB_OIDC = "github-oidc"
    EC2_INSTANCE_PROFILE = "ec2-instance-profile"
    SSO = "sso"
    LOGIN = "login"
    ASSUME_ROLE = "assume-role"
    CREDENTIAL_PROCESS = "credential-process"
    CONTAINER = "container"
    ENV_SESSION = "env-session"
    STATIC = "static"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> SourceKind:
        # SourceKind("ec2"): did you mean 'ec2-instance-profile'? (also a ValueError).
        # Imported here: this module stays free of imports for a cheap --help.
        from . import _validate

        _validate.unknown("SourceKind", "", value, [k.value for k in cls])


# SourceKind's values, for signatures that take a kind as a string: a type
# checker then catches a typo ("ec3") that SourceKind(str) only raises at run
# time. tests/test_api.py keeps the two in step.
SourceKindName = Literal[
    "lambda",
    "ecs",
    "eks-pod-identity",
    "web-identity",
    "github-oidc",
    "ec2-instance-profile",
    "sso",
    "login",
    "assume-role",
    "credential-process",
    "container",
    "env-session",
    "static",
]

# The one place that says how safe each kind is: lower is better. Ranks 1-5
# are role-based, and their presence makes long-lived keys refusable.
RANK: Mapping[SourceKind, int] = MappingProxyType(
    {
        SourceKind.LAMBDA: 1,
        SourceKind.ECS: 1,
        SourceKind.EKS_POD_IDENTITY: 1,
        SourceKind.WEB_IDENTITY: 1,
        SourceKind.GITHUB_OIDC: 2,
        SourceKind.EC2_INSTANCE_PROFILE: 3,
        SourceKind.SSO: 4,
        SourceKind.LOGIN: 4,
        SourceKind.ASSUME_ROLE: 5,
        SourceKind.CREDENTIAL_PROCESS: 5,
        SourceKind.CONTAINER: 5,
        SourceKind.ENV_SESSION: 6,
        SourceKind.STATIC: 7,
    }
)
ROLE_RANK_MAX = 5
