"""A shell pinned to a profile: ``bp shell -p NAME`` and ``profiles use --session``, in real
processes (scripts, and a real terminal), against the sandbox."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pexpect
import pexpect.popen_spawn
import pytest

from bpshell.commands import GlobalOptions
from bpshell.pin import ShellPin
from bpshell.sandbox import Sandbox
from bpshell.session import Session
from bpshell.toolbar import Auth, View, prompt_text, toolbar_text
from tests.conftest import ROOT, Bp, bp_process, process_env
from tests.shell_helpers import logged_in_two, shell_env, until, wait_until

TIMEOUT_S = 15


@pytest.fixture
def two(bp: Bp, sandbox: Sandbox, tmp_path: Path) -> Bp:
    """``default`` (alice, acme; active) and ``bob`` (initech), tokens in config.json."""
    return logged_in_two(bp, sandbox)


def shell(bp: Bp, *words: str, stdin: str = "", cwd: Path | None = None) -> tuple[int, str, str]:
    done = bp_process(bp.home, "shell", *words, stdin=stdin, cwd=cwd, env={"HOME": str(bp.home)})
    return done.code, done.out, done.err


def documents(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_shell_p_pins_the_shell_and_nobody_else(two: Bp) -> None:
    before = two.config_bytes()
    code, out, err = shell(two, "-p", "bob", "-c", "profiles active; profiles get")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Workspace: initech (ws_initech)"
    assert "Profile: bob (pinned to this shell)" in lines
    assert "Profile: bob" in lines  # profiles get: not the active one
    assert two.config_bytes() == before


def test_a_pinned_shells_json_says_session(two: Bp) -> None:
    code, out, _ = shell(two, "-p", "bob", "-c", "profiles active --json")
    data = json.loads(out)
    assert (code, data["profile"], data["sources"]["profile"], data["profileFile"]) == (
        0,
        "bob",
        "session",
        None,
    )


def test_a_lines_own_p_wins_over_the_pin(two: Bp) -> None:
    code, out, _ = shell(two, "-p", "bob", "-c", "profiles active --json -p default")
    data = json.loads(out)
    assert (code, data["profile"], data["sources"]["profile"]) == (0, "default", "flag")


def test_session_switches_only_this_shell(two: Bp, sandbox: Sandbox) -> None:
    before = two.config_bytes()
    script = (
        "profiles use --session bob; profiles active --json; "
        "profiles use --session --unset; profiles active --json"
    )
    code, out, err = shell(two, "-c", script)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        'This shell is now pinned to profile "bob", workspace initech (ws_initech); '
        'the active profile is still "default"'
    )
    assert (
        lines[2] == 'This shell is no longer pinned to "bob"; it uses the active profile, "default"'
    )
    first, second = documents(out)
    assert (first["profile"], second["profile"]) == ("bob", "default")
    assert two.config_bytes() == before


def test_session_json(two: Bp, sandbox: Sandbox) -> None:
    code, out, _ = shell(
        two, "--json", "-c", "profiles use --session bob; profiles use --session --unset"
    )
    assert code == 0
    assert documents(out) == [
        {
            "profile": "bob",
            "workspaceId": "ws_initech",
            "workspaceName": "initech",
            "apiUrl": sandbox.url,
            "scope": "session",
        },
        {"scope": "session", "removed": "bob", "profile": "default"},
    ]


def test_plain_use_stays_global_and_says_the_shell_stays(two: Bp) -> None:
    code, out, err = shell(two, "-p", "default", "-c", "profiles use bob; profiles active --json")
    assert code == 0
    assert out.splitlines()[0] == 'Active profile is now "bob", workspace initech (ws_initech)'
    assert err == (
        'note: this shell stays on "default", as it is pinned; to switch it too: '
        "profiles use --session bob\n"
    )
    assert documents(out)[0]["profile"] == "default"
    assert two.config()["activeProfile"] == "bob"


def test_session_outside_a_shell_is_a_usage_error(two: Bp) -> None:
    result = two("profiles", "use", "--session", "bob")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "--session pins the profile of a bp shell, and this is not one. For one command give "
        "-p NAME (or set BP_PROFILE); for this folder run: bp profiles use --local NAME; for a "
        "shell of its own run: bp shell -p NAME\n"
    )


def test_session_refuses_an_unknown_profile(two: Bp) -> None:
    code, out, err = shell(two, "-c", "profiles use --session nope")
    assert (code, out) == (1, "")
    assert (
        err
        == 'Unknown profile "nope". Known profiles: bob, default. Create it with: login -p nope\n'
    )


def test_unpinning_a_shell_that_is_not_pinned(two: Bp) -> None:
    code, out, err = shell(two, "-c", "profiles use --session --unset")
    assert (code, out, err) == (0, "", "This shell is not pinned; nothing was changed\n")


def test_bp_profile_at_start_pins_the_shell(two: Bp) -> None:
    done = bp_process(two.home, "shell", "-c", "profiles active --json", env={"BP_PROFILE": "bob"})
    data = json.loads(done.out)
    assert (data["profile"], data["sources"]["profile"]) == ("bob", "session")


def test_the_shell_uses_the_file_of_the_folder_it_started_in(two: Bp, tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    bot.mkdir()
    code, out, err = shell(
        two, "-c", "profiles active --json; profiles use --local bob; profiles active --json",
        cwd=bot,
    )  # fmt: skip
    assert (code, err) == (0, "")
    first, second = documents(out)
    assert (first["profile"], second["profile"], second["profileFile"]) == (
        "default",
        "bob",
        str(bot / ".bp-profile"),
    )
    assert (bot / ".bp-profile").read_text() == "bob\n"
    code, out, err = shell(two, "-p", "default", "-c", "profiles active --json", cwd=bot)
    assert json.loads(out)["profile"] == "default"  # the pin wins over the folder's file


def test_a_pinned_script_tells_a_switch_made_elsewhere_once(two: Bp) -> None:
    """stdin is a pipe (script mode): lines are run as they come, so another process can
    switch the active profile between two of them."""
    env = process_env(two.home)
    child = pexpect.popen_spawn.PopenSpawn(
        [sys.executable, "-m", "bpshell", "shell", "-p", "default"],
        cwd=str(ROOT), env=env, encoding="utf-8", timeout=TIMEOUT_S,
    )  # fmt: skip
    screen = io.StringIO()
    child.logfile_read = screen
    try:

        def get() -> None:
            child.sendline("profiles get --json")
            child.expect_exact('"name": "default"')

        get()
        assert two("profiles", "use", "bob").code == 0  # another terminal
        child.sendline("profiles get --json")
        child.expect_exact('note: the active profile is now "bob" (switched outside this shell)')
        child.expect_exact('"name": "default"')
        assert two("profiles", "use", "default").code == 0
        assert two("profiles", "use", "bob").code == 0
        get()
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        if child.proc.poll() is None:
            child.kill(9)
    assert screen.getvalue().count("note: the active profile is now") == 1
    assert two.config()["activeProfile"] == "bob"


# --- what the prompt and the toolbar say -------------------------------------------------


@pytest.mark.parametrize(
    ("source", "prompt", "toolbar"),
    [
        (None, "bp prod:acme › ", "profile prod │ workspace acme (ws_1)"),
        ("active", "bp prod:acme › ", "profile prod │ workspace acme (ws_1)"),
        ("BP_PROFILE", "bp prod:acme › ", "profile prod │ workspace acme (ws_1)"),
        ("session", "bp prod:acme (pinned) › ", "profile prod (pinned) │ workspace acme (ws_1)"),
        ("local", "bp prod:acme › ", "profile prod (.bp-profile) │ workspace acme (ws_1)"),
    ],
)
def test_the_prompt_and_toolbar_say_where_the_profile_is_from(
    source: str | None, prompt: str, toolbar: str
) -> None:
    view = View("prod", "ws_1", "acme", "https://api.botpress.cloud", source=source)
    assert prompt_text(view) == prompt
    assert toolbar_text(view, Auth()) == f"{toolbar} │ https://api.botpress.cloud"
    assert view.mark.isascii()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_session_follows_the_file_of_its_folder(two: Bp, tmp_path: Path) -> None:
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / ".bp-profile").write_text("bob\n")
    env, _, _ = shell_env(two)
    env.cwd, env.pin = bot, ShellPin()
    session = Session(env, GlobalOptions())
    async with anyio.create_task_group() as group:
        await group.start(session.run)
        assert (session.view.profile, session.view.source) == ("bob", "local")
        (bot / ".bp-profile").write_text("default\n")  # another terminal: --local default
        await until(lambda: session.view.profile == "default")
        (bot / ".bp-profile").write_text("nope\n")
        await until(lambda: session.view.problem is not None)
        assert session.view.problem == f'unknown profile "nope", named by {bot}/.bp-profile'
        env.pin.set("bob", "profiles use --session")  # a pin wins over the file
        await session.after_command(("profiles", "use"), 0)
        assert (session.view.profile, session.view.source) == ("bob", "session")
        group.cancel_scope.cancel()
    await env.aclose()


# --- a real terminal ----------------------------------------------------------------------


class Tmux:
    """A program in a tmux pane of a private tmux server: a real terminal, which answers
    prompt_toolkit's cursor position requests, so the bottom toolbar is drawn too."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.socket = f"bpshell-pin-{os.getpid()}-{secrets.token_hex(4)}"
        self._tmux("new-session", "-d", "-x", "140", "-y", "30", "-c", str(cwd), *command, env=env)

    def _tmux(self, *words: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *words],
            capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=True,
        )  # fmt: skip
        return done.stdout

    def screen(self) -> str:
        """Everything the pane showed, its scrollback included."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-1000")

    def wait_for(self, text: str) -> None:
        try:
            wait_until(lambda: text in self.screen(), within=TIMEOUT_S)
        except AssertionError:
            raise AssertionError(f"{text!r} not shown; the screen:\n{self.screen()}") from None

    def type(self, line: str) -> None:
        self._tmux("send-keys", "-l", line)
        self._tmux("send-keys", "Enter")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(two: Bp) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux")
    env = process_env(two.home)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "TMUX"):
        env.pop(name, None)
    pane = Tmux([sys.executable, "-m", "bpshell", "shell", "-p", "default"], env, ROOT)
    try:
        yield pane
    finally:
        pane.close()


def test_a_pinned_shell_in_a_terminal(terminal: Tmux, two: Bp) -> None:
    terminal.wait_for("bp default:acme (pinned) ›")
    terminal.wait_for("profile default (pinned) │ workspace acme (ws_acme)")
    assert two("profiles", "use", "bob").code == 0  # another terminal
    terminal.wait_for('note: the active profile is now "bob" (switched outside this shell)')
    terminal.type("profiles get")
    terminal.wait_for("Profile: default\n")
    assert two("profiles", "use", "default").code == 0
    assert two("profiles", "use", "bob").code == 0
    terminal.type("profiles use --session bob")
    terminal.wait_for("bp bob:initech (pinned) ›")
    terminal.wait_for("profile bob (pinned) │ workspace initech (ws_initech)")
    terminal.type("profiles use --session --unset")
    terminal.wait_for('This shell is no longer pinned to "bob"; it uses the active profile, "bob"')
    terminal.wait_for("profile bob │ workspace initech (ws_initech)")
    assert terminal.screen().count("note: the active profile is now") == 1
    assert two.config()["activeProfile"] == "bob"
