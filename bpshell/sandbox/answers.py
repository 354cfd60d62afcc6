"""A log of every API answer, one JSON line each, for the OpenAPI conformance check.

A sandbox started while ``BPSHELL_SANDBOX_ANSWER_LOG`` names a file appends to it (the test
suite sets it per worker and checks every line against the OpenAPI document at the end, see
``tests/conformance.py``; sandboxes in child processes inherit it).  A line is::

    {"pid": 123, "method": "GET", "path": "/v1/admin/bots?x=1", "operation": "listBots",
     "status": 200, "contentType": "application/json", "headers": [["RateLimit-Limit", "..."]],
     "fault": null, "sha256": "<hex of the body>", "body": "<the body, latin-1>"}

``body`` is left out when this sandbox already logged the same bytes (``sha256`` refers to the
earlier line).  Control endpoints are not logged.  A log that cannot be written is given up
quietly: serving matters more than the record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Mapping

from bpshell.sandbox.replies import Reply

ANSWER_LOG_ENV = "BPSHELL_SANDBOX_ANSWER_LOG"
_SEEN_LIMIT = 50_000


class AnswerLog:
    """Appends answers to ``path`` (opened at the first answer); thread-safe."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._broken = False
        self._seen: set[str] = set()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AnswerLog | None:
        """The log ``BPSHELL_SANDBOX_ANSWER_LOG`` names, None when it is unset or empty."""
        path = environ.get(ANSWER_LOG_ENV, "")
        return cls(path) if path else None

    def write(
        self, method: str, path: str, operation: str | None, reply: Reply, fault: str | None
    ) -> None:
        """Log one answer as sent (``fault``: the kind of the response fault applied)."""
        digest = hashlib.sha256(reply.body).hexdigest()
        record: dict[str, object] = {
            "pid": os.getpid(),
            "method": method,
            "path": path,
            "operation": operation,
            "status": reply.status,
            "contentType": reply.content_type,
            "headers": [list(header) for header in reply.headers],
            "fault": fault,
            "sha256": digest,
        }
        with self._lock:
            if self._broken:
                return
            if digest not in self._seen:
                record["body"] = reply.body.decode("latin-1")
                if len(self._seen) >= _SEEN_LIMIT:
                    self._seen.clear()
                self._seen.add(digest)
            line = (json.dumps(record) + "\n").encode()
            try:
                if self._fd is None:
                    self._fd = os.open(
                        self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
                    )
                os.write(self._fd, line)  # one write: lines of processes never interleave
            except OSError:
                self._broken = True

    def close(self) -> None:
        """Close the file (a later answer opens it again)."""
        with self._lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None
