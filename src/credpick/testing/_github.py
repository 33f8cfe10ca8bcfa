"""Emulator of the GitHub Actions OIDC token request endpoint."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Literal

from credpick.testing._server import (
    Hang,
    LoopbackServer,
    Request,
    Response,
    json_response,
    text_response,
)
from credpick.testing._state import Modes

__all__ = ["GitHubMode", "GitHubOidcEndpoint"]

GitHubMode = Literal["healthy", "error"]

_ISSUER = "https://token.actions.githubusercontent.com"
_TOKEN_PATH = "/_apis/token"
_LIFETIME_SECONDS = 300  # GitHub's ID tokens are short-lived too


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_json(value: object) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode())


class GitHubOidcEndpoint(Modes[GitHubMode], LoopbackServer):
    """Answer ``ACTIONS_ID_TOKEN_REQUEST_URL`` requests with fake ID tokens.

    The JWT is well formed (header.payload.signature, base64url) but its
    signature is random bytes: nothing can verify it.
    """

    def __init__(
        self,
        *,
        request_token: str | None = None,
        subject: str = "repo:octo-org/octo-repo:ref:refs/heads/main",
        mode: GitHubMode = "healthy",
    ) -> None:
        """Configure the endpoint; call :meth:`start` to serve.

        Args:
            request_token: Value for ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``;
                random when None.
            subject: The ``sub`` claim, ``repo:OWNER/REPO:...``.
            mode: ``healthy`` or ``error`` (500 for every request).
        """
        super().__init__()
        self.request_token = request_token or "FAKE-GHA-credpick-" + secrets.token_urlsafe(24)
        self.subject = subject
        self._init_mode(mode)
        self._tokens_issued = 0
        self._last_audience: str | None = None
        self._last_token: str | None = None

    def __repr__(self) -> str:
        # request_token is a credential; keep it out of reprs.
        return f"GitHubOidcEndpoint(subject={self.subject!r}, mode={self.mode!r})"

    @property
    def request_url(self) -> str:
        """Value for ``ACTIONS_ID_TOKEN_REQUEST_URL`` (already has a query)."""
        return f"{self.url}{_TOKEN_PATH}?api-version=2.0"

    @property
    def tokens_issued(self) -> int:
        """How many ID tokens were handed out."""
        with self._lock:
            return self._tokens_issued

    @property
    def last_audience(self) -> str | None:
        """The ``aud`` claim of the last token issued."""
        with self._lock:
            return self._last_audience

    @property
    def last_token(self) -> str | None:
        """The last JWT issued, to compare with what reached STS."""
        with self._lock:
            return self._last_token

    @property
    def owner_url(self) -> str:
        """``https://github.com/OWNER``, GitHub's default audience."""
        repo = self.subject.split(":", 2)[1] if self.subject.startswith("repo:") else ""
        return "https://github.com/" + repo.split("/", 1)[0]

    def _reset_state(self) -> None:
        self._restore_mode()
        self._tokens_issued = 0
        self._last_audience = self._last_token = None

    def _handle(self, request: Request) -> Response | Hang:
        if request.path != _TOKEN_PATH:
            return text_response(404, "Not Found")
        if request.method != "GET":
            return text_response(405, "Method Not Allowed")
        if request.header("Authorization") != f"Bearer {self.request_token}":
            return json_response(401, {"message": "Bad credentials"})
        if self.mode == "error":
            return json_response(500, {"message": "Internal server error"})
        audience = request.query.get("audience") or self.owner_url
        token = self._mint(audience)
        with self._lock:
            self._tokens_issued += 1
            self._last_audience, self._last_token = audience, token
        return json_response(200, {"count": 1, "value": token})

    def _mint(self, audience: str) -> str:
        now = int(time.time())
        repo = self.subject.split(":", 2)[1] if self.subject.startswith("repo:") else ""
        header = {"alg": "RS256", "typ": "JWT", "kid": "credpick-fake-key"}
        claims = {
            "iss": _ISSUER,
            "sub": self.subject,
            "aud": audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + _LIFETIME_SECONDS,
            "jti": secrets.token_hex(16),
            "repository": repo,
            "repository_owner": repo.split("/", 1)[0],
        }
        signature = _b64url(secrets.token_bytes(64))
        return ".".join((_b64url_json(header), _b64url_json(claims), signature))
