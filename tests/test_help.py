"""Help that answers: ``bp help [COMMAND|TOPIC]``, each command's help, the topics, the
did-you-means, and the shell's wording of messages (commands without ``bp``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from bpshell.commands import (
    COMMANDS,
    DEFAULT_API_URL,
    GROUPS,
    TOPICS,
    GlobalOptions,
    for_shell,
    worded,
)
from bpshell.commands.help import DETAILS
from bpshell.errors import ExitStatus
from bpshell.shell import LineRunner
from tests.conftest import ROOT, Bp, process_env
from tests.shell_helpers import shell_env

HEAVY = ("httpx", "anyio", "prompt_toolkit", "pydantic", "keyring", "asyncio")


@pytest.mark.parametrize(
    ("help_words", "flag_words"),
    [
        (("help",), ("--help",)),
        (("help", "login"), ("login", "--help")),
        (("help", "profiles"), ("profiles", "--help")),
        (("help", "profiles", "list"), ("profiles", "list", "-h")),
        (("help", "profiles", "ls"), ("profiles", "ls", "--help")),
        (("help", "workspaces"), ("workspaces", "--help")),
    ],
)
def test_help_word_and_help_flag_agree(
    bp: Bp, help_words: tuple[str, ...], flag_words: tuple[str, ...]
) -> None:
    by_word, by_flag = bp(*help_words), bp(*flag_words)
    assert (by_word.code, by_word.err) == (0, "")
    assert by_word.out == by_flag.out
    assert not bp.home.exists()


def test_a_group_lists_its_commands(bp: Bp) -> None:
    for group, summary in GROUPS.items():
        lines = bp(group, "--help").out.splitlines()
        assert lines[0] == f"{summary[0].upper()}{summary[1:]}."
        listed = [line.split()[1] for line in lines if line.startswith(f"  {group} ")]
        assert listed == [c.path[1] for c in COMMANDS if c.path[0] == group]
        assert lines[-1] == f"Run 'bp help {group} COMMAND' for more about a command."


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_no_empty_headings(bp: Bp, command: object) -> None:
    words = command.path  # type: ignore[attr-defined]
    lines = bp(*words, "--help").out.splitlines()
    headings = [i for i, line in enumerate(lines) if re.fullmatch(r"[A-Z][a-z ]+:", line)]
    assert headings, lines
    for index in headings:
        assert lines[index + 1].startswith("  "), f"empty {lines[index]!r} in {lines}"
    assert ("Flags:" in lines) == bool(command.flags)  # type: ignore[attr-defined]


def test_login_help_says_where_values_come_from(bp: Bp) -> None:
    text = bp("login", "--help").out
    for needed in (DEFAULT_API_URL, "BP_TOKEN", "BP_WORKSPACE_ID", "BP_API_URL", "BP_PROFILE"):
        assert needed in text
    assert "the first one given wins" in text
    assert "'bp help environment'" in text


def test_the_default_api_url_is_configs() -> None:
    from bpshell.config import DEFAULT_API_URL as CONFIG_DEFAULT

    assert DEFAULT_API_URL == CONFIG_DEFAULT


def test_details_are_of_commands() -> None:
    assert set(DETAILS) <= {c.path for c in COMMANDS}


ENVIRONMENT = (
    "BP_TOKEN", "BP_WORKSPACE_ID", "BP_API_URL", "BP_PROFILE", "BP_BOTPRESS_HOME", "BP_CONFIRM",
    "BP_JSON", "BP_VERBOSE", "BP_OFFICIAL_CLI", "NO_COLOR", "CI", "HTTPS_PROXY", "NO_PROXY",
    "SSL_CERT_FILE", "PYTHON_KEYRING_BACKEND", "FORCE_COLOR", "CLICOLOR_FORCE", "TERM",
)  # fmt: skip


def test_environment_names_every_variable(bp: Bp) -> None:
    result = bp("help", "environment")
    assert (result.code, result.err) == (0, "")
    named = set(re.findall(r"^  ([A-Z_]+(?:, [A-Z_]+)*)", result.out, re.M))
    words = {word for group in named for word in group.split(", ")}
    assert set(ENVIRONMENT) <= words


def test_environment_knows_every_bp_variable_the_code_reads() -> None:
    """Drift: a ``BP_*`` name in bpshell's code (the sandbox aside) is in the topic."""
    used: set[str] = set()
    for path in (ROOT / "bpshell").rglob("*.py"):
        if "sandbox" not in path.parts:
            used |= set(re.findall(r"[\"'](BP_[A-Z_]+)[\"']", path.read_text()))
    assert used
    assert used <= set(re.findall(r"BP_[A-Z_]+", TOPICS["environment"][1]))


def test_exit_codes_name_every_status(bp: Bp) -> None:
    result = bp("help", "exit-codes")
    assert (result.code, result.err) == (0, "")
    codes = [int(code) for code in re.findall(r"^  (\d+) ", result.out, re.M)]
    assert codes == [0, 1, 2, 126, 127, 130]
    assert {int(status) for status in ExitStatus} <= set(codes)
    assert "128+N" in result.out
    assert "--keep-going" in result.out


@pytest.mark.parametrize(
    ("words", "err"),
    [
        (("help", "nonexistent"), "Unknown command or help topic 'nonexistent'. Run: bp help\n"),
        (
            ("help", "profiles", "lst"),
            "Unknown command or help topic 'profiles lst'. Did you mean 'bp help profiles list'?\n",
        ),
        (
            ("help", "enviroment"),
            "Unknown command or help topic 'enviroment'. Did you mean 'bp help environment'?\n",
        ),
        (("frobnicate", "--help"), "Unknown command or help topic 'frobnicate'. Run: bp help\n"),
        (
            ("profiles", "lst"),
            "Unknown command 'bp profiles lst'. Did you mean 'bp profiles list'?\n",
        ),
        (
            ("completion",),
            "'bp completion' needs a shell: bash, zsh or fish. Usage: bp completion SHELL\n",
        ),
    ],
)
def test_unknown_help_is_a_usage_error(bp: Bp, words: tuple[str, ...], err: str) -> None:
    result = bp(*words)
    assert (result.code, result.out, result.err) == (2, "", err)


FAKE_OFFICIAL = '#!/bin/sh\necho "argv: $*"\n'


def test_help_for_an_official_command_asks_the_official_cli(bp: Bp, tmp_path: Path) -> None:
    fake = tmp_path / "official" / "bp"
    fake.parent.mkdir()
    fake.write_text(FAKE_OFFICIAL)
    fake.chmod(0o755)
    bp.environ.update(BP_OFFICIAL_CLI=str(fake), PATH=os.environ.get("PATH", os.defpath))
    result = bp("help", "deploy")
    assert (result.code, result.out) == (0, "argv: deploy --help\n")


@pytest.mark.parametrize(
    "words",
    [("--help",), ("help",), ("help", "environment"), ("help", "login"), ("--version", "--json")],
)
def test_help_stays_light(tmp_path: Path, words: tuple[str, ...]) -> None:
    # -S: no site, whose hooks (an editable install's finder) import pathlib and typing. Help
    # and the version load neither (bpshell.records); --json's renderer may use typing.
    skipped = (*HEAVY, "pathlib") if "--json" in words else (*HEAVY, "pathlib", "typing")
    done = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-m", "bpshell", *words],
        capture_output=True, text=True, env=process_env(tmp_path), cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert {name for name in imported if name.split(".")[0] in skipped} == set()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Run: bp login", "Run: login"),
        ("Run: bp login -p prod", "Run: login -p prod"),
        ("did you mean 'bp profiles'?", "did you mean 'profiles'?"),
        ("unknown command 'bp profiles frob'", "unknown command 'profiles frob'"),
        ("usage: bp profiles rm NAME", "usage: profiles rm NAME"),
        ("Run: bp --help", "Run: help"),
        ("Run: bp profiles list --help", "Run: help profiles list"),
        ("set BP_WORKSPACE_ID or run: bp login", "set BP_WORKSPACE_ID or run: login"),
        ("use bp exec -- COMMAND, or bp env --json", "use exec -- COMMAND, or env --json"),
        ("remove it first: bp profiles rm x", "remove it first: profiles rm x"),
        ("the private home of a bp exec", "the private home of a bp exec"),
        ("bp cannot log it out. Run: unset BP_TOKEN", "bp cannot log it out. Run: unset BP_TOKEN"),
        ("run ~/bin/bp login", "run ~/bin/bp login"),
        ("bpx login", "bpx login"),
        (
            "mkdir -p d && bp completion fish > d/bp.fish",
            "mkdir -p d && bp completion fish > d/bp.fish",
        ),
        ("(cd /x && bp profiles use --local y)", "(cd /x && bp profiles use --local y)"),
        (
            "or choose the profile with -p NAME or BP_PROFILE here",
            "or choose the profile with -p NAME or profiles use --session NAME here",
        ),
        (
            "hint: --token - (reads stdin) or BP_TOKEN keeps the token out of shell history "
            "and the process list",
            "hint: login without --token asks for the token, without showing it",
        ),
        (
            "pipe it in (bp login --token - < file) or run bp login to be asked for it",
            "run login without --token to be asked for it",
        ),
        (
            "pass --token - (reads stdin) or set BP_TOKEN; make a token at https://x/y",
            "login without --token asks for the token on a terminal; make a token at https://x/y",
        ),
    ],
)
def test_for_shell(text: str, said: str) -> None:
    assert for_shell(text) == said


@pytest.mark.parametrize(
    ("line", "out", "err"),
    [
        ("help nonexistent", "", "Unknown command or help topic 'nonexistent'. Run: help\n"),
        ("help exit-codes", TOPICS["exit-codes"][1] + "\n", ""),
        ("help login", None, ""),
        ("login --help", None, ""),
        ("profiles lst", "", "Unknown command 'profiles lst'. Did you mean 'profiles list'?\n"),
        ("logn", "", "Unknown command 'logn'. Did you mean 'login'?\n"),
    ],
)
def test_help_in_the_shell(bp: Bp, line: str, out: str | None, err: str) -> None:
    env, stdout, stderr = shell_env(bp)
    runner = LineRunner(env, {})
    status = anyio.run(runner.run_text, line)
    assert (status == 0, stderr.getvalue()) == (not err, err)
    if out is not None:
        assert stdout.getvalue() == out
    else:
        assert stdout.getvalue().startswith("Log in with a Personal Access Token")


def test_help_alone_in_the_shell_names_the_builtins(bp: Bp) -> None:
    env, stdout, _ = shell_env(bp)
    assert anyio.run(LineRunner(env, {}).run_text, "help") == 0
    assert stdout.getvalue().endswith("  exit, quit      leave the shell (also Ctrl-D)\n")
    assert "Help topics:" in stdout.getvalue()


def test_a_command_words_its_messages_for_the_run() -> None:
    text = "switch back with: bp profiles use default"
    assert worded(GlobalOptions(), text) == text
    assert worded(GlobalOptions(in_shell=True), text) == "switch back with: profiles use default"
