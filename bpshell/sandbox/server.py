"""A local HTTP server that answers like the Botpress Cloud admin API, with fault injection.

:class:`Sandbox` serves a :class:`~bpshell.sandbox.world.World` on a loopback port from a
background thread (:mod:`~bpshell.sandbox.transport`).  It implements the admin operations of
:mod:`~bpshell.sandbox.routes` (see :mod:`~bpshell.sandbox.operations`) with the OpenAPI
document's response shapes, pagination (``meta.nextToken``) and error bodies
``{"id", "code", "type", "message"}``.

API requests pass through, in order: the rate limiter (429 at once when limiting is on and
the token's window is full, see :mod:`~bpshell.sandbox.ratelimit`), routing (unknown path 404
``ResourceNotFound``, other method 405 ``MethodNotFound``, both answered at once), the sleep
(``latency_ms`` plus every matching ``delay`` fault), then the newest matching response fault
if any (:mod:`~bpshell.sandbox.faults`), else the ``fail_rate`` roll (500 ``Internal``), else
the operation itself.  Every answer carries the ``RateLimit-*`` headers.  The knobs are also
reachable over HTTP (:mod:`~bpshell.sandbox.control`), and every answer is logged for the
conformance check when ``BPSHELL_SANDBOX_ANSWER_LOG`` is set (:mod:`~bpshell.sandbox.answers`).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import types
from collections.abc import Mapping
from typing import Any

from bpshell.sandbox import routes
from bpshell.sandbox.answers import AnswerLog
from bpshell.sandbox.faults import Fault, FaultBook, alter, fault_reply
from bpshell.sandbox.operations import Call, Operations
from bpshell.sandbox.ratelimit import DEFAULT_WINDOW_S, Decision, RateLimit, RateLimiter
from bpshell.sandbox.replies import Reply, error_reply, rate_limited_reply
from bpshell.sandbox.stats import RecordedRequest, Stats, Traffic
from bpshell.sandbox.transport import ApiRequest, Responder, SandboxHTTPServer
from bpshell.sandbox.world import World


class Sandbox:
    """A Botpress admin API lookalike on ``http://host:port`` (port 0: any free port).

    ``world`` defaults to a fresh :meth:`World.demo`; it is served live, so changes made to it
    while running are seen by the next request.  ``seed`` makes the ``fail_rate`` draws
    repeatable; ``rate_limit`` requests per ``rate_window_s`` seconds and token are allowed
    (None: no limit).  ``answer_log`` is the file every answer is logged to (default:
    ``$BPSHELL_SANDBOX_ANSWER_LOG``, none when unset).  All methods are thread-safe.  Use as
    a context manager or call :meth:`start` / :meth:`stop`; a stopped sandbox may be started
    again.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        fail_rate: float = 0.0,
        page_size: int = 20,
        seed: int | None = None,
        rate_limit: int | None = None,
        rate_window_s: float = DEFAULT_WINDOW_S,
        answer_log: str | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._latency_ms = 0.0
        self._fail_rate = 0.0
        self._page_size = 20
        self._clock_offset_s = 0.0
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.page_size = page_size
        self._faults = FaultBook()
        self._limiter = RateLimiter()
        self.set_rate_limit(rate_limit, rate_window_s)
        self._operations = Operations(world if world is not None else World.demo())
        self._traffic = Traffic()
        self._answers = AnswerLog(answer_log) if answer_log else AnswerLog.from_environ(os.environ)
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Sandbox:
        """Bind and serve in a daemon thread; return self.  ``RuntimeError`` if running."""
        if self._httpd is not None:
            raise RuntimeError("sandbox is already running")
        self._stopping.clear()
        httpd = SandboxHTTPServer((self.host, self._requested_port), self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"bpshell-sandbox-{httpd.server_address[1]}",
            daemon=True,
        )
        self._httpd = httpd
        self._thread = thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; pending requests get no answer.

        Returns within about a tenth of a second whatever delays are pending; a no-op when
        not running.
        """
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        thread.join()
        self._httpd = None
        self._thread = None
        if self._answers is not None:
            self._answers.close()

    @property
    def world(self) -> World:
        """The world served (another may be assigned; the next request sees it)."""
        return self._operations.world

    @world.setter
    def world(self, value: World) -> None:
        self._operations.world = value

    @property
    def running(self) -> bool:
        """Whether the sandbox is serving."""
        return self._httpd is not None

    @property
    def port(self) -> int:
        """The bound port; ``RuntimeError`` when not running."""
        if self._httpd is None:
            raise RuntimeError("sandbox is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    # --- knobs ------------------------------------------------------------------------

    @property
    def latency_ms(self) -> float:
        """Milliseconds slept before answering each API request (not 404/405/429 nor control)."""
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError("latency_ms must be a number >= 0")
        with self._lock:
            self._latency_ms = float(value)

    @property
    def fail_rate(self) -> float:
        """Fraction (0..1) of API requests answered 500 ``Internal`` at random."""
        return self._fail_rate

    @fail_rate.setter
    def fail_rate(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError("fail_rate must be a number from 0 to 1")
        with self._lock:
            self._fail_rate = float(value)

    @property
    def page_size(self) -> int:
        """Items per page of the list operations when the request gives no ``pageSize``."""
        return self._page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("page_size must be an integer >= 1")
        with self._lock:
            self._page_size = value

    @property
    def clock_offset_s(self) -> float:
        """Seconds added to the real time in every answer's ``Date`` header: a server whose
        clock is off (or a client's, seen from the server)."""
        return self._clock_offset_s

    @clock_offset_s.setter
    def clock_offset_s(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e9:
            raise ValueError("clock_offset_s must be a number of seconds")
        with self._lock:
            self._clock_offset_s = float(value)

    def set_latency(self, ms: float) -> None:
        """Same as assigning :attr:`latency_ms`."""
        self.latency_ms = ms

    def set_fail_rate(self, rate: float) -> None:
        """Same as assigning :attr:`fail_rate`."""
        self.fail_rate = rate

    @property
    def rate_limit(self) -> RateLimit | None:
        """The enforced rate limit, None when limiting is off (the default)."""
        return self._limiter.setting

    def set_rate_limit(self, limit: int | None, window_s: float = DEFAULT_WINDOW_S) -> None:
        """Allow ``limit`` requests per token in any ``window_s`` seconds (None: no limit).

        The windows start empty; ``ValueError`` for a limit below 1 or a window not above 0.
        """
        self._limiter.configure(None if limit is None else RateLimit(limit, window_s))

    def set_fault(
        self,
        operation: str,
        kind: str,
        *,
        times: int | None = None,
        status: int | None = None,
        error_type: str | None = None,
        message: str | None = None,
        retry_after: float | str | None = None,
        seconds: float | None = None,
        location: str | None = None,
    ) -> Fault:
        """Add a fault (see :mod:`bpshell.sandbox.faults`) and return it.

        ``ValueError`` for an unknown operation or kind, a missing required parameter, a
        parameter the kind does not take, or a value out of range.
        """
        return self._faults.add(
            operation,
            kind,
            times=times,
            status=status,
            error_type=error_type,
            message=message,
            retry_after=retry_after,
            seconds=seconds,
            location=location,
        )

    def add_fault_json(self, payload: Mapping[str, Any]) -> Fault:
        """Add a fault given as ``POST /__sandbox/faults`` takes it; ``ValueError`` if bad."""
        return self._faults.add_from_json(payload)

    def clear_faults(self) -> int:
        """Remove every fault; return how many there were."""
        return self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The active faults, oldest first, each with its remaining ``times``."""
        return self._faults.faults

    @property
    def stats(self) -> Stats:
        """A consistent snapshot of the traffic counters."""
        return self._traffic.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters; ``max_in_flight`` restarts from the requests now in flight."""
        self._traffic.reset()

    def reset(self) -> None:
        """Clear the faults and the stats, turn rate limiting off and set the clock right.

        Latency, fail rate and page size are kept.
        """
        self.clock_offset_s = 0
        self.clear_faults()
        self._limiter.configure(None)
        self.reset_stats()

    # --- serving (called by the transport) --------------------------------------------

    def _register(self, connection: socket.socket) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._connections.add(connection)
            return True

    def _unregister(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _sleep(self, seconds: float) -> bool:
        """Sleep; return False (at once) if the sandbox is stopping."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def _handle_api(self, request: ApiRequest, responder: Responder) -> None:
        match = routes.match(request.method, request.path)
        self._traffic.begin(match.operation)
        reply: Reply | None = None
        fault: Fault | None = None
        try:
            reply, fault = self._answer(request, match)
        finally:
            # Recorded before sending: a client that has its answer (or its reset) and asks
            # again always finds the first request in the stats.
            self._finish(request, match, reply, fault)
        if reply is None:
            responder.drop()
        elif fault is not None and fault.kind == "reset":
            responder.send_and_reset(reply)
        else:
            responder.send(reply)

    def _finish(
        self, request: ApiRequest, match: routes.Match, sent: Reply | None, fault: Fault | None
    ) -> None:
        kind = fault.kind if fault is not None else None
        self._traffic.end(
            RecordedRequest(
                method=request.method,
                path=request.target,
                operation=match.operation,
                has_authorization="authorization" in request.headers,
                workspace_id=request.headers.get("x-workspace-id"),
                status=sent.status if sent is not None else None,
                fault=kind,
            )
        )
        if sent is not None and self._answers is not None:
            self._answers.write(request.method, request.target, match.operation, sent, kind)

    def _answer(
        self, request: ApiRequest, match: routes.Match
    ) -> tuple[Reply | None, Fault | None]:
        """The answer (None: the sandbox is stopping) and the response fault applied."""
        decision = self._limiter.take(_rate_key(request))
        reply, fault = self._reply(request, match, decision)
        if reply is not None:
            reply.headers.extend(decision.headers())
        return reply, fault

    def _reply(
        self, request: ApiRequest, match: routes.Match, decision: Decision
    ) -> tuple[Reply | None, Fault | None]:
        if request.problem is not None:
            return request.problem, None
        if decision.limited:
            return rate_limited_reply(), None
        if match.route is None:
            return _unrouted(request, match.allowed), None
        operation = match.route.operation
        delay, fault = self._faults.take(operation)
        with self._lock:
            sleep = self._latency_ms / 1000 + delay
            fail = fault is None and self._fail_rate > 0 and self._rng.random() < self._fail_rate
            page_size = self._page_size
        if not self._sleep(sleep):
            return None, fault
        reply = fault_reply(fault, request.target) if fault is not None else None
        if reply is None and fail:
            reply = error_reply(500, "Internal", "Injected failure (fail_rate)")
        if reply is None:
            call = Call(
                operation=operation,
                params=match.params,
                query=request.query,
                headers=request.headers,
                body=request.body,
                page_size=page_size,
                endless=fault is not None and fault.kind == "endless_pages",
            )
            reply = self._operations.answer(call)
        alter(reply, fault)
        return reply, fault


def _unrouted(request: ApiRequest, allowed: tuple[str, ...]) -> Reply:
    if not allowed:
        return error_reply(404, "ResourceNotFound", f"No route for {request.method} {request.path}")
    return error_reply(
        405,
        "MethodNotFound",
        f"Method {request.method} is not allowed on {request.path}",
        [("Allow", ", ".join(allowed))],
    )


def _rate_key(request: ApiRequest) -> str:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token " + token.strip()
    return "client " + request.client
