"""``bp env`` and ``bp exec``: the credentials in force handed to a shell or a child process."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpshell.cli import run
from bpshell.commands import GlobalOptions
from bpshell.env import Env
from bpshell.tokens import InMemoryTokens
from tests.conftest import ROOT, Bp, ScriptedPrompter, process_env

TOKEN = "bp_pat_envtest0000000000000000000000000001"
PROD_TOKEN = "bp_pat_envtestprod000000000000000000000002"
URL = "https://api.botpress.cloud"
PROD_URL = "https://api.botpress.dev"
CONFIG = {
    "version": 1,
    "activeProfile": "default",
    "profiles": {
        "default": {"apiUrl": URL, "workspaceId": "ws_acme", "workspaceName": "acme"},
        "prod": {"apiUrl": PROD_URL, "workspaceId": "ws_prod", "token": PROD_TOKEN},
    },
}
SHOW_ENV = (
    "import json, os, sys\n"
    "names = ['BP_TOKEN', 'BP_WORKSPACE_ID', 'BP_API_URL', 'BP_PROFILE', 'BP_BOTPRESS_HOME']\n"
    "home = os.environ.get('BP_BOTPRESS_HOME', '')\n"
    "cache = os.path.join(home, 'global.cache.json')\n"
    "seen = {n: os.environ.get(n) for n in names}\n"
    "seen['argv'] = sys.argv[1:]\n"
    "if os.path.exists(cache):\n"
    "    seen['home_mode'] = oct(os.stat(home).st_mode & 0o777)\n"
    "    seen['cache_mode'] = oct(os.stat(cache).st_mode & 0o777)\n"
    "    seen['cache'] = json.load(open(cache))\n"
    "    seen['files'] = sorted(os.listdir(home))\n"
    "print(json.dumps(seen))\n"
)


@pytest.fixture
def logged_in(bp: Bp) -> Bp:
    """Two profiles: default (token in the keyring) and prod (token in config.json)."""
    write_config(bp.home, CONFIG)
    bp.tokens.entries["default"] = TOKEN  # type: ignore[attr-defined]
    return bp


def write_config(home: Path, config: object) -> Path:
    """``config.json`` as bpshell writes it: a 0700 home, a 0600 file."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = home / "config.json"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return home


def home_state(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(home.iterdir())}


# --- bp env -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (
            ("env",),
            f"export BP_TOKEN={TOKEN}\nexport BP_WORKSPACE_ID=ws_acme\nexport BP_API_URL={URL}\n",
        ),
        (
            ("env", "--shell", "sh"),
            f"export BP_TOKEN={TOKEN}\nexport BP_WORKSPACE_ID=ws_acme\nexport BP_API_URL={URL}\n",
        ),
        (
            ("env", "--shell=fish"),
            f"set -gx BP_TOKEN '{TOKEN}'\nset -gx BP_WORKSPACE_ID 'ws_acme'\n"
            f"set -gx BP_API_URL '{URL}'\n",
        ),
        (
            ("env", "--shell", "powershell", "-p", "prod"),
            f"$env:BP_TOKEN = '{PROD_TOKEN}'\n$env:BP_WORKSPACE_ID = 'ws_prod'\n"
            f"$env:BP_API_URL = '{PROD_URL}'\n",
        ),
        (
            ("--json", "env", "--shell", "fish"),
            json.dumps(
                {"BP_TOKEN": TOKEN, "BP_WORKSPACE_ID": "ws_acme", "BP_API_URL": URL}, indent=2
            )
            + "\n",
        ),
    ],
)
def test_env_prints_settings(logged_in: Bp, words: tuple[str, ...], expected: str) -> None:
    before = home_state(logged_in.home)
    result = logged_in(*words)
    assert (result.code, result.out, result.err) == (0, expected, "")
    assert home_state(logged_in.home) == before


def test_env_follows_precedence(logged_in: Bp) -> None:
    result = logged_in("env", env={"BP_PROFILE": "prod", "BP_WORKSPACE_ID": "ws_other"})
    assert result.out == (
        f"export BP_TOKEN={PROD_TOKEN}\nexport BP_WORKSPACE_ID=ws_other\n"
        f"export BP_API_URL={PROD_URL}\n"
    )


AWKWARD = "bp_pat_it's\"$(touch${IFS}pwned)`x`\\"


@pytest.mark.parametrize(
    ("shell", "program"),
    [("sh", ["sh", "-c", 'eval "$OUT"; printf %s "$BP_TOKEN"']), ("fish", ["fish", "-c"])],
)
def test_env_quoting_round_trips(
    logged_in: Bp, tmp_path: Path, shell: str, program: list[str]
) -> None:
    if shutil.which(program[0]) is None:
        pytest.skip(f"{program[0]} is not installed")
    result = logged_in("env", "--shell", shell, env={"BP_TOKEN": AWKWARD})
    assert result.code == 0, result.err
    if shell == "fish":
        program = [*program, 'echo $OUT | source; printf %s "$BP_TOKEN"']
    done = subprocess.run(
        program,
        env={**os.environ, "OUT": result.out},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
    )
    assert (done.stdout, done.stderr) == (AWKWARD, "")
    assert not (tmp_path / "pwned").exists()


def test_env_powershell_doubles_single_quotes(logged_in: Bp) -> None:
    result = logged_in("env", "--shell", "powershell", env={"BP_TOKEN": "bp_pat_it's"})
    assert result.out.splitlines()[0] == "$env:BP_TOKEN = 'bp_pat_it''s'"


def test_env_reminds_on_a_terminal(logged_in: Bp) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, err = Tty(), io.StringIO()

    def make(opts: GlobalOptions) -> Env:
        tokens = InMemoryTokens()
        tokens.entries["default"] = TOKEN
        return Env(
            environ={},
            home=logged_in.home,
            interactive=True,
            tokens=tokens,
            prompter=ScriptedPrompter(()),
            stdout_stream=out,
            stderr_stream=err,
        )

    assert run(["env", "--shell", "fish"], {}, make) == 0
    assert err.getvalue() == (
        "note: this output holds your token; load it with: bp env --shell fish | source\n"
    )
    assert out.getvalue().startswith("set -gx BP_TOKEN ")


@pytest.mark.parametrize(
    ("words", "environ", "code", "err"),
    [
        (
            ("env", "--shell", "csh"),
            {},
            2,
            "Invalid value csh for --shell: expected one of sh, fish, powershell, bash, zsh\n",
        ),
        (
            ("env", "extra"),
            {},
            2,
            "'bp env' takes no arguments, got extra. Run: bp env --help\n",
        ),
        (
            ("env", "-p", "nope"),
            {},
            1,
            'Unknown profile "nope". Known profiles: default, prod. '
            "Create it with: bp login -p nope\n",
        ),
        (
            ("env",),
            {"BP_TOKEN": "has space"},
            2,
            "Invalid token: a token is 1-4096 printable ASCII characters without spaces. "
            "Copy it again from https://app.botpress.cloud/profile/tokens\n",
        ),
    ],
)
def test_env_refuses(
    logged_in: Bp, words: tuple[str, ...], environ: dict[str, str], code: int, err: str
) -> None:
    result = logged_in(*words, env=environ)
    assert (result.code, result.out, result.err) == (code, "", err)


def test_env_when_logged_out(bp: Bp) -> None:
    result = bp("env")
    assert (result.code, result.out, result.err) == (1, "", "Not logged in. Run: bp login\n")
    assert not bp.config_path.exists()


def test_env_when_the_token_is_gone(logged_in: Bp) -> None:
    logged_in.tokens.entries.clear()  # type: ignore[attr-defined]
    result = logged_in("env")
    assert (result.code, result.out) == (1, "")
    assert result.err == 'No token found for profile "default". Run: bp login -p default\n'


# --- bp exec, in process ----------------------------------------------------------------


def exec_json(bp: Bp, *words: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = bp("exec", *words, "--", sys.executable, "-c", SHOW_ENV, "one", "two", env=env)
    assert (result.code, result.err) == (0, ""), result.err
    seen: dict[str, object] = json.loads(result.out)
    return seen


def test_exec_gives_variables_and_a_private_home(logged_in: Bp) -> None:
    before = home_state(logged_in.home)
    seen = exec_json(logged_in, env={"BP_PROFILE": "default"})
    home = str(seen.pop("BP_BOTPRESS_HOME"))
    assert seen == {
        "BP_TOKEN": TOKEN,
        "BP_WORKSPACE_ID": "ws_acme",
        "BP_API_URL": URL,
        "BP_PROFILE": None,
        "argv": ["one", "two"],
        "home_mode": "0o700",
        "cache_mode": "0o600",
        "cache": {"apiUrl": URL, "token": TOKEN, "workspaceId": "ws_acme"},
        "files": ["global.cache.json"],
    }
    assert home != str(logged_in.home)
    assert not os.path.exists(home)
    assert home_state(logged_in.home) == before


def test_exec_with_a_profile(logged_in: Bp) -> None:
    seen = exec_json(logged_in, "-p", "prod")
    assert (seen["BP_TOKEN"], seen["BP_WORKSPACE_ID"], seen["BP_API_URL"]) == (
        PROD_TOKEN,
        "ws_prod",
        PROD_URL,
    )
    assert seen["cache"] == {"apiUrl": PROD_URL, "token": PROD_TOKEN, "workspaceId": "ws_prod"}


def test_exec_env_only_leaves_the_home_alone(logged_in: Bp) -> None:
    seen = exec_json(logged_in, "--env-only", env={"BP_BOTPRESS_HOME": str(logged_in.home)})
    assert seen == {
        "BP_TOKEN": TOKEN,
        "BP_WORKSPACE_ID": "ws_acme",
        "BP_API_URL": URL,
        "BP_PROFILE": None,
        "BP_BOTPRESS_HOME": str(logged_in.home),
        "argv": ["one", "two"],
    }


def test_exec_never_puts_the_token_in_argv(logged_in: Bp) -> None:
    seen = exec_json(logged_in)
    assert all(TOKEN not in str(arg) for arg in seen["argv"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["sh", "-c", "exit 0"], 0),
        (["sh", "-c", "exit 7"], 7),
        (["sh", "-c", "exit 255"], 255),
        (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
        (["sh", "-c", "kill -KILL $$"], 128 + signal.SIGKILL),
    ],
)
def test_exec_passes_the_exit_status_through(logged_in: Bp, command: list[str], code: int) -> None:
    result = logged_in("exec", "--", *command)
    assert (result.code, result.out, result.err) == (code, "", "")


def test_exec_passes_streams_through(logged_in: Bp) -> None:
    result = logged_in(
        "exec", "--", "sh", "-c", "cat; echo to-err >&2; echo $BP_WORKSPACE_ID", stdin="in\n"
    )
    assert (result.code, result.out, result.err) == (0, "in\nws_acme\n", "to-err\n")


def test_exec_json_adds_nothing_to_the_output(logged_in: Bp) -> None:
    result = logged_in("--json", "exec", "--", "sh", "-c", "echo '[1]'; exit 3")
    assert (result.code, result.out, result.err) == (3, "[1]\n", "")


def test_exec_command_not_found(logged_in: Bp, tmp_path: Path) -> None:
    result = logged_in("exec", "--", str(tmp_path / "nope"), "x")
    assert (result.code, result.out) == (127, "")
    assert result.err == f"Command not found: {tmp_path / 'nope'}\n"


def test_exec_command_not_executable(logged_in: Bp, tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    result = logged_in("exec", "--", str(script))
    assert (result.code, result.err) == (126, f"Permission denied: {script}\n")


@pytest.mark.parametrize(
    ("words", "code", "err"),
    [
        (("exec",), 2, "'bp exec' needs COMMAND. Usage: bp exec COMMAND\n"),
        (("exec", "--"), 2, "'bp exec' needs COMMAND. Usage: bp exec COMMAND\n"),
        (
            ("exec", "--nope", "--", "true"),
            2,
            "Unknown flag --nope for 'bp exec'. Run: bp exec --help\n",
        ),
    ],
)
def test_exec_usage_errors(logged_in: Bp, words: tuple[str, ...], code: int, err: str) -> None:
    result = logged_in(*words)
    assert (result.code, result.out, result.err) == (code, "", err)


def test_exec_when_logged_out_runs_nothing(bp: Bp, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = bp("exec", "--", "touch", str(marker))
    assert (result.code, result.err) == (1, "Not logged in. Run: bp login\n")
    assert not marker.exists()


def test_exec_passes_words_after_dashdash_untouched(logged_in: Bp) -> None:
    result = logged_in(
        "exec",
        "--",
        sys.executable,
        "-c",
        "import sys; print(sys.argv[1:])",
        "-p",
        "x",
        "--json",
        "--",
        "--help",
    )
    assert (result.code, result.out) == (0, "['-p', 'x', '--json', '--', '--help']\n")


# --- bp exec, as a real process: signals and clean-up -----------------------------------


@pytest.fixture
def process_home(tmp_path: Path) -> Path:
    config = {
        "version": 1,
        "activeProfile": "ci",
        "profiles": {"ci": {"apiUrl": URL, "workspaceId": "ws_ci", "token": TOKEN}},
    }
    return write_config(tmp_path / "botpress", config)


def start_exec(home: Path, script: str) -> tuple[subprocess.Popen[str], str]:
    """``bp exec -- sh -c SCRIPT`` in its own process group; the child's private home."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bpshell", "exec", "--", "sh", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(home),
        cwd=ROOT,
        start_new_session=True,
    )
    assert process.stdout is not None
    private = process.stdout.readline().strip()
    assert private and os.path.isdir(private)
    return process, private


def test_ctrl_c_reaches_the_child_and_the_home_is_removed(process_home: Path) -> None:
    process, private = start_exec(process_home, 'echo "$BP_BOTPRESS_HOME"; exec sleep 30')
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert (process.returncode, out, err) == (128 + signal.SIGINT, "", "")
    assert not os.path.exists(private)


def test_sigterm_is_forwarded_and_the_home_is_removed(process_home: Path) -> None:
    process, private = start_exec(process_home, 'echo "$BP_BOTPRESS_HOME"; exec sleep 30')
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert (process.returncode, out, err) == (128 + signal.SIGTERM, "", "")
    assert not os.path.exists(private)


def test_private_home_is_private_while_the_child_runs(process_home: Path) -> None:
    process, private = start_exec(process_home, 'echo "$BP_BOTPRESS_HOME"; read line')
    try:
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o700
        cache = Path(private) / "global.cache.json"
        assert stat.S_IMODE(cache.stat().st_mode) == 0o600
        assert json.loads(cache.read_text())["token"] == TOKEN
        tasks = Path(f"/proc/{process.pid}/task").iterdir()
        children = [int(pid) for task in tasks for pid in (task / "children").read_text().split()]
        assert children
        for pid in [process.pid, *children]:
            assert TOKEN.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    finally:
        _, err = process.communicate("\n", timeout=20)
    assert (process.returncode, err) == (0, "")
    assert not os.path.exists(private)


@pytest.mark.parametrize(
    "words",
    [
        ("exec", sys.executable, "-c", "import sys; print(sys.argv[1:])", "-p", "x", "--json"),
        (
            "-p",
            "default",
            "exec",
            sys.executable,
            "-c",
            "import sys; print(sys.argv[1:])",
            "-p",
            "x",
            "--json",
        ),
    ],
    ids=["no-dashdash", "global-flag-first"],
)
def test_exec_stops_reading_its_flags_at_the_command(logged_in: Bp, words: tuple[str, ...]) -> None:
    """As sudo and aws-vault: ``bp exec echo -p x`` hands ``-p x`` to echo."""
    result = logged_in(*words)
    assert (result.code, result.out, result.err) == (0, "['-p', 'x', '--json']\n", "")


def test_exec_lets_the_commands_own_flags_win(logged_in: Bp) -> None:
    """The 0.8 official CLI lets BP_* beat its flags: the variables say what the flags say."""
    result = logged_in(
        "exec", "--", sys.executable, "-c", SHOW_ENV,
        "--workspaceId", "ws_mine", "--apiUrl=https://api.botpress.dev",
    )  # fmt: skip
    assert result.code == 0, result.err
    seen = json.loads(result.out)
    assert (seen["BP_WORKSPACE_ID"], seen["BP_API_URL"], seen["BP_TOKEN"]) == (
        "ws_mine",
        "https://api.botpress.dev",
        TOKEN,
    )
    assert seen["cache"] == {
        "apiUrl": "https://api.botpress.dev",
        "token": TOKEN,
        "workspaceId": "ws_mine",
    }


def test_exec_env_only_refuses_to_mix_with_another_official_login(
    logged_in: Bp, tmp_path: Path
) -> None:
    """The official CLI's 0.8 line would send the token of its global.cache.json to our API
    URL with our workspace: refused before anything runs."""
    official = tmp_path / "official"
    official.mkdir()
    other = {"apiUrl": URL, "token": PROD_TOKEN, "workspaceId": "ws_prod"}
    (official / "global.cache.json").write_text(json.dumps(other))
    marker = tmp_path / "ran"
    env = {"BP_BOTPRESS_HOME": str(official)}
    result = logged_in(
        "--botpressHome", str(logged_in.home), "exec", "--env-only", "--",
        sys.executable, "-c", f"open({str(marker)!r}, 'w')", env=env,
    )  # fmt: skip
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "With --env-only, the official Botpress CLI would use the other login in "
        f"{official / 'global.cache.json'} (its 0.8 line reads the token only there) with "
        "these BP_WORKSPACE_ID and BP_API_URL. Leave out --env-only (the command then gets a "
        "private home with these credentials)\n"
    )
    assert not marker.exists()
    same = {"apiUrl": URL, "token": TOKEN, "workspaceId": "ws_acme"}
    (official / "global.cache.json").write_text(json.dumps(same))
    again = logged_in(
        "--botpressHome", str(logged_in.home), "exec", "--env-only", "--",
        sys.executable, "-c", f"open({str(marker)!r}, 'w')", env=env,
    )  # fmt: skip
    assert again.code == 0, again.err
    assert marker.exists()
