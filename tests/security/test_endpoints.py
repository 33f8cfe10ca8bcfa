"""Hostile endpoints: every HTTP call credpick makes or drives ends, bounded and clean.

The container endpoint, GitHub's token endpoint and STS (``AWS_ENDPOINT_URL_STS``)
are each pointed at a :class:`HostileEndpoint` that trickles its head or body
(slow-loris, a byte every 0.1 s: no single read ever times out), sends a reply
far over the cap, holds the connection, resets it, or answers in the wrong
content. Each must end in a ``SourceFailed`` naming the source, well within a
generous bound (the bug held STS for 65 s), with no secret anywhere an error
tracker could look.

``python -m tests.security.test_endpoints`` measures the time to a verdict
with the *default* ``Timeouts`` (median of 5 runs) for docs/reliability.md.
"""

from __future__ import annotations

import json
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import credpick
from credpick import Context, Timeouts
from credpick._http import API_REPLY, BoundedSession, Failure, Reply, get, proxies_for
from credpick.testing._fakes import FakeCredentials
from credpick.testing._faults import FaultyEndpoint, sts_credentials
from credpick.testing._hostile import HostileEndpoint, HostileMode
from tests.helpers import ROLE_ARN, STATIC_ENV, STATIC_KEY_ID
from tests.security._leaks import (
    AUTHORIZATION_TOKEN,
    BEARER_TOKEN,
    WEB_IDENTITY_TOKEN,
    Records,
    assert_clean_error,
    leaks,
)

FAST = Timeouts(http=0.5, connect=0.5)
# For endpoints that answer at once, where the verdict must not depend on the
# machine's load: a slow first attempt on a busy machine would change the reason.
PROMPT = Timeouts(http=5.0, connect=2.0)
#: Seconds. Generous: the verdicts take about 1 to 3 s; the bug took 29 to 65 s.
BOUND = 20.0
#: Under Timeouts.http, so that no single read times out: only a deadline ends it.
TRICKLE = 0.1
PAD = 100 * 1024  # past every 64 KiB cap

KINDS = ("container", "github-oidc", "web-identity")


def _env(kind: str, url: str, tmp: Path) -> dict[str, str]:
    """The environment of a process whose ``kind`` endpoint is ``url``."""
    env = {**STATIC_ENV, "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1"}
    if kind == "container":
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = f"{url}/creds"
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = AUTHORIZATION_TOKEN
    elif kind == "github-oidc":
        env["ACTIONS_ID_TOKEN_REQUEST_URL"] = f"{url}/token?api-version=2.0"
        env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = BEARER_TOKEN
        env["AWS_ROLE_ARN"] = ROLE_ARN
        env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:9"  # never reached
    else:
        token = tmp / "web-identity-token"
        token.write_text(WEB_IDENTITY_TOKEN, encoding="utf-8")
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(token)
        env["AWS_ROLE_ARN"] = ROLE_ARN
        env["AWS_ENDPOINT_URL_STS"] = url
    return env


def _valid_padded(kind: str) -> tuple[bytes, str]:
    """A reply the source would accept, padded past its cap: only the cap refuses it."""
    if kind == "container":
        creds = FakeCredentials.issue()
        doc = {
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.token,
            "Expiration": creds.expiration_iso,
        }
        return json.dumps(doc).encode() + b" " * PAD, "application/json"
    if kind == "github-oidc":
        return json.dumps({"value": "e30.e30.sig", "pad": "x" * PAD}).encode(), "application/json"
    reply = sts_credentials(FakeCredentials.issue())
    return reply.body + b" " * PAD, "text/xml"


HOSTILE: dict[str, dict[str, Any]] = {
    "slow-headers": {"mode": "slow-headers", "delay": TRICKLE},
    "slow-body": {"mode": "slow-body", "delay": TRICKLE, "body": b'{"AccessKeyId": "'},
    "huge": {"mode": "huge", "size": 64 * 1024 * 1024},
    "hold": {"mode": "hold"},
    "reset": {"mode": "reset"},
    "html": {
        "mode": "reply",
        "body": b"<html><body>Sign in</body></html>",
        "content_type": "text/html",
    },
    "xml": {
        "mode": "reply",
        "body": b"<?xml version='1.0'?><a><b/></a>",
        "content_type": "text/xml",
    },
    "empty": {"mode": "reply", "body": b""},
    "error-echoing-secrets": {
        "mode": "reply",
        "status": 500,
        "body": f"echo: {AUTHORIZATION_TOKEN} {BEARER_TOKEN} {WEB_IDENTITY_TOKEN}".encode(),
        "content_type": "text/plain",
    },
}


def _session_error(ctx: Context) -> credpick.SourceFailed:
    # Caught here, in a frame holding no raw environment (tracebacks keep locals).
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(context=ctx)
    return info.value


def _verdict(
    kind: str, server: Any, make_context: Any, tmp: Path, timeouts: Timeouts = FAST
) -> tuple[Any, float]:
    ctx = make_context(_env(kind, server.url, tmp), timeouts=timeouts)
    start = time.monotonic()
    err = _session_error(ctx)
    return err, time.monotonic() - start


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_endpoint_gives_a_bounded_verdict(
    kind: str, hostile: str, make_context: Any, tmp_path: Path, debug_records: Records
) -> None:
    with HostileEndpoint(**HOSTILE[hostile], max_seconds=60) as server:
        err, elapsed = _verdict(kind, server, make_context, tmp_path)
        assert server.heads, "the endpoint was never asked"
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    assert err.kind == kind
    assert STATIC_KEY_ID not in str(err)  # never a fallback to the stray key
    assert leaks([str(err), repr(err), *err.evidence, *err.attempts]) == []
    if kind != "web-identity":  # see test_sts_debug_logs_hold_no_token
        assert leaks(debug_records.texts) == []


@pytest.mark.parametrize("hostile", ["hold", "error-echoing-secrets"])
def test_sts_debug_logs_hold_no_token(
    hostile: str, make_context: Any, tmp_path: Path, debug_records: Records
) -> None:
    with HostileEndpoint(**HOSTILE[hostile], max_seconds=60) as server:
        _verdict("web-identity", server, make_context, tmp_path)
    assert leaks(debug_records.texts) == []


@pytest.mark.parametrize("hostile", HOSTILE, ids=HOSTILE)
@pytest.mark.parametrize(
    "kind",
    [
        "container",
        "github-oidc",
        "web-identity",
    ],
)
def test_hostile_endpoint_error_is_built_clean(
    kind: str, hostile: str, make_context: Any, tmp_path: Path
) -> None:
    with HostileEndpoint(**HOSTILE[hostile], max_seconds=60) as server:
        err, _ = _verdict(kind, server, make_context, tmp_path)
    assert err.__cause__ is None and err.__context__ is None  # raised outside any except
    assert_clean_error(err)


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_reply_over_the_cap_is_refused(
    kind: str, make_context: Any, tmp_path: Path
) -> None:
    body, content_type = _valid_padded(kind)
    with HostileEndpoint("reply", body=body, content_type=content_type) as server:
        err, elapsed = _verdict(kind, server, make_context, tmp_path, PROMPT)
    assert err.kind == kind and elapsed < BOUND
    if kind != "web-identity":  # STS's reason is written by the session's translation
        assert "over 65536 bytes" in err.reason


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_reply_under_the_cap_is_accepted(
    kind: str, make_context: Any, tmp_path: Path, sts: Any
) -> None:
    body, content_type = _valid_padded(kind)
    body = body.replace(b" " * PAD, b"").replace(b"x" * PAD, b"")
    with HostileEndpoint("reply", body=body, content_type=content_type) as server:
        env = _env(kind, server.url, tmp_path)
        if kind == "github-oidc":
            # moto as is: this reply's token has no claims, and the cap is what is tested.
            env["AWS_ENDPOINT_URL_STS"] = sts.moto_url
        credentials = credpick.session(context=make_context(env, timeouts=PROMPT)).get_credentials()
        assert credentials.get_frozen_credentials().access_key.startswith("ASIA")


@pytest.mark.parametrize(("size", "accepted"), [(64 * 1024, True), (64 * 1024 + 1, False)])
def test_the_document_cap_is_exact(
    size: int, accepted: bool, make_context: Any, tmp_path: Path
) -> None:
    body, _ = _valid_padded("container")
    doc = body.rstrip(b" ")
    with HostileEndpoint("reply", body=doc + b" " * (size - len(doc))) as server:
        ctx = make_context(_env("container", server.url, tmp_path), timeouts=PROMPT)
        if accepted:
            assert credpick.session(context=ctx).get_credentials().access_key.startswith("ASIA")
        else:
            assert "over 65536 bytes" in _session_error(ctx).reason


@pytest.fixture
def dead() -> Iterator[Callable[[str], FaultyEndpoint]]:
    endpoints: list[FaultyEndpoint] = []

    def make(how: str) -> FaultyEndpoint:
        endpoint = FaultyEndpoint("http://127.0.0.1:9").start()
        endpoints.append(endpoint)
        endpoint.cut("refuse" if how == "refused" else "drop")
        return endpoint

    yield make
    for endpoint in endpoints:
        endpoint.stop()


@pytest.mark.parametrize("how", ["refused", "black-holed"])
@pytest.mark.parametrize("kind", KINDS)
def test_dead_endpoint_gives_a_bounded_verdict(
    kind: str, how: str, dead: Callable[[str], FaultyEndpoint], make_context: Any, tmp_path: Path
) -> None:
    err, elapsed = _verdict(kind, dead(how), make_context, tmp_path)
    assert elapsed < BOUND, f"took {elapsed:.1f} s"
    assert err.kind == kind


def test_container_attempts_follow_timeouts(make_context: Any, tmp_path: Path) -> None:
    with HostileEndpoint("reset") as server:
        ctx = make_context(
            _env("container", server.url, tmp_path), timeouts=Timeouts(http=0.5, attempts=3)
        )
        _session_error(ctx)
        assert len(server.heads) == 3


def test_sts_attempts_follow_timeouts(make_context: Any, tmp_path: Path) -> None:
    with HostileEndpoint("reset") as server:
        ctx = make_context(
            _env("web-identity", server.url, tmp_path), timeouts=Timeouts(http=0.5, attempts=1)
        )
        _session_error(ctx)
        assert len(server.heads) == 1


# -- https: the wrapper sits on top of TLS, and botocore's verification is kept -----


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    """A server context with a self-signed certificate for 127.0.0.1, and its path."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    subprocess.run(
        [
            *command.split(),
            *("-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=credpick"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, str(cert)


def _tls_get(url: str, verify: str | bool, total: float = 2.0) -> Reply | Failure:
    session = BoundedSession(total=total, cap=API_REPLY, timeout=(1.0, total), verify=verify)
    return get(session, url, {"Authorization": AUTHORIZATION_TOKEN}, attempts=1)


def test_https_reply_is_read_through_the_bounded_session(tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca = tls
    with HostileEndpoint("reply", body=b'{"ok": true}', tls=context) as server:
        result = _tls_get(f"{server.url}/x", verify=ca)
    assert isinstance(result, Reply) and result.status == 200 and result.body == b'{"ok": true}'


def test_https_slow_loris_ends_at_the_deadline(tls: tuple[ssl.SSLContext, str]) -> None:
    context, ca = tls
    with HostileEndpoint("slow-body", delay=TRICKLE, tls=context, max_seconds=60) as server:
        start = time.monotonic()
        result = _tls_get(f"{server.url}/x", verify=ca, total=1.0)
    assert time.monotonic() - start < BOUND
    assert isinstance(result, Failure) and "deadline" in result.reason


def test_https_to_an_untrusted_certificate_sends_nothing(
    tls: tuple[ssl.SSLContext, str], make_context: Any, tmp_path: Path
) -> None:
    context, _ = tls
    with HostileEndpoint("reply", body=b"{}", tls=context) as server:
        assert _tls_get(f"{server.url}/x", verify=True) == Failure("TLS failed", retryable=False)
        err = _session_error(make_context(_env("container", server.url, tmp_path)))
        assert server.heads == []  # the handshake failed: no request, no token
    assert err.kind == "container" and "TLS failed" in err.reason
    assert_clean_error(err)


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        (
            {"HTTPS_PROXY": "http://proxy:3128"},
            "https://gh.example/t",
            {"https": "http://proxy:3128"},
        ),
        ({"https_proxy": "http://p:1"}, "https://gh.example/t", {"https": "http://p:1"}),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example"}, "https://gh.example/t", {}),
        ({"HTTP_PROXY": "http://p:1"}, "https://gh.example/t", {}),
        ({}, "https://gh.example/t", {}),
    ],
)
def test_github_proxy_comes_from_the_context_not_the_process(
    env: dict[str, str], url: str, expected: dict[str, str]
) -> None:
    assert proxies_for(env, url) == expected


# -- measuring the defaults: python -m tests.security.test_endpoints ----------------

_MEASURED = {
    "refused": None,
    "black-holed": None,
    "slow-loris (headers)": {"mode": "slow-headers", "delay": 0.5},
    "held (accepts, never answers)": {"mode": "hold"},
}


def _measure_once(kind: str, fault: str, tmp: Path) -> float:
    spec = _MEASURED[fault]
    server: Any
    if spec is None:
        server = FaultyEndpoint("http://127.0.0.1:9").start()
        server.cut("refuse" if fault == "refused" else "drop")
    else:
        mode: HostileMode = spec["mode"]
        server = HostileEndpoint(mode, delay=spec.get("delay", 0.5), max_seconds=120).start()
    try:
        env = _env(kind, server.url, tmp)
        ctx = Context(env=env, home=tmp, root=tmp / "root")  # the default Timeouts
        start = time.monotonic()
        try:
            credpick.session(context=ctx)
        except credpick.SourceFailed:
            return time.monotonic() - start
        raise AssertionError(f"{kind}/{fault} did not fail")
    finally:
        server.stop()


def measure(runs: int = 5) -> str:
    """A Markdown table: median seconds to a verdict, default Timeouts."""
    lines = ["| endpoint | " + " | ".join(_MEASURED) + " |", "|---" * (len(_MEASURED) + 1) + "|"]
    names = {"container": "container endpoint", "github-oidc": "GitHub token endpoint"}
    names["web-identity"] = "STS (AssumeRoleWithWebIdentity)"
    with tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:
            cells = []
            for fault in _MEASURED:
                times = [_measure_once(kind, fault, Path(tmp)) for _ in range(runs)]
                cells.append(f"{statistics.median(times):.1f} s (max {max(times):.1f})")
            lines.append(f"| {names[kind]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(measure())
