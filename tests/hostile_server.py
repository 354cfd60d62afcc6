"""A hostile Botpress Cloud stand-in on 127.0.0.1: it answers what its :class:`Plan` says.

Unlike the sandbox (a faithful server with fault knobs, for the demo), this one exists to
hurt the client: a gzip bomb, a huge plain body, an endless chunked body, endless pages,
workspace IDs bpshell must refuse, names full of control and bidi characters. Every loop it
runs is bounded in bytes and in seconds, and :meth:`HostileServer.close` ends them at once,
so a client that keeps reading (a bpshell without the bounds under test) cannot keep a test,
or a thread, alive.

Routes (any token is accepted)::

    GET /v1/admin/account/me          {"account": plan.account}
    GET /v1/admin/workspaces          one page of plan.workspaces, or an endless page walk
    GET /v1/admin/workspaces/{id}     plan.workspace_answer, else the listed one with that ID
"""

from __future__ import annotations

import json
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

Body = Literal["json", "gzip_bomb", "double_gzip_bomb", "huge", "endless"]

BOMB_DECODED_BYTES = 1 << 30  # what the ~1 MB gzip bomb decodes to
HUGE_BYTES = 500 << 20  # the plain body, announced in Content-Length
STREAM_LIMIT_BYTES = 3 << 30  # no streamed answer is longer than this...
STREAM_LIMIT_S = 30.0  # ...or lasts longer than this
PAGE_LIMIT = 10_000  # endless pages end (with no nextToken) after this many
CHUNK = 64 << 10
_ZEROS_MIB = bytes(1 << 20)


@dataclass
class Plan:
    """What the server answers; tests change it before running ``bp``."""

    body: Body = "json"
    account: dict[str, Any] = field(
        default_factory=lambda: {"id": "acc_1", "email": "alice@example.com"}
    )
    workspaces: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": "ws_acme", "name": "acme"}]
    )
    endless_pages: bool = False
    page_delay_s: float = 0.0
    workspace_answer: dict[str, Any] | None = None


@cache
def gzip_bomb() -> bytes:
    """~1 MB of gzip that decodes to :data:`BOMB_DECODED_BYTES` zero bytes (built in ~0.5 s).

    After a full flush a deflate stream restarts, so one compressed MiB of zeros can be
    repeated as it is; only the gzip trailer (CRC and size) needs the whole length.
    """
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(_ZEROS_MIB) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = BOMB_DECODED_BYTES // len(_ZEROS_MIB)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(_ZEROS_MIB, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, BOMB_DECODED_BYTES & 0xFFFFFFFF)
    return header + block * count + deflate.flush() + trailer


@cache
def double_gzip_bomb() -> bytes:
    """The bomb gzipped once more, for ``Content-Encoding: gzip, gzip``."""
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return outer.compress(gzip_bomb()) + outer.flush()


class HostileServer:
    """The server, in a thread; use as a context manager (it is stopped on exit)."""

    def __init__(self) -> None:
        self.plan = Plan()
        self.paths: list[str] = []
        self.pages_served = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.hostile = self
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving and end every answer still being streamed."""
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def next_page(self) -> int:
        with self._lock:
            self.pages_served += 1
            return self.pages_served


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() must not wait for a client that keeps reading
    hostile: HostileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client hanging up on a hostile answer is the expected end
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that stops reading does not hold a thread for ever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        hostile = self.server.hostile
        hostile.paths.append(self.path)
        try:
            self._answer(hostile, hostile.plan)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client gave up, as it should

    def _answer(self, hostile: HostileServer, plan: Plan) -> None:
        if plan.body == "gzip_bomb":
            self._send(200, gzip_bomb(), {"Content-Encoding": "gzip"})
        elif plan.body == "double_gzip_bomb":
            self._send(200, double_gzip_bomb(), {"Content-Encoding": "gzip, gzip"})
        elif plan.body == "huge":
            self._stream(hostile, HUGE_BYTES)
        elif plan.body == "endless":
            self._stream(hostile, None)
        else:
            status, answer = self._route(hostile, plan, urlsplit(self.path))
            self._send(status, json.dumps(answer).encode(), {})

    def _route(self, hostile: HostileServer, plan: Plan, url: Any) -> tuple[int, Any]:
        path: str = url.path
        if path == "/v1/admin/account/me":
            return 200, {"account": plan.account}
        if path == "/v1/admin/workspaces":
            if not plan.endless_pages:
                return 200, {"workspaces": plan.workspaces, "meta": {}}
            number = hostile.next_page()
            hostile.stopping.wait(plan.page_delay_s)
            more = {"nextToken": f"page{number + 1}"} if number < PAGE_LIMIT else {}
            return 200, {"workspaces": [{"id": f"ws_p{number}", "name": "p"}], "meta": more}
        if path.startswith("/v1/admin/workspaces/"):
            asked = path.rsplit("/", 1)[1]
            if plan.workspace_answer is not None:
                return 200, plan.workspace_answer
            for workspace in plan.workspaces:
                if workspace.get("id") == asked:
                    return 200, workspace
        return 404, {"id": "err_1", "code": 404, "type": "ResourceNotFound", "message": "no"}

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, hostile: HostileServer, length: int | None) -> None:
        """Spaces (valid JSON whitespace) in chunks: ``length`` bytes announced, or chunked
        for ever; either way at most :data:`STREAM_LIMIT_BYTES` and :data:`STREAM_LIMIT_S`."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        chunk = b" " * CHUNK
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        limit = min(length or STREAM_LIMIT_BYTES, STREAM_LIMIT_BYTES)
        ends = time.monotonic() + STREAM_LIMIT_S
        sent = 0
        while sent < limit and time.monotonic() < ends and not hostile.stopping.is_set():
            size = min(CHUNK, limit - sent)
            self.wfile.write(chunk[:size] if length is not None else framed)
            sent += size
        if length is None:
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True
