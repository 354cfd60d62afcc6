"""A command in a real terminal (a tmux pane), read back as the screen a person would see.

pexpect shows the bytes a program wrote; a spinner that is drawn and erased is in them
either way. tmux interprets them (carriage returns, erased lines, the ``^C`` the line
discipline echoes), so a test can assert what is left on the screen.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from tests.conftest import ROOT

TIMEOUT_S = 15.0
EXIT_MARK = "[exit "


class Terminal:
    """``command`` run in a fresh tmux server's pane (its own socket), then a shell that
    prints ``[exit N]`` and stays, so the screen can be read after the command ended."""

    def __init__(
        self,
        command: str | Sequence[str],
        env: Mapping[str, str],
        *,
        width: int = 100,
        height: int = 30,
        cwd: Path = ROOT,
    ) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="bpterm"))  # a socket path must be short
        self._socket = str(self._dir / "s")
        shown = command if isinstance(command, str) else shlex.join(command)
        # Ctrl-C reaches the whole foreground group: the shell around the command outlives
        # it (a trap, which the command does not inherit, unlike an ignored signal).
        line = f'trap : INT; {shown}; echo "[exit $?]"'
        subprocess.run(
            [
                *self._tmux(), "new-session", "-d", "-x", str(width), "-y", str(height),
                f"sh -c {shlex.quote(line + '; exec sleep 600')}",
            ],
            env=dict(env), cwd=cwd, check=True, timeout=TIMEOUT_S,
        )  # fmt: skip

    def _tmux(self) -> list[str]:
        return ["tmux", "-S", self._socket, "-f", "/dev/null"]

    def screen(self) -> str:
        """The pane as it looks now, trailing blank lines left out."""
        done = subprocess.run(
            [*self._tmux(), "capture-pane", "-p", "-t", "0"],
            capture_output=True, text=True, check=True, timeout=TIMEOUT_S,
        )  # fmt: skip
        return done.stdout.rstrip("\n")

    def wait_for(self, text: str, within: float = TIMEOUT_S) -> str:
        """The screen once it shows ``text``."""
        return self.wait_until(lambda screen: text in screen, within, f"{text!r}")

    def wait_until(
        self, condition: Callable[[str], bool], within: float = TIMEOUT_S, what: str = ""
    ) -> str:
        """The screen once ``condition`` holds of it."""
        deadline = time.monotonic() + within
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"the terminal never showed {what}; it shows:\n{screen}")
            time.sleep(0.05)

    def ended(self, within: float = TIMEOUT_S) -> str:
        """The screen once the command ended."""
        return self.wait_for(EXIT_MARK, within)

    def keys(self, *keys: str) -> None:
        """Type ``keys`` (tmux key names: ``C-c``, ``Enter``; other words literally)."""
        subprocess.run([*self._tmux(), "send-keys", "-t", "0", *keys], check=True)

    def type(self, text: str) -> None:
        """Type ``text`` literally."""
        subprocess.run([*self._tmux(), "send-keys", "-t", "0", "-l", text], check=True)

    def close(self) -> None:
        """Stop this terminal's tmux server (and what runs in it)."""
        subprocess.run([*self._tmux(), "kill-server"], capture_output=True, timeout=TIMEOUT_S)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def lines(screen: str, after: str | None = None) -> list[str]:
    """The screen's lines, right-stripped; ``after``: only those after the last line that
    contains it (the command itself is not echoed: a pane starts with its output)."""
    found = [line.rstrip() for line in screen.splitlines()]
    if after is None:
        return found
    index = max(i for i, line in enumerate(found) if after in line)
    return found[index + 1 :]
