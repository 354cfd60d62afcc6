"""Colour where it carries meaning: ✓/yes green, ✗/no red, warnings yellow, hints dim.

Whether a stream gets colour; the first rule that applies decides:

1. ``NO_COLOR`` set and not empty: never (https://no-color.org), even when forced.
2. ``FORCE_COLOR`` set and not empty, ``0`` or ``false``, or ``CLICOLOR_FORCE`` set and not
   empty or ``0``: always, piped or not, whatever ``TERM`` says.
3. ``TERM=dumb``: never.
4. Otherwise: when the stream is a terminal.

Only text written for people goes through a :class:`Palette`; JSON never does. Plain SGR
sequences, each closed by its own reset (39: default colour, 22: normal intensity), so that
pieces nest; no library, nothing imported: offline commands start as fast as before.
"""

from __future__ import annotations

from collections.abc import Mapping

from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import TextIO

WARNING = "warning:"
HINT = "hint:"


def colour_wanted(environ: Mapping[str, str], terminal: bool) -> bool:
    """The rules of the module docstring, for a stream that is (or not) a ``terminal``."""
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "").lower() not in ("", "0", "false"):
        return True
    if environ.get("CLICOLOR_FORCE", "") not in ("", "0"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    return terminal


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


class Palette(Record):
    """Colours for one stream; with ``on`` False every method gives its text back as it is."""

    on: bool = False

    def ok(self, text: str) -> str:
        """Success: green."""
        return self._paint("32", "39", text)

    def bad(self, text: str) -> str:
        """Failure: red."""
        return self._paint("31", "39", text)

    def warn(self, text: str) -> str:
        """Caution, or not known: yellow."""
        return self._paint("33", "39", text)

    def dim(self, text: str) -> str:
        """What helps but can be skipped: dim."""
        return self._paint("2", "22", text)

    def chatter(self, line: str) -> str:
        """A line of stderr chatter: a ``warning:`` prefix yellow, a ``hint:`` line dim."""
        if not self.on:
            return line
        if line.startswith(WARNING):
            return self.warn(WARNING) + line[len(WARNING) :]
        if line.startswith(HINT):
            return self.dim(line)
        return line

    def _paint(self, start: str, end: str, text: str) -> str:
        return f"\x1b[{start}m{text}\x1b[{end}m" if self.on and text else text


PLAIN = Palette()


def palette_for(environ: Mapping[str, str], stream: TextIO) -> Palette:
    """The palette of ``stream`` under ``environ``."""
    return Palette(colour_wanted(environ, is_terminal(stream)))
