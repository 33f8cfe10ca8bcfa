"""Emulator of the EC2 instance metadata service (IMDSv2 and IMDSv1)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Literal

from credpick.testing._fakes import FakeCredentials, iso8601
from credpick.testing._server import (
    Hang,
    LoopbackServer,
    Request,
    Response,
    text_response,
)
from credpick.testing._state import CredentialIssuer, Modes

__all__ = ["ImdsEmulator", "ImdsMode"]

ImdsMode = Literal["healthy", "imdsv1-only", "token-hangs", "error", "malformed", "no-role"]

_TOKEN_PATH = "/latest/api/token"
_CREDS_PREFIX = "/latest/meta-data/iam/security-credentials/"
_MAX_TTL = 21600  # the real service rejects anything above six hours


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ImdsEmulator(CredentialIssuer, Modes[ImdsMode], LoopbackServer):
    """Serve instance metadata the way an EC2 instance does.

    Modes:
        ``healthy``: IMDSv2 required; token, role and credentials are served.
        ``imdsv1-only``: the token PUT gets 403 (as from an old or third-party
            IMDS), and GETs work without a token.
        ``token-hangs``: the token PUT never answers, as when an instance with
            hop limit 1 is reached from inside a container; GETs still
            require a token.
        ``error``: every request gets 500.
        ``malformed``: the credentials document is not JSON.
        ``no-role``: no instance profile; the role listing is 404.

    As the real service: a token lives for the TTL its PUT asked for (1 to
    21600 seconds, else 400) and is refused with 401 after it, by the
    emulator's ``clock``; a token PUT that carries ``X-Forwarded-For`` is 403;
    every document, the credentials JSON included, is ``text/plain``.
    """

    def __init__(
        self,
        *,
        mode: ImdsMode = "healthy",
        role_name: str | None = "credpick-test-role",
        region: str = "us-east-1",
        expires_in: timedelta = timedelta(hours=6),
        instance_id: str = "i-0123456789abcdef0",
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """Configure the emulator; call :meth:`start` to serve.

        Args:
            mode: Initial behaviour, see the class docstring.
            role_name: Instance profile role, or None for no role (404).
            region: Served at ``placement/region``.
            expires_in: Lifetime of issued credentials.
            instance_id: Served at ``instance-id``.
            clock: The time tokens expire by (aware); move it to expire them.
        """
        super().__init__()
        self._init_mode(mode)
        self.role_name = role_name
        self.region = region
        self.instance_id = instance_id
        self.account_id = "123456789012"
        self._init_credentials(expires_in, self.account_id)
        self.clock = clock
        self._issued_at = datetime.now(timezone.utc)
        self._tokens: dict[str, datetime] = {}

    def _session_arn(self) -> str | None:
        # An instance profile's session is named after the instance.
        if self.role_name is None:
            return None
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.instance_id}"

    @property
    def endpoint(self) -> str:
        """Base URL with a trailing slash, for ``AWS_EC2_METADATA_SERVICE_ENDPOINT``."""
        return self.url + "/"

    def rotate(self, expires_in: timedelta | None = None) -> FakeCredentials:
        """Issue new credentials, as IMDS does before the old ones expire.

        Args:
            expires_in: Lifetime of the new set; defaults to the constructor's.

        Returns:
            The new credentials, served from now on (``LastUpdated`` moves too).
        """
        fresh = super().rotate(expires_in)
        with self._lock:
            self._issued_at = datetime.now(timezone.utc)
        return fresh

    def _reset_state(self) -> None:
        self._restore_mode()
        self._reissue()
        self._issued_at = datetime.now(timezone.utc)
        self._tokens.clear()

    def _handle(self, request: Request) -> Response | Hang:
        with self._lock:
            mode = self._mode
        if mode == "error":
            return text_response(500, "Internal Server Error")
        if request.path == _TOKEN_PATH:
            return self._token(request, mode)
        if request.method != "GET":
            return text_response(405, "Method Not Allowed")
        if mode != "imdsv1-only" and not self._token_valid(request):
            return text_response(401, "Unauthorized")
        return self._metadata(request.path, mode)

    def _token(self, request: Request, mode: ImdsMode) -> Response | Hang:
        if request.method != "PUT":
            return text_response(405, "Method Not Allowed")
        if mode == "token-hangs":
            return Hang.HANG
        if mode == "imdsv1-only":
            return text_response(403, "Forbidden")
        if request.header("X-Forwarded-For") is not None:
            return text_response(403, "Forbidden")  # IMDS refuses tokens through a proxy
        ttl = request.header("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= _MAX_TTL:
            return text_response(400, "Bad Request")
        token = "FAKE-IMDS-TOKEN-credpick-" + secrets.token_urlsafe(32)
        expires = self.clock() + timedelta(seconds=int(ttl))
        with self._lock:
            self._tokens[token] = expires
        return Response(
            status=200,
            body=token.encode(),
            headers=(("X-aws-ec2-metadata-token-ttl-seconds", ttl),),
        )

    def _token_valid(self, request: Request) -> bool:
        token = request.header("X-aws-ec2-metadata-token")
        with self._lock:
            expires = self._tokens.get(token) if token is not None else None
        return expires is not None and self.clock() < expires

    def _metadata(self, path: str, mode: ImdsMode) -> Response:
        if path == "/latest/meta-data/placement/region":
            return text_response(200, self.region)
        if path == "/latest/meta-data/instance-id":
            return text_response(200, self.instance_id)
        if not path.startswith(_CREDS_PREFIX):
            return text_response(404, "Not Found")
        role = self.role_name if mode != "no-role" else None
        requested = path[len(_CREDS_PREFIX) :]
        if role is None or requested not in ("", role):
            return text_response(404, "Not Found")
        if requested == "":
            return text_response(200, role)
        if mode == "malformed":
            return text_response(200, "<html><body>not the credentials</body></html>")
        with self._lock:
            creds, issued_at = self._credentials, self._issued_at
        document = json.dumps(
            {
                "Code": "Success",
                "LastUpdated": iso8601(issued_at),
                "Type": "AWS-HMAC",
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "Token": creds.token,
                "Expiration": creds.expiration_iso,
            },
            indent=2,  # as IMDS lays it out
        )
        return text_response(200, document)  # IMDS sends JSON as text/plain
