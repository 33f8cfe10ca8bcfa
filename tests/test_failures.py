"""The build boundary's translation: classified by what failed, never by its text.

``translate`` is imported from ``credpick._session``, the boundary that uses it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import botocore.exceptions

import credpick
from credpick import Candidate, SourceKind
from credpick._session import translate

from .helpers import write

PROGRAM = Candidate(
    kind=SourceKind.CREDENTIAL_PROCESS,
    origin="profile 'ci'",
    profile="ci",
    params={"command": "/opt/bin/get-creds --role x"},
)
IRSA = Candidate(
    kind=SourceKind.WEB_IDENTITY,
    params={"token_file": "/var/run/token", "token_var": "AWS_WEB_IDENTITY_TOKEN_FILE"},
)


def test_a_missing_file_is_not_called_a_token_file_when_it_is_not_one() -> None:
    error = translate(FileNotFoundError(2, "No such file", "/opt/bin/get-creds"), PROGRAM)
    assert "token" not in error.reason
    assert "/opt/bin/get-creds" in error.reason and error.fix
    assert error.kind == "credential-process"


def test_the_token_file_is_named_with_its_variable() -> None:
    error = translate(FileNotFoundError(2, "No such file", "/var/run/token"), IRSA)
    assert error.reason == (
        "a token file cannot be read: AWS_WEB_IDENTITY_TOKEN_FILE points at /var/run/token "
        "(FileNotFoundError)"
    )
    assert error.fix and "/var/run/token" in error.fix


def test_a_program_that_writes_503_is_not_an_http_503() -> None:
    # botocore's process provider puts the program's stderr in its message.
    exc = botocore.exceptions.CredentialRetrievalError(
        provider="custom-process", error_msg="Received non 200 response 503 from upstream"
    )
    error = translate(exc, PROGRAM)
    assert "HTTP" not in error.reason and "503" not in str(error)


def test_a_container_endpoint_503_is_still_read_as_one(make_context: Any) -> None:
    uri = "http://127.0.0.1:8080/creds"
    container = Candidate(kind=SourceKind.CONTAINER, params={"uri": uri})
    exc = botocore.exceptions.CredentialRetrievalError(
        provider="container-role",
        error_msg="Received non 200 response 503 from container metadata: busy",
    )
    ctx = make_context({"AWS_CONTAINER_CREDENTIALS_FULL_URI": uri})
    error = translate(exc, container, ctx)
    assert error.reason == (
        "the credential endpoint answered HTTP 503 (the credential endpoint "
        "http://127.0.0.1:8080/creds (AWS_CONTAINER_CREDENTIALS_FULL_URI))"
    )
    assert error.fix


def test_an_unexpected_error_names_the_endpoint_and_a_fix(make_context: Any) -> None:
    ctx = make_context({"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9/?X-Amz-Security-Token=t"})
    error = translate(ValueError("anything"), IRSA, ctx)
    assert error.reason == (
        "loading credentials from STS at http://127.0.0.1:9/ (AWS_ENDPOINT_URL_STS) "
        "failed: ValueError"
    )
    assert error.fix and "STS at http://127.0.0.1:9/" in error.fix
    assert "Security-Token" not in str(error)


def test_an_unreachable_sts_says_where_and_what_to_do(make_context: Any) -> None:
    ctx = make_context({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    exc = botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9/")
    error = translate(exc, IRSA, ctx)
    assert error.reason == (
        "the credential endpoint is unreachable: no connection to "
        "STS at http://127.0.0.1:9 (AWS_ENDPOINT_URL)"
    )
    assert error.fix and error.fix.startswith("check that STS at http://127.0.0.1:9 ")


def test_a_program_whose_stderr_says_503_is_reported_by_its_exit_code(
    make_context: Any, home: Path, tmp_path: Path
) -> None:
    script = write(
        tmp_path / "fails.py", "import sys\nsys.stderr.write('HTTP 503 upstream')\nsys.exit(3)\n"
    )
    write(
        home / ".aws" / "config",
        f"[profile ci]\ncredential_process = {sys.executable} {script}\n",
    )
    d = credpick.detect(context=make_context({"AWS_PROFILE": "ci"}))
    try:
        credpick.session(context=make_context({"AWS_PROFILE": "ci"}))
    except credpick.SourceFailed as exc:
        error = exc
    assert d.chosen is not None and d.chosen.kind is SourceKind.CREDENTIAL_PROCESS
    assert "exited with code 3" in error.reason and "HTTP" not in error.reason
    assert error.fix
