"""GitHubOidcEndpoint, exercised with urllib as the Actions toolkit calls it."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from credpick.testing import GitHubOidcEndpoint


@pytest.fixture
def github() -> Iterator[GitHubOidcEndpoint]:
    with GitHubOidcEndpoint() as server:
        yield server


def request_id_token(
    url: str, bearer: str | None, audience: str | None = "sts.amazonaws.com"
) -> tuple[int, dict[str, Any]]:
    if audience is not None:
        url += "&audience=" + urllib.parse.quote(audience, safe="")
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def decode(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return result


def test_request_url_already_carries_the_api_version(github: GitHubOidcEndpoint) -> None:
    assert github.request_url == f"{github.url}/_apis/token?api-version=2.0"


def test_issues_a_well_formed_jwt_for_the_requested_audience(github: GitHubOidcEndpoint) -> None:
    status, body = request_id_token(github.request_url, github.request_token)
    assert status == 200
    assert body["count"] == 1
    header, claims, signature = body["value"].split(".")
    assert decode(header)["typ"] == "JWT"
    payload = decode(claims)
    assert payload["iss"] == "https://token.actions.githubusercontent.com"
    assert payload["sub"] == "repo:octo-org/octo-repo:ref:refs/heads/main"
    assert payload["aud"] == "sts.amazonaws.com"
    assert payload["iat"] <= time.time() < payload["exp"]
    assert signature and "=" not in body["value"]
    assert github.tokens_issued == 1
    assert github.last_audience == "sts.amazonaws.com"
    assert github.last_token == body["value"]


def test_missing_audience_defaults_to_the_repo_owner_url(github: GitHubOidcEndpoint) -> None:
    status, body = request_id_token(github.request_url, github.request_token, audience=None)
    assert status == 200
    assert decode(body["value"].split(".")[1])["aud"] == "https://github.com/octo-org"
    assert github.last_audience == "https://github.com/octo-org"


@pytest.mark.parametrize("bearer", [None, "wrong"])
def test_missing_or_wrong_bearer_is_401(github: GitHubOidcEndpoint, bearer: str | None) -> None:
    status, _ = request_id_token(github.request_url, bearer)
    assert status == 401
    assert github.tokens_issued == 0


def test_request_token_is_random_unless_given_and_never_logged() -> None:
    assert GitHubOidcEndpoint().request_token != GitHubOidcEndpoint().request_token
    with GitHubOidcEndpoint(
        request_token="FAKE-TOKEN-credpick-gha", subject="repo:a/b:env:prod"
    ) as gh:
        status, body = request_id_token(gh.request_url, "FAKE-TOKEN-credpick-gha", "aud-x")
        assert status == 200
        assert decode(body["value"].split(".")[1])["sub"] == "repo:a/b:env:prod"
        assert "FAKE-TOKEN-credpick-gha" not in repr(gh.requests) + repr(gh)
        assert gh.requests[0].path.endswith("api-version=2.0&audience=aud-x")


def test_error_mode_is_500_and_reset_restores(github: GitHubOidcEndpoint) -> None:
    request_id_token(github.request_url, github.request_token)
    github.set_mode("error")
    assert request_id_token(github.request_url, github.request_token)[0] == 500
    github.reset()
    assert (github.mode, github.tokens_issued, github.last_audience) == ("healthy", 0, None)
    assert github.requests == []
    assert request_id_token(github.request_url, github.request_token)[0] == 200


def test_other_paths_are_404(github: GitHubOidcEndpoint) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(github.url + "/other", timeout=2)
    assert info.value.code == 404
