"""Emulator of IAM Identity Center's SSO-OIDC ``CreateToken``, which refreshes ``aws sso login``.

botocore's ``SSOTokenProvider`` calls ``POST /token`` (rest-json, unsigned) with
``{"grantType": "refresh_token", "clientId", "clientSecret", "refreshToken"}``
when the cached access token is within 15 minutes of expiry. Errors carry the
service's shapes: an ``x-amzn-ErrorType`` header and an ``error`` /
``error_description`` body (``service-2.json`` of ``sso-oidc``).
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from credpick.testing._server import Hang, LoopbackServer, Request, Response, json_response
from credpick.testing._state import Modes

if TYPE_CHECKING:
    from credpick.testing._sso import SsoPortal

__all__ = ["SsoOidcEndpoint", "SsoOidcMode"]

SsoOidcMode = Literal["ok", "invalid-grant", "expired-token", "invalid-client"]
_PATH = "/token"
# Code, HTTP status and the body's `error` value, as the service sends them.
_ERRORS: dict[str, tuple[int, str, str]] = {
    "InvalidGrantException": (400, "invalid_grant", "Invalid refresh token provided"),
    "ExpiredTokenException": (400, "expired_token", "Refresh token has expired"),
    "InvalidClientException": (401, "invalid_client", "Client authentication failed"),
    "InvalidRequestException": (400, "invalid_request", "Missing required parameter"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type", "Unsupported grant type"),
}
_FORCED = {
    "invalid-grant": "InvalidGrantException",
    "expired-token": "ExpiredTokenException",
    "invalid-client": "InvalidClientException",
}


def _error(code: str) -> Response:
    status, error, description = _ERRORS[code]
    # botocore's rest-json parser takes the code from this header (up to a ':').
    return json_response(
        status,
        {"error": error, "error_description": description},
        headers=(("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/coral/"),),
    )


class SsoOidcEndpoint(Modes[SsoOidcMode], LoopbackServer):
    """Serve ``POST /token`` (the refresh-token grant) for one registered client.

    Point botocore at it with ``AWS_ENDPOINT_URL_SSO_OIDC``. Each success
    issues a new access token (accepted from then on by ``portal``, when given)
    and rotates the refresh token, as the service does.

    Modes:
        ``ok``: refresh when client and refresh token match, else the real error.
        ``invalid-grant``, ``expired-token``, ``invalid-client``: that error always.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        portal: SsoPortal | None = None,
        expires_in: timedelta = timedelta(hours=1),
        mode: SsoOidcMode = "ok",
    ) -> None:
        """Configure the endpoint; call :meth:`start` to serve.

        Args:
            client_id: The registered client's id (the cache's ``clientId``).
            client_secret: Its secret (the cache's ``clientSecret``).
            refresh_token: The refresh token the first request must carry.
            portal: An :class:`SsoPortal` to accept each issued access token.
            expires_in: Lifetime of issued access tokens (``expiresIn``).
            mode: See the class docstring.
        """
        super().__init__()
        self.client_id = client_id
        self._client_secret = client_secret
        self.refresh_token = self._first_refresh_token = refresh_token
        self.portal = portal
        self.expires_in = expires_in
        self.tokens_issued = 0
        self._init_mode(mode)

    def __repr__(self) -> str:
        where = self.url if self.running else "not running"
        return f"SsoOidcEndpoint({where})"

    def _reset_state(self) -> None:
        self._restore_mode()
        self.refresh_token = self._first_refresh_token
        self.tokens_issued = 0

    def _handle(self, request: Request) -> Response | Hang:
        if request.path != _PATH or request.method != "POST":
            return json_response(404, {"message": "Not Found"})
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) and body[k] for k in ("clientId", "clientSecret")
        ):
            return _error("InvalidRequestException")
        with self._lock:
            forced = _FORCED.get(self._mode)
            if forced:
                return _error(forced)
            if (body["clientId"], body["clientSecret"]) != (self.client_id, self._client_secret):
                return _error("InvalidClientException")
            if body.get("grantType") != "refresh_token":
                return _error("UnsupportedGrantTypeException")
            if body.get("refreshToken") != self.refresh_token:
                return _error("InvalidGrantException")
            access = "sso-refreshed-" + secrets.token_urlsafe(24)
            self.refresh_token = "refresh-" + secrets.token_urlsafe(24)
            self.tokens_issued += 1
            refresh = self.refresh_token
        if self.portal is not None:
            self.portal.accept(access)
        return json_response(
            200,
            {
                "accessToken": access,
                "tokenType": "Bearer",
                "expiresIn": int(self.expires_in.total_seconds()),
                "refreshToken": refresh,
            },
        )
