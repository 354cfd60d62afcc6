"""Feedback while bp waits: a spinner line on a terminal's stderr, gone without a trace when
the wait ends or is interrupted, never in piped output; ``profiles list --verify`` keeps its
rows in order on a terminal. Real terminals (tmux panes) against slowed-down sandboxes."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import bp_process, process_env
from tests.terminal import Terminal, lines

BP = [sys.executable, "-m", "bpshell"]
FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SLOW_MS = 1500


def login(home: Path, sandbox: Sandbox, *extra: str, token: str = ALICE_TOKEN, **env: str) -> None:
    done = bp_process(
        home, "login", "--token", "-", "--apiUrl", sandbox.url, "-y", *extra,
        stdin=token, env=env,
    )  # fmt: skip
    assert done.code == 0, done.err


def waiting_for(sandbox: Sandbox) -> str:
    return f"Waiting for {urlsplit(sandbox.url).netloc}…"


def no_debris(screen: str) -> None:
    assert "Waiting" not in screen and "Reading the keyring" not in screen, screen
    assert not any(frame in screen for frame in FRAMES), screen
    assert "^C" not in screen, screen


@pytest.fixture
def logged_in(home: Path, fresh_sandbox: Sandbox) -> Sandbox:
    login(home, fresh_sandbox, "--workspaceId", "ws_acme", "--insecure-storage")
    return fresh_sandbox


@pytest.mark.parametrize(
    ("words", "shown"),
    [
        (("workspaces", "list"), "  ws_"),
        (("profiles", "active"), "Authenticated: Yes"),
        (("tokens", "list"), "PROFILES"),
        (("login", "--workspaceId", "ws_globex", "-y"), "Logged in to workspace Globex Corp"),
    ],
)
def test_a_slow_request_shows_a_spinner_that_leaves_nothing_behind(
    home: Path, logged_in: Sandbox, words: tuple[str, ...], shown: str
) -> None:
    logged_in.set_latency(SLOW_MS)
    with Terminal([*BP, *words], process_env(home)) as terminal:
        terminal.wait_for(waiting_for(logged_in))
        screen = terminal.ended()
    assert shown in screen
    assert screen.endswith("[exit 0]"), screen
    no_debris(screen)


def test_the_spinner_turns(home: Path, logged_in: Sandbox) -> None:
    logged_in.set_latency(3000)
    with Terminal([*BP, "workspaces", "list"], process_env(home)) as terminal:
        first = terminal.wait_for(waiting_for(logged_in))
        frame = next(f for f in FRAMES if f"{f} {waiting_for(logged_in)}" in first)
        terminal.wait_until(lambda screen: f"{frame} Waiting" not in screen, what="another frame")
        terminal.ended()


def test_no_spinner_when_piped(home: Path, logged_in: Sandbox) -> None:
    logged_in.set_latency(600)
    for words in (("workspaces", "list"), ("profiles", "active")):
        done = bp_process(home, *words)
        assert done.code == 0, done.err
        assert done.err == ""
        assert "\r" not in done.out and "\x1b" not in done.out


def test_ctrl_c_during_the_spinner_leaves_a_clean_line(home: Path, logged_in: Sandbox) -> None:
    logged_in.set_latency(20_000)
    with Terminal([*BP, "workspaces", "list"], process_env(home)) as terminal:
        terminal.wait_for(waiting_for(logged_in))
        terminal.keys("C-c")
        screen = terminal.ended()
    assert lines(screen) == ["Interrupted.", "[exit 130]"], screen
    no_debris(screen)


def test_a_slow_keyring_shows_a_spinner_for_env_and_exec(
    home: Path, fresh_sandbox: Sandbox
) -> None:
    keyring = {
        "PYTHON_KEYRING_BACKEND": "tests.keyring_backends.FileBacked",
        "BPSHELL_TEST_KEYRING": str(home.parent / "keyring.json"),
    }
    login(home, fresh_sandbox, "--workspaceId", "ws_acme", **keyring)
    slow = process_env(home, {**keyring, "BPSHELL_TEST_KEYRING_DELAY": "0.7"})
    evaluated = 'eval "$(python -m bpshell env)" && echo "workspace $BP_WORKSPACE_ID"'
    child = "python -m bpshell exec -- sh -c 'echo \"child sees $BP_WORKSPACE_ID\"'"
    for command, shown in ((evaluated, "workspace ws_acme"), (child, "child sees ws_acme")):
        with Terminal(command, slow) as terminal:
            terminal.wait_for("Reading the keyring…")
            screen = terminal.ended()
        assert lines(screen) == [shown, "[exit 0]"], screen
        no_debris(screen)


def test_a_rate_limit_counts_down_on_the_spinner_line(home: Path, logged_in: Sandbox) -> None:
    """The wait is told on the one line, not as a second line fighting it; then it goes."""
    logged_in.set_rate_limit(2, 3.0)  # profiles active sends 3 requests at once
    with Terminal([*BP, "profiles", "active"], process_env(home)) as terminal:
        terminal.wait_for(f"{logged_in.url} is rate limiting requests; waiting ")
        screen = terminal.ended()
    assert lines(screen)[:3] == [
        "Workspace: acme (ws_acme)", f"API URL: {logged_in.url}", "Authenticated: Yes",
    ]  # fmt: skip
    assert "rate limiting" not in screen and screen.endswith("[exit 0]"), screen
    no_debris(screen)


@pytest.fixture
def shell_home(home: Path, fresh_sandbox: Sandbox) -> Path:
    login(home, fresh_sandbox, "--workspaceId", "ws_acme", "--insecure-storage")
    return home


def _shell(home: Path) -> Terminal:
    env = process_env(home)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        env.pop(name, None)
    return Terminal([*BP, "shell"], env, width=160)


def _settled(terminal: Terminal) -> None:
    """The prompt is up and the toolbar's background check is done."""
    terminal.wait_for("✓ authenticated as alice@example.com")


def test_the_shell_shows_the_spinner_while_a_command_waits(
    shell_home: Path, fresh_sandbox: Sandbox
) -> None:
    with _shell(shell_home) as terminal:
        _settled(terminal)
        fresh_sandbox.set_latency(SLOW_MS)
        terminal.type("profiles active")
        terminal.keys("Enter")
        terminal.wait_for(waiting_for(fresh_sandbox))
        screen = terminal.wait_until(
            lambda s: "Authenticated: Yes" in s and s.count("bp default:acme ›") == 2,
            what="the next prompt",
        )
    no_debris(screen)


def test_ctrl_c_during_the_spinner_in_the_shell(shell_home: Path, fresh_sandbox: Sandbox) -> None:
    with _shell(shell_home) as terminal:
        _settled(terminal)
        fresh_sandbox.set_latency(20_000)
        terminal.type("profiles active")
        terminal.keys("Enter")
        terminal.wait_for(waiting_for(fresh_sandbox))
        terminal.keys("C-c")
        screen = terminal.wait_until(
            lambda s: "Cancelled." in s and s.count("bp default:acme ›") == 2, what="the prompt"
        )
    assert lines(screen, after="profiles active")[0] == "Cancelled.", screen
    no_debris(screen)


def test_verify_rows_keep_their_order_on_a_terminal(
    home: Path, fresh_sandbox: Sandbox, sandbox: Sandbox
) -> None:
    """The first profile by name answers last; the terminal shows the table as a pipe gets it."""
    login(home, fresh_sandbox, "-p", "aaa", "--workspaceId", "ws_acme", "--insecure-storage")
    login(home, sandbox, "-p", "mmm", "--workspaceId", "ws_acme", "--insecure-storage")
    login(
        home, sandbox, "-p", "zzz", "--workspaceId", "ws_initech", "--insecure-storage",
        token=BOB_TOKEN,
    )  # fmt: skip
    fresh_sandbox.set_latency(SLOW_MS)
    piped = bp_process(home, "profiles", "list", "--verify")
    assert piped.code == 0, piped.err
    with Terminal([*BP, "profiles", "list", "--verify"], process_env(home)) as terminal:
        terminal.wait_for("Verifying… 2/3")
        screen = terminal.ended()
    assert lines(screen) == [*piped.out.splitlines(), "[exit 0]"], screen
    names = [re.match(r"[* ] +(\S+)", line)[1] for line in piped.out.splitlines()[1:]]  # type: ignore[index]
    assert names == ["aaa", "mmm", "zzz"]  # sorted by name
    assert piped.out.splitlines()[3].startswith("*  zzz")  # the active one marked
    no_debris(screen)
