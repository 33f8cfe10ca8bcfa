"""Trust boundaries that cannot be bent: where a token may be sent, and what may be sent.

Each hostile URL, path or token is aimed at a live loopback server that would
hand out credentials; the proof is that it records no request at all, that
the candidate is FAILED naming the variable, and that ``session()`` fails
closed (a stray long-lived key in the environment is never used instead).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine

import credpick
from credpick import SourceKind, Status, Timeouts
from credpick._mask import display_url
from credpick._url import UrlRefused, container_url, parse, relative_container_path
from credpick.testing import ContainerCredentialsEndpoint
from credpick.testing._hostile import HostileEndpoint
from tests.helpers import ROLE_ARN, STATIC_ENV, STATIC_KEY_ID, TEMP_KEY_ID, TEMP_SECRET
from tests.helpers import SESSION_TOKEN as TEMP_TOKEN
from tests.security._leaks import AUTHORIZATION_TOKEN, BEARER_TOKEN, assert_clean_error, leaks

# Every server here answers at once: generous deadlines keep a busy machine from
# turning a slow first attempt into a retry these tests would count.
TIMEOUTS = Timeouts(http=5.0, connect=2.0)
CREDENTIALS = json.dumps(
    {
        "AccessKeyId": TEMP_KEY_ID,
        "SecretAccessKey": TEMP_SECRET,
        "Token": TEMP_TOKEN,
        "Expiration": "2099-01-01T00:00:00Z",
    }
).encode()


@pytest.fixture
def bait() -> Iterator[HostileEndpoint]:
    """A loopback endpoint that would hand out credentials to anyone who asks."""
    with HostileEndpoint("reply", body=CREDENTIALS) as server:
        yield server


def _session_error(ctx: Any) -> credpick.SourceFailed:
    """The error of ``session()``, caught in a frame that holds no raw environment
    (a traceback keeps the locals of the frame that caught it)."""
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(context=ctx)
    return info.value


def _fails_closed(ctx: Any, var: str, kind: SourceKind) -> credpick.SourceFailed:
    d = credpick.detect(context=ctx)
    (candidate,) = [c for c in d.candidates if c.kind is kind]
    assert candidate.status is Status.FAILED
    assert var in (candidate.reason or "")
    err = _session_error(ctx)
    assert err.kind == kind.value
    assert err.__cause__ is None and err.__context__ is None
    assert STATIC_KEY_ID not in str(err)
    assert_clean_error(err)
    return err


# -- AWS_CONTAINER_CREDENTIALS_FULL_URI --------------------------------------------

FULL_URI_BYPASSES = {
    # urllib.parse says 127.0.0.1; urllib3 connects to 10.0.0.1.
    "backslash-userinfo": "http://10.0.0.1\\@{hp}/creds",
    "backslash-in-path-only": "http://{hp}\\creds",
    "userinfo-remote-user": "http://10.0.0.1@{hp}/creds",
    "userinfo-loopback-user": "http://{hp}@10.0.0.1/creds",
    "userinfo-password": "http://user:secret@{hp}/creds",
    "userinfo-empty": "http://@{hp}/creds",
    "percent-encoded-at": "http://10.0.0.1%40{hp}/creds",
    "percent-encoded-host": "http://%31%32%37.0.0.1:{port}/creds",
    "percent-encoded-slash": "http://{hp}%2F@10.0.0.1/creds",
    "ipv4-mapped-remote": "http://[::ffff:10.0.0.1]:{port}/creds",
    "ipv4-mapped-loopback": "http://[::ffff:127.0.0.1]:{port}/creds",
    "ipv6-zone-id": "http://[fe80::1%25lo]:{port}/creds",
    "ipv6-unbracketed": "http://::1:{port}/creds",
    "short-ipv4": "http://127.1:{port}/creds",
    "decimal-ipv4": "http://2130706433:{port}/creds",
    "hex-ipv4": "http://0x7f000001:{port}/creds",
    "localhost-suffix": "http://localhost.attacker.example:{port}/creds",
    "agent-address-suffix": "http://169.254.170.2.attacker.example/creds",
    "plain-http-remote": "http://10.0.0.1/creds",
    "fullwidth-localhost": "http://\uff4cocalhost:{port}/creds",
    "file-scheme": "file:///proc/self/environ",
    "ftp-scheme": "ftp://{hp}/creds",
    "gopher-scheme": "gopher://{hp}/_GET%20/creds",
    "no-scheme": "//{hp}/creds",
    "one-slash": "http:/{hp}/creds",
    "no-host": "http:///creds",
    "space-in-host": "http://127.0.0.1 :{port}/creds",
    "tab-in-path": "http://{hp}/cr\teds",
    "crlf-in-path": "http://{hp}/creds\r\nX-Injected: 1",
    "nul-in-path": "http://{hp}/creds\x00",
    "leading-space": " http://{hp}/creds",
    "fragment-host": "http://{hp}/creds#@10.0.0.1",
    "port-zero": "http://127.0.0.1:0/creds",
    "port-too-big": "http://127.0.0.1:70000/creds",
    "too-long": "http://{hp}/" + "a" * 3000,
}


@pytest.mark.parametrize("template", FULL_URI_BYPASSES.values(), ids=FULL_URI_BYPASSES.keys())
def test_full_uri_bypass_is_refused_before_any_request(
    template: str, bait: HostileEndpoint, make_context: Any, socket_guard: list[str]
) -> None:
    uri = template.format(hp=f"127.0.0.1:{bait.port}", port=bait.port)
    env = {
        **STATIC_ENV,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": AUTHORIZATION_TOKEN,
    }
    _fails_closed(make_context(env, timeouts=TIMEOUTS), "AWS_CONTAINER_CREDENTIALS_FULL_URI", KIND)
    assert bait.heads == []
    assert socket_guard == []


KIND = SourceKind.CONTAINER


@pytest.mark.parametrize(
    "uri",
    ["http://127.0.0.1:{port}/creds", "http://localhost:{port}/creds", "HTTP://127.0.0.1:{port}/c"],
)
def test_full_uri_to_loopback_still_works(
    uri: str, bait: HostileEndpoint, make_context: Any
) -> None:
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": uri.format(port=bait.port),
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": AUTHORIZATION_TOKEN,
    }
    frozen = credpick.session(context=make_context(env, timeouts=TIMEOUTS)).get_credentials()
    assert frozen.get_frozen_credentials().access_key == TEMP_KEY_ID
    (head,) = bait.heads
    assert f"Authorization: {AUTHORIZATION_TOKEN}\r\n".encode() in head


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("https://creds.example.com/v1", True),
        ("http://169.254.170.2/v2/credentials/x", True),
        ("http://169.254.170.23/v1/credentials", True),
        ("http://[fd00:ec2::23]/v1/credentials", True),
        ("http://[fd00:ec2:0::23]/v1/credentials", True),  # the same address
        ("http://[::1]:8080/c", True),
        ("http://127.42.0.1/c", True),
        ("http://169.254.169.254/latest", False),
        ("http://[fd00:ec2::254]/latest", False),
    ],
)
def test_botocore_host_rule(uri: str, allowed: bool) -> None:
    if allowed:
        assert container_url(uri).scheme in ("http", "https")
    else:
        with pytest.raises(UrlRefused, match="botocore refuses"):
            container_url(uri)


# -- AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ------------------------------------------

RELATIVE_TRICKS = {
    "at-host": "@127.0.0.1:{port}/creds",
    "at-remote": "@attacker.example/creds",
    "port-then-at": ":{port}@127.0.0.1/creds",
    "network-path": "//127.0.0.1:{port}/creds",
    "no-slash": "creds",
    "dot-host": ".attacker.example/creds",
    "backslash": "/creds\\@127.0.0.1",
    "at-in-path": "/v2/@127.0.0.1:{port}",
    "space": "/cr eds",
    "crlf": "/creds\r\nHost: 127.0.0.1",
    "fragment": "/creds#frag",
    "non-ascii": "/créds",
}


@pytest.mark.parametrize("template", RELATIVE_TRICKS.values(), ids=RELATIVE_TRICKS.keys())
def test_relative_uri_must_be_a_path(
    template: str, bait: HostileEndpoint, make_context: Any, socket_guard: list[str]
) -> None:
    env = {
        **STATIC_ENV,
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": template.format(port=bait.port),
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": AUTHORIZATION_TOKEN,
    }
    err = _fails_closed(
        make_context(env, timeouts=TIMEOUTS),
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        SourceKind.ECS,
    )
    assert "ECS task role" not in err.reason
    assert bait.heads == []
    assert socket_guard == []


@pytest.mark.parametrize("path", ["/v2/credentials/5f2c-1e", "/v2/credentials/a?x=1"])
def test_relative_uri_path_is_accepted(path: str, make_context: Any) -> None:
    assert relative_container_path(path) == path
    ctx = make_context({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": path})
    d = credpick.detect(context=ctx)
    assert d.chosen is not None and d.chosen.kind is SourceKind.ECS


# -- the authorization token: shape, at detection and on every fetch ----------------

TOKEN_VALUES = {
    "crlf": AUTHORIZATION_TOKEN + "\r\nX-Injected: 1",
    "lf": AUTHORIZATION_TOKEN + "\n",
    "nul": AUTHORIZATION_TOKEN + "\x00",
    "del": AUTHORIZATION_TOKEN + "\x7f",
    "tab": "a\t" + AUTHORIZATION_TOKEN,
    "leading-space": " " + AUTHORIZATION_TOKEN,
    "non-ascii": AUTHORIZATION_TOKEN + "é",
    "too-long": AUTHORIZATION_TOKEN + "a" * 5000,
}


@pytest.mark.parametrize("token", TOKEN_VALUES.values(), ids=TOKEN_VALUES.keys())
def test_bad_token_variable_is_never_sent(
    token: str, bait: HostileEndpoint, make_context: Any
) -> None:
    env = {
        **STATIC_ENV,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{bait.url}/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": token,
    }
    err = _fails_closed(
        make_context(env, timeouts=TIMEOUTS), "AWS_CONTAINER_AUTHORIZATION_TOKEN", KIND
    )
    assert bait.heads == []
    assert "MARKER-AUTHZ" not in str(err)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


TOKEN_FILES: dict[str, Any] = {
    "proc-self-environ": lambda tmp: Path("/proc/self/environ"),
    "fifo": lambda tmp: _fifo(tmp / "fifo"),
    "dev-zero": lambda tmp: Path("/dev/zero"),
    "directory": lambda tmp: tmp,
    "trailing-newline": lambda tmp: _write(tmp / "t", AUTHORIZATION_TOKEN.encode() + b"\n"),
    "nul-bytes": lambda tmp: _write(tmp / "t", b"A=1\x00B=" + AUTHORIZATION_TOKEN.encode()),
    "too-big": lambda tmp: _write(tmp / "t", b"a" * 5000),
    "binary": lambda tmp: _write(tmp / "t", b"\xff\xfe" + AUTHORIZATION_TOKEN.encode()),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make_file", TOKEN_FILES.values(), ids=TOKEN_FILES.keys())
def test_bad_token_file_is_refused_by_shape(
    make_file: Any, tmp_path: Path, bait: HostileEndpoint, make_context: Any
) -> None:
    env = {
        **STATIC_ENV,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{bait.url}/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(make_file(tmp_path)),
    }
    ctx = make_context(env, timeouts=TIMEOUTS)
    _fails_closed(ctx, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", SourceKind.EKS_POD_IDENTITY)
    assert bait.heads == []


def test_token_file_swapped_for_proc_environ_at_refresh(tmp_path: Path, make_context: Any) -> None:
    token = _write(tmp_path / "token", AUTHORIZATION_TOKEN.encode())
    with ContainerCredentialsEndpoint(authorization=AUTHORIZATION_TOKEN) as endpoint:
        env = {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.full_uri,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
        }
        credentials = credpick.session(
            context=make_context(env, timeouts=TIMEOUTS)
        ).get_credentials()
        assert credentials.get_frozen_credentials().access_key
        # A busy machine may retry the first fetch; what counts is that nothing follows the swap.
        before = len(endpoint.requests)
        token.unlink()
        token.symlink_to("/proc/self/environ")
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=58)
        with time_machine.travel(later, tick=False), pytest.raises(credpick.SourceFailed) as info:
            credentials.get_frozen_credentials()
        assert len(endpoint.requests) == before  # the environment was never sent
    assert info.value.kind == "eks-pod-identity"
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert_clean_error(info.value)


def test_token_with_inner_spaces_is_sent_verbatim(
    tmp_path: Path, bait: HostileEndpoint, make_context: Any
) -> None:
    value = "Bearer " + AUTHORIZATION_TOKEN
    env = {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{bait.url}/creds",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(_write(tmp_path / "t", value.encode())),
    }
    credpick.session(context=make_context(env, timeouts=TIMEOUTS)).get_credentials()
    (head,) = bait.heads
    assert f"Authorization: {value}\r\n".encode() in head


# -- GitHub's token URL and request token --------------------------------------------

GITHUB_URLS = {
    "file-scheme": "file:///proc/self/environ",
    "ftp-scheme": "ftp://{hp}/token",
    "plain-http-remote": "http://10.0.0.1/token",
    "backslash-userinfo": "http://10.0.0.1\\@{hp}/token",
    "userinfo": "http://user:pw@{hp}/token",
    "percent-host": "http://%31%32%37.0.0.1:{port}/token",
    "crlf": "http://{hp}/token\r\nX-Injected: 1",
    "no-scheme": "{hp}/token",
}


@pytest.mark.parametrize("template", GITHUB_URLS.values(), ids=GITHUB_URLS.keys())
def test_github_token_url_is_checked_before_the_bearer_goes_out(
    template: str, bait: HostileEndpoint, make_context: Any, socket_guard: list[str]
) -> None:
    env = {
        **STATIC_ENV,
        "ACTIONS_ID_TOKEN_REQUEST_URL": template.format(
            hp=f"127.0.0.1:{bait.port}", port=bait.port
        ),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": BEARER_TOKEN,
        "AWS_ROLE_ARN": ROLE_ARN,
    }
    ctx = make_context(env, timeouts=TIMEOUTS)
    _fails_closed(ctx, "ACTIONS_ID_TOKEN_REQUEST_URL", SourceKind.GITHUB_OIDC)
    assert bait.heads == []
    assert socket_guard == []


@pytest.mark.parametrize(
    "token",
    [BEARER_TOKEN + "\r\nX-Injected: 1", BEARER_TOKEN + "\x00", BEARER_TOKEN + "é", "a" * 5000],
    ids=["crlf", "nul", "non-ascii", "too-long"],
)
def test_github_request_token_is_checked_for_shape(
    token: str, bait: HostileEndpoint, make_context: Any
) -> None:
    env = {
        **STATIC_ENV,
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{bait.url}/token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": token,
        "AWS_ROLE_ARN": ROLE_ARN,
    }
    _fails_closed(
        make_context(env, timeouts=TIMEOUTS),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        SourceKind.GITHUB_OIDC,
    )
    assert bait.heads == []


# -- redirects: the token never follows one --------------------------------------------


@pytest.fixture
def second() -> Iterator[HostileEndpoint]:
    """Another loopback server, standing for the host a redirect points at."""
    with HostileEndpoint("reply", body=CREDENTIALS) as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_container_endpoint_redirect_is_a_failure(
    status: int, second: HostileEndpoint, make_context: Any
) -> None:
    target = f"{second.url}/steal"
    with HostileEndpoint("redirect", status=status, location=target) as first:
        ctx = make_context(
            {
                **STATIC_ENV,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{first.url}/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": AUTHORIZATION_TOKEN,
            },
            timeouts=TIMEOUTS,
        )
        err = _session_error(ctx)
        assert len(first.heads) == 1  # a redirect is not retried either
    assert second.heads == []
    assert err.kind == "container" and f"HTTP {status}, a redirect" in err.reason
    assert err.__cause__ is None and err.__context__ is None
    assert_clean_error(err)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_github_redirect_never_carries_the_bearer(
    status: int, second: HostileEndpoint, make_context: Any
) -> None:
    with HostileEndpoint("redirect", status=status, location=f"{second.url}/steal") as first:
        ctx = make_context(
            {
                **STATIC_ENV,
                "ACTIONS_ID_TOKEN_REQUEST_URL": f"{first.url}/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": BEARER_TOKEN,
                "AWS_ROLE_ARN": ROLE_ARN,
            },
            timeouts=TIMEOUTS,
        )
        err = _session_error(ctx)
        (head,) = first.heads
        assert b"Bearer MARKER-BEARER" in head  # sent to the named host only
    assert second.heads == []
    assert err.kind == "github-oidc" and "a redirect" in err.reason
    assert err.__cause__ is None and err.__context__ is None
    assert_clean_error(err)


# -- the parser itself ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@127.0.0.1:9/x?token=abc#frag", "http://127.0.0.1:9/x"),
        ("https://10.0.0.1@evil.example/c", "https://evil.example/c"),  # the host urllib3 uses
        ("http://[FD00:EC2::23]/v1", "http://[fd00:ec2::23]/v1"),
        ("http://10.0.0.1\\@127.0.0.1:9/creds", "(not a valid URL)"),
        ("http://127.0.0.1/a b", "(not a valid URL)"),
        ("not a url", "(not a valid URL)"),
    ],
)
def test_display_url_shows_the_transports_host_and_no_secrets(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_parsed_url_repr_hides_the_query() -> None:
    parsed = parse(f"https://token.example/t?sig={BEARER_TOKEN}")
    assert parsed.query is not None and leaks([repr(parsed), parsed.display]) == []
