"""What every source module shares: the build inputs and small file checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from botocore.config import Config

from .. import _safe_io
from .._context import Context
from .._model import Candidate, SourceKind

if TYPE_CHECKING:
    from .._detection import Policy
    from ._explicit import ExplicitKeys


class CredentialProvider(Protocol):
    """What builders return: botocore's provider interface."""

    def load(self) -> Any: ...


class Source(Protocol):
    """The two faces of a source module."""

    KIND: SourceKind
    LOOKS_AT: str

    def detect(self, ctx: Context) -> list[Candidate]: ...

    def build(self, candidate: Candidate, inputs: BuildInputs) -> CredentialProvider: ...


class NetworkSource(Source, Protocol):
    """A source whose detection asks the network (``NETWORK = True``).

    Detection runs it after every other source, and only when :meth:`skip`
    returns ``None``: whether a request is worth making depends on what the
    cheap sources found."""

    NETWORK: bool

    def skip(self, ctx: Context, found: Sequence[Candidate]) -> str | None: ...

    def looked(self, ctx: Context) -> str: ...


class RegionSource(Source, Protocol):
    """A source that knows the region it runs in (``REGION_SOURCE`` names where
    from): the last resort for a session's region when it is chosen."""

    REGION_SOURCE: str

    def cached_region(self, ctx: Context) -> str | None: ...

    def region(self, ctx: Context) -> str | None: ...


@attrs.frozen
class BuildInputs:
    """What a builder needs besides the candidate."""

    context: Context
    policy: Policy
    botocore_session: Any
    region: str | None
    # Keys passed in code: the secret lives here, for the build, never in a Candidate.
    explicit_keys: ExplicitKeys | None = attrs.field(default=None, repr=False, eq=False)

    def client_creator(self) -> Callable[..., Any]:
        """Create clients like ``Session.create_client``, honouring the
        context's ``AWS_ENDPOINT_URL_<SERVICE>`` even when it differs from
        ``os.environ`` (botocore itself only reads the process environment).

        Each request goes through :class:`credpick._http.BoundedSession`
        (botocore's own session: TLS, CA bundle and proxies unchanged): one
        attempt ends by ``Timeouts.http``, reply included, even against an
        endpoint that trickles bytes; connect within ``Timeouts.connect``; a
        reply over 64 KiB is refused; ``Timeouts.attempts`` tries in
        botocore's "standard" retry mode. A timeout or retry setting the
        caller's config sets explicitly wins."""
        # Here, not at import: a source that builds no client (Lambda, the
        # environment's keys) does not pay for the bounded HTTP classes.
        from .._http import API_REPLY, bound_client

        session = self.botocore_session
        ctx = self.context
        t = ctx.timeouts
        bounded = Config(
            connect_timeout=t.connect,
            read_timeout=t.http,
            retries={"mode": "standard", "total_max_attempts": t.attempts},
        )

        def create(service_name: str, **kwargs: Any) -> Any:
            endpoint = ctx.endpoint_url(service_name)
            if endpoint and not kwargs.get("endpoint_url"):
                kwargs["endpoint_url"] = endpoint
            kwargs.setdefault("region_name", self.region)
            given = kwargs.get("config")
            kwargs["config"] = bounded.merge(given) if given is not None else bounded
            client = session.create_client(service_name, **kwargs)
            return bound_client(client, total=t.http, cap=API_REPLY)

        return create


def token_file_problem(
    path: str, variable: str, *, limit: int = _safe_io.WEB_IDENTITY_TOKEN
) -> str | None:
    """Why a token file cannot be used, or ``None`` when it can.

    Reads the file (bounded, non-blocking), which is cheap, so a missing or
    malformed token is caught at detection rather than on first use.
    """
    problem = _safe_io.read_token(path, limit=limit)[1]
    return f"{variable} points at {path}, which {problem}" if problem else None


def register_features(*feature_ids: str) -> None:
    """Mark which source delivered credentials, as botocore's own providers do.

    botocore puts these ids (``CREDENTIALS_HTTP``, ``CREDENTIALS_IMDS``...) in the
    User-Agent's ``m/`` field of the client being built; a source credpick
    loads through its own code registers them itself, at the same step.
    """
    try:  # botocore 1.36+; older versions send no feature ids
        from botocore.useragent import register_feature_ids
    except ImportError:
        return
    register_feature_ids(feature_ids)
