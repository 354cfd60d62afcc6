"""Rate limiting as the API does it: a sliding window per token, told in every answer.

Every API answer carries ``RateLimit-Limit`` (requests allowed per window),
``RateLimit-Remaining`` (left in the current window) and ``RateLimit-Reset`` (whole seconds
until the window frees a slot).  When limiting is on, a request past the limit is answered 429
with the body ``{"type": "RateLimited", "description": ..., "status": 429}`` and no
``Retry-After``; refused requests do not count against the window.  When it is off (the
default), the headers describe a generous window (:data:`DEFAULT_LIMIT` per
:data:`DEFAULT_WINDOW_S` seconds) that is never enforced.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_LIMIT = 10_000
DEFAULT_WINDOW_S = 60.0


@dataclass(frozen=True)
class RateLimit:
    """``limit`` requests per ``window_s`` seconds, per token."""

    limit: int
    window_s: float


@dataclass(frozen=True)
class Decision:
    """The limiter's verdict on one request, and the headers that tell it."""

    limited: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> list[tuple[str, str]]:
        """The ``RateLimit-*`` headers of the answer."""
        return [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(self.reset_s)),
        ]


class RateLimiter:
    """Sliding-window logs by key (a token, or the client address without one); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._setting: RateLimit | None = None
        self._windows: dict[str, collections.deque[float]] = {}

    @property
    def setting(self) -> RateLimit | None:
        """The enforced limit, None when limiting is off."""
        return self._setting

    def configure(self, setting: RateLimit | None) -> None:
        """Enforce ``setting`` (None: off); the windows start empty."""
        if setting is not None and (
            isinstance(setting.limit, bool)
            or not isinstance(setting.limit, int)
            or setting.limit < 1
        ):
            raise ValueError("the rate limit must be an integer >= 1")
        if setting is not None and (
            isinstance(setting.window_s, bool)
            or not isinstance(setting.window_s, int | float)
            or not setting.window_s > 0
        ):
            raise ValueError("the rate-limit window must be a number of seconds > 0")
        with self._lock:
            self._setting = setting
            self._windows.clear()

    def clear(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()

    def take(self, key: str) -> Decision:
        """Count a request of ``key`` unless it is past the limit; return the verdict."""
        setting = self._setting
        limit = setting.limit if setting is not None else DEFAULT_LIMIT
        window_s = setting.window_s if setting is not None else DEFAULT_WINDOW_S
        now = self._clock()
        with self._lock:
            window = self._windows.setdefault(key, collections.deque())
            while window and window[0] <= now - window_s:
                window.popleft()
            limited = setting is not None and len(window) >= limit
            if not limited:
                window.append(now)
                if len(window) > limit:  # never enforced: keep the log bounded
                    window.popleft()
            oldest = window[0]
            remaining = max(0, limit - len(window))
        reset_s = max(0, math.ceil(oldest + window_s - now))
        return Decision(limited, limit, remaining, reset_s)
