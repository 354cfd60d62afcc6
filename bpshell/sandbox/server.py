"""A local HTTP server that answers like the Botpress Cloud admin API, with fault injection.

:class:`Sandbox` serves a :class:`~bpshell.sandbox.world.World` on a loopback port from a
background thread (one thread per connection, HTTP/1.1 keep-alive).  It implements the five
admin operations a login/profiles tool uses, with the spec's response shapes, pagination
(``meta.nextToken``) and error bodies ``{"id", "code", "type", "message"}``.

API requests pass through, in order: routing (unknown path 404 ``ResourceNotFound``, other
method 405 ``MethodNotFound``, both answered at once), the sleep (``latency_ms`` plus every
matching ``delay`` fault), then the newest matching response fault if any, else the
``fail_rate`` roll (500 ``Internal``), else the operation itself: authentication (401
``Unauthorized``), the ``x-workspace-id`` header (400 ``InvalidPayload`` if missing), workspace
lookup (404 ``ResourceNotFound``) and membership (403 ``Forbidden``).

Faults are scoped to an operation name or ``"*"`` and apply to the next ``times`` matching
requests (forever when ``times`` is ``None``); a matching fault is used up even if the request
fails for another reason.  Kinds and their parameters:

``status``             ``status`` (200-599), optional ``error_type`` (default from the
                       status), ``message``, ``retry_after`` (sent as ``Retry-After``).
``delay``              ``seconds``, added to the latency; delays add up and combine with any
                       other fault.
``reset``              the real answer's headers and half its body, a 50 ms pause, then a
                       TCP reset (RST).
``malformed_json``     the real status and headers with the body cut in half.
``wrong_content_type`` the real answer labelled ``text/html; charset=utf-8``.
``schema_mismatch``    200 ``{"unexpected": true}``.
``endless_pages``      ``listWorkspaces``/``listBots`` always return a fresh ``nextToken``
                       (pages past the end are empty); it matches no other operation.
``redirect``           302 to ``location`` (an absolute http(s) URL) + the request's path and
                       query.

Control endpoints (no authentication, never counted in the stats), all JSON:

``GET|POST|DELETE /__sandbox/faults``  list / add (body: ``{"operation", "kind", "times"?,
                                       ...params}``; ``"type"`` is accepted for
                                       ``error_type``) / clear all faults.
``GET|POST /__sandbox/latency``        ``{"ms": N}``.
``GET|POST /__sandbox/fail-rate``      ``{"rate": R}``.
``GET /__sandbox/stats``               :meth:`Stats.to_json`.
``POST /__sandbox/reset``              clear faults and stats.

Bad control input gets a 400 ``InvalidPayload`` error body.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import json
import random
import secrets
import socket
import struct
import sys
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, cast, get_args
from urllib.parse import parse_qs, unquote, urlsplit

from bpshell.sandbox.world import Account, Workspace, World

FaultKind = Literal[
    "status",
    "delay",
    "reset",
    "malformed_json",
    "wrong_content_type",
    "schema_mismatch",
    "endless_pages",
    "redirect",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
OPERATIONS: tuple[str, ...] = (
    "getAccount",
    "listWorkspaces",
    "getWorkspace",
    "getWorkspaceMember",
    "listBots",
)
LIST_OPERATIONS = frozenset({"listWorkspaces", "listBots"})
ALL_OPERATIONS = "*"
CONTROL_PREFIX = "/__sandbox/"
RECEIVED_LIMIT = 100_000
MAX_BODY_BYTES = 1 << 20
_RESET_PAUSE_SECONDS = 0.05

DEFAULT_ERROR_TYPES: Mapping[int, str] = {
    400: "InvalidPayload",
    401: "Unauthorized",
    402: "PaymentRequired",
    403: "Forbidden",
    404: "ResourceNotFound",
    405: "MethodNotFound",
    409: "AlreadyExists",
    410: "ResourceGone",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "RateLimited",
    500: "Internal",
    504: "OperationTimeout",
}

_JSON = "application/json"
_HTML = "text/html; charset=utf-8"
_NO_BODY_STATUSES = frozenset({204, 205, 304})
_FAULT_PARAMS: Mapping[str, frozenset[str]] = {
    "status": frozenset({"status", "error_type", "message", "retry_after"}),
    "delay": frozenset({"seconds"}),
    "redirect": frozenset({"location"}),
}
_REQUIRED_PARAMS: Mapping[str, tuple[str, ...]] = {
    "status": ("status",),
    "delay": ("seconds",),
    "redirect": ("location",),
}


@dataclass(frozen=True)
class Fault:
    """An injected fault; ``times`` is how many more requests it applies to (None: all)."""

    id: int
    operation: str
    kind: FaultKind
    times: int | None = None
    status: int | None = None
    error_type: str | None = None
    message: str | None = None
    retry_after: float | str | None = None
    seconds: float | None = None
    location: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the fault as the control endpoints show it (unset parameters left out)."""
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the stats keep it; token values are never stored.

    ``status`` is the status sent, or None when the connection closed before an answer;
    ``fault`` is the kind of the response fault applied (``delay`` faults are not recorded).
    """

    method: str
    path: str
    operation: str | None
    has_authorization: bool
    workspace_id: str | None
    status: int | None
    fault: FaultKind | None


@dataclass(frozen=True)
class Stats:
    """A snapshot of the API traffic since the last reset.

    ``requests`` counts requests per operation (only operations seen), ``total`` counts every
    API request including unknown paths, ``max_in_flight`` is the peak number handled at the
    same time, and ``received`` keeps the last 100 000 requests in completion order.
    """

    requests: dict[str, int]
    total: int
    in_flight: int
    max_in_flight: int
    received: tuple[RecordedRequest, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot as ``GET /__sandbox/stats`` sends it."""
        return {
            "requests": dict(self.requests),
            "total": self.total,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "received": [asdict(request) for request in self.received],
        }


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str | None = _JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _ActiveFault:
    fault: Fault
    remaining: int | None


@dataclass(frozen=True)
class _Plan:
    sleep_seconds: float
    fault: Fault | None
    fail: bool


class _ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def _json_reply(status: int, payload: object) -> _Reply:
    return _Reply(status, json.dumps(payload).encode())


def _error_reply(
    status: int, error_type: str, message: str, headers: list[tuple[str, str]] | None = None
) -> _Reply:
    body = {
        "id": f"err_{secrets.token_hex(12)}",
        "code": status,
        "type": error_type,
        "message": message,
    }
    return _Reply(status, json.dumps(body).encode(), headers=headers or [])


class Sandbox:
    """A Botpress admin API lookalike on ``http://host:port`` (port 0: any free port).

    ``world`` defaults to a fresh :meth:`World.demo`; it is served live, so changes made to it
    while running are seen by the next request.  ``seed`` makes the ``fail_rate`` draws
    repeatable.  All methods are thread-safe.  Use as a context manager or call
    :meth:`start` / :meth:`stop`; a stopped sandbox may be started again.
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
    ) -> None:
        self.world = world if world is not None else World.demo()
        self.host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._latency_ms = 0.0
        self._fail_rate = 0.0
        self._page_size = 20
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.page_size = page_size
        self._faults: list[_ActiveFault] = []
        self._next_fault_id = 1
        self._page_nonce = 0
        self._counts: collections.Counter[str] = collections.Counter()
        self._total = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._received: collections.deque[RecordedRequest] = collections.deque(
            maxlen=RECEIVED_LIMIT
        )
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
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
        httpd = _HTTPServer((self.host, self._requested_port), self)
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

    @property
    def latency_ms(self) -> float:
        """Milliseconds slept before answering each API request (not 404/405 nor control)."""
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
        """Items per page of ``listWorkspaces`` and ``listBots``."""
        return self._page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("page_size must be an integer >= 1")
        with self._lock:
            self._page_size = value

    def set_latency(self, ms: float) -> None:
        """Same as assigning :attr:`latency_ms`."""
        self.latency_ms = ms

    def set_fail_rate(self, rate: float) -> None:
        """Same as assigning :attr:`fail_rate`."""
        self.fail_rate = rate

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
        """Add a fault (see the module docstring) and return it.

        ``ValueError`` for an unknown operation or kind, a missing required parameter, a
        parameter the kind does not take, or a value out of range.
        """
        params: dict[str, Any] = {
            "status": status,
            "error_type": error_type,
            "message": message,
            "retry_after": retry_after,
            "seconds": seconds,
            "location": location,
        }
        given = {name for name, value in params.items() if value is not None}
        _validate_fault(operation, kind, times, given, params)
        with self._lock:
            fault = Fault(
                id=self._next_fault_id,
                operation=operation,
                kind=cast(FaultKind, kind),
                times=times,
                status=status,
                error_type=error_type
                if error_type is not None or status is None
                else DEFAULT_ERROR_TYPES.get(status, "Unknown"),
                message=message,
                retry_after=retry_after,
                seconds=None if seconds is None else float(seconds),
                location=location,
            )
            self._next_fault_id += 1
            self._faults.append(_ActiveFault(fault, times))
        return fault

    def clear_faults(self) -> int:
        """Remove every fault; return how many there were."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
        return count

    @property
    def faults(self) -> list[Fault]:
        """The active faults, oldest first, each with its remaining ``times``."""
        with self._lock:
            return [replace(active.fault, times=active.remaining) for active in self._faults]

    @property
    def stats(self) -> Stats:
        """A consistent snapshot of the traffic counters."""
        with self._lock:
            return Stats(
                requests=dict(self._counts),
                total=self._total,
                in_flight=self._in_flight,
                max_in_flight=self._max_in_flight,
                received=tuple(self._received),
            )

    def reset_stats(self) -> None:
        """Zero the counters; ``max_in_flight`` restarts from the requests now in flight."""
        with self._lock:
            self._counts.clear()
            self._total = 0
            self._max_in_flight = self._in_flight
            self._received.clear()

    def reset(self) -> None:
        """Clear the faults and the stats (latency, fail rate and page size are kept)."""
        self.clear_faults()
        self.reset_stats()

    def _register(self, connection: socket.socket) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False
            self._connections.add(connection)
            return True

    def _unregister(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _begin(self, operation: str | None) -> None:
        with self._lock:
            self._total += 1
            if operation is not None:
                self._counts[operation] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _end(self, record: RecordedRequest) -> None:
        with self._lock:
            self._in_flight -= 1
            self._received.append(record)

    def _plan(self, operation: str) -> _Plan:
        with self._lock:
            sleep = self._latency_ms / 1000
            chosen: Fault | None = None
            for active in reversed(self._faults):
                fault = active.fault
                if fault.operation not in (operation, ALL_OPERATIONS):
                    continue
                if fault.kind == "endless_pages" and operation not in LIST_OPERATIONS:
                    continue
                if fault.kind == "delay":
                    sleep += fault.seconds or 0.0
                elif chosen is None:
                    chosen = fault
                else:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
            self._faults = [a for a in self._faults if a.remaining is None or a.remaining > 0]
            fail = chosen is None and self._fail_rate > 0 and self._rng.random() < self._fail_rate
            return _Plan(sleep, chosen, fail)

    def _sleep(self, seconds: float) -> bool:
        """Sleep; return False (at once) if the sandbox is stopping."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    def _page_token(self, offset: int, endless: bool) -> str:
        with self._lock:
            if endless:
                self._page_nonce += 1
            nonce = self._page_nonce if endless else 0
        raw = f"{offset}:{nonce}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _api(
        self,
        operation: str,
        path_id: str | None,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        endless: bool,
    ) -> _Reply:
        try:
            handler = _OPERATION_HANDLERS[operation]
            return _json_reply(200, handler(self, path_id, query, headers, endless))
        except _ApiError as exc:
            return _error_reply(exc.status, exc.error_type, exc.message)

    def _authenticate(self, headers: Mapping[str, str]) -> Account:
        header = headers.get("authorization")
        if header is None:
            raise _ApiError(401, "Unauthorized", "The Authorization header is missing")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _ApiError(
                401, "Unauthorized", "The Authorization header must be 'Bearer <token>'"
            )
        with self.world.lock:
            if token in self.world.invalid_tokens:
                raise _ApiError(401, "Unauthorized", "The token has expired or was revoked")
            account_id = self.world.tokens.get(token)
            account = self.world.accounts.get(account_id) if account_id is not None else None
        if account is None:
            raise _ApiError(401, "Unauthorized", "The token is invalid")
        return account

    def _member_workspace(self, account: Account, workspace_id: str) -> Workspace:
        workspace = self.world.workspaces.get(workspace_id)
        if workspace is None:
            raise _ApiError(404, "ResourceNotFound", f"Workspace {workspace_id} not found")
        if account.id not in workspace.members:
            raise _ApiError(403, "Forbidden", f"You do not have access to workspace {workspace_id}")
        return workspace

    def _header_workspace(self, account: Account, headers: Mapping[str, str]) -> Workspace:
        workspace_id = headers.get("x-workspace-id", "").strip()
        if not workspace_id:
            raise _ApiError(400, "InvalidPayload", "The x-workspace-id header is required")
        return self._member_workspace(account, workspace_id)

    def _paginate(
        self, items: list[dict[str, Any]], query: Mapping[str, list[str]], endless: bool
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        offset = _decode_page_token(_query_value(query, "nextToken"))
        size = self._page_size
        page = items[offset : offset + size]
        more = offset + size < len(items)
        meta = {"nextToken": self._page_token(offset + size, endless)} if more or endless else {}
        return page, meta

    def _get_account(
        self, _id: str | None, _q: Mapping[str, list[str]], headers: Mapping[str, str], _e: bool
    ) -> dict[str, Any]:
        account = self._authenticate(headers)
        with self.world.lock:
            return {"account": account.to_api()}

    def _list_workspaces(
        self, _id: str | None, query: Mapping[str, list[str]], headers: Mapping[str, str], e: bool
    ) -> dict[str, Any]:
        account = self._authenticate(headers)
        handle = _query_value(query, "handle")
        with self.world.lock:
            items = [
                ws.to_api()
                for ws in self.world.workspaces_of(account.id)
                if handle is None or ws.handle == handle
            ]
        page, meta = self._paginate(items, query, e)
        return {"workspaces": page, "meta": meta}

    def _get_workspace(
        self, path_id: str | None, _q: Mapping[str, list[str]], headers: Mapping[str, str], _e: bool
    ) -> dict[str, Any]:
        account = self._authenticate(headers)
        with self.world.lock:
            return self._member_workspace(account, path_id or "").to_api()

    def _get_workspace_member(
        self, _id: str | None, _q: Mapping[str, list[str]], headers: Mapping[str, str], _e: bool
    ) -> dict[str, Any]:
        account = self._authenticate(headers)
        with self.world.lock:
            member = self._header_workspace(account, headers).members[account.id]
            shared = ("email", "displayName", "profilePicture")
            body = {k: v for k, v in account.to_api().items() if k in shared}
            return {
                "id": member.id,
                "userId": account.id,
                **body,
                "createdAt": member.created_at,
                "role": member.role,
            }

    def _list_bots(
        self, _id: str | None, query: Mapping[str, list[str]], headers: Mapping[str, str], e: bool
    ) -> dict[str, Any]:
        account = self._authenticate(headers)
        sort_field = _query_value(query, "sortField")
        direction = _query_value(query, "sortDirection")
        if sort_field not in (None, "createdAt", "updatedAt"):
            raise _ApiError(400, "InvalidQuery", "sortField must be createdAt or updatedAt")
        if direction not in (None, "asc", "desc"):
            raise _ApiError(400, "InvalidQuery", "sortDirection must be asc or desc")
        tags = {
            key[5:-1]: values[-1]
            for key, values in query.items()
            if key.startswith("tags[") and key.endswith("]")
        }
        with self.world.lock:
            bots = [
                bot.to_api()
                for bot in self._header_workspace(account, headers).bots
                if all(bot.tags.get(key) == value for key, value in tags.items())
            ]
        if sort_field is not None or direction is not None:
            bots.sort(
                key=lambda bot: str(bot[sort_field or "createdAt"]), reverse=direction == "desc"
            )
        page, meta = self._paginate(bots, query, e)
        return {"bots": page, "meta": meta}

    def _control(self, method: str, name: str, body: object) -> _Reply:
        try:
            return self._control_unchecked(method, name, body)
        except ValueError as exc:
            return _error_reply(400, "InvalidPayload", str(exc))

    def _control_unchecked(self, method: str, name: str, body: object) -> _Reply:
        allowed = _CONTROL_METHODS.get(name)
        if allowed is None:
            return _error_reply(404, "ResourceNotFound", f"No sandbox endpoint {name!r}")
        if method not in allowed:
            return _error_reply(
                405,
                "MethodNotFound",
                f"Method {method} is not allowed on {CONTROL_PREFIX}{name}",
                [("Allow", ", ".join(allowed))],
            )
        payload = _control_object(body) if method == "POST" else {}
        if name == "faults":
            if method == "GET":
                return _json_reply(200, {"faults": [f.to_json() for f in self.faults]})
            if method == "DELETE":
                return _json_reply(200, {"cleared": self.clear_faults()})
            return _json_reply(201, {"fault": self._fault_from_json(payload).to_json()})
        if name == "latency":
            if method == "POST":
                self.latency_ms = _control_number(payload, "ms")
            return _json_reply(200, {"ms": self.latency_ms})
        if name == "fail-rate":
            if method == "POST":
                self.fail_rate = _control_number(payload, "rate")
            return _json_reply(200, {"rate": self.fail_rate})
        if name == "stats":
            return _json_reply(200, self.stats.to_json())
        self.reset()
        return _json_reply(200, {"reset": True})

    def _fault_from_json(self, payload: dict[str, Any]) -> Fault:
        data = dict(payload)
        if "type" in data:
            if "error_type" in data:
                raise ValueError("give either 'type' or 'error_type', not both")
            data["error_type"] = data.pop("type")
        unknown = set(data) - _FAULT_JSON_TYPES.keys()
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        for key, kinds in _FAULT_JSON_TYPES.items():
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
                raise ValueError(f"fault field {key!r} has the wrong type")
        if "operation" not in data or "kind" not in data:
            raise ValueError("a fault needs 'operation' and 'kind'")
        return self.set_fault(
            data["operation"],
            data["kind"],
            times=data.get("times"),
            status=data.get("status"),
            error_type=data.get("error_type"),
            message=data.get("message"),
            retry_after=data.get("retry_after"),
            seconds=data.get("seconds"),
            location=data.get("location"),
        )


_OperationHandler = Callable[
    [Sandbox, str | None, Mapping[str, list[str]], Mapping[str, str], bool], dict[str, Any]
]
_OPERATION_HANDLERS: Mapping[str, _OperationHandler] = {
    "getAccount": Sandbox._get_account,
    "listWorkspaces": Sandbox._list_workspaces,
    "getWorkspace": Sandbox._get_workspace,
    "getWorkspaceMember": Sandbox._get_workspace_member,
    "listBots": Sandbox._list_bots,
}
_STATIC_ROUTES: Mapping[str, str] = {
    "/v1/admin/account/me": "getAccount",
    "/v1/admin/workspaces": "listWorkspaces",
    "/v1/admin/workspace-members/me": "getWorkspaceMember",
    "/v1/admin/bots": "listBots",
}
_WORKSPACE_PREFIX = "/v1/admin/workspaces/"
_CONTROL_METHODS: Mapping[str, tuple[str, ...]] = {
    "faults": ("GET", "POST", "DELETE"),
    "latency": ("GET", "POST"),
    "fail-rate": ("GET", "POST"),
    "stats": ("GET",),
    "reset": ("POST",),
}
_FAULT_JSON_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "operation": str,
    "kind": str,
    "times": int,
    "status": int,
    "error_type": str,
    "message": str,
    "retry_after": (int, float, str),
    "seconds": (int, float),
    "location": str,
}


def _route(path: str) -> tuple[str, str | None] | None:
    """Return ``(operation, path id)`` for an admin API path, None for an unknown path."""
    operation = _STATIC_ROUTES.get(path)
    if operation is not None:
        return operation, None
    if path.startswith(_WORKSPACE_PREFIX):
        rest = path[len(_WORKSPACE_PREFIX) :]
        if rest and "/" not in rest:
            return "getWorkspace", unquote(rest)
    return None


def _validate_fault(
    operation: str, kind: str, times: int | None, given: set[str], params: Mapping[str, Any]
) -> None:
    if operation != ALL_OPERATIONS and operation not in OPERATIONS:
        raise ValueError(
            f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)} or *"
        )
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError("times must be an integer >= 1 or None")
    allowed = _FAULT_PARAMS.get(kind, frozenset())
    extra = given - allowed
    if extra:
        raise ValueError(f"fault kind {kind!r} takes no {', '.join(sorted(extra))}")
    missing = [name for name in _REQUIRED_PARAMS.get(kind, ()) if name not in given]
    if missing:
        raise ValueError(f"fault kind {kind!r} needs {', '.join(missing)}")
    status = params["status"]
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599
    ):
        raise ValueError("status must be an integer from 200 to 599")
    seconds = params["seconds"]
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0
    ):
        raise ValueError("seconds must be a number >= 0")
    retry_after = params["retry_after"]
    if isinstance(retry_after, bool) or (isinstance(retry_after, int | float) and retry_after < 0):
        raise ValueError("retry_after must be a number >= 0 or an HTTP date string")
    location = params["location"]
    if location is not None:
        parts = urlsplit(location)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("location must be an absolute http(s) URL")


def _query_value(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if not values or not values[-1]:
        return None
    return values[-1]


def _decode_page_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, _, _nonce = raw.partition(":")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _ApiError(400, "InvalidQuery", "nextToken is not valid") from None
    if offset < 0:
        raise _ApiError(400, "InvalidQuery", "nextToken is not valid")
    return offset


def _control_object(body: object) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return cast(dict[str, Any], body)


def _control_number(payload: Mapping[str, Any], key: str) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key!r} must be a number")
    return value


def _retry_after_header(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _fault_reply(fault: Fault, request_path: str) -> _Reply | None:
    """Return the answer that replaces the real one, or None if the fault only alters it."""
    if fault.kind == "status":
        status = fault.status or 500
        headers = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", _retry_after_header(fault.retry_after)))
        reply = _error_reply(
            status,
            fault.error_type or DEFAULT_ERROR_TYPES.get(status, "Unknown"),
            fault.message or f"Injected fault: status {status}",
            headers,
        )
        if status in _NO_BODY_STATUSES:
            reply.body = b""
            reply.content_type = None
        return reply
    if fault.kind == "schema_mismatch":
        return _json_reply(200, {"unexpected": True})
    if fault.kind == "redirect":
        location = (fault.location or "").rstrip("/") + request_path
        return _Reply(302, content_type=None, headers=[("Location", location)])
    return None


class _HTTPServer(ThreadingHTTPServer):
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
        return cast(_HTTPServer, self.server).sandbox

    def setup(self) -> None:
        super().setup()
        if not self._sandbox._register(self.connection):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._sandbox._unregister(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and the demo own the terminal."""

    def _dispatch(self) -> None:
        body = self._read_body()
        if body is None:
            return
        parts = urlsplit(self.path)
        if parts.path.startswith(CONTROL_PREFIX):
            self._serve_control(parts.path[len(CONTROL_PREFIX) :], body)
        else:
            self._serve_api(parts.path, parse_qs(parts.query, keep_blank_values=True))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes | None:
        """Read the request body; on a bad one answer and return None."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(_error_reply(411, "InvalidPayload", "Chunked bodies are not supported"))
            return None
        length_text = self.headers.get("Content-Length", "0").strip() or "0"
        if not length_text.isdigit():
            self.close_connection = True
            self._send(_error_reply(400, "InvalidPayload", "Invalid Content-Length"))
            return None
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(_error_reply(413, "PayloadTooLarge", "The request body is too large"))
            return None
        return self.rfile.read(length) if length else b""

    def _serve_control(self, name: str, body: bytes) -> None:
        try:
            payload: object = json.loads(body) if body.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._send(_error_reply(400, "InvalidPayload", "The body is not valid JSON"))
            return
        self._send(self._sandbox._control(self.command, name, payload))

    def _serve_api(self, path: str, query: Mapping[str, list[str]]) -> None:
        sandbox = self._sandbox
        route = _route(path)
        operation = route[0] if route is not None and self.command == "GET" else None
        sandbox._begin(operation)
        status: int | None = None
        fault: Fault | None = None
        try:
            if route is None:
                status = self._send(
                    _error_reply(404, "ResourceNotFound", f"No route for {self.command} {path}")
                )
            elif operation is None:
                status = self._send(
                    _error_reply(
                        405,
                        "MethodNotFound",
                        f"Method {self.command} is not allowed on {path}",
                        [("Allow", "GET")],
                    )
                )
            else:
                fault, status = self._answer(operation, route[1], query)
        finally:
            sandbox._end(
                RecordedRequest(
                    method=self.command,
                    path=self.path,
                    operation=operation,
                    has_authorization="authorization" in self.headers,
                    workspace_id=self.headers.get("x-workspace-id"),
                    status=status,
                    fault=fault.kind if fault is not None else None,
                )
            )

    def _answer(
        self, operation: str, path_id: str | None, query: Mapping[str, list[str]]
    ) -> tuple[Fault | None, int | None]:
        sandbox = self._sandbox
        plan = sandbox._plan(operation)
        fault = plan.fault
        if not sandbox._sleep(plan.sleep_seconds):
            self.close_connection = True
            return fault, None
        reply = _fault_reply(fault, self.path) if fault is not None else None
        if reply is None:
            if plan.fail:
                reply = _error_reply(500, "Internal", "Injected failure (fail_rate)")
            else:
                endless = fault is not None and fault.kind == "endless_pages"
                headers = {key.lower(): value for key, value in self.headers.items()}
                reply = sandbox._api(operation, path_id, query, headers, endless)
        kind = fault.kind if fault is not None else None
        if kind == "malformed_json":
            reply.body = reply.body[: len(reply.body) // 2]
        elif kind == "wrong_content_type":
            reply.content_type = _HTML
        elif kind == "reset":
            return fault, self._send_and_reset(reply)
        return fault, self._send(reply)

    def _send_headers(self, reply: _Reply, content_length: int) -> None:
        self.send_response(reply.status)
        if reply.content_type is not None:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(content_length))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, reply: _Reply) -> int:
        self._send_headers(reply, len(reply.body))
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)
        return reply.status

    def _send_and_reset(self, reply: _Reply) -> int:
        body = reply.body or b"{}"
        self._send_headers(reply, len(body))
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True
        self._sandbox._sleep(_RESET_PAUSE_SECONDS)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.rfile.close()
        return reply.status
