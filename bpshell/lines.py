"""Shell lines into commands and words: quotes, backslashes, ``;`` and ``#`` comments.

POSIX-shell-like and small: ``'…'`` is literal, ``"…"`` allows ``\\"`` and ``\\\\``, a
backslash outside quotes escapes the next character, an unquoted ``;`` or newline ends a
command, and an unquoted ``#`` at the start of a word starts a comment that runs to the end
of the line. One scanner serves scripts (every command of a text) and completion (the words
of the command under the cursor, the last one unfinished). No imports beyond the errors, so
script mode stays light.
"""

from __future__ import annotations

from typing import NamedTuple

from bpshell.errors import UsageError

_BLANKS = " \t\r"
_ENDS = ";\n"
_DOUBLE_ESCAPES = '"\\$`'


class Scan(NamedTuple):
    """What a text holds, as far as it goes.

    ``commands`` are the finished commands (words, possibly none); ``words`` the finished
    words of the command still open at the end; ``current`` the unfinished last word (empty
    when the text ends with a blank) and ``current_start`` where it starts in the text;
    ``quote`` the quote left open, if any; ``in_comment`` whether the text ends in a comment;
    ``continued`` whether it ends with a backslash that escapes what comes next (a line
    continuation, once Enter adds the newline); ``joins`` where the line continuations (a
    backslash and a newline, outside quotes and comments) start.
    """

    commands: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    current: str
    current_start: int
    quote: str | None
    in_comment: bool
    continued: bool = False
    joins: tuple[int, ...] = ()


def scan(text: str) -> Scan:
    """Scan ``text`` (a script, or a line up to the cursor)."""
    commands: list[tuple[str, ...]] = []
    words: list[str] = []
    word: list[str] = []
    joins: list[int] = []
    in_word = False
    quote: str | None = None
    continued = False
    start = 0
    index = 0
    size = len(text)
    while index < size:
        char = text[index]
        if quote == "'":
            if char == "'":
                quote = None
            else:
                word.append(char)
        elif quote == '"':
            if char == '"':
                quote = None
            elif char == "\\" and index + 1 < size and text[index + 1] in _DOUBLE_ESCAPES:
                index += 1
                word.append(text[index])
            else:
                word.append(char)
        elif char in _BLANKS or char in _ENDS:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            if char in _ENDS:
                commands.append(tuple(words))
                words = []
        elif char == "#" and not in_word:
            newline = text.find("\n", index)
            if newline < 0:
                return Scan(tuple(commands), tuple(words), "", size, None, True, joins=tuple(joins))
            index = newline
            continue
        else:
            if not in_word:
                in_word, start = True, index
            if char in "'\"":
                quote = char
            elif char == "\\":
                if index + 1 == size:
                    continued = True
                else:
                    index += 1
                    if text[index] != "\n":
                        word.append(text[index])
                    else:
                        joins.append(index - 1)
                        in_word = bool(word)
            else:
                word.append(char)
        index += 1
    current = "".join(word) if in_word else ""
    end = start if in_word else size
    return Scan(tuple(commands), tuple(words), current, end, quote, False, continued, tuple(joins))


def join_continuations(text: str) -> str:
    """``text`` as one logical line: every line continuation (backslash, newline) removed."""
    joins = scan(text).joins
    if not joins:
        return text
    kept, start = [], 0
    for join in joins:
        kept.append(text[start:join])
        start = join + 2
    return "".join(kept) + text[start:]


def split_commands(text: str) -> list[list[str]]:
    """The non-empty commands of ``text``, each as a list of words; UsageError on an open quote."""
    found = scan(text)
    if found.quote is not None:
        raise UsageError(f"unterminated {found.quote} quote", "close the quote on the same line")
    open_word = found.current_start < len(text)
    last = (*found.words, found.current) if open_word else found.words
    return [list(words) for words in (*found.commands, last) if words]
