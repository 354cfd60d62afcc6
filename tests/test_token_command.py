"""Tokens from a secret manager: a profile that stores the command printing its token.

Real ``bp`` processes over the sandbox; the token command is a small Python script in the
test's folder that counts its runs, so that each test can say how often it ran. Checked:
login runs it once and stores only the command; every command that needs the token runs it
(never ``profiles get``); ``BP_TOKEN`` still wins; failures are one line naming the command
and its exit code, never what it printed; the token is in no file, keyring or argv.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, EXPIRED_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, Outcome, bp_process, seed
from tests.shell_helpers import wait_until
from tests.test_token_hygiene import files_holding_a_token, leaked

ALICE_ACME = 'Logged in to workspace acme (ws_acme) as alice@example.com (owner) — profile "team"\n'
ONLY_THE_COMMAND = (
    "note: the token is not stored: bp runs the token command whenever it needs the token "
    "(once per bp shell session)\n"
)
DECOY = "bp_pat_decoy000000000000000000000000000001"  # printed by failing commands


@dataclass
class Script:
    """A token command: ``command`` runs ``path``; every run adds a line to ``runs``."""

    path: Path
    runs: Path

    @property
    def command(self) -> str:
        return f"{shlex.quote(sys.executable)} {shlex.quote(str(self.path))}"

    @property
    def count(self) -> int:
        return len(self.runs.read_text().splitlines()) if self.runs.exists() else 0


def token_script(tmp_path: Path, body: str = "", *, token: str = ALICE_TOKEN, code: int = 0,
                 name: str = "token-command.py") -> Script:  # fmt: skip
    """A script that notes its run, runs ``body``, prints ``token`` and exits with ``code``."""
    path, runs = tmp_path / name, tmp_path / f"{name}.runs"
    path.write_text(
        "import os, sys, time, subprocess\n"
        f"with open({str(runs)!r}, 'a') as f: f.write(repr(sys.argv) + '\\n')\n"
        f"{body}\n"
        f"sys.stdout.write({token!r} + '\\n')\n"
        f"sys.exit({code})\n"
    )
    return Script(path, runs)


def bp(home: Path, *words: str, stdin: str = "", env: dict[str, str] | None = None) -> Outcome:
    return bp_process(home, *words, stdin=stdin, env=env, timeout=60)


def login(home: Path, sandbox: Sandbox, script: Script, *more: str,
          env: dict[str, str] | None = None) -> Outcome:  # fmt: skip
    words = ("login", "-p", "team", "--token-command", script.command, "--apiUrl", sandbox.url)
    return bp(home, *words, "--workspaceId", "ws_acme", "-y", *more, env=env)


def config(home: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((home / "config.json").read_text())
    return data


def team(home: Path) -> dict[str, object]:
    profiles = config(home)["profiles"]
    assert isinstance(profiles, dict)
    entry: dict[str, object] = profiles["team"]
    return entry


@pytest.fixture
def script(tmp_path: Path) -> Script:
    return token_script(tmp_path, "sys.stderr.write('unlocking the vault\\n')")


@pytest.fixture
def logged_in(home: Path, sandbox: Sandbox, script: Script) -> Path:
    result = login(home, sandbox, script)
    assert result.code == 0, result.err
    return home


# --- login ------------------------------------------------------------------------------


def test_login_runs_the_command_once_and_stores_only_the_command(
    home: Path, sandbox: Sandbox, script: Script
) -> None:
    result = login(home, sandbox, script)
    assert (result.code, result.out) == (0, ALICE_ACME)
    assert result.err == "unlocking the vault\n" + ONLY_THE_COMMAND
    assert script.count == 1
    assert team(home) == {
        "apiUrl": sandbox.url,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "accountId": team(home)["accountId"],
        "tokenCommand": script.command,
    }
    assert config(home)["activeProfile"] == "team"
    assert files_holding_a_token(home) == {}  # the keyring is the fail backend: no fallback


def test_login_json_says_the_token_comes_from_the_command(
    home: Path, sandbox: Sandbox, script: Script
) -> None:
    result = login(home, sandbox, script, "--json")
    assert result.code == 0, result.err
    assert result.json()["tokenStorage"] == "command"
    assert leaked(result.out + result.err) == []


def test_login_in_process_puts_nothing_in_the_keyring(
    bp: Bp, sandbox: Sandbox, script: Script
) -> None:
    result = bp("login", "-p", "team", "--token-command", script.command,
                "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y")  # fmt: skip
    assert (result.code, result.out) == (0, ALICE_ACME)
    assert result.err == "unlocking the vault\n" + ONLY_THE_COMMAND
    assert bp.tokens.entries == {}  # type: ignore[attr-defined]
    assert files_holding_a_token(bp.home) == {}


def test_a_token_the_api_refuses_writes_nothing(
    home: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    """And the advice is about the command, not a token to paste."""
    script = token_script(tmp_path, token=EXPIRED_TOKEN)
    result = login(home, sandbox, script)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "The token is invalid or expired. The token command printed it: store a valid token "
        "where it reads it\n"
    )
    assert leaked(result.err) == []
    assert not (home / "config.json").exists()


@pytest.mark.parametrize(
    ("more", "err"),
    [
        (("--token", "-"), "--token and --token-command contradict each other. Pass one of them\n"),
        (
            ("--insecure-storage",),
            "--insecure-storage stores a token, and --token-command stores "
            "none. Leave --insecure-storage out\n",
        ),
    ],
    ids=["token", "insecure-storage"],
)
def test_contradicting_flags_are_refused(
    home: Path, sandbox: Sandbox, script: Script, more: tuple[str, ...], err: str
) -> None:
    result = login(home, sandbox, script, *more)
    assert (result.code, result.out, result.err) == (2, "", err)
    assert script.count == 0
    assert not (home / "config.json").exists()


@pytest.mark.parametrize(
    ("command", "err"),
    [
        (
            "  ",
            "Invalid --token-command: it is empty. Name the program that prints the token, "
            "e.g. --token-command 'op read op://Private/Botpress/token'\n",
        ),
        (
            "op read 'op://x",
            "Invalid --token-command: no closing quotation. Name the program "
            "that prints the token, e.g. --token-command 'op read "
            "op://Private/Botpress/token'\n",
        ),
    ],
    ids=["empty", "unbalanced-quote"],
)
def test_a_command_that_does_not_split_is_refused(home: Path, command: str, err: str) -> None:
    result = bp(home, "login", "--token-command", command, "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out, result.err) == (2, "", err)
    assert not (home / "config.json").exists()


def test_a_command_holding_a_token_is_refused(home: Path, sandbox: Sandbox) -> None:
    """bp stores the command: a token written into it would be stored in plain text."""
    command = f"sh -c 'echo {ALICE_TOKEN}'"
    result = bp(home, "login", "-p", "team", "--token-command", command,
                "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y")  # fmt: skip
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "Invalid --token-command: it holds what looks like a token, and bp stores the command "
        "in config.json. Keep the token in a secret manager and name the command that reads "
        "it, e.g. --token-command 'op read op://Private/Botpress/token'\n"
    )
    assert ALICE_TOKEN not in result.err
    assert not (home / "config.json").exists()


def test_a_token_in_a_stored_command_is_never_shown_unasked(bp: Bp, sandbox: Sandbox) -> None:
    """A config.json written by hand: profiles get and a failure mask the token in it."""
    command = f"sh -c 'echo {ALICE_TOKEN}; exit 3'"
    profile = {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "tokenCommand": command}
    seed(bp, {"version": 1, "activeProfile": "team", "profiles": {"team": profile}})
    masked = "sh -c 'echo bp_pat_…0001; exit 3'"
    got = bp("profiles", "get")
    assert got.out.splitlines()[-1] == f"Token command: {masked}"
    assert bp("profiles", "get", "--json").json()["tokenCommand"] == masked
    assert bp("profiles", "get", "--json", "--displayToken").json()["tokenCommand"] == command
    failed = bp("profiles", "active")
    assert failed.code == 1
    assert f"failed (exit code 3): {masked}" in failed.err
    assert ALICE_TOKEN not in got.out + failed.out + failed.err


def test_login_again_without_a_token_keeps_the_command(
    logged_in: Path, sandbox: Sandbox, script: Script
) -> None:
    result = bp(logged_in, "login", "-p", "team", "--workspaceId", "ws_globex", "-y")
    assert result.code == 0, result.err
    assert "Globex Corp (ws_globex)" in result.out
    assert team(logged_in)["tokenCommand"] == script.command
    assert team(logged_in)["workspaceId"] == "ws_globex"
    assert script.count == 2


def test_login_with_a_token_replaces_the_command(logged_in: Path, sandbox: Sandbox) -> None:
    result = bp(logged_in, "login", "-p", "team", "--token", "-", "--workspaceId", "ws_acme",
                "-y", "--insecure-storage", stdin=ALICE_TOKEN)  # fmt: skip
    assert result.code == 0, result.err
    assert "tokenCommand" not in team(logged_in)
    assert team(logged_in)["token"] == ALICE_TOKEN


# --- every command that needs the token runs it -------------------------------------------


def test_profiles_active_says_the_token_is_from_the_command(
    logged_in: Path, sandbox: Sandbox, script: Script
) -> None:
    result = bp(logged_in, "profiles", "active")
    assert (result.code, result.err) == (0, "unlocking the vault\n")
    assert result.out == (
        "Workspace: acme (ws_acme)\n"
        f"API URL: {sandbox.url}\n"
        "Authenticated: Yes\n"
        "Role: owner\n"
        "Profile: team\n"
        "Token: from command\n"
    )
    data = bp(logged_in, "profiles", "active", "--json").json()
    assert data["sources"]["token"] == "command"
    assert data["authenticated"] is True
    shown = bp(logged_in, "profiles", "active", "--displayToken")
    assert f"Token: {ALICE_TOKEN} (from command)\n" in shown.out
    assert script.count == 4


def test_profiles_get_shows_the_command_and_never_runs_it(logged_in: Path, script: Script) -> None:
    result = bp(logged_in, "profiles", "get")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[-2:] == [
        "Token: from command",
        f"Token command: {script.command}",
    ]
    data = bp(logged_in, "profiles", "get", "team", "--json", "--displayToken").json()
    assert (data["tokenStorage"], data["token"], data["tokenCommand"]) == (
        "command",
        None,
        script.command,
    )
    assert script.count == 1


def test_profiles_list_and_verify(logged_in: Path, script: Script) -> None:
    rows = bp(logged_in, "profiles", "list", "--json").json()
    assert [(r["name"], r["tokenStorage"]) for r in rows] == [("team", "command")]
    assert script.count == 1  # listing needs no token
    verified = bp(logged_in, "profiles", "list", "--verify", "--json")
    assert verified.code == 0, verified.err
    assert verified.json()[0]["authenticated"] is True
    assert script.count == 2


def test_workspaces_env_and_exec_get_the_token(
    logged_in: Path, sandbox: Sandbox, script: Script, tmp_path: Path
) -> None:
    listed = bp(logged_in, "workspaces", "list")
    assert listed.code == 0 and "ws_acme" in listed.out
    shown = bp(logged_in, "env")
    assert shown.out.splitlines()[0] == f"export BP_TOKEN={ALICE_TOKEN}"
    show = (
        "import os, sys; "
        "print(os.environ['BP_TOKEN'] == sys.argv[1]); "
        "print(open('/proc/self/cmdline', 'rb').read()); "
        "print(open(f'/proc/{os.getppid()}/cmdline', 'rb').read())"
    )
    ran = bp(logged_in, "exec", "--", sys.executable, "-c", show, ALICE_TOKEN[:12])
    same, child_argv, parent_argv = ran.out.splitlines()
    assert ran.code == 0 and same == "False"  # the token itself is no argument of anyone
    assert leaked(child_argv + parent_argv) == []
    exact = bp(logged_in, "exec", "--", sys.executable, "-c",
               "import os; print(os.environ['BP_TOKEN'] == " + repr(ALICE_TOKEN) + ")")  # fmt: skip
    assert exact.out == "True\n"
    assert script.count == 5
    assert leaked(script.runs.read_text()) == []  # nor in the command's own argv
    assert files_holding_a_token(logged_in) == {}


def test_the_command_never_reads_piped_input(logged_in: Path, tmp_path: Path) -> None:
    greedy = token_script(tmp_path, "sys.stdin.read()", name="greedy.py")
    seed_command(logged_in, greedy.command)
    result = bp(logged_in, "exec", "--", sys.executable, "-c",
                "import sys; print(sys.stdin.read().strip())", stdin="piped data\n")  # fmt: skip
    assert (result.code, result.out) == (0, "piped data\n")
    script = bp(logged_in, "shell", stdin="profiles active\nprofiles get\n")
    assert script.code == 0, script.err
    assert "Token: from command" in script.out and "Token command:" in script.out
    assert greedy.count == 2


def seed_command(home: Path, command: str) -> None:
    data = config(home)
    data["profiles"]["team"]["tokenCommand"] = command  # type: ignore[index]
    (home / "config.json").write_text(json.dumps(data))


def test_bp_token_still_wins_and_the_command_does_not_run(logged_in: Path, script: Script) -> None:
    result = bp(logged_in, "profiles", "active", "--json", env={"BP_TOKEN": ALICE_TOKEN})
    assert result.code == 0, result.err
    assert result.json()["sources"]["token"] == "BP_TOKEN"
    assert script.count == 1


def test_logout_removes_the_command(logged_in: Path, sandbox: Sandbox, script: Script) -> None:
    result = bp(logged_in, "logout", "--json")
    assert result.code == 0, result.err
    assert result.json()["removed"] == [
        {"profile": "team", "workspaceId": "ws_acme", "tokenStorage": "command",
         "tokenRemoved": True},
    ]  # fmt: skip
    assert config(logged_in)["profiles"] == {}
    assert login(logged_in, sandbox, script).code == 0
    said = bp(logged_in, "logout")
    assert said.out == (
        'Logged out of profile "team", workspace acme (ws_acme): removed its token command '
        "(the token stays where the command reads it), its workspace ID and API URL\n"
    )
    assert script.count == 2  # logging out runs nothing


def test_rotation_and_revoking_at_logout_are_refused(logged_in: Path, script: Script) -> None:
    rotate = bp(logged_in, "tokens", "rotate", "-y")
    assert (rotate.code, rotate.out) == (2, "")
    assert rotate.err == (
        'Profile "team" takes its token from a command, so bp tokens rotate has nowhere to '
        "store a new one. Make one with bp tokens create --note NOTE, put it where the command "
        "reads it, then revoke the old one: bp tokens revoke ID\n"
    )
    revoke = bp(logged_in, "logout", "--revoke", "-y")
    assert (revoke.code, revoke.out) == (2, "")
    assert revoke.err.startswith('The token of profile "team" comes from a command, so bpshell '
                                 "does not know which of the account's tokens it is")  # fmt: skip
    assert "team" in config(logged_in)["profiles"]  # type: ignore[operator]


# --- failures: one line naming the command, never what it printed -----------------------


def failing(tmp_path: Path, body: str, **kwargs: object) -> Script:
    return token_script(tmp_path, body, name="failing.py", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "code", "token", "message"),
    [
        ("sys.stderr.write('[ERROR] not signed in\\n')", 3, DECOY, "failed (exit code 3)"),
        ("", 0, "", "printed nothing"),
        ("print(" + repr(DECOY) + ")", 0, DECOY, "printed 2 lines, not a token"),
        (
            "sys.stdout.write('x' * 10_000_000); sys.stdout.flush()",
            0,
            DECOY,
            "printed more than 8 KiB, not a token",
        ),
        ("", 0, "not a token", "printed something that is not a token"),
        ("os.kill(os.getpid(), 9)", 0, DECOY, "was killed by signal 9 (SIGKILL)"),
    ],
    ids=["exit-code", "empty", "two-lines", "huge", "not-a-token", "killed"],
)
def test_a_failing_command_is_one_clear_line(
    logged_in: Path, tmp_path: Path, body: str, code: int, token: str, message: str
) -> None:
    bad = failing(tmp_path, body, code=code, token=token)
    seed_command(logged_in, bad.command)
    before = (logged_in / "config.json").read_bytes()
    for words in (("profiles", "active"), ("env",), ("workspaces", "list")):
        result = bp(logged_in, *words)
        assert (result.code, result.out) == (1, ""), words
        last = result.err.splitlines()[-1]
        assert last == (
            f'The token command of profile "team" {message}: {bad.command}. '
            "Run it to see why; to use another: bp login -p team --token-command COMMAND"
        )
        assert DECOY not in result.err
    if "not signed in" in body:
        assert result.err.splitlines()[0] == "[ERROR] not signed in"  # its stderr, as it was
    assert (logged_in / "config.json").read_bytes() == before


def test_a_failure_at_login_names_the_flag(home: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    bad = failing(tmp_path, "", code=1, token=DECOY)
    result = login(home, sandbox, bad)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"--token-command failed (exit code 1): {bad.command}. "
        "Run it to see why; nothing was changed\n"
    )
    assert not (home / "config.json").exists()


def test_a_command_that_is_not_found(logged_in: Path, tmp_path: Path) -> None:
    seed_command(logged_in, f"{tmp_path}/no-such-op read op://x")
    result = bp(logged_in, "profiles", "active")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f'The token command of profile "team" was not found: {tmp_path}/no-such-op. '
        "Install it, or name it by its full path: bp login -p team --token-command COMMAND\n"
    )


def test_a_command_that_hangs_is_stopped_with_its_children(logged_in: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    body = (
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)"
    )
    hanging = failing(tmp_path, body, token=DECOY)
    seed_command(logged_in, hanging.command)
    result = bp(logged_in, "profiles", "active", env={"BP_TOKEN_COMMAND_TIMEOUT": "1"})
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f'The token command of profile "team" did not finish within 1 s, so it was stopped: '
        f"{hanging.command}. If it waits for you (a passphrase, a touch), answer sooner, or "
        "allow it longer with BP_TOKEN_COMMAND_TIMEOUT=SECONDS\n"
    )
    grandchild = int(pid_file.read_text())
    wait_until(lambda: gone(grandchild))


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped yet counts)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


@pytest.mark.parametrize("value", ["0", "-1", "soon", "5000"])
def test_a_bad_timeout_is_a_usage_error(logged_in: Path, value: str) -> None:
    result = bp(logged_in, "profiles", "active", env={"BP_TOKEN_COMMAND_TIMEOUT": value})
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "BP_TOKEN_COMMAND_TIMEOUT must be a number of seconds between 0 and 3600. "
        "Unset it for the default, 30 s\n"
    )


# --- the shell: once per session, again after a 401 ---------------------------------------


def test_the_shell_runs_the_command_once_per_session(logged_in: Path, script: Script) -> None:
    result = bp(logged_in, "shell", "-c", "profiles active; workspaces list; env; profiles active")
    assert result.code == 0, result.err
    assert result.out.count("Token: from command") == 2
    assert script.count == 2  # the login's, and this session's


def test_the_shell_runs_it_again_after_a_401(home: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    queue = tmp_path / "queue"
    queue.write_text(f"{ALICE_TOKEN}\n{EXPIRED_TOKEN}\n{BOB_TOKEN}\n")
    body = (
        f"lines = open({str(queue)!r}).read().split()\n"
        f"open({str(queue)!r}, 'w').write('\\n'.join(lines[1:]))\n"
        "sys.stdout.write(lines[0] + '\\n'); sys.exit(0)"
    )
    rotating = token_script(tmp_path, body, name="rotating.py")
    assert login(home, sandbox, rotating).code == 0  # alice's
    lines = "profiles active --json; profiles active --json; workspaces list --json"
    result = bp(home, "shell", "--keep-going", "-c", lines)
    first, second, listed = (json.loads(line) for line in result.out.splitlines())
    assert (first["authenticated"], first["status"]) == (False, "invalid")
    assert second["account"] == "bob@example.com"  # a new run, bob's token (ws_acme refuses)
    assert {w["id"] for w in listed} == {"ws_initech"}  # the same run's token, kept
    assert rotating.count == 3


def test_the_401_hint_points_at_the_command(home: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    script = token_script(tmp_path, token=ALICE_TOKEN)
    assert login(home, sandbox, script).code == 0
    seed_command(home, token_script(tmp_path, token=EXPIRED_TOKEN, name="expired.py").command)
    result = bp(home, "workspaces", "list")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        'The token is invalid or expired. It came from the token command of profile "team": '
        "store a valid token where the command reads it\n"
    )


# --- the child process: its environment, its terminal ------------------------------------


def test_the_command_gets_the_environment_and_the_working_folder(
    logged_in: Path, tmp_path: Path
) -> None:
    body = (
        "assert os.environ['VAULT_ADDR'] == 'https://vault.example', os.environ\n"
        f"assert os.getcwd() == {str(ROOT)!r}, os.getcwd()\n"
        "assert 'BP_TOKEN' not in os.environ"
    )
    probe = token_script(tmp_path, body, name="probe.py")
    seed_command(logged_in, probe.command)
    result = bp(logged_in, "profiles", "active", env={"VAULT_ADDR": "https://vault.example"})
    assert (result.code, result.err) == (0, "")


def test_sh_c_is_how_to_ask_for_a_shell(logged_in: Path, tmp_path: Path) -> None:
    stored = tmp_path / "token.txt"
    stored.write_text(f"# botpress\n{ALICE_TOKEN}\n")
    seed_command(logged_in, f"sh -c 'grep -v ^# {shlex.quote(str(stored))} | head -n 1'")
    assert bp(logged_in, "profiles", "active").code == 0
    seed_command(logged_in, f"grep -v ^# {shlex.quote(str(stored))} | head -n 1")  # no shell
    result = bp(logged_in, "profiles", "active")
    assert (result.code, result.out) == (1, "")
    assert "failed (exit code 2)" in result.err  # grep: no file "|", "head"…


def test_seeded_config_with_a_command_in_process(bp: Bp, sandbox: Sandbox, tmp_path: Path) -> None:
    script = token_script(tmp_path)
    entry = {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "tokenCommand": script.command}
    seed(bp, {"version": 1, "activeProfile": "team", "profiles": {"team": entry}})
    result = bp("profiles", "active")
    assert result.code == 0, result.err
    assert result.out.endswith("Token: from command\n")
    assert script.count == 1


# --- the shell's background: its view runs nothing, its check runs the command once -------


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_shells_view_runs_nothing_and_its_check_runs_once(
    bp: Bp, sandbox: Sandbox, tmp_path: Path, anyio_backend: str
) -> None:
    from bpshell.commands import GlobalOptions
    from bpshell.session import Session
    from tests.shell_helpers import shell_env, until

    script = token_script(tmp_path)
    bad = token_script(tmp_path, code=2, token=DECOY, name="bad.py")
    seed(bp, {"version": 1, "activeProfile": "team", "profiles": {
        "team": {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "tokenCommand": script.command},
        "bad": {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "tokenCommand": bad.command},
    }})  # fmt: skip
    env, _, _ = shell_env(bp)
    session = Session(env, GlobalOptions())
    async with anyio.create_task_group() as group:
        await group.start(session.run)
        await until(lambda: session.auth.state == "ok")
        assert session.auth.detail == "alice@example.com"
        for _ in range(3):
            await session.reload(force=True)  # a view: no command runs for it
        await until(lambda: ("team", sandbox.url) in session.completer.data.workspaces)
        assert script.count == 1
        session.opts = GlobalOptions(profile="bad", profile_source="flag")
        await session.reload(force=True)
        await until(lambda: session.auth.state == "failed")
        assert session.auth.detail == (
            f'the token command of profile "bad" failed (exit code 2): {bad.command}'
        )
        # The workspace refresh, which needs the token too, gets the same error: no new run.
        await until(lambda: ("bad", sandbox.url) in session._failed_at)
        assert bad.count == 1
        await session.after_command(("workspaces", "list"), 1)  # still failing: no new check
        assert session.auth.state == "failed"
        # A command of the shell ran it with the terminal (it asked there) and got a token:
        assert env.token_commands is not None
        env.token_commands.remember(env, "bad", bad.command, ALICE_TOKEN)
        await session.after_command(("profiles", "active"), 0)
        await until(lambda: session.auth.state == "ok")
        assert bad.count == 1
        group.cancel_scope.cancel()
    await env.aclose()


def test_a_command_handed_to_the_official_cli_gets_the_token(
    logged_in: Path, script: Script, tmp_path: Path
) -> None:
    official = tmp_path / "official" / "bp"
    official.parent.mkdir()
    official.write_text(
        f'#!/bin/sh\n[ "$BP_TOKEN" = "{ALICE_TOKEN}" ] && echo "official ran: $* with the token"\n'
    )
    official.chmod(0o755)
    result = bp(logged_in, "deploy", "--dry-run", env={"BP_OFFICIAL_CLI": str(official)})
    assert (result.code, result.out) == (0, "official ran: deploy --dry-run with the token\n")
    assert script.count == 2
    assert leaked(result.out + result.err) == []


def test_the_token_shows_only_where_asked(bp: Bp, sandbox: Sandbox, tmp_path: Path) -> None:
    """As test_token_hygiene's session, for a profile whose token comes from a command."""
    script = token_script(tmp_path)
    login_words = ("login", "-p", "team", "--token-command", script.command, "--apiUrl",
                   sandbox.url, "--workspaceId", "ws_acme", "-y", "-v")  # fmt: skip
    runs: list[tuple[tuple[str, ...], bool]] = [
        (login_words, False),
        (("profiles", "active", "-v"), False),
        (("profiles", "active", "--json", "-v"), False),
        (("profiles", "list", "--verify", "-v"), False),
        (("profiles", "get", "-v"), False),
        (("profiles", "get", "--json", "--displayToken"), False),
        (("workspaces", "list", "-v"), False),
        (("shell", "-c", "profiles active -v; workspaces list -v"), False),
        (("profiles", "active", "--displayToken"), True),
        (("profiles", "list", "--displayToken"), True),
        (("env",), True),
        (("logout", "-v"), False),
    ]
    for words, may_show in runs:
        result = bp(*words)
        assert result.code == 0, (words, result)
        assert bool(leaked(result.out + result.err)) == may_show, (words, result)
        assert files_holding_a_token(bp.home) == {}, words
        assert bp.tokens.entries == {}, words  # type: ignore[attr-defined]
