"""Helpers of the shell tests: waiting for a condition, and logged-in homes."""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio

from bpshell.env import Env
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, Outcome, ScriptedPrompter, process_env

TIMEOUT_S = 10.0


async def until(condition: Callable[[], object], within: float = TIMEOUT_S) -> None:
    """Wait (without blocking the loop) until ``condition()`` is true; fail after ``within`` s."""
    with anyio.fail_after(within):
        while not condition():  # noqa: ASYNC110 (plain state, no event to wait on)
            await anyio.sleep(0.01)


async def run_bp(
    bp: Bp, *words: str, stdin: str = "", env: Mapping[str, str] | None = None
) -> Outcome:
    """``bp`` (which runs its own event loop) from async code, in a worker thread."""
    return await anyio.to_thread.run_sync(lambda: bp(*words, stdin=stdin, env=env))


def wait_until(condition: Callable[[], object], within: float = TIMEOUT_S) -> None:
    """The same, for synchronous tests."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


TWO = (("bob", BOB_TOKEN, "ws_initech"), ("default", ALICE_TOKEN, "ws_acme"))


def _login_words(sandbox: Sandbox, profile: str, workspace: str, insecure: bool) -> list[str]:
    extra = ["--insecure-storage"] if insecure else []
    return ["login", "-p", profile, "--token", "-", "--apiUrl", sandbox.url,
            "--workspaceId", workspace, "-y", *extra]  # fmt: skip


async def log_in_two(bp: Bp, sandbox: Sandbox, *, insecure: bool = False) -> None:
    """``default`` (alice, ws_acme; active) and ``bob`` (ws_initech)."""
    for profile, token, workspace in TWO:
        words = _login_words(sandbox, profile, workspace, insecure)
        result = await run_bp(bp, *words, stdin=token)
        assert result.code == 0, result.err


def logged_in_two(bp: Bp, sandbox: Sandbox) -> Bp:
    """The same from a fixture (no event loop), tokens in config.json; ``bp``."""
    for profile, token, workspace in TWO:
        result = bp(*_login_words(sandbox, profile, workspace, True), stdin=token)
        assert result.code == 0, result.err
    return bp


def shell_env(bp: Bp, *, interactive: bool = True) -> tuple[Env, io.StringIO, io.StringIO]:
    """An environment on ``bp``'s home and tokens, with string streams."""
    out, err = io.StringIO(), io.StringIO()
    env = Env(
        environ={},
        home=bp.home,
        interactive=interactive,
        tokens=bp.tokens,
        prompter=ScriptedPrompter([]),
        browser=lambda url: False,
        stdin_stream=io.StringIO(),
        stdout_stream=out,
        stderr_stream=err,
    )
    return env, out, err


def history_text(home: Path) -> str:
    path = home / "shell_history"
    return path.read_text() if path.exists() else ""


_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]|\r")


class Terminal:
    """``bp WORDS`` in a pseudo-terminal of ``rows`` x 100, and what it printed; no graphical
    browser unless ``env`` names one. Use as a context manager."""

    def __init__(
        self, home: Path, *words: str, env: Mapping[str, str] | None = None, rows: int = 24
    ) -> None:
        import pexpect

        environ = process_env(home, {"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"})
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "LINES", "COLUMNS"):
            environ.pop(name, None)
        environ.update(env or {})
        self.screen = io.StringIO()
        self.child = pexpect.spawn(
            sys.executable, ["-m", "bpshell", *words], env=environ, cwd=str(ROOT),
            dimensions=(rows, 100), encoding="utf-8", timeout=TIMEOUT_S,
        )  # fmt: skip
        self.child.logfile_read = self.screen

    def lines(self) -> list[str]:
        """The lines printed so far, without escape sequences."""
        return _ESCAPES.sub("", self.screen.getvalue()).split("\n")

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.child.close(force=True)
