"""``bp shell -c`` and ``bp shell < script``: exact output and exit statuses, in real processes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bpshell import __version__
from bpshell.config import tokens_page
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, bp_process, process_env
from tests.shell_helpers import logged_in_two, wait_until


@pytest.fixture
def two(bp: Bp, sandbox: Sandbox) -> Bp:
    """``default`` (alice, acme; active) and ``bob`` (initech), tokens in config.json."""
    return logged_in_two(bp, sandbox)


INSECURE = "warning: --insecure-storage: the token is stored in plain text in config.json (0600)"


def active(bp: Bp) -> str:
    return str(bp.config()["activeProfile"])


def test_dash_c_runs_commands_in_order(two: Bp, sandbox: Sandbox) -> None:
    result = bp_process(two.home, "shell", "-c", "profiles use bob; profiles get")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        'Active profile is now "bob", workspace initech (ws_initech)\n'
        "Profile: bob (active)\n"
        "Workspace: initech (ws_initech)\n"
        f"API URL: {sandbox.url}\n"
        "Token: bp_pat_…0002 (file)\n"
    )


def test_stdin_script_with_comments_blank_lines_and_semicolons(two: Bp) -> None:
    script = "# setup\n\n  profiles use bob # switch\nprofiles get --json; # done\n"
    result = bp_process(two.home, "shell", stdin=script)
    assert (result.code, result.err) == (0, "")
    first, _, rest = result.out.partition("\n")
    assert first == 'Active profile is now "bob", workspace initech (ws_initech)'
    assert json.loads(rest)["name"] == "bob"


def test_stops_at_the_first_failure_with_its_status(two: Bp) -> None:
    result = bp_process(two.home, "shell", "-c", "profiles use nope; profiles use bob")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        'command 1: Unknown profile "nope". Known profiles: bob, default. '
        "Create it with: login -p nope\n"
    )
    assert active(two) == "default"


def test_stops_at_a_usage_error_with_status_2(two: Bp) -> None:
    result = bp_process(two.home, "shell", stdin="profiles frob\nprofiles use bob\n")
    assert result.code == 2
    assert result.err == (
        "line 1: Unknown command 'profiles frob'. Choose one of: "
        + ", ".join(c.split()[1] for c in _profile_commands())
        + "\n"
    )
    assert active(two) == "default"


def _profile_commands() -> list[str]:
    from bpshell.commands import COMMANDS

    return [c.name for c in COMMANDS if c.path[0] == "profiles"]


def test_keep_going_runs_everything_and_ends_with_the_last_failure(two: Bp) -> None:
    script = "profiles use nope\nprofiles frob\nprofiles use bob\n"
    result = bp_process(two.home, "shell", "--keep-going", stdin=script)
    assert result.code == 2
    assert result.out == 'Active profile is now "bob", workspace initech (ws_initech)\n'
    assert active(two) == "bob"


def test_keep_going_fails_when_an_earlier_command_of_a_line_failed(two: Bp) -> None:
    """``-c "a; b"`` where a fails and b works: the run failed (it used to end with 0)."""
    result = bp_process(two.home, "shell", "--keep-going", "-c", "profiles use nope; profiles get")
    assert (result.code, result.out.splitlines()[0]) == (1, "Profile: default (active)")
    assert result.err.startswith('command 1: Unknown profile "nope".')


def test_keep_going_ends_with_the_last_failure_of_a_script(two: Bp) -> None:
    script = "profiles frob\nprofiles use nope\nprofiles get\n"
    result = bp_process(two.home, "shell", "--keep-going", stdin=script)
    assert result.code == 1
    assert [line.split(":")[0] for line in result.err.splitlines()] == ["line 1", "line 2"]


def test_keep_going_with_no_failure_ends_with_0(two: Bp) -> None:
    result = bp_process(two.home, "shell", "--keep-going", "-c", "profiles use bob")
    assert result.code == 0


@pytest.mark.parametrize(
    ("words", "stdin", "err"),
    [
        (
            ("-c", "profiles get; bogus; profiles get"),
            "",
            "command 2: Unknown command 'bogus'. Run: help\n",
        ),
        (("-c", "bogus"), "", "Unknown command 'bogus'. Run: help\n"),
        (
            (),
            "# a comment\n\nprofiles get\n  bogus x # x\nprofiles get\n",
            "line 4: Unknown command 'bogus'. Run: help\n",
        ),
        ((), "profiles get\nprofiles get; profile\n", "line 2, command 2: "
         "Unknown command 'profile'. Did you mean 'profiles'?\n"),
        ((), "\nprofiles use 'bob\n", "line 2: Unterminated ' quote. "
         "Close the quote on the same line\n"),
        ((), "exit now\n", "line 1: Exit takes no arguments\n"),
    ],
)  # fmt: skip
def test_errors_name_the_line_or_the_command(
    two: Bp, words: tuple[str, ...], stdin: str, err: str
) -> None:
    result = bp_process(two.home, "shell", *words, stdin=stdin)
    assert (result.code, result.err) == (2, err)


@pytest.mark.parametrize(
    ("line", "err"),
    [
        ("profiles lst", "Unknown command 'profiles lst'. Did you mean 'profiles list'?"),
        ("profile", "Unknown command 'profile'. Did you mean 'profiles'?"),
        ("help nonexistent", "Unknown command or help topic 'nonexistent'. Run: help"),
        ("help profiles lst", "Unknown command or help topic 'profiles lst'. "
         "Did you mean 'help profiles list'?"),
        ("login --frob", "Unknown flag --frob for 'login'. Run: help login"),
        ("profiles rm", "'profiles rm' needs NAME. Usage: profiles rm NAME"),
        ("completion", "'completion' needs a shell: bash, zsh or fish. Usage: completion SHELL"),
        ("profiles get -p nope", 'Unknown profile "nope". Known profiles: bob, default. '
         "Create it with: login -p nope"),
        ("login --token - --workspaceId ws_acme", "--token -: stdin was empty. Commands in the "
         "shell read no stdin; login without --token asks for the token on a terminal"),
        ("login -p bob --workspaceId ws_initech --apiUrl http://127.0.0.1:9 -y", "No token given. "
         "Login without --token asks for the token on a terminal; make a token at "
         + tokens_page("http://127.0.0.1:9")),
        ("shell", "Already in the shell. Run its commands directly"),
    ],
)  # fmt: skip
def test_the_shell_names_commands_without_bp(two: Bp, line: str, err: str) -> None:
    result = bp_process(two.home, "shell", "-c", line)
    assert (result.code >= 1, result.out, result.err) == (True, "", err + "\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("help", ["  COMMAND [flags]", "Run 'help COMMAND' (or 'COMMAND --help') for more about a "
                  "command,", "'help TOPIC' for a topic."]),
        ("help profiles", ["  profiles COMMAND [flags]",
                           "Run 'help profiles COMMAND' for more about a command."]),
        ("profiles --help", ["Run 'help profiles COMMAND' for more about a command."]),
        ("help profiles list", ["  profiles list [flags]", "  (alias: profiles ls)"]),
        ("login --help", ["  login [flags]", "  login -p prod --workspaceId ws_prod"]),
    ],
)  # fmt: skip
def test_help_in_the_shell_names_commands_without_bp(
    two: Bp, line: str, expected: list[str]
) -> None:
    """The shell's help says what to type in the shell, as its messages do."""
    result = bp_process(two.home, "shell", "-c", line)
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert [e for e in expected if e not in lines] == []
    assert [x for x in lines if x.startswith("  bp ") or "'bp " in x] == []
    assert [x for x in lines if "--token -" in x and x.startswith("  login")] == []


def test_json_lines(two: Bp) -> None:
    """One compact document a line, so that a line reader (or jq -c) gets one per command."""
    result = bp_process(
        two.home, "--json", "shell", "--keep-going", "-c",
        "profiles get; bogus; workspaces list -p bob; --version",
    )  # fmt: skip
    assert result.code == 2
    lines = result.out.splitlines()
    assert [json.loads(line) for line in lines][1:] == [
        [{"id": "ws_initech", "name": "initech", "active": True}],
        {"version": __version__, "python": ".".join(map(str, sys.version_info[:3]))},
    ]
    assert json.loads(lines[0])["name"] == "default"
    assert result.err == (
        '{"error": {"type": "usage", "message": "unknown command \'bogus\'", '
        '"hint": "Run: help", "command": 2}}\n'
    )


def test_json_errors_of_a_script_give_the_line(two: Bp) -> None:
    result = bp_process(
        two.home, "shell", "--keep-going", stdin="profiles get\nprofiles use nope --json\n"
    )
    assert result.code == 1
    assert json.loads(result.err) == {
        "error": {
            "type": "profile_not_found",
            "message": 'unknown profile "nope"',
            "hint": "known profiles: bob, default. Create it with: login -p nope",
            "line": 2,
            "command": 1,
        }
    }


def test_exit_ends_the_script(two: Bp) -> None:
    result = bp_process(two.home, "shell", "-c", "profiles use bob; exit; profiles use default")
    assert (result.code, result.err) == (0, "")
    assert active(two) == "bob"


def test_an_unterminated_quote_is_a_usage_error(two: Bp) -> None:
    result = bp_process(two.home, "shell", "-c", "profiles use 'bob")
    assert (result.code, result.out) == (2, "")
    assert result.err == "Unterminated ' quote. Close the quote on the same line\n"


def test_per_line_global_flags_and_shell_level_flags(two: Bp, tmp_path: Path) -> None:
    result = bp_process(two.home, "--json", "shell", "-c", "profiles get; profiles get -p bob")
    assert result.code == 0
    first, second = (json.loads(line) for line in result.out.splitlines())
    assert (first["name"], second["name"]) == ("default", "bob")
    elsewhere = tmp_path / "elsewhere"
    other = bp_process(elsewhere, "shell", "-c", f"profiles list --botpressHome {two.home}")
    assert other.code == 0
    assert [line.split()[:2] for line in other.out.splitlines()[1:]] == [
        ["bob", "initech"],
        ["*", "default"],
    ]
    assert not elsewhere.exists()


def test_a_token_read_from_stdin_never_eats_the_script(two: Bp) -> None:
    script = "login --token - --workspaceId ws_acme -y\nprofiles use bob\n"
    result = bp_process(two.home, "shell", stdin=script)
    assert result.code == 2
    assert result.err == (
        "line 1: --token -: stdin was empty. Commands in the shell read no stdin; "
        "login without --token asks for the token on a terminal\n"
    )
    assert active(two) == "default"


def test_workspaces_list(two: Bp, sandbox: Sandbox) -> None:
    result = bp_process(two.home, "shell", "-c", "profiles use bob; workspaces ls")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[1:] == ["   ID          NAME", "*  ws_initech  initech"]
    cached = json.loads((two.home / "cache" / "workspaces.bob.json").read_text())
    assert cached["workspaces"] == [{"id": "ws_initech", "name": "initech"}]


def test_no_prompt_toolkit_in_script_mode(two: Bp) -> None:
    code = (
        "import sys; from bpshell.cli import main; status = main(['shell', '-c', 'profiles list']);"
        "print('prompt_toolkit' in sys.modules, file=sys.stderr); raise SystemExit(status)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=process_env(two.home),
        cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "False\n")


def test_bp_without_arguments_off_a_terminal_prints_help(tmp_path: Path) -> None:
    result = bp_process(tmp_path, stdin="")
    assert result.code == 0
    assert result.out.startswith("bp ")
    assert "shell" in result.out


def test_sandbox_with_no_stdin_runs_nothing_and_cleans_up(tmp_path: Path) -> None:
    real_home = tmp_path / "real"
    result = bp_process(real_home, "shell", "--sandbox")
    assert (result.code, result.out) == (0, "")
    match = re.fullmatch(
        r"SANDBOX: a local stand-in for Botpress Cloud at http://127\.0\.0\.1:\d+; "
        r"throwaway home (\S+); demo tokens only; nothing here touches your real account or "
        r"~/\.botpress\n",
        result.err,
    )
    assert match, result.err
    assert not Path(match.group(1)).exists()
    assert not real_home.exists()


def test_sandbox_has_three_demo_profiles(tmp_path: Path) -> None:
    result = bp_process(tmp_path, "shell", "--sandbox", "-c", "profiles list --verify --json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["name"], r["workspaceId"], r["active"], r["authenticated"]) for r in rows] == [
        ("default", "ws_acme", True, True),
        ("globex", "ws_globex", False, True),
        ("initech", "ws_initech", False, True),
    ]
    assert {r["tokenStorage"] for r in rows} == {"file"}
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_sandbox_ignores_the_real_environment(tmp_path: Path) -> None:
    env = {"BP_TOKEN": "bp_pat_real0000000000", "BP_PROFILE": "prod", "BP_API_URL": "https://x.y"}
    result = bp_process(tmp_path, "shell", "--sandbox", "-c", "profiles active --json", env=env)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["profile"], data["account"], data["sources"]["token"]) == (
        "default",
        "alice@example.com",
        "file",
    )


def test_ctrl_c_cancels_the_running_command_with_130(two: Bp, fresh_sandbox: Sandbox) -> None:
    for profile in ("default",):
        result = two(
            "login", "-p", profile, "--token", "-", "--apiUrl", fresh_sandbox.url,
            "--workspaceId", "ws_acme", "-y", "--insecure-storage", stdin=ALICE_TOKEN,
        )  # fmt: skip
        assert result.code == 0
    fresh_sandbox.set_latency(5000)
    child = subprocess.Popen(
        [sys.executable, "-m", "bpshell", "shell", "--keep-going", "-c",
         "profiles active; profiles use bob"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=process_env(two.home), cwd=ROOT,
    )  # fmt: skip
    try:
        wait_until(lambda: fresh_sandbox.stats.in_flight > 0)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=4)
    finally:
        child.kill()
    assert (child.returncode, out, err) == (130, "", "Cancelled.\n")
    assert active(two) == "default"


def test_chatter_in_the_shell_names_shell_commands(two: Bp, sandbox: Sandbox) -> None:
    """Hints a command writes on stderr as it goes read as shell commands: no `bp `, no
    `--token -` nor BP_TOKEN, which a line typed in the shell cannot use."""
    script = "\n".join(
        [
            f"login --token {ALICE_TOKEN} --workspaceId ws_globex --insecure-storage",
            f"login -p bob --token {BOB_TOKEN} --insecure-storage",
            "logout",
            "logout --all -y",
            "profiles list",
        ]
    )
    result = bp_process(two.home, "shell", stdin=script, env={"CI": ""})
    assert (result.code, result.err.splitlines()) == (
        0,
        [
            "hint: login without --token asks for the token, without showing it",
            INSECURE,
            'note: profile "default" was on workspace acme (ws_acme); '
            "that login is replaced; to keep both, use another profile: login -p NAME",
            "hint: login without --token asks for the token, without showing it",
            INSECURE,
            'Active profile is now "bob" (was "default"); switch back with: profiles use default',
            "No active profile; choose one: profiles use default",
            "No profiles. Log in with: login",
        ],
    )


def test_logout_in_the_shell_says_how_to_drop_bp_token(two: Bp) -> None:
    result = bp_process(two.home, "shell", "-c", "logout", env={"BP_TOKEN": ALICE_TOKEN})
    assert result.code == 0, result.err
    assert result.err.splitlines()[-1] == (
        "note: BP_TOKEN was set when this shell started, so its commands still use that "
        "token; bp cannot log it out: exit, run unset BP_TOKEN, and start the shell again"
    )
