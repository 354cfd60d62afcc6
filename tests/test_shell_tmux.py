"""``bp shell`` in tmux, which draws it as a terminal does for a user: the bottom toolbar at
the window's width, the completion menu, and what Enter does in it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bpshell.cache import cache_path
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import process_env
from tests.test_shell_pty import login
from tests.tmux import Tmux

Start = Callable[..., Tmux]


@pytest.fixture
def home(tmp_path: Path, fresh_sandbox: Sandbox) -> Path:
    home = tmp_path / "botpress"
    login(home, fresh_sandbox, BOB_TOKEN, "ws_initech", "-p", "bobby")
    login(home, fresh_sandbox, ALICE_TOKEN, "ws_acme", "-p", "default")
    return home


@pytest.fixture
def start(home: Path, tmp_path: Path) -> Iterator[Start]:
    """``start(width=…)``: ``bp shell`` in a window of that width, closed after the test."""
    opened: list[Tmux] = []
    env = process_env(home)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER", "NO_COLOR"):
        env.pop(name, None)

    def run(width: int = 100) -> Tmux:
        folder = tmp_path / f"t{len(opened)}"
        folder.mkdir()
        window = Tmux(folder, [sys.executable, "-m", "bpshell", "shell"], env, width=width)
        opened.append(window)
        return window

    yield run
    for window in opened:
        window.close()


def toolbar(screen: str) -> str:
    """The bottom row that shows something: the toolbar."""
    rows = [row for row in screen.split("\n") if row.strip()]
    return rows[-1] if rows else ""


def test_a_narrow_window_keeps_the_status(start: Start) -> None:
    window = start(width=40)
    shown = window.wait(lambda screen: "✓" in toolbar(screen))
    assert toolbar(shown) == "profile default │ ✓ alice@example.com"


def test_the_toolbar_shows_a_rejected_token_once_a_command_sees_it(
    start: Start, fresh_sandbox: Sandbox
) -> None:
    window = start(width=40)
    window.wait(lambda screen: "✓" in toolbar(screen))
    fresh_sandbox.world.revoke_token(ALICE_TOKEN)
    window.send("profiles active")
    window.key("Enter")
    shown = window.wait(
        lambda screen: screen.count("bp default:acme ›") == 2 and "›" not in toolbar(screen)
    )
    assert "Authenticated: No (the token is invalid" in shown  # (the window is narrow)
    assert toolbar(shown) == "✗ the token is invalid or expired"  # the first frame after it


def test_enter_takes_the_highlighted_completion_and_a_second_enter_runs_the_line(
    start: Start, home: Path
) -> None:
    """As in pgcli and fish: Enter on a completion picked in the menu puts it on the line and
    closes the menu; the line runs at the next Enter (here, with --json added meanwhile)."""
    window = start()
    window.wait(lambda screen: "✓" in toolbar(screen))
    window.send("profiles use ")
    window.key("Tab")  # bobby and default: the menu opens, nothing highlighted yet
    window.wait_for("default  acme (ws_acme)")
    window.key("Tab")  # highlights bobby, and puts it on the line
    window.wait_for("› profiles use bobby")
    window.key("Enter")
    window.wait(lambda screen: "acme (ws_acme)" not in screen.replace(toolbar(screen), ""))
    window.send(" --json")
    window.key("Enter")
    shown = window.wait_for("bp bobby:initech ›")
    assert "› profiles use bobby --json" in shown
    assert '"profile": "bobby"' in shown
    assert "Active profile is now" not in shown


def test_tab_on_a_profile_with_nothing_cached_says_it_is_fetching_then_offers_them(
    start: Start, home: Path, fresh_sandbox: Sandbox
) -> None:
    """The Tab is answered once the workspaces are in, without another Tab."""
    assert not cache_path(home, "bobby").exists()
    window = start()
    window.wait(lambda screen: "✓" in toolbar(screen))
    fresh_sandbox.set_latency(1500)
    window.send("login -p bobby --workspaceId ws_")
    window.key("Tab")
    shown = window.wait(lambda screen: "fetching workspaces of bobby…" in toolbar(screen))
    assert "› login -p bobby --workspaceId ws_\n" in shown  # nothing offered yet
    shown = window.wait_for("› login -p bobby --workspaceId ws_initech")
    assert "fetching" not in toolbar(shown)


def test_workspaces_fetched_after_the_line_changed_open_no_menu(
    start: Start, home: Path, fresh_sandbox: Sandbox
) -> None:
    """Typing on while they are fetched: the answer no longer fits the line; nothing pops up."""
    window = start()
    window.wait(lambda screen: "✓" in toolbar(screen))
    fresh_sandbox.set_latency(1500)
    window.send("login -p bobby --workspaceId ws_")
    window.key("Tab")
    window.wait(lambda screen: "fetching workspaces of bobby…" in toolbar(screen))
    window.send("x")
    shown = window.wait(lambda screen: "fetching" not in toolbar(screen))
    assert "› login -p bobby --workspaceId ws_x\n" in shown
    assert "initech" not in shown.replace(toolbar(shown), "")


def test_profiles_use_with_p_switches_without_the_picker(start: Start) -> None:
    window = start()
    window.wait(lambda screen: "✓" in toolbar(screen))
    window.send("profiles use -p bobby")
    window.key("Enter")
    shown = window.wait_for("bp bobby:initech ›")
    assert 'Active profile is now "bobby", workspace initech (ws_initech)' in shown
    assert "Profile to use" not in shown
