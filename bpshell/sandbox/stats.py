"""Traffic counters of the API requests a sandbox handled; token values are never kept."""

from __future__ import annotations

import collections
import threading
from dataclasses import asdict, dataclass
from typing import Any

from bpshell.sandbox.faults import FaultKind

RECEIVED_LIMIT = 100_000


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the stats keep it; token values are never stored.

    ``status`` is the status of the answer (recorded just before it is sent), or None when
    the sandbox stopped before answering;
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


class Traffic:
    """The live counters behind :class:`Stats`; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._total = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._received: collections.deque[RecordedRequest] = collections.deque(
            maxlen=RECEIVED_LIMIT
        )

    def begin(self, operation: str | None) -> None:
        """A request arrived (``operation`` None: it is answered 404 or 405)."""
        with self._lock:
            self._total += 1
            if operation is not None:
                self._counts[operation] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def end(self, record: RecordedRequest) -> None:
        """The request begun last for ``record`` is over."""
        with self._lock:
            self._in_flight -= 1
            self._received.append(record)

    def snapshot(self) -> Stats:
        """A consistent snapshot."""
        with self._lock:
            return Stats(
                requests=dict(self._counts),
                total=self._total,
                in_flight=self._in_flight,
                max_in_flight=self._max_in_flight,
                received=tuple(self._received),
            )

    def reset(self) -> None:
        """Zero the counters; ``max_in_flight`` restarts from the requests now in flight."""
        with self._lock:
            self._counts.clear()
            self._total = 0
            self._max_in_flight = self._in_flight
            self._received.clear()
