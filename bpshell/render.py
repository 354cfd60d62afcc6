"""Results of commands and how they are written: data as text or JSON, never raw escapes."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence

from bpshell.colour import PLAIN, Palette
from bpshell.errors import BpError, ExitStatus
from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import Any

_URL_START = re.compile(r"[a-z][a-z0-9+.-]*://")


class Result(Record):
    """What a command produced: ``data`` for ``--json``, ``text`` for people, and a status;
    ``hints``: what to do next, written to stderr after the text (never with ``--json``)."""

    data: Any = None
    text: str = ""
    status: ExitStatus = ExitStatus.OK
    hints: tuple[str, ...] = ()


def clean(text: str) -> str:
    """``text`` with control characters made visible and inert: escape sequences, and the
    bidi overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C)
    that could make the terminal show a line reordered; all of them are not printable."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    paint: Mapping[int, Callable[[str], str]] | None = None,
) -> str:
    """Left-aligned columns separated by two spaces; cells are cleaned. ``paint`` colours the
    data cells of the columns it names (by index); widths are those of the plain text."""
    widths = column_widths([headers, *rows])
    lines = [table_row(headers, widths), *(table_row(row, widths, paint) for row in rows)]
    return "\n".join(lines)


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of each column, for rows written one at a time by :func:`table_row`."""
    return [max(len(clean(row[i])) for row in rows) for i in range(len(rows[0]))]


def table_row(
    cells: Sequence[str],
    widths: Sequence[int],
    paint: Mapping[int, Callable[[str], str]] | None = None,
) -> str:
    """One row padded to ``widths``; cells past the last width are written as they are."""
    shown = [clean(c) for c in cells]
    painted = [paint.get(i, _same)(c) if paint else c for i, c in enumerate(shown)]
    padded = [p + " " * (w - len(c)) for p, c, w in zip(painted, shown, widths, strict=False)]
    return "  ".join(padded + painted[len(widths) :]).rstrip()


def _same(text: str) -> str:
    return text


def to_json(data: Any, *, compact: bool = False) -> str:
    """The JSON written on stdout: indented for a one-shot run, which prints one document;
    ``compact`` on one line, for the shell, which prints one per command (JSON Lines)."""
    return _inert(json.dumps(data, indent=None if compact else 2, ensure_ascii=False))


def _inert(text: str) -> str:
    """JSON text with every non-printable character as a ``\\u`` escape.

    ``json.dumps`` escapes only C0 controls; DEL, C1 controls (``\\x9b`` is CSI on some
    terminals) and bidi overrides would reach the terminal raw. Outside strings JSON text
    holds only printable ASCII and newlines, so escaping the rest is the same JSON.
    """
    if text.replace("\n", "").isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == "\n" else _escape(ord(ch)) for ch in text)


def _escape(code: int) -> str:
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def error_line(error: BpError, palette: Palette = PLAIN, *, opening: bool = True) -> str:
    """One line: what went wrong (red on a terminal), then what to do (dim). ``opening``
    False: the line goes after a label (``warning: …``), so it starts in lower case."""
    text = _sentence(clean(error.message)) if opening else clean(error.message)
    message = palette.bad(text)
    if not error.hint:
        return message
    stop = "" if text.endswith(("?", "!", ".")) else "."  # "…its token?" takes no "."
    return f"{message}{stop} {palette.dim(_sentence(clean(error.hint)))}"


def _sentence(text: str) -> str:
    if _URL_START.match(text):  # "Http://…" would be a different, wrong URL
        return text
    return text[:1].upper() + text[1:]


def shell_word(text: str | os.PathLike[str]) -> str:
    """``text`` (a path, mostly) as one word of a command to paste into a shell. One that
    shows as it is (printable, UTF-8) is quoted as sh quotes it; in another, :func:`clean`
    would show a newline as ``\\n``, which inside ``'…'`` is a backslash and an n, naming
    another file: it is written with ``$'…'`` escapes of its bytes instead, as bash, zsh and
    ksh read them."""
    text = os.fspath(text)
    if text.isprintable():
        import shlex

        return shlex.quote(text)
    return "$'" + "".join(_shell_escaped(byte) for byte in os.fsencode(text)) + "'"


def _shell_escaped(byte: int) -> str:
    if byte in b"'\\":
        return "\\" + chr(byte)
    if 0x20 <= byte < 0x7F:
        return chr(byte)
    return {0x0A: "\\n", 0x09: "\\t"}.get(byte, f"\\x{byte:02x}")


def error_json(error: BpError) -> str:
    """``{"error": {"type": ..., "message": ...}}`` for ``--json`` runs."""
    body: dict[str, Any] = {"type": error.kind, "message": error.message}
    if error.hint:
        body["hint"] = error.hint
    return _inert(json.dumps({"error": body}, ensure_ascii=False))


def workspace_label(name: str | None, workspace_id: str) -> str:
    """``acme (ws_abc123)``, or the bare ID when the name is unknown."""
    return f"{clean(name)} ({clean(workspace_id)})" if name else clean(workspace_id)
