"""Token commands on a real terminal: they may ask for a passphrase there, Ctrl-C reaches
them and leaves config.json as it was, and the shell runs one once per session (its
background check without the terminal, so that it never fights the prompt for keys)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.conftest import ROOT, process_env
from tests.shell_helpers import wait_until
from tests.test_token_command import Script, gone, login, token_script

TIMEOUT_S = 20
ASKS = (
    "try:\n"
    "    tty = os.open('/dev/tty', os.O_RDWR)\n"
    "except OSError:\n"
    "    sys.stderr.write('no terminal to ask on\\n'); sys.exit(5)\n"
    "os.write(tty, b'Passphrase: ')\n"
    "answer = b''\n"
    "while not answer.endswith(b'\\n') and (chunk := os.read(tty, 100)):\n"
    "    answer += chunk\n"
    "if answer.strip() != b'open sesame':\n"
    "    sys.exit(4)"
)


def spawn(home: Path, *words: str) -> pexpect.spawn:
    env = process_env(home, {"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "NO_COLOR": "1"})
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        env.pop(name, None)
    child = pexpect.spawn(
        sys.executable, ["-m", "bpshell", *words], env=env, cwd=str(ROOT),
        dimensions=(40, 160), encoding="utf-8", timeout=TIMEOUT_S,
    )  # fmt: skip
    child.logfile_read = io.StringIO()
    return child


@pytest.fixture
def asking(tmp_path: Path) -> Script:
    return token_script(tmp_path, ASKS, name="asking.py")


@pytest.fixture
def terminal() -> Iterator[list[pexpect.spawn]]:
    spawned: list[pexpect.spawn] = []
    try:
        yield spawned
    finally:
        for child in spawned:
            child.close(force=True)


def login_words(sandbox: Sandbox, script: Script) -> list[str]:
    return ["login", "-p", "team", "--token-command", script.command,
            "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y"]  # fmt: skip


def stored_with(home: Path, sandbox: Sandbox, tmp_path: Path, script: Script) -> None:
    """Profile ``team`` logged in, its stored token command then ``script`` (a login with a
    command that asks would ask at once)."""
    first = token_script(tmp_path, name="first.py")
    assert login(home, sandbox, first).code == 0
    config = (home / "config.json").read_text()
    (home / "config.json").write_text(config.replace(first.command, script.command))


def test_the_command_can_ask_for_a_passphrase_on_the_terminal(
    home: Path, sandbox: Sandbox, asking: Script, terminal: list[pexpect.spawn]
) -> None:
    child = spawn(home, *login_words(sandbox, asking))
    terminal.append(child)
    child.expect_exact("Passphrase: ")
    child.sendline("open sesame")
    child.expect_exact('as alice@example.com (owner) — profile "team"')
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert ALICE_TOKEN not in child.logfile_read.getvalue()
    assert asking.count == 1


def test_ctrl_c_at_its_question_changes_nothing(
    home: Path, sandbox: Sandbox, asking: Script, tmp_path: Path, terminal: list[pexpect.spawn]
) -> None:
    first = token_script(tmp_path, name="first.py")
    assert login(home, sandbox, first).code == 0
    before = (home / "config.json").read_bytes()
    child = spawn(home, *login_words(sandbox, asking))
    terminal.append(child)
    child.expect_exact("Passphrase: ")
    child.sendintr()
    child.expect_exact(f"--token-command was interrupted: {asking.command}. Nothing was changed")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert (home / "config.json").read_bytes() == before


def test_a_signal_to_bp_stops_the_command_and_changes_nothing(
    home: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    first = token_script(tmp_path, name="first.py")
    assert login(home, sandbox, first).code == 0
    before = (home / "config.json").read_bytes()
    pid_file = tmp_path / "waiting.pid"
    waiting = token_script(
        tmp_path,
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)",
        name="waiting.py",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bpshell", *login_words(sandbox, waiting)],
        env=process_env(home), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text(), within=TIMEOUT_S)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT_S)
    finally:
        process.kill()
    assert (process.returncode, out, err) == (130, "", "\nInterrupted.\n")
    assert (home / "config.json").read_bytes() == before
    wait_until(lambda: gone(int(pid_file.read_text())))


def test_the_shell_runs_the_command_once_for_its_check_and_its_commands(
    home: Path, sandbox: Sandbox, tmp_path: Path, terminal: list[pexpect.spawn]
) -> None:
    quiet = token_script(tmp_path, name="quiet.py")
    assert login(home, sandbox, quiet).code == 0
    child = spawn(home, "shell")
    terminal.append(child)
    child.expect_exact("bp team:acme ›")
    wait_until(lambda: quiet.count == 2, within=TIMEOUT_S)  # the background check's run
    # Each line's own output before its prompt: the prompt alone also matches the redraw of
    # the line being typed, and a line (or the Ctrl-D) sent while a command runs is typed
    # ahead into a cooked terminal, where a Ctrl-D is lost.
    for line, output in (("profiles active", "Role: owner"), ("workspaces list", "Team 45")):
        child.send(line + "\r")
        child.expect_exact(output)
        child.expect_exact("bp team:acme ›")
    child.send("profiles active\r")
    child.expect_exact("Token: from command")
    child.expect_exact("bp team:acme ›")
    child.sendeof()
    child.expect(pexpect.EOF)
    assert quiet.count == 2  # the login's, and the session's
    assert ALICE_TOKEN not in child.logfile_read.getvalue()


def test_the_shell_asks_on_the_terminal_when_a_command_needs_the_token(
    home: Path, sandbox: Sandbox, asking: Script, tmp_path: Path, terminal: list[pexpect.spawn]
) -> None:
    """The background check runs it without a terminal (it fails: no terminal to ask on,
    and says so in the toolbar: see test_token_command.py); the first command that needs
    the token runs it with the terminal, which asks."""
    stored_with(home, sandbox, tmp_path, asking)
    child = spawn(home, "shell")
    terminal.append(child)
    child.expect_exact("bp team:acme ›")
    wait_until(lambda: asking.count == 1, within=TIMEOUT_S)  # the background check's run
    child.send("profiles active\r")
    child.expect_exact("Passphrase: ")
    child.sendline("open sesame")
    child.expect_exact("Authenticated: Yes")
    child.expect_exact("Token: from command")
    child.send("workspaces list\r")
    child.expect_exact("ws_acme")
    child.expect_exact("bp team:acme ›")
    child.sendeof()
    child.expect(pexpect.EOF)
    assert asking.count == 2


def test_ctrl_c_at_a_token_command_stops_the_doctor(
    home: Path, sandbox: Sandbox, asking: Script, tmp_path: Path, terminal: list[pexpect.spawn]
) -> None:
    """As any command: Ctrl-C at the question ends bp doctor (130), not that profile's line."""
    stored_with(home, sandbox, tmp_path, asking)
    child = spawn(home, "doctor")
    terminal.append(child)
    child.expect_exact("Passphrase: ")
    # The terminal is the command's (its process group in the foreground): ^C reaches it alone.
    wait_until(lambda: os.tcgetpgrp(child.child_fd) != child.pid, within=TIMEOUT_S)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    shown = child.logfile_read.getvalue()
    assert child.exitstatus == 130, shown
    said = f'The token command of profile "team" was interrupted: {asking.command}.'
    assert said in shown
    assert "profile team" not in shown  # no line of the doctor's


def test_what_bp_says_after_ctrl_c_at_a_silent_command_starts_a_line(
    home: Path, sandbox: Sandbox, tmp_path: Path, terminal: list[pexpect.spawn]
) -> None:
    """As bash after a job killed by SIGINT: the terminal echoed ^C, bp's line goes below it."""
    dies_quietly = "import signal; signal.signal(signal.SIGINT, signal.SIG_DFL); time.sleep(600)"
    silent = token_script(tmp_path, dies_quietly, name="silent.py")
    child = spawn(home, *login_words(sandbox, silent))
    terminal.append(child)
    wait_until(lambda: silent.count == 1, within=TIMEOUT_S)
    wait_until(lambda: os.tcgetpgrp(child.child_fd) != child.pid, within=TIMEOUT_S)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert (
        f"^C\r\n--token-command was interrupted: {silent.command}." in child.logfile_read.getvalue()
    )
