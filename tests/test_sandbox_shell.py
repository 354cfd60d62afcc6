"""``bp shell --sandbox`` as a first experience: logins default to the sandbox, its banner
lists the demo tokens (fake), and nothing in it points at the real Botpress Cloud."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pexpect
import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, DANA_TOKEN, EXPIRED_TOKEN
from bpshell.sandbox_session import BANNER
from tests import terminal
from tests.conftest import bp_process, process_env
from tests.shell_helpers import Terminal

REAL = "botpress.cloud"
URL = re.compile(r"at (http://127\.0\.0\.1:\d+);")


def test_a_login_in_the_sandbox_defaults_to_it(tmp_path: Path) -> None:
    line = f"login -p mine --token {BOB_TOKEN}; profiles get mine --json"
    result = bp_process(tmp_path / "real", "shell", "--sandbox", "-c", line)
    assert result.code == 0, result.err
    found = URL.search(result.err)
    assert found, result.err
    assert json.loads(result.out.splitlines()[-1])["apiUrl"] == found.group(1)
    assert "Logged in to workspace initech (ws_initech) as bob@example.com" in result.out


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        ("login -p mine", 2, "No token given"),
        (f"login -p mine --token {EXPIRED_TOKEN}", 1, "The token is invalid or expired"),
        ("login -p mine --token 'not a token'", 2, "Invalid token"),
    ],
)
def test_a_failed_login_in_the_sandbox_points_at_its_demo_tokens(
    tmp_path: Path, line: str, code: int, message: str
) -> None:
    result = bp_process(tmp_path / "real", "shell", "--sandbox", "-c", line)
    assert result.code == code, result.err
    assert REAL not in result.err
    last = result.err.splitlines()[-1]
    assert last.startswith(message), result.err
    assert last.endswith("This is the sandbox: log in with one of its demo tokens, listed above")
    for token in (ALICE_TOKEN, BOB_TOKEN, DANA_TOKEN):
        assert token in result.err


def test_the_sandbox_shell_lists_its_tokens_and_asks_for_one(tmp_path: Path) -> None:
    opened = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n')
    browser.chmod(0o755)
    env = {"BROWSER": str(browser), "DISPLAY": ":0"}
    with Terminal(tmp_path / "real", "shell", "--sandbox", env=env) as term:
        term.child.expect_exact("Demo tokens (fake, for this sandbox only):")
        term.child.expect_exact(f"bob (bob@example.com): {BOB_TOKEN} -> ws_initech")
        term.child.expect_exact("bp default:acme ›")
        term.child.send("login -p mine\r")
        term.child.expect_exact("This is the sandbox: log in with one of its demo tokens (fake):")
        term.child.expect_exact("Personal Access Token:")
        term.child.send(BOB_TOKEN + "\r")
        term.child.expect_exact('as bob@example.com (owner) — profile "mine"')
        term.child.expect_exact("bp mine:initech ›")
        term.child.send("exit\r")
        term.child.expect(pexpect.EOF)
        screen = term.screen.getvalue()
    assert REAL not in screen
    assert not opened.exists()


# The demo tokens at 120 columns, wrapped between words (the terminal cut them mid-word).
TOKENS_AT_120 = [
    f"  alice (alice@example.com): {ALICE_TOKEN} -> ws_acme, ws_globex, ws_team01, ws_team02,",
    "    ws_team03, ... (47 workspaces)",
    f"  bob (bob@example.com): {BOB_TOKEN} -> ws_initech",
    f"  dana (dana@example.com): {DANA_TOKEN} -> ws_globex,",
    "    6d1f8a1e-3c5b-4f7a-9e2d-8b4c0a7f5e31, b2e4c6a8-1d3f-4b5a-8c7e-9f0a1b2c3d4e",
    f"  expired: {EXPIRED_TOKEN} -> 401 (expired/revoked)",
]


def test_the_shell_banner_wraps_between_words_at_the_terminals_width(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bpshell", "shell", "--sandbox"]
    with terminal.Terminal(command, process_env(tmp_path / "real"), width=120) as term:
        screen = term.wait_for("bp default:acme ›")
        term.type("exit")
        term.keys("Enter")
        term.ended()
    shown = terminal.lines(screen)
    tokens = shown.index("Demo tokens (fake, for this sandbox only):")
    top = " ".join(line.strip() for line in shown[:tokens])
    found = re.search(r"at (\S+); throwaway home (\S+);", top)
    assert found, screen
    assert top == BANNER.format(url=found.group(1), home=found.group(2)), screen
    assert shown[tokens + 1 : tokens + 9] == [
        *TOKENS_AT_120,
        "Profiles: default (acme), globex (Globex Corp), initech (bob). Try: profiles list "
        "--verify, or login -p NAME with a",
        "  token above",
    ], screen


def test_the_sandbox_module_wraps_its_banner_on_a_terminal(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bpshell.sandbox", "--port", "0"]
    with terminal.Terminal(command, process_env(tmp_path / "home"), width=120) as term:
        term.wait_for("(expired/revoked)")
        term.keys("C-c")
        screen = term.ended()
    shown = terminal.lines(screen)
    assert shown[0].startswith("Botpress sandbox listening on http://127.0.0.1:"), screen
    assert shown[1:8] == ["Tokens (fake, for this sandbox only):", *TOKENS_AT_120], screen
    assert shown[-1].endswith("[exit 0]")  # after the ^C the terminal echoes
