"""Fuzzing: environments, shared files, and metadata and container replies.

Properties, for every input hypothesis makes up:

- only a ``CredpickError`` escapes ``credpick.detect()`` and ``credpick.session()``;
- no secret, session token or whole access key id appears in any output: ``str``,
  ``repr``, ``explain()``, ``to_dict()``, a formatted traceback (causes
  included) or a log record;
- the same inputs give the same decision.

The budget is the ``ci`` hypothesis profile (tests/reliability/conftest.py);
``CREDPICK_FUZZ=long`` runs the ``long`` one.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import credpick
from credpick import Context, Policy
from credpick.sources import imds
from credpick.testing._net import refusing_endpoint
from credpick.testing._server import Hang, LoopbackServer, Request, Response

SECRET = "MARKER-SECRET-fuzz-7c1e"
TOKEN = "MARKER-TOKEN-fuzz-4b2a"
LONG_KEY = "AKIAFUZZFUZZFUZZ7EXA"
TEMP_KEY = "ASIAFUZZFUZZFUZZ7EXA"
MARKERS = (SECRET, TOKEN, LONG_KEY, TEMP_KEY)
HUGE = "x" * 100_000

# -- strategies ------------------------------------------------------------------

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
_SECRET_VARS = {
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_SESSION_TOKEN": TOKEN,
    "AWS_SECURITY_TOKEN": TOKEN,
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": TOKEN,
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": TOKEN,
}
_ENV_VARS = [
    "AWS_ACCESS_KEY_ID",
    *_SECRET_VARS,
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "ECS_CONTAINER_METADATA_URI_V4",
    "AWS_EXECUTION_ENV",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "GITHUB_RUN_ID",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
]
#: Variables that make session() connect somewhere: only loopback values for them.
_NETWORK_VARS = {
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
}
_WIDE_VALUES = [
    LONG_KEY,
    TEMP_KEY,
    "",
    "default",
    "dev",
    "ghost",
    "/nonexistent/token",
    "http://169.254.170.23/v1/credentials",
    "http://10.1.2.3/x",
    "https://example.invalid/c",
    "/v2/credentials/abc",
    "arn:aws:iam::123456789012:role/r",
    "AWS_ECS_FARGATE",
    "a\r\nb",
    "[profile dev]",
    "ünïcödé-プロファイル",
    HUGE,
]


def _env(loopback_only: bool, token_file: str) -> st.SearchStrategy[dict[str, str]]:
    safe_urls = [refusing_endpoint() + "/creds", "http://127.0.0.1:9/x?api-version=2.0"]
    wide = st.one_of(st.sampled_from([*_WIDE_VALUES, token_file]), _text)
    narrow = st.sampled_from(safe_urls)

    def value(name: str) -> st.SearchStrategy[str]:
        if name in _SECRET_VARS:
            return st.sampled_from([_SECRET_VARS[name], ""])
        if loopback_only and name in _NETWORK_VARS:
            return narrow
        return wide

    return st.lists(st.sampled_from(_ENV_VARS), unique=True, max_size=9).flatmap(
        lambda names: st.fixed_dictionaries({n: value(n) for n in names})
    )


_KEYS = [
    "region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "credential_process",
]
_KEY_VALUES = {
    "aws_access_key_id": st.sampled_from([LONG_KEY, TEMP_KEY, "", "ünï"]),
    "aws_secret_access_key": st.just(SECRET),
    "aws_session_token": st.just(TOKEN),
    # Never a made-up command: a parsed credential_process would run in session().
    "credential_process": st.sampled_from(["false", "/bin/false --token " + TOKEN]),
}
_HEADERS = st.one_of(
    st.sampled_from(
        [
            "[default]",
            "[profile dev]",
            "[dev]",
            "[profile ghost]",
            "[sso-session dev]",
            "[profile",
            "[[profile dev]]",
            "[ profile   dev ]",
            "[]",
            "[profile ünïcödé]",
        ]
    ),
    _text.map(lambda t: f"[{t}]"),
)
_LINE = st.one_of(
    st.sampled_from(_KEYS).flatmap(
        lambda key: _KEY_VALUES.get(key, st.one_of(_text, st.just(HUGE))).map(
            lambda v: f"{key} = {v}"
        )
    ),
    st.sampled_from(["no equals sign", "  continued", "# comment", "= orphan", "s3 =\n  x = y"]),
)
_INI = st.one_of(
    st.lists(st.tuples(_HEADERS, st.lists(_LINE, max_size=5)), max_size=4).map(
        lambda sections: "".join(h + "\n" + "\n".join(lines) + "\n" for h, lines in sections)
    ),
    # Raw text, minus anything that would configure a program to run.
    _text.filter(lambda t: "credential_process" not in t),
)

_CRED_VALUE = st.one_of(
    st.sampled_from(
        [SECRET, TOKEN, LONG_KEY, TEMP_KEY, "", "2030-01-01T00:00:00Z", "2001-01-01T00:00:00Z"]
    ),
    _text,
    st.integers(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.just(HUGE),
)
_CRED_DOC = st.fixed_dictionaries(
    {},
    optional={
        k: _CRED_VALUE
        for k in ("Code", "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn")
    },
)
_DOC_BODY = _CRED_DOC.map(lambda d: json.dumps(d).encode())
_BODY = st.one_of(
    _DOC_BODY,
    _DOC_BODY.map(lambda b: b[: len(b) // 2]),  # truncated
    st.binary(max_size=200),
    st.sampled_from([b"", b"<html><body>" + SECRET.encode() + b"</body></html>", b"null"]),
)
_STATUS = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 405, 429, 500, 503])
_CONTENT_TYPE = st.sampled_from(["application/json", "text/plain", "text/html", "", "x/\u00e9"])
_REPLY = st.builds(Response, status=_STATUS, body=_BODY, content_type=_CONTENT_TYPE)


# -- the loopback fake that serves whatever hypothesis made up --------------------


class Scripted(LoopbackServer):
    """Answers each path prefix with the reply set for it; 404 otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: dict[str, Response] = {}

    def _handle(self, request: Request) -> Response | Hang:
        for prefix, reply in sorted(self.replies.items(), key=lambda kv: -len(kv[0])):
            if request.path.startswith(prefix):
                return reply
        return Response(status=404, body=b"Not Found")


@pytest.fixture(scope="module")
def scripted() -> Iterator[Scripted]:
    with Scripted() as server:
        yield server


# -- checks ----------------------------------------------------------------------


def _texts(
    detection: credpick.Detection | None,
    outcome: Any,
    records: list[logging.LogRecord],
) -> list[str]:
    texts = [r.getMessage() for r in records]
    texts += [json.dumps(getattr(r, "credpick", None), default=str) for r in records]
    if detection is not None:
        texts += [detection.explain(), json.dumps(detection.to_dict()), repr(detection)]
        if detection.error is not None:
            err = detection.error
            texts += [str(err), repr(err), *err.attempts, *err.evidence, err.fix or ""]
    if isinstance(outcome, BaseException):
        # credpick's own traceback; the chained causes are botocore's (see
        # test_chained_causes_do_not_quote_the_reply).
        trace = "".join(traceback.format_exception(outcome, chain=False))
        texts += [str(outcome), repr(outcome), trace]
    elif outcome is not None:
        texts += [repr(outcome), repr(outcome.get_credentials())]
    return texts


def _assert_no_secret(texts: list[str]) -> None:
    for text in texts:
        for marker in MARKERS:
            assert marker not in text, f"{marker!r} leaked into {text[:300]!r}"


def _decision(d: credpick.Detection) -> tuple[Any, ...]:
    return (
        d.chosen.kind.value if d.chosen else None,
        type(d.error).__name__ if d.error else None,
        tuple((c.kind.value, c.status.value, c.reason) for c in d.candidates),
    )


def _session(ctx: Context, policy: Policy | None = None) -> Any:
    try:
        return credpick.session(context=ctx, policy=policy)
    except credpick.CredpickError as exc:
        return exc  # anything else escapes and fails the test


def _outcome_kind(outcome: Any) -> tuple[str, str | None]:
    if isinstance(outcome, credpick.CredpickError):
        return type(outcome).__name__, outcome.kind
    return "session", outcome.get_credentials().method


def _check(ctx: Context, caplog: pytest.LogCaptureFixture, policy: Policy | None = None) -> None:
    """Detect twice and build twice: same decisions, only CredpickError, no secret."""
    caplog.clear()
    imds.clear_cache()
    first = credpick.detect(context=ctx, policy=policy)
    imds.clear_cache()
    second = credpick.detect(context=ctx, policy=policy)
    assert _decision(first) == _decision(second)
    imds.clear_cache()
    built = _session(ctx, policy)
    imds.clear_cache()
    again = _session(ctx, policy)
    assert _outcome_kind(built) == _outcome_kind(again)
    _assert_no_secret(_texts(first, built, caplog.records))


@pytest.fixture
def _quiet(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="credpick")
    # botocore reads a few settings from the process, not the context: keep
    # every AWS call it makes itself (assume-role profiles) on loopback.
    monkeypatch.setenv("AWS_ENDPOINT_URL", refusing_endpoint())


# -- the properties --------------------------------------------------------------


@pytest.mark.usefixtures("no_retry_sleep")
@given(data=st.data(), static_keys=st.sampled_from(["refuse-when-role", "forbid", "allow"]))
def test_wide_environments_detect_safely(
    tmp_path: Path, data: st.DataObject, static_keys: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJ." + TOKEN, encoding="utf-8")
    env = data.draw(_env(loopback_only=False, token_file=str(token)))
    env.update(AWS_EC2_METADATA_DISABLED="true", HOME=str(tmp_path))
    ctx = Context(env=env, home=tmp_path, root=tmp_path)
    caplog.clear()
    detection = credpick.detect(context=ctx, policy=Policy(static_keys=static_keys))
    again = credpick.detect(context=ctx, policy=Policy(static_keys=static_keys))
    assert _decision(detection) == _decision(again)
    _assert_no_secret([*_texts(detection, None, caplog.records), repr(ctx)])


@pytest.mark.usefixtures("no_retry_sleep", "_quiet")
@given(data=st.data(), config=_INI, credentials=_INI)
def test_environments_and_shared_files(
    tmp_path: Path,
    data: st.DataObject,
    config: str,
    credentials: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJ." + TOKEN, encoding="utf-8")
    env = data.draw(_env(loopback_only=True, token_file=str(token)))
    (tmp_path / "config").write_text(config, encoding="utf-8")
    (tmp_path / "credentials").write_text(credentials, encoding="utf-8")
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
        AWS_ENDPOINT_URL=refusing_endpoint(),  # STS and SSO: loopback, refused
    )
    _check(Context(env=env, home=tmp_path, root=tmp_path), caplog)


@pytest.mark.usefixtures("no_retry_sleep", "_quiet")
@given(token=_REPLY, role=_REPLY, creds=_REPLY, role_name=st.one_of(_text, st.just("r")))
def test_metadata_replies(
    scripted: Scripted,
    tmp_path: Path,
    token: Response,
    role: Response,
    creds: Response,
    role_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    role = Response(role.status, role_name.encode("utf-8"), role.content_type)
    scripted.replies = {
        "/latest/api/token": token,
        "/latest/meta-data/iam/security-credentials/": role,
        "/latest/meta-data/iam/security-credentials/" + (role_name or "-"): creds,
    }
    env = {
        "HOME": str(tmp_path),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": scripted.url + "/",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": LONG_KEY,  # a stray key: the instance, if any, must win
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    _check(Context(env=env, home=tmp_path, root=tmp_path), caplog)


@pytest.mark.usefixtures("no_retry_sleep", "_quiet")
@given(reply=_REPLY, token_file=st.booleans())
def test_container_replies(
    scripted: Scripted,
    tmp_path: Path,
    reply: Response,
    token_file: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scripted.replies = {"/creds": reply}
    env = {
        "HOME": str(tmp_path),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": scripted.url + "/creds",
        "AWS_EC2_METADATA_DISABLED": "true",  # a sidecar ranks below the instance
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": LONG_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    if token_file:
        (tmp_path / "pod-token").write_text(TOKEN, encoding="utf-8")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(tmp_path / "pod-token")
    else:
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = TOKEN
    _check(Context(env=env, home=tmp_path, root=tmp_path), caplog)


def test_chained_causes_do_not_quote_the_reply(scripted: Scripted, tmp_path: Path) -> None:
    document = {"AccessKeyId": TEMP_KEY, "SecretAccessKey": SECRET, "Token": TOKEN}
    document["Expiration"] = SECRET  # a reply with its fields shifted by one
    scripted.replies = {"/creds": Response(200, json.dumps(document).encode(), "application/json")}
    env = {
        "HOME": str(tmp_path),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": scripted.url + "/creds",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(context=Context(env=env, home=tmp_path, root=tmp_path))
    _assert_no_secret([str(info.value), "".join(traceback.format_exception(info.value))])
