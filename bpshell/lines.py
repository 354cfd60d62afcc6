"""Shell lines into commands and words: quotes, backslashes, ``;`` and ``#`` comments.

POSIX-shell-like and small: ``'…'`` is literal, ``"…"`` allows ``\\"`` and ``\\\\``, a
backslash outside quotes escapes the next character, an unquoted ``;`` or newline ends a
command, and an unquoted ``#`` at the start of a word starts a comment that runs to the end
of the line. One scanner serves scripts (every command of a text) and completion (the words
of the command under the cursor, the last one unfinished). No imports beyond the errors, so
script mode stays light.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpshell.errors import UsageError

_BLANKS = " \t\r"
_ENDS = ";\n"
_DOUBLE_ESCAPES = '"\\$`'


@dataclass(frozen=True)
class Scan:
    """What a text holds, as far as it goes.

    ``commands`` are the finished commands (words, possibly none); ``words`` the finished
    words of the command still open at the end; ``current`` the unfinished last word (empty
    when the text ends with a blank) and ``current_start`` where it starts in the text;
    ``quote`` the quote left open, if any; ``in_comment`` whether the text ends in a comment.
    """

    commands: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    current: str
    current_start: int
    quote: str | None
    in_comment: bool


def scan(text: str) -> Scan:
    """Scan ``text`` (a script, or a line up to the cursor)."""
    commands: list[tuple[str, ...]] = []
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote: str | None = None
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
                return Scan(tuple(commands), tuple(words), "", size, None, True)
            index = newline
            continue
        else:
            if not in_word:
                in_word, start = True, index
            if char in "'\"":
                quote = char
            elif char == "\\":
                if index + 1 < size:
                    index += 1
                    if text[index] != "\n":
                        word.append(text[index])
                    elif not word:
                        in_word = False
            else:
                word.append(char)
        index += 1
    current = "".join(word) if in_word else ""
    return Scan(tuple(commands), tuple(words), current, start if in_word else size, quote, False)


def split_commands(text: str) -> list[list[str]]:
    """The non-empty commands of ``text``, each as a list of words; UsageError on an open quote."""
    found = scan(text)
    if found.quote is not None:
        raise UsageError(f"unterminated {found.quote} quote", "close the quote on the same line")
    open_word = found.current_start < len(text)
    last = (*found.words, found.current) if open_word else found.words
    return [list(words) for words in (*found.commands, last) if words]
