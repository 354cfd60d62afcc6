"""Pacing requests by what Botpress Cloud's rate limiter says in every answer.

The real API limits each token with a sliding window and says where it stands in
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds until a slot
frees) on every answer; a 429 carries no ``Retry-After``. One :class:`Pacer` per token and API
URL, shared by every request of a run (``profiles list --verify`` sends many at once), holds
requests back once the window is used up instead of sending them into certain 429s, and
:func:`wait_out` tells the user that it waits and how long (a countdown on a terminal).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, NamedTuple

import anyio

if TYPE_CHECKING:
    from bpshell.spinner import Spinner

POLL_S = 0.05  # how often a held-back request looks again (an answer may free a slot)


def header_seconds(headers: Mapping[str, str], name: str) -> float | None:
    """A header holding a number of seconds (or a count), None when absent or not one."""
    try:
        value = float(headers.get(name, ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def reset_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the server asks to wait: ``Retry-After``, else ``RateLimit-Reset``."""
    asked = header_seconds(headers, "retry-after")
    return asked if asked is not None else header_seconds(headers, "ratelimit-reset")


class Pacer:
    """What the limiter last said for one token, and the requests on their way."""

    def __init__(self) -> None:
        self.remaining: float | None = None
        self.reset_at = 0.0
        self.in_flight = 0
        self.announced = False

    def wait_for(self, now: float) -> float:
        """0 when a request may go now, else how long until the window frees a slot."""
        if self.remaining is None or self.in_flight < self.remaining:
            return 0.0
        if now >= self.reset_at:  # a slot should be free: one request finds out
            return 0.0 if self.in_flight == 0 else POLL_S
        return self.reset_at - now

    async def slot(self, deadline: float, say: Callable[[float], None]) -> bool:
        """Wait for a slot (True), or give up (False) when it would come after ``deadline``."""
        while True:
            now = time.monotonic()
            wait = self.wait_for(now)
            if wait <= 0:
                self.in_flight += 1
                return True
            if now + wait > deadline:
                return False
            if wait >= 1.0 and not self.announced:  # once: 40 checks waiting are one wait
                self.announced = True
                say(wait)
            if self.in_flight:  # an answer on its way may free a slot sooner
                await anyio.sleep(min(max(wait, POLL_S), 1.0))
            else:  # only time frees one: after the wait, one request finds out
                await anyio.sleep(wait)
                self.reset_at = 0.0

    def hold(self, seconds: float) -> None:
        """A 429 asked for ``seconds``: nothing goes before then."""
        self.remaining = 0
        self.reset_at = time.monotonic() + seconds

    def answered(self, headers: Mapping[str, str] | None) -> None:
        """A request came back (``headers`` None: it failed without an answer)."""
        self.in_flight = max(0, self.in_flight - 1)
        if headers is None:
            return
        remaining = header_seconds(headers, "ratelimit-remaining")
        reset = header_seconds(headers, "ratelimit-reset")
        if remaining is not None:
            self.remaining = remaining
            self.reset_at = time.monotonic() + (reset or 0.0)


class Notices(NamedTuple):
    """Where waits on the server are told. ``write`` takes raw text for stderr; ``line`` is
    the terminal's spinner line (:mod:`bpshell.spinner`; None: no one to show it to) and
    ``label`` what it says while a request waits."""

    write: Callable[[str], None]
    line: Spinner | None = None
    label: str | None = None

    def busy(self) -> AbstractContextManager[object]:
        """Around every request: the spinner line shows it once it lasts a moment."""
        return self.line.waiting(self.label) if self.line is not None else nullcontext()

    def wait(self, why: str, seconds: float) -> None:
        """A wait of ``seconds`` starts: a countdown on the spinner line while it shows one
        (never a second line fighting it), else one line."""
        if self.line is not None and self.line.active:
            self.line.countdown(why, seconds)
        else:
            self.write(f"{why}; waiting {seconds:.0f} s\n")


def quiet(text: str) -> None:
    """A :attr:`Notices.write` that tells no one (background work, tests)."""


async def wait_out(seconds: float, why: str, notices: Notices) -> None:
    """Sleep ``seconds``, saying ``why`` and how long: one line, or a countdown on a terminal."""
    with notices.busy():
        notices.wait(why, seconds)
        await anyio.sleep(seconds)
