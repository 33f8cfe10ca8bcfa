"""STS on loopback: moto's full emulator, and a fake that rejects every call."""

from __future__ import annotations

import logging
import threading
import urllib.request
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from typing_extensions import Self

from credpick.testing._server import Hang, LoopbackServer, Request, Response
from credpick.testing._sts_strict import StrictSts

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

__all__ = ["StsEmulator", "StsErrorCode", "StsRejecting"]

StsErrorCode = Literal[
    "InvalidIdentityToken",
    "ExpiredTokenException",
    "AccessDenied",
    "IDPRejectedClaim",
    "IDPCommunicationError",
]

_MESSAGES: dict[str, str] = {
    "InvalidIdentityToken": "Couldn't retrieve verification key from your identity provider",
    "ExpiredTokenException": "Token expired: current date/time must be before the expiration",
    "AccessDenied": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
    "IDPRejectedClaim": "Incorrect token audience",
    "IDPCommunicationError": "Couldn't communicate with the identity provider",
}
_LOOPBACK = "127.0.0.1"


class StsEmulator:
    """moto's STS (and every other moto service) on 127.0.0.1, behind a strict front.

    moto keeps its state in process-wide backends, so two emulators in one
    process share it and :meth:`reset` clears both. Its ``url`` is a
    :class:`~credpick.testing._sts_strict.StrictSts` in front of moto, which
    refuses what real STS refuses (a web identity token without JWT claims or
    past ``exp``, a call signed with expired emulator-issued keys) and reports
    an emulator-issued key's assumed role from ``GetCallerIdentity``.
    """

    def __init__(self, *, strict: bool = True) -> None:
        """Configure the emulator; moto is imported on :meth:`start`.

        Args:
            strict: Put the strict front before moto; False serves moto as is.
        """
        self._server: ThreadedMotoServer | None = None
        self._port: int | None = None
        self._front: StrictSts | None = None
        self.strict = strict
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not running"
        return f"StsEmulator({where})"

    def start(self) -> Self:
        """Start moto's threaded server on an ephemeral loopback port.

        Returns:
            This emulator.

        Raises:
            RuntimeError: If already running.
        """
        with self._lock:
            if self._server is not None:
                raise RuntimeError("StsEmulator is already running")
            from moto.server import ThreadedMotoServer  # slow import, ~0.5 s

            # werkzeug logs one line per request at INFO unless told otherwise.
            werkzeug_log = logging.getLogger("werkzeug")
            if werkzeug_log.level == logging.NOTSET:
                werkzeug_log.setLevel(logging.WARNING)
            # Port 0: werkzeug binds before start() returns and reports the
            # real port, so no race with another process grabbing it.
            server = ThreadedMotoServer(ip_address=_LOOPBACK, port=0, verbose=False)
            server.start()
            self._port = int(server.get_host_and_port()[1])
            self._server = server
            if self.strict:
                self._front = StrictSts((_LOOPBACK, self._port)).start()
        return self

    def stop(self) -> None:
        """Stop the server (takes up to ~0.5 s, werkzeug's poll interval)."""
        with self._lock:
            server, self._server, self._port = self._server, None, None
            front, self._front = self._front, None
        if front is not None:
            front.stop()
        if server is not None:
            server.stop()

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is running."""
        return self._server is not None

    @property
    def host(self) -> str:
        """Always ``127.0.0.1``."""
        return _LOOPBACK

    @property
    def port(self) -> int:
        """The bound port.

        Raises:
            RuntimeError: If not running.
        """
        if self._port is None:
            raise RuntimeError("StsEmulator is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, for ``endpoint_url=`` or ``AWS_ENDPOINT_URL_STS``: the strict front."""
        front = self._front
        return front.url if front is not None else self.moto_url

    @property
    def moto_url(self) -> str:
        """moto's own URL, without the strict front."""
        return f"http://{self.host}:{self.port}"

    @property
    def front(self) -> StrictSts | None:
        """The strict front, while running with ``strict=True``."""
        return self._front

    def reset(self) -> None:
        """Wipe moto's state (roles, sessions, ...) via ``/moto-api/reset``."""
        request = urllib.request.Request(self.moto_url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()


class StsRejecting(LoopbackServer):
    """A fake STS (AWS Query protocol) whose every answer is an error.

    The reply is STS's own XML error document with HTTP 400, so botocore
    raises ``ClientError`` with ``Error.Code == code``.
    """

    def __init__(self, *, code: StsErrorCode = "InvalidIdentityToken", message: str | None = None):
        """Configure the fake; call :meth:`start` to serve.

        Args:
            code: The STS error code to answer with.
            message: Error message; a realistic one per code by default.
        """
        super().__init__()
        self.code: StsErrorCode = code
        self.message = message or _MESSAGES[code]
        self._actions: list[str] = []

    @property
    def actions(self) -> list[str]:
        """The ``Action`` of each call received, oldest first."""
        with self._lock:
            return list(self._actions)

    def _reset_state(self) -> None:
        self._actions.clear()

    def _handle(self, request: Request) -> Response | Hang:
        form = parse_qs(request.body.decode("utf-8", "replace"))
        query_action = request.query.get("Action")
        action = form.get("Action", [query_action or ""])[0]
        with self._lock:
            self._actions.append(action)
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
            "  <Error>\n"
            "    <Type>Sender</Type>\n"
            f"    <Code>{escape(self.code)}</Code>\n"
            f"    <Message>{escape(self.message)}</Message>\n"
            "  </Error>\n"
            f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
            "</ErrorResponse>\n"
        )
        return Response(status=400, body=body.encode(), content_type="text/xml")
