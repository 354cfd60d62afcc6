"""Injected faults: what they are, how they are checked, and the answers they make.

Faults are scoped to an operation id or ``"*"`` and apply to the next ``times`` matching
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
``endless_pages``      the list operations always return a fresh ``nextToken`` (pages past the
                       end are empty); it matches no other operation.
``redirect``           302 to ``location`` (an absolute http(s) URL) + the request's path and
                       query.

When several response faults match, the newest is used.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from bpshell.sandbox.replies import (
    DEFAULT_ERROR_TYPES,
    HTML_TYPE,
    NO_BODY_STATUSES,
    Reply,
    error_reply,
    json_reply,
)
from bpshell.sandbox.routes import LIST_OPERATIONS, OPERATIONS

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
ALL_OPERATIONS = "*"

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


@dataclass
class _Active:
    fault: Fault
    remaining: int | None


class FaultBook:
    """The active faults, oldest first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[_Active] = []
        self._next_id = 1

    def add(
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
        """Add a fault and return it; ``ValueError`` for bad input (see ``Sandbox.set_fault``)."""
        params: dict[str, Any] = {
            "status": status,
            "error_type": error_type,
            "message": message,
            "retry_after": retry_after,
            "seconds": seconds,
            "location": location,
        }
        given = {name for name, value in params.items() if value is not None}
        _validate(operation, kind, times, given, params)
        if error_type is None and status is not None:
            error_type = DEFAULT_ERROR_TYPES.get(status, "Unknown")
        with self._lock:
            fault = Fault(
                id=self._next_id,
                operation=operation,
                kind=cast(FaultKind, kind),
                times=times,
                status=status,
                error_type=error_type,
                message=message,
                retry_after=retry_after,
                seconds=None if seconds is None else float(seconds),
                location=location,
            )
            self._next_id += 1
            self._active.append(_Active(fault, times))
        return fault

    def add_from_json(self, payload: Mapping[str, Any]) -> Fault:
        """Add a fault given as the control endpoint's JSON (``type`` for ``error_type``)."""
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
        return self.add(
            data.pop("operation"),
            data.pop("kind"),
            times=data.get("times"),
            status=data.get("status"),
            error_type=data.get("error_type"),
            message=data.get("message"),
            retry_after=data.get("retry_after"),
            seconds=data.get("seconds"),
            location=data.get("location"),
        )

    def clear(self) -> int:
        """Remove every fault; return how many there were."""
        with self._lock:
            count = len(self._active)
            self._active.clear()
        return count

    @property
    def faults(self) -> list[Fault]:
        """The active faults, oldest first, each with its remaining ``times``."""
        with self._lock:
            return [replace(active.fault, times=active.remaining) for active in self._active]

    def take(self, operation: str) -> tuple[float, Fault | None]:
        """Use up the faults matching a request: seconds of delay, and the response fault."""
        with self._lock:
            delay = 0.0
            chosen: Fault | None = None
            for active in reversed(self._active):
                fault = active.fault
                if fault.operation not in (operation, ALL_OPERATIONS):
                    continue
                if fault.kind == "endless_pages" and operation not in LIST_OPERATIONS:
                    continue
                if fault.kind == "delay":
                    delay += fault.seconds or 0.0
                elif chosen is None:
                    chosen = fault
                else:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
            self._active = [a for a in self._active if a.remaining is None or a.remaining > 0]
            return delay, chosen


def fault_reply(fault: Fault, request_path: str) -> Reply | None:
    """Return the answer that replaces the real one, or None if the fault only alters it."""
    if fault.kind == "status":
        status = fault.status or 500
        headers = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", _retry_after_header(fault.retry_after)))
        reply = error_reply(
            status,
            fault.error_type or DEFAULT_ERROR_TYPES.get(status, "Unknown"),
            fault.message or f"Injected fault: status {status}",
            headers,
        )
        if status in NO_BODY_STATUSES:
            reply.body = b""
            reply.content_type = None
        return reply
    if fault.kind == "schema_mismatch":
        return json_reply(200, {"unexpected": True})
    if fault.kind == "redirect":
        location = (fault.location or "").rstrip("/") + request_path
        return Reply(302, content_type=None, headers=[("Location", location)])
    return None


def alter(reply: Reply, fault: Fault | None) -> None:
    """Apply a fault that alters the real answer (``malformed_json``, ``wrong_content_type``)."""
    kind = fault.kind if fault is not None else None
    if kind == "malformed_json":
        reply.body = reply.body[: len(reply.body) // 2]
    elif kind == "wrong_content_type":
        reply.content_type = HTML_TYPE


def _retry_after_header(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _validate(
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
