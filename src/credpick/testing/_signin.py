"""Emulator of the AWS Sign-In service's CreateOAuth2Token, which refreshes ``aws login``.

botocore calls ``POST /v1/token`` (rest-json) with a DPoP proof header and
``{"clientId", "grantType": "refresh_token", "refreshToken"}``; the reply's
``tokenOutput`` carries new 15-minute credentials and a new refresh token.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Literal

from credpick.testing._server import Hang, LoopbackServer, Request, Response, json_response
from credpick.testing._state import CredentialIssuer, Modes

__all__ = ["SigninEndpoint", "SigninMode"]

SigninMode = Literal["ok", "expired", "insufficient-permissions"]
_PATH = "/v1/token"


def _denied(error: str) -> Response:
    # botocore reads the code from the header and `error` from the body.
    return json_response(
        400,
        {"error": error, "message": "injected"},
        headers=(("x-amzn-ErrorType", "AccessDeniedException"),),
    )


class SigninEndpoint(Modes[SigninMode], CredentialIssuer, LoopbackServer):
    """Serve ``POST /v1/token`` for one client and its current refresh token.

    Point botocore at it with ``AWS_ENDPOINT_URL_SIGNIN``.
    """

    def __init__(
        self,
        *,
        client_id: str,
        refresh_token: str,
        account_id: str = "123456789012",
        expires_in: timedelta = timedelta(minutes=15),
        mode: SigninMode = "ok",
    ) -> None:
        """Configure the endpoint; call :meth:`start` to serve.

        Args:
            client_id: The client id the cache holds.
            refresh_token: The refresh token the first request must carry.
            account_id: The account of the issued credentials.
            expires_in: Lifetime of issued credentials (the real service: 15 min).
            mode: ``"ok"``, or an ``AccessDeniedException`` with ``TOKEN_EXPIRED``
                (``"expired"``) or ``INSUFFICIENT_PERMISSIONS``.
        """
        super().__init__()
        self.client_id = client_id
        self.refresh_token = self._first_refresh_token = refresh_token
        self._init_credentials(expires_in, account_id)
        self._init_mode(mode)

    def _reset_state(self) -> None:
        self._restore_mode()
        self._reissue()
        self.refresh_token = self._first_refresh_token

    def _handle(self, request: Request) -> Response | Hang:
        if request.method != "POST" or request.path != _PATH:
            return json_response(404, {"message": "Not Found"})
        mode = self.mode
        if mode == "expired":
            return _denied("TOKEN_EXPIRED")
        if mode == "insufficient-permissions":
            return _denied("INSUFFICIENT_PERMISSIONS")
        if not request.header("dpop"):
            return json_response(400, {"error": "invalid_dpop_proof", "message": "no DPoP"})
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("grantType") != "refresh_token":
            return json_response(400, {"error": "invalid_request", "message": "bad body"})
        with self._lock:  # one refresh token is spent once, as the real service does
            if body.get("clientId") != self.client_id or body.get("refreshToken") != (
                self.refresh_token
            ):
                return _denied("TOKEN_EXPIRED")
            self.refresh_token = "refresh-" + secrets.token_urlsafe(24)
            self._reissue()
            creds, refresh_token = self._credentials, self.refresh_token
        return json_response(
            200,
            {
                "accessToken": {
                    "accessKeyId": creds.access_key_id,
                    "secretAccessKey": creds.secret_access_key,
                    "sessionToken": creds.token,
                },
                "tokenType": "aws_sigv4",
                "expiresIn": int(self._expires_in.total_seconds()),
                "refreshToken": refresh_token,
            },
        )
