"""``bp shell`` end to end in a real pseudo-terminal, against the sandbox."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from bpshell.cache import cache_path, write_workspaces
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, process_env
from tests.shell_helpers import history_text, wait_until

TIMEOUT_S = 10


def login(home: Path, sandbox: Sandbox, token: str, workspace: str, *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", "login", "--token", "-", "--workspaceId", workspace,
         "-y", "--insecure-storage", "--apiUrl", sandbox.url, *extra],
        input=token, capture_output=True, text=True, env=process_env(home), cwd=ROOT,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture
def home(tmp_path: Path, fresh_sandbox: Sandbox) -> Path:
    home = tmp_path / "botpress"
    login(home, fresh_sandbox, BOB_TOKEN, "ws_initech", "-p", "bobby")
    login(home, fresh_sandbox, ALICE_TOKEN, "ws_acme", "-p", "default")
    return home


@pytest.fixture
def shell(home: Path) -> Iterator[tuple[pexpect.spawn, io.StringIO]]:
    env = process_env(home, {"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"})
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        env.pop(name, None)
    screen = io.StringIO()
    child = pexpect.spawn(
        sys.executable, ["-m", "bpshell", "shell"], env=env, cwd=str(ROOT),
        dimensions=(40, 120), encoding="utf-8", timeout=TIMEOUT_S,
    )  # fmt: skip
    child.logfile_read = screen
    try:
        yield child, screen
    finally:
        child.close(force=True)


def quiet(sandbox: Sandbox, for_s: float = 0.3) -> Callable[[], bool]:
    """A condition: no request in flight, and none has come for ``for_s`` seconds."""
    seen = {"total": -1, "since": time.monotonic()}

    def check() -> bool:
        stats = sandbox.stats
        if stats.total != seen["total"] or stats.in_flight:
            seen.update(total=stats.total, since=time.monotonic())
        return time.monotonic() - seen["since"] >= for_s

    return check


def test_a_working_session(
    shell: tuple[pexpect.spawn, io.StringIO], home: Path, fresh_sandbox: Sandbox
) -> None:
    child, screen = shell
    child.expect_exact("bp default:acme ›")
    wait_until(lambda: cache_path(home, "default").exists())

    child.send("profiles use bo\t")
    child.expect_exact("profiles use bobby")
    child.send("\r")
    child.expect_exact('Active profile is now "bobby", workspace initech (ws_initech)')
    child.expect_exact("bp bobby:initech ›")
    child.send("profiles use def\t\r")
    child.expect_exact("bp default:acme ›")

    child.send("login --workspaceId ws_gl\t")
    child.expect_exact("login --workspaceId ws_globex")
    child.send("\r")
    child.expect_exact("Logged in to workspace Globex Corp (ws_globex) as alice@example.com")
    child.expect_exact("bp default:Globex Corp ›")

    child.send(f"login -p p3 --apiUrl {fresh_sandbox.url} --workspaceId ws_acme\r")
    child.expect_exact("Personal Access Token:")
    child.send(ALICE_TOKEN + "\r")
    child.expect_exact('as alice@example.com (owner) — profile "p3"')
    child.expect_exact("bp p3:acme ›")

    wait_until(lambda: cache_path(home, "p3").exists())
    wait_until(quiet(fresh_sandbox))  # the background check and fetch after the login
    fresh_sandbox.set_latency(5000)
    child.send("profiles active\r")
    wait_until(lambda: fresh_sandbox.stats.in_flight > 0)
    started = time.monotonic()
    child.sendintr()
    child.expect_exact("Cancelled.")
    child.expect_exact("bp p3:acme ›")
    assert time.monotonic() - started < 4
    fresh_sandbox.set_latency(0)
    child.send("profiles get\r")
    child.expect_exact("Profile: p3 (active)")
    child.expect_exact("bp p3:acme ›")

    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert ALICE_TOKEN not in screen.getvalue()
    history = history_text(home)
    assert "bp_pat_" not in history
    assert f"+login -p p3 --apiUrl {fresh_sandbox.url} --workspaceId ws_acme\n" in history
    assert os.stat(home / "shell_history").st_mode & 0o777 == 0o600


def test_ctrl_c_at_the_prompt_then_exit(shell: tuple[pexpect.spawn, io.StringIO]) -> None:
    child, _ = shell
    child.expect_exact("bp default:acme ›")
    child.send("profiles use bobby")
    child.sendintr()
    child.expect_exact("bp default:acme ›")
    child.send("exit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_tab_on_another_profiles_workspace_ids(
    shell: tuple[pexpect.spawn, io.StringIO], home: Path, fresh_sandbox: Sandbox
) -> None:
    """Tab runs outside any task in a real terminal; asking for another profile's cache works."""
    write_workspaces(home, "bobby", fresh_sandbox.url, [("ws_initech", "initech")])
    child, screen = shell
    child.expect_exact("bp default:acme ›")
    wait_until(lambda: cache_path(home, "default").exists())
    child.send("login -y -p bobby --workspaceId ws_in\t")
    time.sleep(0.3)  # the first Tab asks for bobby's cache; the second one finds it loaded
    child.send("\t")
    child.expect_exact("itech")  # the screen is redrawn by difference: ws_in + itech
    child.send("\x15exit\r")
    child.expect(pexpect.EOF)
    assert "Unhandled exception" not in screen.getvalue()
