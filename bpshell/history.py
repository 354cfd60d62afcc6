"""The shell's history file, ``<home>/shell_history``: shared by sessions, never holding a token.

A line is redacted before it is kept anywhere, in memory (what Up and suggestions show) as
well as on disk: ``--token VALUE`` and ``--token=VALUE`` become ``--token [redacted]`` (``--token
-``, which reads stdin, is kept), and anything that looks like a token (``bp_pat_…``, a bearer
value) becomes ``[redacted]``. A line continued with a backslash (``login --token \\``, Enter,
then the token) is kept as the one logical line it stands for, joined before it is redacted:
each physical line alone would not show that its text follows ``--token``. The file is created
0600 and appended to in prompt_toolkit's format; failing to write it never disturbs the shell.
A FIFO or a device in its place, or a file of another user's, is skipped at once; a symlink is
followed, but the permissions of its target are left as they are.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.history import FileHistory

from bpshell.cache import open_private
from bpshell.cli import redact
from bpshell.lines import join_continuations

HISTORY_NAME = "shell_history"

_TOKEN_FLAG = re.compile(
    r"""--token(?P<sep>=|[ \t]+)(?P<value>(?:'[^']*'?|"(?:[^"\\]|\\.)*"?|\\.|[^\s;'"\\])+)"""
)


def redact_line(line: str) -> str:
    """``line`` joined into one logical line, with every token value replaced by ``[redacted]``."""

    def hide(match: re.Match[str]) -> str:
        return match.group(0) if match.group("value") == "-" else "--token [redacted]"

    return redact(_TOKEN_FLAG.sub(hide, join_continuations(line)))


class RedactingFileHistory(FileHistory):
    """:class:`FileHistory` that stores and remembers lines redacted, in a 0600 file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.path = path
        with contextlib.suppress(OSError):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(self._open())

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        try:
            fd = open_private(self.path, flags | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            return open_private(self.path, flags)  # through a symlink: its target is not chmod-ed
        if os.fstat(fd).st_mode & 0o077:
            with contextlib.suppress(OSError):  # a read-only mount: history still works
                os.fchmod(fd, 0o600)
        return fd

    def load_history_strings(self) -> Iterable[str]:
        """Lines of earlier sessions, newest first (redacted again, in case of an old file).

        :class:`FileHistory`'s parser, over a descriptor from :func:`open_private`: its own
        ``open`` would wait forever on a FIFO."""
        strings: list[str] = []
        lines: list[str] = []
        try:
            handle = os.fdopen(open_private(self.path), "rb")
        except OSError:
            return strings
        with handle:
            for raw in handle:
                line = raw.decode("utf-8", errors="replace")
                if line.startswith("+"):
                    lines.append(line[1:])
                    continue
                if lines:
                    strings.append(redact_line("".join(lines)[:-1]))
                lines = []
        if lines:
            strings.append(redact_line("".join(lines)[:-1]))
        return strings[::-1]

    def append_string(self, string: str) -> None:
        """Remember ``string`` redacted, in memory and in the file."""
        super().append_string(redact_line(string))

    def store_string(self, string: str) -> None:
        """Append ``string`` (redacted) to the file; errors are ignored, it is only history."""
        lines = "".join(f"+{line}\n" for line in redact_line(string).split("\n"))
        data = f"\n# {datetime.datetime.now()}\n{lines}".encode()
        with contextlib.suppress(OSError):
            fd = self._open()
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
