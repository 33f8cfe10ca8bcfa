"""Emulator of the IAM Identity Center (SSO) portal's GetRoleCredentials."""

from __future__ import annotations

from datetime import timedelta

from credpick.testing._server import (
    Hang,
    LoopbackServer,
    Request,
    Response,
    json_response,
    text_response,
)
from credpick.testing._state import CredentialIssuer

__all__ = ["SsoPortal"]

_PATH = "/federation/credentials"


def _error(status: int, error_type: str, message: str) -> Response:
    # botocore's rest-json parser takes the error code from this header.
    return json_response(status, {"message": message}, headers=(("x-amzn-ErrorType", error_type),))


class SsoPortal(CredentialIssuer, LoopbackServer):
    """Serve ``GET /federation/credentials`` for one account and role.

    Point botocore at it with ``AWS_ENDPOINT_URL_SSO`` or ``endpoint_url=``.
    """

    def __init__(
        self,
        *,
        access_token: str,
        account_id: str = "123456789012",
        role_name: str = "credpick-sso-role",
        expires_in: timedelta = timedelta(hours=1),
    ) -> None:
        """Configure the portal; call :meth:`start` to serve.

        Args:
            access_token: The SSO access token (from the token cache) the
                ``x-amz-sso_bearer_token`` header must carry.
            account_id: The only account with a role assignment.
            role_name: The only role assigned.
            expires_in: Lifetime of issued role credentials.
        """
        super().__init__()
        self.access_token = access_token
        self.role_name = role_name
        self._refreshed: set[str] = set()
        self._init_credentials(expires_in, account_id)

    def _session_arn(self) -> str | None:
        # Identity Center names the session after the person who logged in.
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/credpick-person"

    def accept(self, access_token: str) -> None:
        """Accept another access token too, as one SSO-OIDC just issued.

        Args:
            access_token: The new token; ``reset()`` forgets it.
        """
        with self._lock:
            self._refreshed.add(access_token)

    def _reset_state(self) -> None:
        self._refreshed.clear()
        self._reissue()

    def _handle(self, request: Request) -> Response | Hang:
        if request.path != _PATH:
            return _error(404, "ResourceNotFoundException", "Not Found")
        if request.method != "GET":
            return text_response(405, "Method Not Allowed")
        bearer = request.header("x-amz-sso_bearer_token")
        with self._lock:
            known = bearer == self.access_token or bearer in self._refreshed
        if not known:
            return _error(401, "UnauthorizedException", "Session token not found or invalid")
        role, account = request.query.get("role_name"), request.query.get("account_id")
        if not role or not account:
            return _error(400, "InvalidRequestException", "role_name and account_id are required")
        if (role, account) != (self.role_name, self.account_id):
            return _error(403, "ForbiddenException", "No access")
        creds = self.credentials
        return json_response(
            200,
            {
                "roleCredentials": {
                    "accessKeyId": creds.access_key_id,
                    "secretAccessKey": creds.secret_access_key,
                    "sessionToken": creds.token,
                    "expiration": creds.expiration_epoch_ms,
                }
            },
        )
