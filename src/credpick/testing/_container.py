"""Emulator of the ECS / EKS Pod Identity container credentials endpoint."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from credpick.exceptions import ConfigurationError
from credpick.testing._server import (
    Hang,
    LoopbackServer,
    Request,
    Response,
    json_response,
    text_response,
)
from credpick.testing._state import CredentialIssuer, Modes
from credpick.testing._sts_strict import assumed_role_arn

__all__ = ["ContainerCredentialsEndpoint", "ContainerMode"]

ContainerMode = Literal["healthy", "error", "forbidden", "malformed"]


class ContainerCredentialsEndpoint(CredentialIssuer, Modes[ContainerMode], LoopbackServer):
    """Serve credentials at ``AWS_CONTAINER_CREDENTIALS_FULL_URI``.

    When ``authorization`` is set the request's ``Authorization`` header must
    equal it exactly; botocore sends the token raw, without ``Bearer``.
    """

    def __init__(
        self,
        *,
        path: str = "/v1/credentials",
        authorization: str | None = None,
        mode: ContainerMode = "healthy",
        expires_in: timedelta = timedelta(hours=1),
        role_arn: str = "arn:aws:iam::123456789012:role/credpick-test-role",
        account_id: str = "123456789012",
    ) -> None:
        """Configure the endpoint; call :meth:`start` to serve.

        Args:
            path: Path credentials are served at (must start with ``/``).
            authorization: Required ``Authorization`` value, or None to accept
                any request (like the ECS relative-URI endpoint).
            mode: ``healthy``, or ``error`` (500), ``forbidden`` (403) or
                ``malformed`` (200 with a body that is not JSON).
            expires_in: Lifetime of issued credentials.
            role_arn: Reported as ``RoleArn``.
            account_id: Reported as ``AccountId``.
        """
        if not path.startswith("/"):
            raise ConfigurationError("path must start with '/'")
        super().__init__()
        self.path = path
        self.authorization = authorization
        self.role_arn = role_arn
        self._init_mode(mode)
        self._init_credentials(expires_in, account_id)

    def _session_arn(self) -> str | None:
        return assumed_role_arn(self.role_arn, "credpick-task")

    @property
    def full_uri(self) -> str:
        """Value for ``AWS_CONTAINER_CREDENTIALS_FULL_URI``."""
        return self.url + self.path

    def _reset_state(self) -> None:
        self._restore_mode()
        self._reissue()

    def _handle(self, request: Request) -> Response | Hang:
        if request.target != self.path and request.path != self.path:
            return text_response(404, "Not Found")
        if request.method != "GET":
            return text_response(405, "Method Not Allowed")
        if self.authorization is not None and request.header("Authorization") != (
            self.authorization
        ):
            return json_response(
                401, {"Code": "AccessDenied", "Message": "Authorization token is invalid"}
            )
        with self._lock:
            mode, creds = self._mode, self._credentials
        if mode == "error":
            return json_response(
                500, {"Code": "InternalError", "Message": "Unable to fetch credentials"}
            )
        if mode == "forbidden":
            return json_response(
                403, {"Code": "AccessDenied", "Message": "Not authorized to fetch credentials"}
            )
        if mode == "malformed":
            return text_response(200, "{'AccessKeyId': truncated")
        return json_response(
            200,
            {
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "Token": creds.token,
                "Expiration": creds.expiration_iso,
                "AccountId": self.account_id,
                "RoleArn": self.role_arn,
            },
        )
