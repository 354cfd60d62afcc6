"""An HTTPS front for the sandbox that speaks HTTP/1.1 and HTTP/2, for the ``verify_tls`` bench.

Run as a script in a process of its own (so that it never competes with the sandbox's thread
for one interpreter lock)::

    python bench/scenarios/tls_front.py TARGET_PORT CERT_PEM KEY_PEM STATS_FILE

It prints its port, then serves on 127.0.0.1 until stdin closes. ALPN picks the protocol: an
HTTP/1.1 connection is piped byte for byte to the sandbox (one sandbox connection each); an
HTTP/2 connection has each stream forwarded over a pool of keep-alive HTTP/1.1 connections to
the sandbox. ``STATS_FILE`` holds ``{"http/1.1": n, "h2": n}``, the TLS connections accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import sys
from pathlib import Path
from typing import Any

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"}


class Front:
    def __init__(self, target_port: int, stats_file: Path) -> None:
        self.target_port = target_port
        self.stats_file = stats_file
        self.counts = {"http/1.1": 0, "h2": 0}
        self.client: Any = None
        stats_file.write_text(json.dumps(self.counts))

    def count(self, protocol: str) -> None:
        self.counts[protocol] = self.counts.get(protocol, 0) + 1
        self.stats_file.write_text(json.dumps(self.counts))

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        protocol = ssl_object.selected_alpn_protocol() or "http/1.1"
        self.count(protocol)
        try:
            if protocol == "h2":
                await self.serve_h2(reader, writer)
            else:
                upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
                await asyncio.gather(
                    pipe(reader, upstream[1]), pipe(upstream[0], writer), return_exceptions=True
                )
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def serve_h2(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import h2.config
        import h2.connection
        import h2.events

        connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        connection.initiate_connection()
        writer.write(connection.data_to_send())
        requests: dict[int, tuple[list[tuple[str, str]], bytearray]] = {}
        tasks: set[asyncio.Task[None]] = set()
        lock = asyncio.Lock()

        async def answer(stream_id: int, headers: list[tuple[str, str]], body: bytes) -> None:
            status, answer_headers, content = await self.forward(headers, body)
            async with lock:
                connection.send_headers(
                    stream_id, [(":status", str(status)), *answer_headers], end_stream=not content
                )
                if content:
                    connection.send_data(stream_id, content, end_stream=True)
                writer.write(connection.data_to_send())
                await writer.drain()

        while data := await reader.read(65536):
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    requests[event.stream_id] = (list(event.headers), bytearray())  # type: ignore[arg-type]
                elif isinstance(event, h2.events.DataReceived):
                    requests[event.stream_id][1].extend(event.data)
                    connection.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                elif isinstance(event, h2.events.StreamEnded):
                    headers, body = requests.pop(event.stream_id)
                    task = asyncio.create_task(answer(event.stream_id, headers, bytes(body)))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            async with lock:
                writer.write(connection.data_to_send())
                await writer.drain()

    async def forward(
        self, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        pseudo = dict(item for item in headers if item[0].startswith(":"))
        plain = [(k, v) for k, v in headers if not k.startswith(":") and k not in HOP_BY_HOP]
        request = self.client.build_request(
            pseudo[":method"], pseudo[":path"], headers=plain, content=body or None
        )
        response = await self.client.send(request, stream=True)
        try:  # the bytes as the sandbox sent them (compressed or not): bp decodes them
            content = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        kept = [
            (k.lower(), v)
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
        ]
        return response.status_code, [*kept, ("content-length", str(len(content)))], content


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main(target_port: int, cert: str, key: str, stats_file: Path) -> None:
    import httpx

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    try:
        import h2  # noqa: F401

        context.set_alpn_protocols(["h2", "http/1.1"])
    except ImportError:
        context.set_alpn_protocols(["http/1.1"])
    front = Front(target_port, stats_file)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{target_port}",
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        trust_env=False,
    ) as client:
        front.client = client
        server = await asyncio.start_server(front.serve, "127.0.0.1", 0, ssl=context)
        print(server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        closed = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: closed.done() or closed.set_result(None))
        async with server:
            await closed


if __name__ == "__main__":
    port, cert_pem, key_pem, stats = sys.argv[1:5]
    asyncio.run(main(int(port), cert_pem, key_pem, Path(stats)))
