"""What a picker shows on a terminal: numbered rows of aligned columns that fit the screen,
what an answer may be, and completions filtered as the user types.

Widths are display widths (a CJK character takes two columns). A list longer than the
screen shows its first rows and says how many more there are; typing filters all of them
in the completion menu, which prompt_toolkit keeps within the screen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.utils import get_cwidth

from bpshell.render import clean

# Lines kept free below the rows: the "… more" line, the hint, the prompt and the
# completion menu (prompt_toolkit reserves 8 lines for it).
RESERVED_LINES = 11
MIN_ROWS = 5
MIN_CELL = 8
GAP = "  "
CURRENT = "(current)"
HINT = "Type a number, or part of a name or ID (Tab completes)"


def picker_lines(
    rows: Sequence[Sequence[str]], current: int | None, height: int, width: int
) -> list[str]:
    """The lines that show ``rows`` (cells of each choice) on a ``height`` x ``width``
    terminal: numbered from 1, columns aligned, the ``current`` row (an index) marked, and
    when they do not all fit, the first ones and how many more there are."""
    room = max(MIN_ROWS, height - RESERVED_LINES)
    shown = len(rows) if len(rows) <= room else room - 1
    digits = len(str(len(rows)))
    cells = [[clean(cell) for cell in row] for row in rows[:shown]]
    widths = _fit(_widths(cells), width - (2 + digits) - len(GAP) - len(GAP + CURRENT))
    lines = []
    for index, row in enumerate(cells):
        mark = [CURRENT] if index == current else []
        padded = [_pad(cell, w) for cell, w in zip(row, widths, strict=False)]
        lines.append(f"  {index + 1:>{digits}}{GAP}" + GAP.join([*padded, *mark]).rstrip())
    if shown < len(rows):
        lines.append(f"  … {len(rows) - shown} more: type part of a name or ID to filter them")
    return lines


def _widths(rows: Sequence[Sequence[str]]) -> list[int]:
    columns = max((len(row) for row in rows), default=0)
    return [
        max((get_cwidth(row[i]) for row in rows if i < len(row)), default=0) for i in range(columns)
    ]


def _fit(widths: list[int], room: int) -> list[int]:
    """``widths`` narrowed, widest column first, until the columns and their gaps fit; the
    last column (an ID, which one may type) is never cut."""
    widths = list(widths)
    while sum(widths) + len(GAP) * (len(widths) - 1) > room and len(widths) > 1:
        widest = max(range(len(widths) - 1), key=lambda i: widths[i])
        if widths[widest] <= MIN_CELL:
            break
        widths[widest] -= 1
    return widths


def _pad(cell: str, width: int) -> str:
    """``cell`` padded (or cut, with "…") to ``width`` display columns."""
    if get_cwidth(cell) > width:
        while cell and get_cwidth(cell) > width - 1:
            cell = cell[:-1]
        cell += "…"
    return cell + " " * (width - get_cwidth(cell))


class ChoiceCompleter(Completer):
    """Completes the values of a choice, matching on the value or on its description; the
    menu shows the row's first cell and the rest beside it. A number picks a row, so digits
    alone are not completed."""

    def __init__(
        self, choices: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]] | None = None
    ) -> None:
        self._choices = choices
        self._rows = rows or [(description, value) for value, description in choices]

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        typed = document.text_before_cursor
        wanted = typed.strip().lower()
        if wanted.isdigit():
            return
        for (value, description), row in zip(self._choices, self._rows, strict=True):
            if wanted in value.lower() or wanted in description.lower():
                display, meta = (row[0], GAP.join(row[1:])) if row else (value, description)
                yield Completion(
                    value, -len(typed), display=clean(display), display_meta=clean(meta)
                )
