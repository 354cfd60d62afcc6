"""A program in a real terminal: a private tmux server, its screen read as text.

tmux answers prompt_toolkit's cursor-position requests, so the shell draws as it does for a
user (its bottom toolbar, its completion menu), at the window size asked for. Each
:class:`Tmux` has its own socket and server (``-f /dev/null``: no user configuration), and
:meth:`Tmux.close` ends that server only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from tests.conftest import ROOT, in_ci

TIMEOUT_S = 10.0


def tmux_program() -> str:
    """The tmux binary; a skip without it (a failure under CI, where .ci/test installs it)."""
    found = shutil.which("tmux")
    if found is None:
        if in_ci():
            pytest.fail("tmux is not installed (.ci/test installs it)")
        pytest.skip("tmux is not installed")
    return found


class Tmux:
    """``argv`` running in a ``width`` x ``height`` tmux window; see the module docstring."""

    def __init__(
        self,
        folder: Path,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        width: int = 120,
        height: int = 30,
    ) -> None:
        self._program = tmux_program()
        # A short path: a unix socket's name is limited to about 100 bytes.
        self._socket = str(folder / "tmux")
        self._env = {**env, "TMUX": ""}
        command = " ".join(shlex.quote(word) for word in argv)
        self._tmux(
            "-f", os.devnull, "start-server", ";",
            "set-option", "-g", "remain-on-exit", "on", ";",
            "new-session", "-d", "-x", str(width), "-y", str(height), "-c", str(ROOT), command,
        )  # fmt: skip

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            [self._program, "-S", self._socket, *args],
            capture_output=True,
            text=True,
            env=self._env,
            timeout=TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def send(self, text: str) -> None:
        """Type ``text`` as it is (no key names)."""
        self._tmux("send-keys", "-l", text)

    def key(self, *names: str) -> None:
        """Press keys by tmux name: ``Enter``, ``Tab``, ``C-c``, ``C-d``…"""
        self._tmux("send-keys", *names)

    def screen(self) -> str:
        """What the window shows now, one line per row, trailing blanks dropped."""
        return self._tmux("capture-pane", "-p")

    def rows(self) -> list[str]:
        """The rows of :meth:`screen`, all ``height`` of them."""
        return self.screen().split("\n")

    def wait(self, check: Callable[[str], object], within: float = TIMEOUT_S) -> str:
        """The screen once ``check(screen)`` holds; fails with the screen after ``within`` s."""
        deadline = time.monotonic() + within
        while True:
            shown = self.screen()
            if check(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never matched; it shows:\n{shown}")
            time.sleep(0.05)

    def wait_for(self, text: str, within: float = TIMEOUT_S) -> str:
        """The screen once it shows ``text``."""
        return self.wait(lambda shown: text in shown, within)

    def exit_status(self, within: float = TIMEOUT_S) -> int:
        """The program's exit status, once it has ended."""
        deadline = time.monotonic() + within
        while True:
            dead, status = self._tmux(
                "display-message", "-p", "#{pane_dead} #{pane_dead_status}"
            ).split()
            if dead == "1":
                return int(status)
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; the screen shows:\n{self.screen()}")
            time.sleep(0.05)

    def close(self) -> None:
        """End this server (and the program, if it still runs)."""
        subprocess.run(
            [self._program, "-S", self._socket, "kill-server"],
            capture_output=True,
            env=self._env,
            timeout=TIMEOUT_S,
        )
