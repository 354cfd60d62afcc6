"""Loopback stand-ins for a corporate network: HTTPS in front of the sandbox, and a proxy.

:class:`TlsFront` terminates TLS with a certificate of a private CA (``trustme``) and passes
the bytes on to a plain-HTTP server (the sandbox). :class:`ForwardProxy` is an HTTP proxy:
``CONNECT host:port`` opens a tunnel, a request in absolute form (``GET http://…``) is
forwarded; it can ask for credentials (407) or refuse every tunnel (403), and it logs every
byte a client sent it (``seen``) and each request head (``heads``). Both serve from an
asyncio loop in a thread of their own, on 127.0.0.1, until the ``with`` block ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import threading
import types
from collections.abc import Awaitable, Callable


class _Server:
    """An asyncio server on 127.0.0.1 in a thread; subclasses give ``_serve``."""

    ssl_context: ssl.SSLContext | None = None

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None

    def __enter__(self) -> _Server:
        self._thread.start()
        assert self._ready.wait(10), "the server did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        tls = {"ssl": self.ssl_context, "ssl_handshake_timeout": 5} if self.ssl_context else {}
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, **tls)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.CancelledError):
            pass  # a client that went away, or the server stopping: nothing to report
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    record: Callable[[bytes], None] | None = None,
) -> None:
    try:
        while chunk := await reader.read(65536):
            if record is not None:
                record(chunk)
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _both_ways(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    record: Callable[[bytes], None] | None = None,
) -> None:
    pipes: list[Awaitable[None]] = [
        _pipe(client[0], server[1], record),
        _pipe(server[0], client[1]),
    ]
    await asyncio.gather(*pipes, return_exceptions=True)


class TlsFront(_Server):
    """``https://127.0.0.1:port`` (and ``https://localhost:port``) in front of ``target``."""

    def __init__(self, target_port: int, ssl_context: ssl.SSLContext) -> None:
        super().__init__()
        self.target_port = target_port
        self.ssl_context = ssl_context
        self.connections = 0

    def __enter__(self) -> TlsFront:
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
        await _both_ways((reader, writer), upstream)


class ForwardProxy(_Server):
    """An HTTP proxy on ``http://127.0.0.1:port``.

    ``credentials`` ("user:password"): answer 407 to requests without them. ``refuse``: answer
    403 to every CONNECT. ``hosts`` maps names to the port on 127.0.0.1 they reach (other
    targets must be 127.0.0.1 or localhost: the proxy never connects elsewhere).
    """

    def __init__(
        self,
        *,
        credentials: str | None = None,
        refuse: bool = False,
        hosts: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.credentials = credentials
        self.refuse = refuse
        self.hosts = hosts or {}
        self.seen = bytearray()
        self.heads: list[str] = []

    def __enter__(self) -> ForwardProxy:
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def request_lines(self) -> list[str]:
        return [head.split("\r\n", 1)[0] for head in self.heads]

    def _record(self, chunk: bytes) -> None:
        self.seen += chunk

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = await reader.readuntil(b"\r\n\r\n")
        self._record(raw)
        head = raw.decode("latin-1")
        self.heads.append(head)
        method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in head.split("\r\n")[1:] if line)
        }
        if self.credentials is not None:
            wanted = "Basic " + base64.b64encode(self.credentials.encode()).decode()
            if headers.get("proxy-authorization") != wanted:
                await self._answer(
                    writer,
                    "407 Proxy Authentication Required",
                    'Proxy-Authenticate: Basic realm="test"\r\n',
                )
                return
        if method == "CONNECT":
            await self._tunnel(target, reader, writer)
        else:
            await self._forward(method, target, raw, headers, reader, writer)

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self.refuse:
            await self._answer(writer, "403 Forbidden")
            return
        host, _, port = target.rpartition(":")
        upstream = await asyncio.open_connection("127.0.0.1", self._port_of(host, int(port)))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _both_ways((reader, writer), upstream, self._record)

    async def _forward(
        self,
        method: str,
        target: str,
        raw: bytes,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        assert target.startswith("http://"), target
        authority, _, path = target[len("http://") :].partition("/")
        host, _, port = authority.rpartition(":")
        body = b""
        if headers.get("content-length", "0") != "0":
            body = await reader.readexactly(int(headers["content-length"]))
            self._record(body)
        lines = raw.decode("latin-1").split("\r\n")
        kept = [
            line
            for line in lines[1:]
            if line and not line.lower().startswith(("proxy-", "connection:"))
        ]
        # One request per connection keeps the proxy simple: the server closes after it.
        upstream_head = "\r\n".join(
            [f"{method} /{path} HTTP/1.1", *kept, "Connection: close", "", ""]
        )
        upstream = await asyncio.open_connection("127.0.0.1", self._port_of(host, int(port)))
        upstream[1].write(upstream_head.encode("latin-1") + body)
        await upstream[1].drain()
        await _pipe(upstream[0], writer)

    def _port_of(self, host: str, port: int) -> int:
        if host in self.hosts:
            return self.hosts[host]
        assert host in ("127.0.0.1", "localhost"), f"the proxy was asked for {host}"
        return port

    async def _answer(self, writer: asyncio.StreamWriter, status: str, extra: str = "") -> None:
        writer.write(
            f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
