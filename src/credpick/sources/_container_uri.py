"""The container credential endpoint, shared by the ecs, eks-pod-identity and
container sources: which runtime set it, and whether botocore will accept it."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import attrs
from botocore.credentials import ContainerProvider
from botocore.exceptions import MetadataRetrievalError
from botocore.utils import ContainerMetadataFetcher

from .. import _envvars as ev
from .._context import Context
from .._mask import display_url
from .._model import Candidate, SourceKind, Status
from ._base import BuildInputs, CredentialProvider, token_file_problem

ECS_HOST = "169.254.170.2"
POD_IDENTITY_HOSTS = frozenset({"169.254.170.23", "fd00:ec2::23"})
_ALLOWED_HTTP_HOSTS = frozenset({"localhost", ECS_HOST, *POD_IDENTITY_HOSTS})


@attrs.frozen
class Endpoint:
    kind: SourceKind
    uri: str
    evidence: tuple[str, ...]
    problem: str | None
    fix: str | None


def _uri_problem(uri: str) -> str | None:
    # botocore refuses these hosts before sending anything; say so now.
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
    except ValueError:
        return f"{ev.CONTAINER_FULL_URI} is not a valid URL"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme != "http" or not host:
        return f"{ev.CONTAINER_FULL_URI} must be an http(s) URL with a host"
    if host in _ALLOWED_HTTP_HOSTS:
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"{ev.CONTAINER_FULL_URI} uses http to host {host}, which botocore refuses "
        "(http is allowed only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23)"
    )


def _token_problem(ctx: Context) -> str | None:
    token_file = ctx.get(ev.CONTAINER_AUTH_TOKEN_FILE)
    if token_file:
        problem = token_file_problem(str(ctx.expand(token_file)), ev.CONTAINER_AUTH_TOKEN_FILE)
        if problem:
            return problem
        text = ctx.expand(token_file).read_text(encoding="utf-8")
        if "\r" in text or "\n" in text:
            # botocore sends the file verbatim as a header and rejects CR/LF.
            return f"the token in {ev.CONTAINER_AUTH_TOKEN_FILE} contains CR or LF"
        return None
    token = ctx.get(ev.CONTAINER_AUTH_TOKEN)
    if token and ("\r" in token or "\n" in token):
        return f"{ev.CONTAINER_AUTH_TOKEN} contains CR or LF, which is not a legal header value"
    return None


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
        uri = f"http://{ECS_HOST}{relative}"
        evidence.insert(0, f"{ev.CONTAINER_RELATIVE_URI} is set")
        return Endpoint(SourceKind.ECS, uri, tuple(evidence), _token_problem(ctx), None)
    assert full is not None
    evidence.insert(0, f"{ev.CONTAINER_FULL_URI}={display_url(full)}")
    token_file = ctx.get(ev.CONTAINER_AUTH_TOKEN_FILE)
    if token_file:
        evidence.append(f"{ev.CONTAINER_AUTH_TOKEN_FILE}={token_file}")
    elif ctx.get(ev.CONTAINER_AUTH_TOKEN):
        evidence.append(f"{ev.CONTAINER_AUTH_TOKEN} is set")
    try:
        host = urlsplit(full).hostname or ""
    except ValueError:
        host = ""
    if host in POD_IDENTITY_HOSTS:
        kind = SourceKind.EKS_POD_IDENTITY
    elif ecs_signals:
        kind = SourceKind.ECS
    elif token_file:
        kind = SourceKind.EKS_POD_IDENTITY
    else:
        kind = SourceKind.CONTAINER
    problem = _uri_problem(full) or _token_problem(ctx)
    fix = None
    if kind is SourceKind.EKS_POD_IDENTITY and not problem and not token_file:
        problem = f"EKS Pod Identity needs {ev.CONTAINER_AUTH_TOKEN_FILE}"
    if problem:
        fix = f"fix {ev.CONTAINER_FULL_URI} and its authorization token, or unset them"
        if kind is SourceKind.EKS_POD_IDENTITY:
            fix = "check the pod's service account has a Pod Identity association"
    return Endpoint(kind, full, tuple(evidence), problem, fix)


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


class _Fetcher(ContainerMetadataFetcher):  # type: ignore[misc]
    """botocore's fetcher (same retries, same timeouts), but its errors never
    quote the endpoint's reply.

    botocore puts the body of a non-200 answer into the error message, which
    then travels in the exception chain of every error built on it: an
    endpoint (or a proxy) that echoes the request would print the
    authorization token wherever a traceback is logged.
    """

    def retrieve_full_uri(self, full_url: str, headers: Any = None) -> Any:
        try:
            return _checked(super().retrieve_full_uri(full_url, headers))
        except MetadataRetrievalError as exc:
            raise _quiet(exc) from None

    def retrieve_uri(self, relative_uri: str) -> Any:
        try:
            return _checked(super().retrieve_uri(relative_uri))
        except MetadataRetrievalError as exc:
            raise _quiet(exc) from None


def _quiet(exc: Exception) -> MetadataRetrievalError:
    return MetadataRetrievalError(error_msg=_WITH_BODY.sub(r"\1", str(exc)))


_FIELDS = ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")


def _checked(reply: Any) -> Any:
    """A reply botocore would turn into credentials: four non-empty strings.

    botocore takes whatever JSON it gets (a null token, a numeric key id) and
    builds credentials that fail later, far from the cause.
    """
    if not isinstance(reply, dict) or not all(
        isinstance(reply.get(k), str) and reply[k] for k in _FIELDS
    ):
        raise MetadataRetrievalError(
            error_msg="the reply lacks AccessKeyId, SecretAccessKey, Token or Expiration as text"
        )
    return reply


_WITH_BODY = re.compile(r"(non 200 response \d+ from container metadata).*", re.S)


def build(inputs: BuildInputs) -> CredentialProvider:
    """botocore's container provider: it re-reads the token file on each refresh."""
    return ContainerProvider(  # type: ignore[no-any-return]
        environ=dict(inputs.context.env), fetcher=_Fetcher()
    )
