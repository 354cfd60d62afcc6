"""The shell's history file, ``<home>/shell_history``: shared by sessions, never holding a token.

A line is redacted before it is kept anywhere, in memory (what Up and suggestions show) as
well as on disk: ``--token VALUE`` and ``--token=VALUE`` become ``--token [redacted]`` (``--token
-``, which reads stdin, is kept), and anything that looks like a token (``bp_pat_…``, a bearer
value) becomes ``[redacted]``. A line continued with a backslash (``login --token \\``, Enter,
then the token) is kept as the one logical line it stands for, joined before it is redacted:
each physical line alone would not show that its text follows ``--token``. The file is created
0600 and appended to in prompt_toolkit's format; failing to write it never disturbs the shell.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.history import FileHistory

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
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        return fd

    def load_history_strings(self) -> Iterable[str]:
        """Lines of earlier sessions, newest first (redacted again, in case of an old file)."""
        return [redact_line(line) for line in super().load_history_strings()]

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
