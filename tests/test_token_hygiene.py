"""Token hygiene: a token shows up only where the user asked for it.

Allowed: ``--displayToken`` output, ``bp env``, and the environment of ``bp exec``'s child.
Searched: stdout and stderr of every command (verbose too, failures too), config.json when a
keyring works, the shell's history file, the workspace cache, tracebacks of internal errors,
the argv of ``bp exec``'s child and of ``bp`` itself. Also: files and folders are created
0600 / 0700 whatever the umask (the mode is given at creation, not fixed afterwards), and a
token given as ``--token VALUE`` earns a one-line hint unless the run is unattended.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest

import bpshell.api
from bpshell.history import HISTORY_NAME, RedactingFileHistory
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, EXPIRED_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, Outcome, process_env
from tests.secret_service import SecretService
from tests.shell_helpers import wait_until

HINT = (
    "hint: --token - (reads stdin) or BP_TOKEN keeps the token out of shell history "
    "and the process list\n"
)
TOKENS = (ALICE_TOKEN, BOB_TOKEN, EXPIRED_TOKEN)


def leaked(text: str | bytes) -> list[str]:
    """The tokens found in ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return [token for token in TOKENS if token.encode() in data]


def files_holding_a_token(home: Path) -> dict[str, list[str]]:
    """Every file under ``home`` that holds a token, and which."""
    found = {}
    for path in sorted(home.rglob("*")):
        if path.is_file() and leaked(path.read_bytes()):
            found[str(path.relative_to(home))] = leaked(path.read_bytes())
    return found


# --- every output stream, in-process ----------------------------------------------------


def session(url: str) -> list[tuple[tuple[str, ...], dict[str, Any], bool]]:
    """(words, keyword arguments of the run, whether the token may be shown)."""
    login = ("login", "--apiUrl", url, "--workspaceId", "ws_acme")
    return [
        ((*login, "--token", "-", "-y", "-v"), {"stdin": ALICE_TOKEN}, False),
        ((*login, "-p", "argv", "--token", ALICE_TOKEN, "-v"), {}, False),
        ((*login, "-p", "inline", f"--token={ALICE_TOKEN}", "--json"), {}, False),
        (
            ("login", "--apiUrl", url, "--workspaceId", "ws_initech", "-p", "env"),
            {"env": {"BP_TOKEN": BOB_TOKEN}},
            False,
        ),
        ((*login, "-p", "bad", "--token", "-", "-y", "-v"), {"stdin": EXPIRED_TOKEN}, False),
        (("login", "--apiUrl", url, "-p", "ask", "-v"), {"env": {"BP_TOKEN": ALICE_TOKEN}}, False),
        (("profiles", "list", "-v"), {}, False),
        (("profiles", "list", "--verify", "-v"), {}, False),
        (("profiles", "list", "--verify", "--json", "-v"), {}, False),
        (("profiles", "active", "-v"), {}, False),
        (("profiles", "active", "--json", "-v"), {}, False),
        (("profiles", "active", "-v"), {"env": {"BP_TOKEN": ALICE_TOKEN}}, False),
        (("profiles", "get", "-v"), {}, False),
        (("profiles", "get", "env", "--json"), {}, False),
        (("workspaces", "list", "-v"), {}, False),
        (("workspaces", "list", "--json", "-p", "env", "-v"), {}, False),
        (("profiles", "rename", "argv", "renamed", "-v"), {}, False),
        (("profiles", "use", "renamed"), {}, False),
        (
            ("shell", "-c", "profiles active -v; workspaces list -v; profiles list --verify"),
            {},
            False,
        ),
        (("profiles", "get", "--displayToken"), {}, True),
        (("profiles", "active", "--displayToken", "--json"), {}, True),
        (("profiles", "list", "--displayToken"), {}, True),
        (("env",), {}, True),
        (("env", "--json", "-p", "env"), {}, True),
        (("profiles", "rm", "inline", "-v", "-y"), {}, False),
        (("logout", "-v"), {}, False),
        (("logout", "--all", "-v", "-y"), {}, False),
    ]


def test_outputs_show_a_token_only_when_asked(bp: Bp, sandbox: Sandbox) -> None:
    sandbox.set_fault("getWorkspace", "status", status=500, retry_after=0, times=1)  # a retry
    for words, kwargs, may_show in session(sandbox.url):
        result = bp(*words, interactive="ask" in words, answers=_answers(words), **kwargs)
        assert result.code == (1 if "bad" in words else 0), (words, result)
        assert bool(leaked(result.out + result.err)) == may_show, (words, result)
        assert files_holding_a_token(bp.home) == {}, words  # the keyring holds them


def _answers(words: tuple[str, ...]) -> list[Any]:
    return ["ws_acme"] if "ask" in words else []


def test_failures_and_faults_never_echo_the_token(
    bp: Bp, sandbox: Sandbox, fresh_sandbox: Sandbox
) -> None:
    login = ("login", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y", "-v")
    faults: list[dict[str, Any]] = [
        {"kind": "status", "status": 401},
        {"kind": "status", "status": 500, "retry_after": 0},
        {"kind": "status", "status": 429, "retry_after": 0},
        {"kind": "malformed_json"},
        {"kind": "schema_mismatch"},
        {"kind": "wrong_content_type"},
        {"kind": "reset"},
        {"kind": "redirect", "location": fresh_sandbox.url},
    ]
    for fault in faults:
        sandbox.reset()
        sandbox.set_fault("*", **fault)
        for words, kwargs in [
            ((*login, "--token", "-"), {"stdin": ALICE_TOKEN}),
            ((*login, "--token", ALICE_TOKEN), {}),
            ((*login,), {"env": {"BP_TOKEN": ALICE_TOKEN}}),
        ]:
            result = bp(*words, **kwargs)
            assert result.code == 1, (fault, result)
            assert leaked(result.out + result.err) == [], (fault, result)
    assert fresh_sandbox.stats.total == 0
    assert bp.config_bytes() is None


def test_an_internal_error_traceback_is_redacted(
    bp: Bp, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug whose message holds the request's headers: the -v traceback hides the token."""
    real = bpshell.api.new_http_client

    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"cannot send {dict(request.headers)} (token {ALICE_TOKEN})")

    def make(debug: Any = None, transport: Any = None) -> httpx.AsyncClient:
        return real(debug, transport=httpx.MockTransport(broken))

    monkeypatch.setattr(bpshell.api, "new_http_client", make)
    words = ("login", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "--token", "-", "-y")
    quiet = bp(*words, stdin=ALICE_TOKEN)
    assert (quiet.code, quiet.out) == (1, "")
    assert quiet.err == (
        "bp: internal error (ExceptionGroup); please report it. Run with -v for details\n"
    )
    loud = bp(*words, "-v", stdin=ALICE_TOKEN)
    assert loud.code == 1
    assert "Traceback" in loud.err and "RuntimeError: cannot send" in loud.err
    assert "'authorization': '[redacted]" in loud.err
    assert leaked(loud.err) == []


# --- a real session: real keyring, real terminal, every file of the home ----------------


def test_a_shell_session_with_a_real_keyring_leaves_no_token_on_disk_or_screen(
    tmp_path: Path, sandbox: Sandbox, secret_service: SecretService
) -> None:
    home = tmp_path / "botpress"
    env = process_env(home, {**secret_service.env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"})
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", "login", "--token", "-", "--apiUrl", sandbox.url,
         "--workspaceId", "ws_acme", "-y"],
        input=ALICE_TOKEN, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    screen = io.StringIO()
    shell = pexpect.spawn(
        sys.executable, ["-m", "bpshell", "shell"], env=env, cwd=str(ROOT),
        dimensions=(40, 160), encoding="utf-8", timeout=15,
    )  # fmt: skip
    shell.logfile_read = screen
    try:
        for line in [
            "workspaces list -v",
            "profiles active -v",
            "profiles list --verify -v",
            "profiles get -v",
            "profiles use default",
        ]:
            shell.sendline(line)
        shell.sendline("exit")
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)
    history = home / HISTORY_NAME
    wait_until(history.exists)
    assert "+profiles use default" in history.read_text()
    assert (home / "cache").is_dir() and any((home / "cache").iterdir())
    assert "Team 45" in screen.getvalue()  # the listing did run
    assert leaked(screen.getvalue()) == []
    assert files_holding_a_token(home) == {}
    config = json.loads((home / "config.json").read_text())
    assert all("token" not in profile for profile in config["profiles"].values())


# --- bp exec: the token is in the child's environment, never in an argv ----------------

SHOW = (
    "import os; "
    "print(open('/proc/self/cmdline', 'rb').read()); "
    "print(open(f'/proc/{os.getppid()}/cmdline', 'rb').read()); "
    "print(os.environ['BP_TOKEN'] == open(os.environ['TOKEN_FILE']).read())"
)


def test_exec_puts_the_token_in_the_environment_not_in_argv(tmp_path: Path) -> None:
    home = tmp_path / "botpress"
    home.mkdir(mode=0o700)
    config = {
        "version": 1,
        "activeProfile": "ci",
        "profiles": {"ci": {"apiUrl": "https://x.example", "workspaceId": "ws_ci",
                            "token": ALICE_TOKEN}},
    }  # fmt: skip
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)
    token_file = tmp_path / "token"
    token_file.write_text(ALICE_TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", "exec", "--", sys.executable, "-c", SHOW],
        capture_output=True,
        text=True,
        env=process_env(home, {"TOKEN_FILE": str(token_file)}),
        cwd=ROOT,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    child_argv, parent_argv, in_environment = done.stdout.splitlines()
    assert "-c" in child_argv and "bpshell" in parent_argv
    assert leaked(child_argv + parent_argv) == []
    assert in_environment == "True"


# --- modes given at creation -------------------------------------------------------------


@pytest.fixture
def no_umask() -> Iterator[None]:
    """umask 0: whatever mode a file is created with is the mode it gets."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def creations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str, int]]:
    """(call, path, mode) of every file or folder created under ``tmp_path`` or a private
    ``bp exec`` home; ``open(…, "w")`` is recorded with mode -1 (it cannot choose one)."""
    made: list[tuple[str, str, int]] = []
    real_open, real_mkdir, real_builtin_open = os.open, os.mkdir, builtins.open

    def ours(path: Any) -> bool:
        text = os.fsdecode(path) if not isinstance(path, int) else ""
        return text.startswith(str(tmp_path)) or "bpshell-home-" in text

    def os_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT and ours(path) and not os.path.exists(path):
            made.append(("os.open", os.fsdecode(path), mode))
        return real_open(path, flags, mode, *args, **kwargs)

    def mkdir(path: Any, mode: int = 0o777, *args: Any, **kwargs: Any) -> None:
        if ours(path) and not os.path.exists(path):
            made.append(("os.mkdir", os.fsdecode(path), mode))
        real_mkdir(path, mode, *args, **kwargs)

    def builtin_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        writes = any(flag in mode for flag in "wax+")
        if writes and ours(file) and not os.path.exists(file):
            made.append(("open", os.fsdecode(file), -1))
        return real_builtin_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(builtins, "open", builtin_open)
    monkeypatch.setattr(io, "open", builtin_open)
    return made


def test_files_are_created_0600_and_folders_0700_whatever_the_umask(
    tmp_path: Path, sandbox: Sandbox, no_umask: None, creations: list[tuple[str, str, int]]
) -> None:
    home = tmp_path / "botpress"
    bp = Bp(home)
    words = ("login", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y", "--token", "-")
    assert bp(*words, "--insecure-storage", stdin=ALICE_TOKEN).code == 0
    assert bp("workspaces", "list").code == 0
    assert bp("profiles", "use", "default").code == 0
    assert bp("exec", "--", "true").code == 0
    history = RedactingFileHistory(home / HISTORY_NAME)
    history.append_string("profiles list")
    history.store_string("profiles list")

    def under_home(path: str) -> bool:
        return path == str(home) or path.startswith(f"{home}/")

    kinds = {(call, path.startswith(str(home))) for call, path, _ in creations}
    assert ("os.mkdir", True) in kinds and ("os.open", True) in kinds
    bad = [
        (call, path, oct(mode))
        for call, path, mode in creations
        if (under_home(path) or "bpshell-home-" in path)
        and mode != (0o700 if call == "os.mkdir" else 0o600)
    ]
    assert bad == []
    for path in [home, *home.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


# --- the --token VALUE hint --------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "environ", "err"),
    [
        pytest.param(("--token", ALICE_TOKEN), {"CI": "false"}, HINT, id="CI-false-is-not-ci"),
        pytest.param(("--token", ALICE_TOKEN), {"CI": "0"}, HINT, id="CI-0-is-not-ci"),
        pytest.param(("--token", ALICE_TOKEN), {"CI": "1"}, "", id="CI-1"),
        pytest.param((f"--token={ALICE_TOKEN}",), {}, HINT, id="inline-value"),
        pytest.param((f"--token={ALICE_TOKEN}", "--confirm"), {}, "", id="inline-confirm"),
        pytest.param(("--token", "-"), {}, "", id="stdin"),
    ],
)
def test_argv_token_hint(
    bp: Bp, sandbox: Sandbox, words: tuple[str, ...], environ: dict[str, str], err: str
) -> None:
    result = bp(
        "login", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", *words,
        env=environ, stdin=ALICE_TOKEN,
    )  # fmt: skip
    assert (result.code, result.err) == (0, err)


def test_argv_token_hint_in_a_shell_script(bp: Bp, sandbox: Sandbox) -> None:
    line = f"login --apiUrl {sandbox.url} --workspaceId ws_acme --token {ALICE_TOKEN}"
    result: Outcome = bp("shell", "-c", f"{line}; {line} -y")
    assert (result.code, result.err) == (  # in the shell's words: --token - reads no stdin there
        0,
        "hint: login without --token asks for the token, without showing it\n",
    )
