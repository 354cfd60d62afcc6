"""The line that says bp is waiting: a spinner on stderr, when stderr is a terminal.

Every wait on the API or the keyring runs inside :meth:`Spinner.waiting`. Once waits have
gone on for :data:`DELAY_S` without a break, one line appears at the cursor
(``⠋ Waiting for api.botpress.cloud…``) and turns every :data:`FRAME_S`; it is erased the
moment the last wait ends, is cancelled (Ctrl-C) or fails, so that nothing written after it
(the result, an error, the next prompt) lands on a half-drawn line. Lines written through the
:class:`~bpshell.env.Env` meanwhile (warnings) go above it: :meth:`Spinner.clear` first.

What the line says: a rate limiter's countdown while one runs (:meth:`Spinner.countdown`);
else the newest label a command gave (``Verifying… 3/10``); else the newest of the waits'
own (``Waiting for HOST…``, ``Reading the keyring…``).

Frames are drawn by callbacks of the running asyncio loop (``call_later``), so no thread and
no task group is needed; with no loop running (an offline command) nothing is drawn. The
line is cut to the terminal's width: a line that wrapped could not be erased.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    import asyncio
    from typing import TextIO

    from bpshell.tokens import TokenStore

DELAY_S = 0.2  # a wait shorter than this shows nothing
FRAME_S = 0.1
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_FRAMES = "|/-\\"
ERASE = "\r\x1b[K"
DEFAULT_LABEL = "Waiting…"


class Wait:
    """One wait on the line. A ``strong`` label (a command's own) beats the waits' own; a
    command may change it while it waits (a count).

    A plain class, not a dataclass: every command imports this module, and ``dataclasses``
    brings ``inspect`` (~6 ms of ``-X importtime`` on an offline ``bp logout``)."""

    __slots__ = ("label", "strong")

    def __init__(self, label: str | None = None, strong: bool = False) -> None:
        self.label = label
        self.strong = strong


class Spinner:
    """The spinner of one :class:`~bpshell.env.Env`: ``stream`` and ``enabled`` are looked up
    at each wait (the shell's ``patch_stdout`` swaps the streams)."""

    def __init__(self, stream: Callable[[], TextIO], enabled: Callable[[], bool]) -> None:
        self._stream = stream
        self._enabled = enabled
        self._waits: list[Wait] = []
        self._timer: asyncio.TimerHandle | None = None
        self._frame = 0
        self._drawn = False
        self._countdown: tuple[str, float] | None = None
        self._hidden_at = -1.0  # when the line was last erased at the end of the waits
        # The line was erased just now as a wait was broken off (Ctrl-C): the ^C the terminal
        # echoed went with it, and the cursor starts a line.
        self.erased_last = False

    @property
    def active(self) -> bool:
        """Whether a wait is going on and the line may show it (stderr is a terminal)."""
        return bool(self._waits) and self._timer is not None

    @contextlib.contextmanager
    def waiting(self, label: str | None = None, *, strong: bool = False) -> Iterator[Wait]:
        """A wait, shown after :data:`DELAY_S` while it lasts (with the others going on)."""
        wait = Wait(label, strong)
        self._waits.append(wait)
        if len(self._waits) == 1:
            self._start()
        broken = True
        try:
            yield wait
            broken = False
        finally:
            self._waits.remove(wait)
            if not self._waits:
                self._stop(broken)

    def countdown(self, why: str, seconds: float) -> None:
        """For the next ``seconds``, the line says ``why; waiting N s``, counting down."""
        self._countdown = (why, time.monotonic() + seconds)

    def clear(self) -> None:
        """Erase the line, if shown, before other output; the next frame draws it again."""
        if self._drawn:
            self._drawn = False
            self._write(ERASE)
        self.erased_last = False

    def _start(self) -> None:
        self.erased_last = False
        if not self._enabled():
            return
        loop = _running_loop()
        if loop is None:
            return
        # A wait right after one that showed the line (the next page of a list) draws it
        # again at once: the line does not blink off for DELAY_S between requests.
        again = time.monotonic() - self._hidden_at < FRAME_S
        self._timer = loop.call_later(0 if again else DELAY_S, self._tick)

    def _stop(self, broken: bool) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._countdown = None
        if self._drawn:
            self._drawn = False
            self._write(ERASE)
            self.erased_last = broken
            self._hidden_at = time.monotonic()

    def _tick(self) -> None:
        if not self._waits:
            return
        frames = FRAMES if _utf8(self._stream()) else ASCII_FRAMES
        text = f"{frames[self._frame % len(frames)]} {self._label()}"
        self._frame += 1
        self._drawn = self._write(ERASE + text[: _width(self._stream()) - 1])
        loop = _running_loop()
        self._timer = loop.call_later(FRAME_S, self._tick) if loop is not None else None

    def _label(self) -> str:
        if self._countdown is not None:
            why, until = self._countdown
            left = until - time.monotonic()
            if left > 0.5:
                return f"{why}; waiting {left:.0f} s"
            self._countdown = None
        for strong in (True, False):
            for wait in reversed(self._waits):
                if wait.label and wait.strong == strong:
                    return wait.label
        return DEFAULT_LABEL

    def _write(self, text: str) -> bool:
        stream = self._stream()
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a terminal that went away: nothing to show it on
            return False
        return True


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop; an offline command has none, and does not import asyncio."""
    module = sys.modules.get("asyncio")
    if module is None:
        return None
    try:
        loop: asyncio.AbstractEventLoop = module.get_running_loop()
    except RuntimeError:
        return None
    return loop


def _utf8(stream: TextIO) -> bool:
    return "utf" in (getattr(stream, "encoding", None) or "").lower()


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


class WaitingTokens:
    """A token store whose calls show on the spinner line: a keyring answers over D-Bus, and
    a locked or busy one can take seconds (``bp env`` and ``bp exec`` wait on nothing else)."""

    def __init__(self, store: TokenStore, spinner: Spinner) -> None:
        self.service = store.service
        self._store = store
        self._spinner = spinner

    def scoped(self, service: str) -> WaitingTokens:
        """See :meth:`bpshell.tokens.TokenStore.scoped`."""
        return WaitingTokens(self._store.scoped(service), self._spinner)

    @property
    def backend_name(self) -> str | None:
        """The wrapped store's backend name, when it has one (``bp doctor`` names it)."""
        name = getattr(self._store, "backend_name", None)
        return name if isinstance(name, str) else None

    async def get(self, profile: str) -> str | None:
        """See :meth:`bpshell.tokens.TokenStore.get`."""
        with self._spinner.waiting("Reading the keyring…"):
            return await self._store.get(profile)

    async def set(self, profile: str, token: str) -> None:
        """See :meth:`bpshell.tokens.TokenStore.set`."""
        with self._spinner.waiting("Saving the token in the keyring…"):
            await self._store.set(profile, token)

    async def delete(self, profile: str) -> bool:
        """See :meth:`bpshell.tokens.TokenStore.delete`."""
        with self._spinner.waiting("Removing the token from the keyring…"):
            return await self._store.delete(profile)
