"""The container credential endpoint, shared by the ecs, eks-pod-identity and
container sources: which runtime set it, whether it may be trusted with the
authorization token, and a bounded fetch of the credentials.

Trust decisions use :mod:`credpick._url` (the transport's own parser), so a URL
that reads as loopback to one parser and as another host to urllib3 is
refused. The token is read with :mod:`credpick._safe_io` and checked for shape
at detection and before every fetch (botocore re-reads the file on each
refresh with an unbounded ``open().read()``; this module does the reading).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from botocore.credentials import ContainerProvider
from botocore.exceptions import MetadataRetrievalError
from botocore.utils import ContainerMetadataFetcher

from .. import _envvars as ev
from .. import _http, _url
from .._context import Context, Timeouts
from .._mask import display_url
from .._model import Candidate, SourceKind, Status
from .._safe_io import HEADER_TOKEN, FileProblem, is_header_value, read_bytes
from ..exceptions import SourceFailed
from ._base import BuildInputs, CredentialProvider, register_features

ECS_HOST = _url.ECS_AGENT
POD_IDENTITY_HOSTS = frozenset({"169.254.170.23", "fd00:ec2::23"})
_NO_CREDENTIALS = "the credential endpoint gave no usable credentials"


@attrs.frozen
class Endpoint:
    kind: SourceKind
    uri: str
    evidence: tuple[str, ...]
    problem: str | None
    fix: str | None


def _uri_problem(uri: str) -> str | None:
    try:
        _url.container_url(uri)
    except _url.UrlRefused as exc:
        return f"{ev.CONTAINER_FULL_URI} {exc.reason}"
    return None


def _relative_problem(path: str) -> str | None:
    try:
        _url.relative_container_path(path)
    except _url.UrlRefused as exc:
        return f"{ev.CONTAINER_RELATIVE_URI} {exc.reason}"
    return None


def _shape_problem(data: bytes) -> str | None:
    if not data.strip():
        return "is empty"
    if len(data) > HEADER_TOKEN:
        return f"is over {HEADER_TOKEN} bytes, too long for a header"
    if not is_header_value(data):
        return (
            "cannot be read as a token: it holds bytes other than printable ASCII "
            "(a NUL byte, CR or LF, or non-ASCII text)"
        )
    return None


def authorization(ctx: Context) -> tuple[str | None, str | None]:
    """The container authorization token and why it cannot be used.

    ``(token, None)``; ``(None, None)`` when none is configured; ``(None,
    problem)`` when the token file cannot be read or the token is not a
    legal, bounded header value.
    """
    token_file = ctx.get(ev.CONTAINER_AUTH_TOKEN_FILE)
    if token_file:
        path = ctx.expand(token_file)
        try:
            data = read_bytes(path, limit=HEADER_TOKEN)
        except FileProblem as exc:
            what = exc.reason.replace("cannot be opened", "cannot be read")
            return None, f"{ev.CONTAINER_AUTH_TOKEN_FILE} points at {path}, which {what}"
        problem = _shape_problem(data)
        if problem:
            return None, f"{ev.CONTAINER_AUTH_TOKEN_FILE} points at {path}, which {problem}"
        return data.decode("ascii"), None
    token = ctx.get(ev.CONTAINER_AUTH_TOKEN)
    if token is None:
        return None, None
    problem = _shape_problem(token.encode("utf-8", "replace"))
    if problem:
        return None, f"{ev.CONTAINER_AUTH_TOKEN} {problem}"
    return token, None


def agent(ctx: Context) -> str:
    """Where the relative URI goes: the ECS agent, or a test's loopback stand-in."""
    return ctx.ecs_agent_for_tests or ECS_HOST


def classify(ctx: Context) -> Endpoint | None:
    """Which runtime set the container endpoint, if any, and what is wrong with it."""
    relative = ctx.get(ev.CONTAINER_RELATIVE_URI)
    full = ctx.get(ev.CONTAINER_FULL_URI)
    if not relative and not full:
        return None
    ecs_signals = [v for v in (ev.ECS_METADATA_URI_V4, ev.ECS_METADATA_URI) if ctx.get(v)]
    exec_env = ctx.get(ev.EXECUTION_ENV) or ""
    if exec_env.startswith("AWS_ECS_"):
        ecs_signals.append(f"{ev.EXECUTION_ENV}={exec_env}")
    evidence = [f"{v} is set" if "=" not in v else v for v in ecs_signals]
    if relative:
        # botocore prefers the relative URI, always on the ECS agent's address.
        path_problem = _relative_problem(relative)
        problem = path_problem or authorization(ctx)[1]
        agent_uri = f"http://{agent(ctx)}{relative}"
        # A path that failed its check is not echoed: it may be hostile.
        shown = f"={display_url(agent_uri)}" if not path_problem else " is set"
        if ctx.ecs_agent_for_tests and not path_problem:
            shown += f" (a test's stand-in for the ECS agent {ECS_HOST})"
        evidence.insert(0, f"{ev.CONTAINER_RELATIVE_URI}{shown}")
        uri = "" if problem else agent_uri
        relative_fix = None
        if problem:
            relative_fix = (
                f"set {ev.CONTAINER_RELATIVE_URI} to the path the ECS agent gave, or unset it"
                if path_problem
                else f"fix {ev.CONTAINER_AUTH_TOKEN} or its file, or unset them"
            )
        return Endpoint(SourceKind.ECS, uri, tuple(evidence), problem, relative_fix)
    assert full is not None
    evidence.insert(0, f"{ev.CONTAINER_FULL_URI}={display_url(full)}")
    token_file = ctx.get(ev.CONTAINER_AUTH_TOKEN_FILE)
    if token_file:
        evidence.append(f"{ev.CONTAINER_AUTH_TOKEN_FILE}={token_file}")
    elif ctx.get(ev.CONTAINER_AUTH_TOKEN):
        evidence.append(f"{ev.CONTAINER_AUTH_TOKEN} is set")
    uri_problem = _uri_problem(full)
    host = "" if uri_problem else _url.parse(full).host
    if host in POD_IDENTITY_HOSTS:
        kind = SourceKind.EKS_POD_IDENTITY
    elif ecs_signals:
        kind = SourceKind.ECS
    elif token_file:
        kind = SourceKind.EKS_POD_IDENTITY
    else:
        kind = SourceKind.CONTAINER
    problem = uri_problem or authorization(ctx)[1]
    fix: str | None = None
    if kind is SourceKind.EKS_POD_IDENTITY and not problem and not token_file:
        problem = f"EKS Pod Identity needs {ev.CONTAINER_AUTH_TOKEN_FILE}"
    if problem:
        fix = f"fix {ev.CONTAINER_FULL_URI} and its authorization token, or unset them"
        if kind is SourceKind.EKS_POD_IDENTITY:
            fix = "check the pod's service account has a Pod Identity association"
    return Endpoint(kind, "" if uri_problem else full, tuple(evidence), problem, fix)


def detect(ctx: Context, kind: SourceKind, reason: str) -> list[Candidate]:
    """A candidate when the container endpoint belongs to ``kind``."""
    endpoint = classify(ctx)
    if endpoint is None or endpoint.kind is not kind:
        return []
    return [
        Candidate(
            kind=kind,
            status=Status.FAILED if endpoint.problem else Status.AVAILABLE,
            origin="environment",
            evidence=endpoint.evidence,
            reason=endpoint.problem or reason,
            fix=endpoint.fix,
            params={"uri": endpoint.uri},
        )
    ]


_FIELDS = ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")


def _document(result: _http.Reply | _http.Failure) -> dict[str, Any] | str:
    """Credentials botocore can use (four non-empty strings), or why not.

    botocore takes whatever JSON it gets (a null token, a numeric key id) and
    builds credentials that fail later, far from the cause; and it quotes a
    non-200 body in its error, which an echoing proxy fills with the token.
    Reasons here come from the status code and the error's type only.
    """
    if isinstance(result, _http.Failure):
        return f"{_NO_CREDENTIALS}: {result.reason}"
    if 300 <= result.status < 400:
        return (
            f"the credential endpoint answered HTTP {result.status}, "
            "a redirect, which credpick does not follow"
        )
    if result.status != 200:
        return f"the credential endpoint answered HTTP {result.status}"
    try:
        reply = json.loads(result.body)
    except (ValueError, RecursionError):
        return f"{_NO_CREDENTIALS}: the reply is not JSON"
    if not isinstance(reply, dict) or not all(
        isinstance(reply.get(k), str) and reply[k] for k in _FIELDS
    ):
        return f"{_NO_CREDENTIALS}: the reply lacks {', '.join(_FIELDS)} as text"
    return reply


class _Fetcher(ContainerMetadataFetcher):  # type: ignore[misc]
    """botocore's fetcher on the bounded transport: ``Timeouts.http`` for each
    whole attempt, ``Timeouts.attempts`` tries, a 64 KiB document, no redirects.

    :meth:`fetch` never raises: the headers hold the token, and a raised error
    keeps the frames it passed through.
    """

    def __init__(self, timeouts: Timeouts, agent: str = ECS_HOST) -> None:
        session = _http.BoundedSession(
            total=timeouts.http,
            cap=_http.CREDENTIALS_DOCUMENT,
            timeout=(timeouts.connect, timeouts.http),
        )
        super().__init__(session=session)
        self.TIMEOUT_SECONDS = timeouts.http
        self.RETRY_ATTEMPTS = timeouts.attempts
        self.SLEEP_TIME = _http.PAUSE
        self._agent = agent

    def full_url(self, relative_uri: str) -> str:
        # botocore's joins its class-level address; this one is the context's.
        return f"http://{self._agent}{relative_uri}"

    def fetch(self, full_url: str, headers: dict[str, str]) -> dict[str, Any] | str:
        """The credentials document, or why there is none."""
        result = _http.get(
            self._session,
            full_url,
            {"Accept": "application/json", **headers},
            attempts=self.RETRY_ATTEMPTS,
            pause=self.SLEEP_TIME,
        )
        return _document(result)

    def retrieve_full_uri(self, full_url: str, headers: Any = None) -> Any:
        result = self.fetch(full_url, dict(headers or {}))
        del headers
        if isinstance(result, str):
            raise MetadataRetrievalError(error_msg=result)
        return result

    def retrieve_uri(self, relative_uri: str) -> Any:
        return self.retrieve_full_uri(self.full_url(relative_uri))


class _Provider(ContainerProvider):  # type: ignore[misc]
    """botocore's container provider (relative URI first, a refresh on expiry)
    whose fetch checks the URL and the token each time and fails as SourceFailed."""

    def __init__(self, candidate: Candidate, ctx: Context) -> None:
        # Empty variables are unset, as at detection.
        super().__init__(
            environ={k: v for k, v in ctx.env.items() if v},
            fetcher=_Fetcher(ctx.timeouts, agent(ctx)),
        )
        self._candidate = candidate
        self._ctx = ctx

    def _create_fetcher(self, full_uri: str, *args: Any, **kwargs: Any) -> Callable[[], Any]:
        def fetch_creds() -> dict[str, Any]:
            result = self._fetch(full_uri)
            if isinstance(result, str):
                raise self._failed(self._where(result, full_uri))
            register_features("CREDENTIALS_HTTP")  # where botocore's provider registers it
            return result

        return fetch_creds

    def _fetch(self, full_uri: str) -> dict[str, Any] | str:
        try:
            _url.container_url(full_uri)
        except _url.UrlRefused as exc:
            return f"the credential endpoint URL {exc.reason}"
        token, problem = authorization(self._ctx)
        if problem:
            what = (
                "token file cannot be read"
                if self._ctx.get(ev.CONTAINER_AUTH_TOKEN_FILE)
                else ("authorization token cannot be used")
            )
            return f"the {what}: {problem}"
        reply = self._fetcher.fetch(full_uri, {"Authorization": token} if token else {})
        if isinstance(reply, str):
            return reply
        return {
            "access_key": reply["AccessKeyId"],
            "secret_key": reply["SecretAccessKey"],
            "token": reply["Token"],
            "expiry_time": reply["Expiration"],
            "account_id": reply.get("AccountId"),
        }

    def _where(self, reason: str, full_uri: str) -> str:
        """The reason, naming the relative URI it came from (a full URI is evidence)."""
        if not self._ctx.get(ev.CONTAINER_RELATIVE_URI):
            return reason
        return f"{reason} ({ev.CONTAINER_RELATIVE_URI} at {display_url(full_uri)})"

    def _fix(self) -> str:
        if self._ctx.get(ev.CONTAINER_RELATIVE_URI):
            return "check that the task definition has a task role and the ECS agent is healthy"
        return "check the container credential endpoint and its authorization token"

    def _failed(self, reason: str) -> SourceFailed:
        c = self._candidate
        return SourceFailed(
            reason,
            kind=c.kind.value,
            evidence=c.evidence,
            fix=c.fix or self._fix(),
            attempts=(c.attempt_line(),),
        )


def build(candidate: Candidate, inputs: BuildInputs) -> CredentialProvider:
    """botocore's container provider, on the bounded transport; it re-reads and
    re-checks the token file on each refresh."""
    return _Provider(candidate, inputs.context)
