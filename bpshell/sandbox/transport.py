"""HTTP/1.1 over loopback for a sandbox: one thread per connection, keep-alive, quick stop.

The handler only speaks HTTP: it reads a request into an :class:`ApiRequest`, hands it to the
sandbox with itself as the :class:`Responder`, and sends what it is given.  Bodies are read
in full before anything else (at most 1 MiB, ``Content-Length`` only); a body it refuses is
answered 400 ``InvalidPayload`` or 413 ``PayloadTooLarge`` and the connection closed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import parse_qs, urlsplit

from bpshell.sandbox.control import CONTROL_PREFIX, control
from bpshell.sandbox.replies import Reply, error_reply

if TYPE_CHECKING:
    from bpshell.sandbox.server import Sandbox

MAX_BODY_BYTES = 1 << 20
_RESET_PAUSE_SECONDS = 0.05


@dataclass(frozen=True)
class ApiRequest:
    """An admin API request; ``problem`` is the answer to a body that was refused."""

    method: str
    target: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    client: str
    problem: Reply | None = None


class Responder(Protocol):
    """How the sandbox answers one request."""

    def send(self, reply: Reply) -> int:
        """Send ``reply``; return its status."""

    def send_and_reset(self, reply: Reply) -> int:
        """Send the headers and half the body, then reset the connection; return the status."""

    def drop(self) -> None:
        """Close the connection without an answer."""


class SandboxHTTPServer(ThreadingHTTPServer):
    """The listening socket of one sandbox."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.sandbox._stopping.is_set():
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BotpressSandbox/1.0"
    sys_version = ""
    disable_nagle_algorithm = True

    @property
    def _sandbox(self) -> Sandbox:
        return cast(SandboxHTTPServer, self.server).sandbox

    def setup(self) -> None:
        super().setup()
        if not self._sandbox._register(self.connection):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._sandbox._unregister(self.connection)
        super().finish()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, on the sandbox's clock (:attr:`Sandbox.clock_offset_s`)."""
        now = time.time() if timestamp is None else timestamp
        return super().date_time_string(now + self._sandbox.clock_offset_s)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and the demo own the terminal."""

    def _dispatch(self) -> None:
        body, problem = self._read_body()
        parts = urlsplit(self.path)
        if parts.path.startswith(CONTROL_PREFIX):
            if problem is not None:
                self.send(problem)
            else:
                self._serve_control(parts.path[len(CONTROL_PREFIX) :], body)
            return
        request = ApiRequest(
            method=self.command,
            target=self.path,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
            client=str(self.client_address[0]),
            problem=problem,
        )
        self._sandbox._handle_api(request, self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> tuple[bytes, Reply | None]:
        """Read the request body, or the answer refusing it (and close after answering)."""
        problem: Reply | None = None
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            problem = error_reply(400, "InvalidPayload", "Chunked bodies are not supported")
        length_text = self.headers.get("Content-Length", "0").strip() or "0"
        if problem is None and not (length_text.isascii() and length_text.isdigit()):
            problem = error_reply(400, "InvalidPayload", "Invalid Content-Length")
        if problem is None and int(length_text) > MAX_BODY_BYTES:
            problem = error_reply(413, "PayloadTooLarge", "The request body is too large")
        if problem is not None:
            self.close_connection = True
            return b"", problem
        length = int(length_text)
        return (self.rfile.read(length) if length else b""), None

    def _serve_control(self, name: str, body: bytes) -> None:
        try:
            payload: object = json.loads(body) if body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.send(error_reply(400, "InvalidPayload", "The body is not valid JSON"))
            return
        self.send(control(self._sandbox, self.command, name, payload))

    def _send_headers(self, reply: Reply, content_length: int) -> None:
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(content_length))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def send(self, reply: Reply) -> int:
        self._send_headers(reply, len(reply.body))
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)
        return reply.status

    def send_and_reset(self, reply: Reply) -> int:
        body = reply.body or b"{}"
        self._send_headers(reply, len(body))
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True
        self._sandbox._sleep(_RESET_PAUSE_SECONDS)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.rfile.close()
        return reply.status

    def drop(self) -> None:
        self.close_connection = True
