"""Colour where it carries meaning, on a terminal, as NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE and
TERM say (README: "Colour"); never in JSON. Real processes, on a pty or on pipes."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path

import pexpect
import pytest

from bpshell.sandbox import ALICE_TOKEN, EXPIRED_TOKEN, Sandbox
from tests.conftest import ROOT, Outcome, bp_process, process_env

GREEN, RED, YELLOW, DIM = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[2m"
END_COLOUR, END_DIM = "\x1b[39m", "\x1b[22m"


def on_a_terminal(
    home: Path, *words: str, env: Mapping[str, str] | None = None, stderr: Path | None = None
) -> Outcome:
    """``bp WORDS`` with stdin, stdout and stderr on one pty (``out`` is all it wrote), or
    stderr to a file (``err``), where a spinner line would not mix with the output."""
    variables = process_env(home, {"TERM": "xterm", **(env or {})})
    command = [sys.executable, "-m", "bpshell", *words]
    if stderr is not None:
        command = ["sh", "-c", f'exec "$@" 2>"{stderr}"', "sh", *command]
    child = pexpect.spawn(
        command[0], command[1:], env=variables, cwd=str(ROOT),
        encoding="utf-8", timeout=30, dimensions=(30, 200),
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    err = stderr.read_text() if stderr is not None else ""
    return Outcome(child.exitstatus, child.before.replace("\r\n", "\n"), err)


def piped(home: Path, *words: str, env: Mapping[str, str] | None = None) -> Outcome:
    return bp_process(home, *words, env={"TERM": "xterm", **(env or {})})


UNKNOWN = 'Unknown profile "nosuch"'
HINT = "Known profiles: none. Create it with: bp login -p nosuch"


@pytest.mark.parametrize(
    ("variables", "terminal", "coloured"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # set but empty: as if unset
        ({"TERM": "dumb"}, True, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR wins
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "true"}, False, True),
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "false"}, False, False),
        ({"FORCE_COLOR": ""}, False, False),
        ({"CLICOLOR_FORCE": "1"}, False, True),
        ({"CLICOLOR_FORCE": "0"}, False, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, False, True),  # forced means forced
        ({"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, False, False),
    ],
)
def test_when_there_is_colour(
    home: Path, variables: dict[str, str], terminal: bool, coloured: bool
) -> None:
    run = on_a_terminal if terminal else piped
    result = run(home, "profiles", "get", "nosuch", env=variables)
    assert result.code == 1
    shown = result.out + result.err
    assert UNKNOWN in shown.replace(RED, "").replace(END_COLOUR, "")
    assert ("\x1b[" in shown) is coloured, repr(shown)


def test_an_error_is_red_and_its_hint_dim(home: Path) -> None:
    result = on_a_terminal(home, "profiles", "get", "nosuch")
    assert result.out == f"{RED}{UNKNOWN}{END_COLOUR}. {DIM}{HINT}{END_DIM}\n"


def test_json_is_never_coloured(home: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    forced = {"FORCE_COLOR": "1"}
    error = on_a_terminal(home, "profiles", "get", "nosuch", "--json", env=forced)
    assert "\x1b" not in error.out
    assert json.loads(error.out)["error"]["type"] == "profile_not_found"
    _log_in(home, sandbox, "good", ALICE_TOKEN)
    listed = on_a_terminal(
        home, "profiles", "list", "--verify", "--json", env=forced, stderr=tmp_path / "err"
    )
    assert listed.code == 0 and "\x1b" not in listed.out
    assert json.loads(listed.out)[0]["authenticated"] is True


def _log_in(home: Path, sandbox: Sandbox, name: str, token: str) -> None:
    done = bp_process(
        home, "login", "-p", name, "--token", "-", "--apiUrl", sandbox.url,
        "--workspaceId", "ws_acme", "-y", "--insecure-storage", stdin=token,
    )  # fmt: skip
    assert done.code == 0, done.err


def _add_rejected(home: Path, name: str, like: str) -> None:
    path = home / "config.json"
    config = json.loads(path.read_text())
    config["profiles"][name] = {**config["profiles"][like], "token": EXPIRED_TOKEN}
    path.write_text(json.dumps(config))


def test_yes_is_green_and_no_is_red(home: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    _log_in(home, sandbox, "good", ALICE_TOKEN)
    _add_rejected(home, "bad", "good")
    listed = on_a_terminal(home, "profiles", "list", "--verify", stderr=tmp_path / "err")
    assert listed.code == 1
    rows = {line.lstrip("* ").split()[0]: line for line in listed.out.splitlines()}
    assert rows["good"].endswith(f"{GREEN}yes{END_COLOUR}")
    assert f"{RED}no (" in rows["bad"] and rows["bad"].endswith(END_COLOUR)
    active = on_a_terminal(home, "profiles", "active", stderr=tmp_path / "err")
    assert f"Authenticated: {GREEN}Yes{END_COLOUR}\n" in active.out
    plain = piped(home, "profiles", "list", "--verify")
    assert "\x1b" not in plain.out + plain.err


def test_warnings_are_yellow_and_hints_dim(home: Path, sandbox: Sandbox) -> None:
    result = on_a_terminal(
        home, "login", "--token", ALICE_TOKEN, "--apiUrl", sandbox.url,
        "--workspaceId", "ws_acme", "--insecure-storage",
        env={"CI": ""},  # the --token hint is left out in CI, where no one reads it
    )  # fmt: skip
    assert result.code == 0, result.out
    assert f"{YELLOW}warning:{END_COLOUR} --insecure-storage: the token is stored" in result.out
    assert f"{DIM}hint: --token - (reads stdin)" in result.out
    assert "Logged in to workspace acme (ws_acme) as alice@example.com" in result.out


def test_the_suite_runs_without_the_callers_colour_variables(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's FORCE_COLOR must not colour what the other tests compare."""
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"):
        monkeypatch.setenv(name, "1")
    assert not {"NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"} & set(process_env(home))
