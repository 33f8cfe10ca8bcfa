"""Web identity (EKS IRSA) and GitHub Actions OIDC, against moto's STS on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine

import credpick
from credpick import SourceKind, Status
from credpick.testing import GitHubOidcEndpoint, Simulation, StsRejecting
from credpick.testing._sts_strict import fake_jwt

from ..helpers import ROLE_ARN, STATIC_ENV, assert_no_secret, write


def _id_token(sub: str) -> str:
    return fake_jwt(
        sub=sub, aud="sts.amazonaws.com", iss="https://oidc.example", lifetime=dt.timedelta(hours=1)
    )


def use(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def irsa(credpick_runtime: Simulation) -> Path:
    """An EKS pod with IRSA: a projected token file and AWS_ROLE_ARN; returns the token file."""
    handle = credpick_runtime.use("web-identity")
    assert handle.role_arn == ROLE_ARN
    return Path(handle.env["AWS_WEB_IDENTITY_TOKEN_FILE"])


def test_irsa_assumes_the_role_through_sts(
    sts: Any, irsa: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, STATIC_ENV)
    session = credpick.session()
    credentials = session.get_credentials()
    assert credentials.method == "assume-role-with-web-identity"
    assert credentials.get_frozen_credentials().access_key.startswith("ASIA")
    identity = session.client("sts").get_caller_identity()
    assert "credpick-test-role" in identity["Arn"]


def test_token_file_is_reread_on_refresh(
    sts: Any, irsa: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    from credpick.sources._assume_web_identity import TokenFileLoader

    real = TokenFileLoader.__call__

    def spy(self: Any) -> str:
        token: str = real(self)
        seen.append(token)
        return token

    monkeypatch.setattr(TokenFileLoader, "__call__", spy)
    credentials = credpick.session().get_credentials()
    second = _id_token("second")  # the strict STS requires a JWT with claims
    irsa.write_text(second, encoding="utf-8")
    with time_machine.travel(dt.timedelta(minutes=55)):  # moto's credentials last 1 h
        credentials.get_frozen_credentials()
    assert seen[-1] == second and len(seen) == 2


@pytest.mark.parametrize("code", ["InvalidIdentityToken", "ExpiredTokenException", "AccessDenied"])
def test_sts_rejection_is_source_failed(
    irsa: Path, monkeypatch: pytest.MonkeyPatch, code: Any
) -> None:
    use(monkeypatch, {**STATIC_ENV, "AWS_REGION": "us-east-1"})
    with StsRejecting(code=code) as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", fake.url)
        with pytest.raises(credpick.SourceFailed) as info:
            credpick.session()
    assert info.value.kind == "web-identity"
    assert code in str(info.value) and info.value.fix
    assert_no_secret(str(info.value))


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token", "AWS_ROLE_ARN": ROLE_ARN},
            "does not exist",
        ),
        ({"AWS_WEB_IDENTITY_TOKEN_FILE": "/tmp"}, "AWS_ROLE_ARN is not"),
        # AWS_ROLE_ARN alone: an IRSA webhook that did not apply, a broken source.
        (
            {"AWS_ROLE_ARN": ROLE_ARN, "AWS_WEB_IDENTITY_TOKEN_FILE": ""},
            "AWS_WEB_IDENTITY_TOKEN_FILE is not",
        ),
    ],
)
def test_bad_web_identity_settings(make_context: Any, env: dict[str, str], needle: str) -> None:
    d = credpick.detect(context=make_context(env))
    assert isinstance(d.error, credpick.SourceFailed) and needle in str(d.error)


def test_profile_web_identity(
    sts: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = write(tmp_path / "tok", _id_token("profile"))
    write(
        home / ".aws" / "config",
        f"[profile irsa]\nrole_arn = {ROLE_ARN}\nweb_identity_token_file = {token}\n",
    )
    monkeypatch.setenv("AWS_PROFILE", "irsa")
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.WEB_IDENTITY and d.chosen.explicit
    assert (
        credpick.session().get_credentials().get_frozen_credentials().access_key.startswith("ASIA")
    )


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubOidcEndpoint]:
    with GitHubOidcEndpoint() as endpoint:
        use(
            monkeypatch,
            {
                "ACTIONS_ID_TOKEN_REQUEST_URL": endpoint.request_url,
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": endpoint.request_token,
                "GITHUB_ACTIONS": "true",
                "GITHUB_RUN_ID": "4242",
            },
        )
        yield endpoint


def test_github_oidc_fetches_a_token_per_refresh(
    sts: Any, github: GitHubOidcEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, STATIC_ENV)
    session = credpick.session(role_arn=ROLE_ARN)
    credentials = session.get_credentials()
    assert credentials.get_frozen_credentials().access_key.startswith("ASIA")
    assert github.tokens_issued == 1 and github.last_audience == "sts.amazonaws.com"
    with time_machine.travel(dt.timedelta(minutes=55)):
        credentials.get_frozen_credentials()
    assert github.tokens_issued == 2
    d = credpick.detect(role_arn=ROLE_ARN)
    assert [c.status for c in d.candidates] == [Status.CHOSEN, Status.IGNORED]
    assert github.request_token not in d.explain()


def test_github_without_role_is_unavailable_and_static_is_used(
    github: GitHubOidcEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, STATIC_ENV)
    d = credpick.detect()
    assert d.chosen is not None and d.chosen.kind is SourceKind.STATIC
    gh = next(c for c in d.candidates if c.kind is SourceKind.GITHUB_OIDC)
    assert gh.status is Status.UNAVAILABLE and "AWS_ROLE_ARN" in (gh.fix or "")


def test_github_endpoint_error_fails_closed(sts: Any, github: GitHubOidcEndpoint) -> None:
    github.set_mode("error")
    with pytest.raises(credpick.SourceFailed) as info:
        credpick.session(role_arn=ROLE_ARN)
    assert info.value.kind == "github-oidc" and "HTTP 500" in str(info.value)
    assert "id-token: write" in str(info.value)
