"""Helpers of the shell tests: waiting for a condition, and logged-in homes."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio

from bpshell.env import Env
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import Bp, Outcome, ScriptedPrompter

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


async def log_in_two(bp: Bp, sandbox: Sandbox, *, insecure: bool = False) -> None:
    """``default`` (alice, ws_acme; active) and ``bob`` (ws_initech)."""
    extra = ("--insecure-storage",) if insecure else ()
    for profile, token, workspace in (
        ("bob", BOB_TOKEN, "ws_initech"),
        ("default", ALICE_TOKEN, "ws_acme"),
    ):
        result = await run_bp(
            bp,
            "login", "-p", profile, "--token", "-", "--apiUrl", sandbox.url,
            "--workspaceId", workspace, "-y", *extra, stdin=token,
        )  # fmt: skip
        assert result.code == 0, result.err


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
