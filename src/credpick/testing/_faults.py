"""Fault injection: a loopback endpoint that fails the way real ones do.

:class:`FaultyEndpoint` stands in front of a healthy upstream (another
emulator in this process, or a loopback URL such as moto's STS) and passes
every request through, until told to fail: answer some requests with a canned
reply (an HTTP error, a malformed or HTML body, an STS error code, expired
credentials), hold them without answering, or stop answering at the TCP level
(refuse connections, or drop SYNs like an unrouted address) while keeping its
port, so a URL a client already knows starts failing.

It counts what it served, which makes it a counting proxy as well.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import uuid
from typing import Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import attrs

from credpick.exceptions import ConfigurationError
from credpick.testing._fakes import FakeCredentials, RecordedRequest
from credpick.testing._server import (
    Hang,
    LoopbackServer,
    Request,
    Response,
    _Httpd,
    json_response,
    text_response,
)

__all__ = [
    "HTML_PAGE",
    "Fault",
    "FaultyEndpoint",
    "sts_credentials",
    "sts_error",
    "typed_error",
]

_LOOPBACK = "127.0.0.1"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
_STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"

#: What a captive portal or an intercepting proxy answers: 200, but HTML.
HTML_PAGE = Response(
    status=200,
    body=b"<!DOCTYPE html><html><head><title>Sign in</title></head>"
    b"<body><p>Please sign in to continue.</p></body></html>",
    content_type="text/html; charset=utf-8",
)


def sts_error(code: str, status: int = 400, message: str = "injected fault") -> Response:
    """STS's XML error document, for any error code (``Throttling``...).

    Args:
        code: The ``Error.Code`` botocore will report.
        status: The HTTP status (STS uses 400 for throttling too).
        message: The error message.

    Returns:
        The response.
    """
    body = (
        f'<ErrorResponse xmlns="{_STS_NS}">\n'
        f"  <Error><Type>Sender</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>\n"
        f"  <RequestId>{uuid.uuid4()}</RequestId>\n"
        "</ErrorResponse>\n"
    )
    return Response(status=status, body=body.encode(), content_type="text/xml")


def sts_credentials(
    credentials: FakeCredentials,
    role_arn: str = "arn:aws:iam::123456789012:role/credpick-test-role",
    action: str = "AssumeRoleWithWebIdentity",
) -> Response:
    """A successful STS reply carrying ``credentials``.

    Args:
        credentials: What to hand out (may be already expired).
        role_arn: The role the credentials claim to belong to.
        action: ``"AssumeRoleWithWebIdentity"`` or ``"AssumeRole"``: botocore
            parses the reply by the action's element names.

    Returns:
        The response.
    """
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "123456789012"
    role = role_arn.rsplit("/", 1)[-1]
    subject = (
        "    <SubjectFromWebIdentityToken>system:serviceaccount:x:y</SubjectFromWebIdentityToken>\n"
        if action == "AssumeRoleWithWebIdentity"
        else ""
    )
    body = (
        f'<{action}Response xmlns="{_STS_NS}">\n'
        f"  <{action}Result>\n"
        "    <Credentials>\n"
        f"      <AccessKeyId>{credentials.access_key_id}</AccessKeyId>\n"
        f"      <SecretAccessKey>{escape(credentials.secret_access_key)}</SecretAccessKey>\n"
        f"      <SessionToken>{escape(credentials.token)}</SessionToken>\n"
        f"      <Expiration>{credentials.expiration_iso}</Expiration>\n"
        "    </Credentials>\n"
        "    <AssumedRoleUser>\n"
        f"      <Arn>arn:aws:sts::{account}:assumed-role/{escape(role)}/credpick</Arn>\n"
        "      <AssumedRoleId>AROAFAKEFAKEFAKEFAKE:credpick</AssumedRoleId>\n"
        "    </AssumedRoleUser>\n"
        f"{subject}"
        f"  </{action}Result>\n"
        f"  <ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>\n"
        f"</{action}Response>\n"
    )
    return Response(status=200, body=body.encode(), content_type="text/xml")


def typed_error(status: int, error_type: str, message: str = "injected fault") -> Response:
    """A rest-json error (the SSO portal's shape): ``x-amzn-ErrorType`` names it.

    Args:
        status: The HTTP status.
        error_type: The error code botocore will report.
        message: The error message.

    Returns:
        The response.
    """
    return json_response(status, {"message": message}, headers=(("x-amzn-ErrorType", error_type),))


@attrs.frozen
class Fault:
    """What to answer instead of the upstream, and for which requests.

    Attributes:
        reply: The canned reply, or :data:`Hang.HANG` to never answer.
        path: Only requests whose path starts with this; every request if None.
        body_contains: Only requests whose body holds these bytes.
        times: How many matching requests fail; every one if None.
    """

    reply: Response | Hang
    path: str | None = None
    body_contains: bytes | None = attrs.field(default=None, repr=False)
    times: int | None = None

    def matches(self, request: Request) -> bool:
        """Whether this fault applies to ``request``."""
        if self.path is not None and not request.path.startswith(self.path):
            return False
        return self.body_contains is None or self.body_contains in request.body


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FaultyEndpoint(LoopbackServer):
    """A pass-through endpoint that fails on demand.

    Args:
        upstream: The healthy service: an emulator running in this process
            (its routes are called directly), or a loopback base URL that
            requests are forwarded to over HTTP.

    .. versionadded:: 0.1.0
    """

    #: How long a connect() waits while filling the accept queue in :meth:`cut`.
    _FILL_PROBE_SECONDS = 0.05
    _MAX_FILLERS = 32

    def __init__(self, upstream: LoopbackServer | str) -> None:
        if isinstance(upstream, str) and not _is_loopback_url(upstream):
            raise ConfigurationError("FaultyEndpoint only forwards to loopback addresses")
        super().__init__()
        self.upstream = upstream
        self._faults: list[Fault] = []
        self._remaining: list[int | None] = []
        self._faults_served = 0
        self._bound_port: int | None = None
        self._dark: list[socket.socket] = []
        self._dark_httpd: _Httpd | None = None

    # -- faults ------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Add a fault; the first matching fault with tries left answers.

        Args:
            fault: The fault.
        """
        with self._lock:
            self._faults.append(fault)
            self._remaining.append(fault.times)

    def heal(self) -> None:
        """Drop every fault: pass everything through again."""
        with self._lock:
            self._faults.clear()
            self._remaining.clear()

    @property
    def faults_served(self) -> int:
        """How many requests got a fault instead of the upstream's answer."""
        with self._lock:
            return self._faults_served

    def _reset_state(self) -> None:
        self._faults.clear()
        self._remaining.clear()
        self._faults_served = 0

    def _pick(self, request: Request) -> Response | Hang | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                left = self._remaining[i]
                if (left is None or left > 0) and fault.matches(request):
                    if left is not None:
                        self._remaining[i] = left - 1
                    self._faults_served += 1
                    return fault.reply
        return None

    def _handle(self, request: Request) -> Response | Hang:
        reply = self._pick(request)
        if reply is not None:
            return reply
        upstream = self.upstream
        if isinstance(upstream, LoopbackServer):
            upstream._record(
                RecordedRequest(
                    method=request.method,
                    path=request.target,
                    headers=dict(request.headers),
                    client_address=_LOOPBACK,
                )
            )
            return upstream._handle(request)
        return self._forward(upstream, request)

    @staticmethod
    def _forward(base: str, request: Request) -> Response:
        parts = urlsplit(base)
        conn = http.client.HTTPConnection(parts.hostname or _LOOPBACK, parts.port, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
            if request.body:
                headers["content-length"] = str(len(request.body))
            conn.request(request.method, request.target, body=request.body, headers=headers)
            reply = conn.getresponse()
            body = reply.read()
            content_type = reply.getheader("Content-Type") or "text/plain"
            extra = tuple(
                (k, v)
                for k, v in reply.getheaders()
                if k.lower() not in _HOP_BY_HOP
                and k.lower() not in ("content-type", "date", "server")
            )
        except (OSError, http.client.HTTPException) as exc:
            return text_response(502, f"upstream unreachable: {type(exc).__name__}")
        finally:
            conn.close()
        return Response(status=reply.status, body=body, content_type=content_type, headers=extra)

    # -- TCP-level faults --------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port; it stays the same after :meth:`cut`."""
        if self._bound_port is not None:
            return self._bound_port
        return super().port

    def cut(self, how: Literal["refuse", "drop"]) -> None:
        """Stop answering at the TCP level, keeping the port.

        Args:
            how: ``"refuse"``: connects get a reset (nothing listens, but the
                port stays held). ``"drop"``: the listener stops accepting and
                its queue is filled, so connects hang like a dropped SYN.

        Raises:
            RuntimeError: If not running, or the accept queue would not fill.
        """
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("FaultyEndpoint is not running")
        port = self.port
        self._bound_port = port
        self._release.set()
        httpd.shutdown()  # no more accept()s
        httpd.close_connections()  # keep-alive connections are cut too
        self._httpd = self._thread = None
        if how == "refuse":
            httpd.server_close()
            holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.bind((_LOOPBACK, port))  # bound, never listening: RST
            self._dark.append(holder)
            return
        self._dark_httpd = httpd
        httpd.socket.listen(0)  # the smallest queue, so a few fillers are enough
        for _ in range(self._MAX_FILLERS):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(self._FILL_PROBE_SECONDS)
            try:
                filler.connect((_LOOPBACK, port))
            except OSError:
                filler.close()
                return
            self._dark.append(filler)
        raise RuntimeError("could not fill the accept queue; connect() would not hang")

    def stop(self) -> None:
        """Stop serving and release every socket :meth:`cut` held."""
        super().stop()
        for sock in self._dark:
            with contextlib.suppress(OSError):
                sock.close()
        self._dark.clear()
        dark, self._dark_httpd = self._dark_httpd, None
        if dark is not None:
            with contextlib.suppress(OSError):
                dark.server_close()
        self._bound_port = None
