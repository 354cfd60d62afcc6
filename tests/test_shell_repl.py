"""The interactive loop with prompt_toolkit's pipe input and dummy output: keys, lines, history."""

from __future__ import annotations

import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from bpshell.cache import cache_path, write_workspaces
from bpshell.commands import GlobalOptions
from bpshell.repl import run_repl
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from bpshell.session import Session
from bpshell.shell import LineRunner
from bpshell.toolbar import Auth, toolbar_text
from tests.conftest import Bp, KeyringView
from tests.shell_helpers import history_text, log_in_two, shell_env, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Repl:
    pipe: PipeInput
    runner: LineRunner
    session: Session
    status: list[int]

    def send(self, text: str) -> None:
        self.pipe.send_text(text)

    def active(self, bp: Bp) -> str | None:
        return bp.config().get("activeProfile") if bp.config_path.exists() else None


@asynccontextmanager
async def repl(bp: Bp) -> AsyncIterator[Repl]:
    env, _, _ = shell_env(bp)
    runner = LineRunner(env, {})
    state = Session(env, GlobalOptions())
    status: list[int] = []
    with create_pipe_input() as pipe:
        session = Repl(pipe, runner, state, status)

        async def run() -> None:
            code = await run_repl(
                runner, GlobalOptions(), input=pipe, output=DummyOutput(), session=state
            )
            status.append(code)

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            yield session
            with anyio.fail_after(10):
                while not status:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
    await env.aclose()


def offered(session: Session, line: str = "login --workspaceId ") -> set[str]:
    event = CompleteEvent(completion_requested=True)
    return {c.text for c in session.completer.get_completions(Document(line), event)}


def out(runner: LineRunner) -> str:
    return runner.env.stdout.getvalue()  # type: ignore[attr-defined]


def err(runner: LineRunner) -> str:
    return runner.env.stderr.getvalue()  # type: ignore[attr-defined]


async def test_tab_completes_and_enter_runs_then_ctrl_d_leaves_with_0(
    bp: Bp, sandbox: Sandbox
) -> None:
    await log_in_two(bp, sandbox)
    async with repl(bp) as shell:
        shell.send("profiles use bo\t\r")
        await until(lambda: shell.active(bp) == "bob")
        shell.send("\x04")
    assert shell.status == [0]
    assert out(shell.runner) == 'Active profile is now "bob", workspace initech (ws_initech)\n'


async def test_switching_workspace_by_completion_keeps_the_token(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    async with repl(bp) as shell:
        await until(lambda: "ws_team07" in offered(shell.session))
        assert cache_path(bp.home, "default").exists()
        shell.send("login --workspaceId ws_te\t")  # 45 matches: their common part, ws_team
        shell.send("07\r")
        await until(lambda: "Logged in" in out(shell.runner))
        shell.send("\x04")
    assert out(shell.runner) == (
        "Logged in to workspace Team 07 (ws_team07) as "
        'alice@example.com (developer) — profile "default"\n'
    )
    assert bp.config()["profiles"]["default"]["workspaceId"] == "ws_team07"
    assert KeyringView(bp)["default"] == ALICE_TOKEN


async def test_tab_on_another_profiles_workspaces_loads_them_in_the_background(
    bp: Bp, sandbox: Sandbox
) -> None:
    """The Tab key binding runs outside any task: the load it asks for must still happen."""
    await log_in_two(bp, sandbox)
    write_workspaces(bp.home, "bob", sandbox.url, [("ws_initech", "initech")])
    line = "login -y -p bob --workspaceId ws_in"
    async with repl(bp) as shell:
        await until(lambda: "ws_acme" in offered(shell.session))
        shell.send(line + "\t")
        await until(lambda: offered(shell.session, line) == {"ws_initech"})
        shell.send("\t\r")
        await until(lambda: "Logged in" in out(shell.runner))
        shell.send("\x04")
    assert "initech (ws_initech)" in out(shell.runner)
    assert "Unhandled exception" not in err(shell.runner)


async def test_ctrl_c_at_the_prompt_clears_the_line(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    async with repl(bp) as shell:
        shell.send("profiles use bob\x03")
        shell.send("profiles active --json\r")
        await until(lambda: '"profile": "default"' in out(shell.runner))
        shell.send("\x04")
    assert shell.status == [0]
    assert shell.active(bp) == "default"


async def test_exit_and_quit_leave_with_0_even_after_a_failure(bp: Bp) -> None:
    for word in ("exit", "quit"):
        async with repl(bp) as shell:
            shell.send(f"profiles use nope; {word}\r")
        assert shell.status == [0]
        assert err(shell.runner).startswith('Unknown profile "nope"')


async def test_ctrl_d_with_text_on_the_line_does_not_leave(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    async with repl(bp) as shell:
        shell.send("profiles use bob")
        shell.send("\x04")  # deletes forward; nothing to delete at the end
        shell.send("\r")
        await until(lambda: shell.active(bp) == "bob")
        shell.send("exit\r")
    assert shell.status == [0]


async def test_a_slow_command_is_cancelled_by_interrupt(bp: Bp, fresh_sandbox: Sandbox) -> None:
    await log_in_two(bp, fresh_sandbox)
    fresh_sandbox.set_latency(5000)
    async with repl(bp) as shell:
        shell.send("profiles active\r")
        await until(lambda: shell.runner.running)
        started = time.monotonic()
        shell.runner.interrupt()
        await until(lambda: "Cancelled." in err(shell.runner))
        assert time.monotonic() - started < 2
        fresh_sandbox.set_latency(0)
        shell.send("profiles get\r")
        await until(lambda: "Profile: default (active)" in out(shell.runner))
        shell.send("\x04")
    assert shell.status == [0]
    assert err(shell.runner) == "Cancelled.\n"
    assert out(shell.runner).startswith("Profile: default (active)\n")


async def test_history_is_0600_and_never_holds_a_token(bp: Bp, sandbox: Sandbox) -> None:
    async with repl(bp) as shell:
        shell.send(f"login --token {ALICE_TOKEN} --apiUrl {sandbox.url} --workspaceId ws_acme -y\r")
        await until(lambda: "Logged in" in out(shell.runner))
        shell.send(f"profiles list; # pasted by mistake: {ALICE_TOKEN}\r")
        await until(lambda: "pasted" in history_text(bp.home))
        shell.send("\x04")
    text = history_text(bp.home)
    assert ALICE_TOKEN not in text
    assert "bp_pat_" not in text
    assert f"+login --token [redacted] --apiUrl {sandbox.url} --workspaceId ws_acme -y\n" in text
    assert stat.S_IMODE((bp.home / "shell_history").stat().st_mode) == 0o600


async def test_history_is_shared_with_the_next_session(bp: Bp) -> None:
    async with repl(bp) as shell:
        shell.send("help\r")
        await until(lambda: "Shell builtins:" in out(shell.runner))
        shell.send("\x04")
    async with repl(bp) as shell:
        shell.send("\x1b[A\r")  # Up: the previous session's line
        await until(lambda: "Shell builtins:" in out(shell.runner))
        shell.send("\x04")
    assert history_text(bp.home).count("+help\n") == 1  # a repeat of the last line is not added


async def test_a_line_with_a_parse_error_keeps_the_session(bp: Bp) -> None:
    async with repl(bp) as shell:
        shell.send('profiles use "open\r')
        await until(lambda: "Unterminated" in err(shell.runner))
        shell.send("shell\r")
        await until(lambda: "Already in the shell" in err(shell.runner))
        shell.send("\x04")
    assert shell.status == [0]
    assert err(shell.runner) == (
        'Unterminated " quote. Close the quote on the same line\n'
        "Already in the shell. Run its commands directly\n"
    )


REJECTED = Auth("failed", "the token is invalid or expired")


async def test_a_rejected_token_shows_in_the_toolbar_as_soon_as_a_command_sees_it(
    bp: Bp, fresh_sandbox: Sandbox
) -> None:
    """``profiles active`` says ``Authenticated: No``: by then the toolbar says ✗, without a
    check of its own (it said ✓ until the next check, minutes later)."""
    await log_in_two(bp, fresh_sandbox)
    async with repl(bp) as shell:
        await until(lambda: shell.session.auth == Auth("ok", "alice@example.com"))
        fresh_sandbox.world.revoke_token(ALICE_TOKEN)
        checks = fresh_sandbox.stats.requests["getAccount"]
        shell.send("profiles active\r")
        await until(lambda: "Authenticated: No" in out(shell.runner))
        assert shell.session.auth == REJECTED
        assert "✗ the token is invalid or expired" in toolbar_text(
            shell.session.view, shell.session.auth
        )
        shell.send("\x04")
    assert fresh_sandbox.stats.requests["getAccount"] == checks + 1  # the command's own


async def test_an_unreachable_api_shows_in_the_toolbar_as_soon_as_a_command_sees_it(
    bp: Bp, fresh_sandbox: Sandbox
) -> None:
    await log_in_two(bp, fresh_sandbox)
    async with repl(bp) as shell:
        await until(lambda: shell.session.auth.state == "ok")
        url = fresh_sandbox.url
        fresh_sandbox.stop()
        shell.send("workspaces list\r")
        await until(lambda: "Cannot reach" in err(shell.runner))
        assert shell.session.auth == Auth("failed", f"cannot reach {url}")
        shell.send("\x04")


async def test_a_command_of_another_profile_leaves_the_toolbar_alone(
    bp: Bp, fresh_sandbox: Sandbox
) -> None:
    await log_in_two(bp, fresh_sandbox)
    async with repl(bp) as shell:
        await until(lambda: shell.session.auth.state == "ok")
        fresh_sandbox.world.revoke_token(BOB_TOKEN)
        shell.send("profiles active -p bob\r")
        await until(lambda: "Authenticated: No" in out(shell.runner))
        shell.send(
            f"login -p other --token {BOB_TOKEN} --workspaceId ws_initech "
            f"--apiUrl {fresh_sandbox.url}\r"
        )
        await until(lambda: "invalid or expired" in err(shell.runner))
        assert shell.session.auth == Auth("ok", "alice@example.com")
        shell.send("\x04")


async def test_after_a_failure_an_answer_brings_a_new_check(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    async with repl(bp) as shell:
        await until(lambda: shell.session.auth.state == "ok")
        sandbox.set_fault("*", "status", status=401, times=2)
        shell.send("profiles active\r")
        await until(lambda: shell.session.auth == REJECTED)
        shell.send("profiles active\r")  # the faults are used up: the API answers again
        await until(lambda: shell.session.auth == Auth("ok", "alice@example.com"))
        shell.send("\x04")
