"""Trust II: a hostile file or an untrusted folder cannot hurt the user (issue 10, 3 and 5).

config.json and its home are used only when they are this user's (or root's) and no one else
can write them, as ssh does with ``~/.ssh``: whoever can write them can point the token at
their server. Permission repairs never go through a symlink and never fail a read; a FIFO, a
socket or a device where a file should be is refused at once; writes keep to the size that
reads accept. Most runs are in-process (the ``Bp`` runner); what could hang runs in a
subprocess with a timeout, so that a hang fails the test instead of stopping the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bpshell.cache import read_workspaces, write_workspaces
from bpshell.config import MAX_CONFIG_BYTES, ConfigStore, Profile
from bpshell.errors import StorageError
from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, Outcome, bp_process, process_env, seed
from tests.mounts import read_only as read_only_mount
from tests.users import UnixUser

PROMPT_S = 20  # a command that has not answered by then is hanging on the file

SPY_TOKEN = "bp_pat_spy0000000000000000000000000000000001"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_profile(api_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "activeProfile": "default",
        "profiles": {"default": {"apiUrl": api_url, "workspaceId": "ws_acme", **extra}},
    }


def tokens(bp: Bp) -> dict[str, str]:
    return dict(bp.tokens.entries)  # type: ignore[attr-defined]


# --- a server that records who sent it a token -------------------------------------------


class Spy:
    """An HTTP server on 127.0.0.1 that answers 401 and keeps every Authorization header."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        seen = self.authorizations

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.headers.get("Authorization"))
                body = b'{"code": 401, "type": "Unauthorized", "message": "no"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def spy() -> Iterator[Spy]:
    server = Spy()
    try:
        yield server
    finally:
        server.close()


def refused(path: Path, why: str, fix: str) -> str:
    return (
        f"Refusing to use {path}: {why}, and whoever can change it can send your token to "
        f"their server. If you trust its content, run: {fix}\n"
    )


# --- 5: files and folders of another user ------------------------------------------------


@pytest.mark.parametrize("source", ["BP_TOKEN", "keyring"])
def test_another_users_config_never_receives_the_token(
    bp: Bp, spy: Spy, second_user: UnixUser, source: str
) -> None:
    seed(bp, one_profile(spy.url), keyring={"default": SPY_TOKEN} if source == "keyring" else {})
    env = {"BP_TOKEN": SPY_TOKEN} if source == "BP_TOKEN" else {}
    # First, that the trap works: the user's own file sends the token where it points.
    assert bp("profiles", "active", env=env).code == 1
    assert spy.authorizations[:1] == [f"Bearer {SPY_TOKEN}"]
    spy.authorizations.clear()
    second_user.owns(bp.config_path)
    result = bp("profiles", "active", env=env)
    assert (result.code, result.out) == (2, "")
    assert result.err == refused(
        bp.config_path, f"it belongs to user {second_user.name}", f"chown root {bp.config_path}"
    )
    assert spy.authorizations == []


# A reader, a writer of each kind, and a login: what a file bpshell cannot trust must stop.
EVERY_KIND_OF_COMMAND = pytest.mark.parametrize(
    "words",
    [
        ("profiles", "list"),
        ("profiles", "active"),
        ("profiles", "use", "default"),
        ("profiles", "rm", "default", "-y"),
        ("logout", "--all"),
        ("login", "--token", "-", "--workspaceId", "ws_acme", "-y"),
    ],
    ids=" ".join,
)


@EVERY_KIND_OF_COMMAND
@pytest.mark.parametrize("whose", ["config.json", "home"])
def test_another_users_file_or_home_is_refused_by_every_command(
    bp: Bp, spy: Spy, second_user: UnixUser, whose: str, words: tuple[str, ...]
) -> None:
    before = seed(bp, one_profile(spy.url), keyring={"default": SPY_TOKEN})
    path = bp.config_path if whose == "config.json" else bp.home
    second_user.owns(path)
    result = bp(*words, stdin=SPY_TOKEN, env={"BP_API_URL": spy.url})
    assert (result.code, result.out) == (2, "")
    assert result.err == refused(
        path, f"it belongs to user {second_user.name}", f"chown root {path}"
    )
    assert spy.authorizations == []
    assert bp.config_bytes() == before
    assert tokens(bp) == {"default": SPY_TOKEN}
    assert os.stat(path).st_uid == second_user.uid


def test_a_symlink_to_another_users_file_is_refused(
    bp: Bp, spy: Spy, second_user: UnixUser, tmp_path: Path
) -> None:
    seed(bp, one_profile(spy.url))
    theirs = tmp_path / "theirs.json"
    bp.config_path.rename(theirs)
    bp.config_path.symlink_to(theirs)
    second_user.owns(theirs)
    result = bp("profiles", "active", env={"BP_TOKEN": SPY_TOKEN})
    assert (result.code, result.out) == (2, "")
    assert result.err == refused(
        theirs, f"it belongs to user {second_user.name}", f"chown root {theirs}"
    )
    assert spy.authorizations == []


def test_another_users_workspace_cache_is_not_offered(
    bp: Bp, sandbox: Sandbox, second_user: UnixUser
) -> None:
    seed(bp, one_profile(sandbox.url))
    write_workspaces(bp.home, "default", sandbox.url, [("ws_planted", "planted")])
    assert read_workspaces(bp.home, "default") is not None
    second_user.owns(bp.home / "cache" / "workspaces.default.json")
    assert read_workspaces(bp.home, "default") is None


# --- 5: files and folders others can write -----------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        ("profiles", "list"),
        ("profiles", "active"),
        ("logout", "--all"),
        ("login", "--token", "-", "--workspaceId", "ws_acme", "-y"),
    ],
    ids=" ".join,
)
@pytest.mark.parametrize(
    ("whose", "loose", "fix"),
    [
        ("config.json", 0o620, "600"),
        ("config.json", 0o602, "600"),
        ("config.json", 0o666, "600"),
        ("home", 0o770, "700"),
        ("home", 0o707, "700"),
        ("home", 0o1777, "700"),
    ],
    ids=lambda value: f"{value:o}" if isinstance(value, int) else None,
)
def test_a_file_or_home_others_can_write_is_refused(
    bp: Bp, spy: Spy, whose: str, loose: int, fix: str, words: tuple[str, ...]
) -> None:
    before = seed(bp, one_profile(spy.url), keyring={"default": SPY_TOKEN})
    path = bp.config_path if whose == "config.json" else bp.home
    path.chmod(loose)
    result = bp(*words, stdin=SPY_TOKEN, env={"BP_API_URL": spy.url})
    assert (result.code, result.out) == (2, "")
    assert result.err == refused(
        path, f"other users can change it (mode {loose:04o})", f"chmod {fix} {path}"
    )
    assert spy.authorizations == []
    assert bp.config_bytes() == before
    assert mode(path) == loose
    path.chmod(int(fix, 8))
    assert bp("profiles", "list").code == 0


def test_a_fix_for_a_home_with_a_newline_in_its_path_is_a_command_that_works(
    bp: Bp, tmp_path: Path
) -> None:
    """The hint's path is a word the shell reads as that path: clean() shows a newline as
    \\n, which inside '…' is a backslash and an n (render.shell_word writes $'…')."""
    seed(bp, one_profile("https://api.botpress.cloud", token=ALICE_TOKEN))
    home = tmp_path / "nl\nhome"
    shutil.copytree(bp.home, home)
    (home / "config.json").chmod(0o666)
    result = bp("profiles", "list", "--botpressHome", str(home))
    assert (result.code, result.out) == (2, "")
    quoted = f"$'{tmp_path}/nl\\nhome/config.json'"
    assert result.err.endswith(f"If you trust its content, run: chmod 600 {quoted}\n")
    done = subprocess.run(["bash", "-c", f"chmod 600 {quoted}"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert bp("profiles", "list", "--botpressHome", str(home)).code == 0


def test_a_0755_home_is_tightened_by_a_write_only(bp: Bp, sandbox: Sandbox) -> None:
    seed(bp, one_profile(sandbox.url))
    bp.home.chmod(0o755)  # as the official CLI makes it
    assert bp("profiles", "list").err == ""
    assert mode(bp.home) == 0o755
    result = bp("profiles", "use", "default")
    assert result.code == 0
    assert result.err == (
        f"note: {bp.home} was readable by other users (mode 0755); bpshell made it 0700, "
        "since it holds your credentials\n"
    )
    assert mode(bp.home) == 0o700
    assert bp("profiles", "use", "default").err == ""


# --- 5 and issue 14: a config.json that names a token command -----------------------------

# What needs the profile's token, and so would run its command: each must stop first.
NEEDS_THE_TOKEN = pytest.mark.parametrize(
    "words",
    [
        ("profiles", "active"),
        ("profiles", "list", "--verify"),
        ("workspaces", "list"),
        ("env",),
        ("exec", "--", "true"),
        ("shell", "-c", "profiles active"),
        ("login", "--workspaceId", "ws_acme", "-y"),
        ("tokens", "list"),
    ],
    ids=" ".join,
)


def with_a_command(bp: Bp, spy: Spy, tmp_path: Path) -> tuple[bytes, Path]:
    """config.json whose profile's token comes from a command that leaves a mark when it
    runs (and prints a token for the spy): the bytes written, and where the mark would be."""
    mark = tmp_path / "the-command-ran"
    script = tmp_path / "planted.py"
    script.write_text(f"open({str(mark)!r}, 'w').write('ran')\nprint({SPY_TOKEN!r})\n")
    command = f"{sys.executable} {script}"
    return seed(bp, one_profile(spy.url, tokenCommand=command)), mark


@NEEDS_THE_TOKEN
@pytest.mark.parametrize(
    ("whose", "loose", "fix"),
    [("config.json", 0o620, "600"), ("config.json", 0o602, "600"), ("home", 0o770, "700")],
    ids=lambda value: f"{value:o}" if isinstance(value, int) else None,
)
def test_a_token_command_in_a_file_others_can_write_never_runs(
    bp: Bp, spy: Spy, tmp_path: Path, whose: str, loose: int, fix: str, words: tuple[str, ...]
) -> None:
    before, mark = with_a_command(bp, spy, tmp_path)
    path = bp.config_path if whose == "config.json" else bp.home
    path.chmod(loose)
    result = bp(*words)
    assert (result.code, result.out) == (2, "")
    assert result.err == refused(
        path, f"other users can change it (mode {loose:04o})", f"chmod {fix} {path}"
    )
    assert not mark.exists()
    assert spy.authorizations == []
    assert bp.config_bytes() == before
    path.chmod(int(fix, 8))
    assert bp("profiles", "active").code == 1  # the trap works: trusted, it runs (spy says 401)
    assert mark.exists()


@NEEDS_THE_TOKEN
@pytest.mark.parametrize("whose", ["config.json", "home"])
def test_a_token_command_in_another_users_file_never_runs(
    bp: Bp, spy: Spy, tmp_path: Path, second_user: UnixUser, whose: str, words: tuple[str, ...]
) -> None:
    before, mark = with_a_command(bp, spy, tmp_path)
    path = bp.config_path if whose == "config.json" else bp.home
    second_user.owns(path)
    result = bp(*words)
    assert (result.code, result.out) == (2, "")
    assert result.err == refused(
        path, f"it belongs to user {second_user.name}", f"chown root {path}"
    )
    assert not mark.exists()
    assert spy.authorizations == []
    assert bp.config_bytes() == before
    os.chown(path, os.geteuid(), os.getegid())
    assert bp("profiles", "active").code == 1  # the trap works: the user's own file runs it
    assert mark.exists()


def test_a_token_command_in_another_users_file_never_runs_in_a_real_process(
    bp: Bp, spy: Spy, tmp_path: Path, second_user: UnixUser
) -> None:
    _, mark = with_a_command(bp, spy, tmp_path)
    second_user.owns(bp.config_path)
    for words in (("env",), ("exec", "--", "true"), ("profiles", "active")):
        result = bp_process(bp.home, *words, timeout=PROMPT_S)
        assert (result.code, result.out) == (2, ""), words
    assert not mark.exists()
    assert spy.authorizations == []


# --- 5: symlinks --------------------------------------------------------------------------


@pytest.fixture
def dotfiles(tmp_path: Path) -> Path:
    folder = tmp_path / "dotfiles"
    folder.mkdir(mode=0o700)
    return folder


def test_a_read_through_a_symlink_never_changes_its_target(
    bp: Bp, sandbox: Sandbox, dotfiles: Path
) -> None:
    """The ``authorized_keys`` case: ``profiles list`` used to chmod the symlink's target."""
    bp.home.mkdir(mode=0o700)
    keys = dotfiles / "authorized_keys"
    keys.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host\n")
    keys.chmod(0o644)
    bp.config_path.symlink_to(keys)
    result = bp("profiles", "list")
    assert result.code == 2
    assert mode(keys) == 0o644
    assert keys.read_text() == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host\n"
    assert bp.config_path.is_symlink()


def test_a_symlinked_config_is_read_with_a_warning_and_left_alone(
    bp: Bp, sandbox: Sandbox, dotfiles: Path
) -> None:
    target = dotfiles / "botpress.json"
    target.write_text(json.dumps(one_profile(sandbox.url)))
    target.chmod(0o644)
    bp.home.mkdir(mode=0o700)
    bp.config_path.symlink_to(target)
    result = bp("profiles", "list")
    assert result.code == 0
    assert result.err == (
        f"warning: {target}, where the symlink {bp.config_path} points, is readable by other "
        f"users; bpshell does not change permissions through a symlink. Run: chmod 600 {target}\n"
    )
    assert mode(target) == 0o644
    assert bp.config_path.is_symlink()


def test_writes_go_through_a_symlinked_config(bp: Bp, sandbox: Sandbox, dotfiles: Path) -> None:
    target = dotfiles / "botpress.json"
    target.write_text(json.dumps(one_profile(sandbox.url)))
    target.chmod(0o600)
    bp.home.mkdir(mode=0o700)
    bp.config_path.symlink_to(target)
    (dotfiles / ".botpress.json.999.deadbeef.tmp").write_text("{half")  # of a killed writer
    result = bp("login", "-p", "ci", "--token", "-", "--apiUrl", sandbox.url,
                "--workspaceId", "ws_acme", "-y", stdin=ALICE_TOKEN)  # fmt: skip
    assert (result.code, result.err) == (
        0,
        'Active profile is now "ci" (was "default"); switch back with: bp profiles use default\n',
    )
    assert bp.config_path.is_symlink()
    assert os.readlink(bp.config_path) == str(target)
    assert sorted(json.loads(target.read_text())["profiles"]) == ["ci", "default"]
    assert mode(target) == 0o600
    assert sorted(p.name for p in dotfiles.iterdir()) == ["botpress.json"]
    assert sorted(p.name for p in bp.home.iterdir()) == ["config.json", "config.json.lock"]


def test_a_symlink_into_a_folder_others_can_write_is_refused(
    bp: Bp, spy: Spy, dotfiles: Path
) -> None:
    target = dotfiles / "botpress.json"
    target.write_text(json.dumps(one_profile(spy.url)))
    target.chmod(0o600)
    dotfiles.chmod(0o777)
    bp.home.mkdir(mode=0o700)
    bp.config_path.symlink_to(target)
    for words in (("profiles", "active"), ("profiles", "use", "default")):
        result = bp(*words, env={"BP_TOKEN": SPY_TOKEN})
        assert (result.code, result.out) == (2, "")
        assert result.err == refused(
            dotfiles, "other users can change it (mode 0777)", f"chmod 700 {dotfiles}"
        )
    assert spy.authorizations == []


def test_a_symlinked_lock_is_refused(bp: Bp, sandbox: Sandbox, dotfiles: Path) -> None:
    seed(bp, one_profile(sandbox.url))
    elsewhere = dotfiles / "never-made"
    lock = bp.home / "config.json.lock"
    lock.symlink_to(elsewhere)
    result = bp("profiles", "use", "default")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Refusing to use {lock}: it is a symlink, not a regular file. Remove it: rm {lock}\n"
    )
    assert not elsewhere.exists()
    assert bp("profiles", "list").code == 0


def test_history_never_changes_a_symlinks_target(tmp_path: Path, dotfiles: Path) -> None:
    from bpshell.history import RedactingFileHistory

    target = dotfiles / "history"
    target.write_text("")
    target.chmod(0o644)
    link = tmp_path / "shell_history"
    link.symlink_to(target)
    history = RedactingFileHistory(link)
    history.store_string("profiles list")
    assert mode(target) == 0o644
    assert list(history.load_history_strings()) == ["profiles list"]
    assert link.is_symlink()


# --- 5: a read-only config (a mounted secret) -------------------------------------------


@pytest.fixture
def read_only(bp: Bp, sandbox: Sandbox) -> Iterator[Path]:
    """A 0755 home with a 0644 config.json, bind-mounted read-only over itself: chmod fails
    there even for root, as on a mounted secret."""
    seed(bp, one_profile(sandbox.url, token=ALICE_TOKEN))
    bp.home.chmod(0o755)
    bp.config_path.chmod(0o644)
    with read_only_mount(bp.home):
        yield bp.home


def test_read_only_commands_work_on_a_read_only_config(bp: Bp, read_only: Path) -> None:
    before = bp.config_bytes()
    warning = (
        f"warning: {bp.config_path} is readable by other users, and bpshell cannot make it "
        "private: Read-only file system\n"
    )
    for words in (("profiles", "list"), ("profiles", "get"), ("profiles", "active")):
        result = bp(*words)
        assert (result.code, result.err) == (0, warning), words
    assert "default" in bp("profiles", "list").out
    result = bp("profiles", "use", "default")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        warning.replace(str(bp.config_path), str(bp.home))
        + f"Cannot lock {bp.config_path}: Read-only file system. "
        f"Check that {bp.home} is writable; nothing was changed\n"
    )
    assert bp.config_bytes() == before
    assert mode(bp.config_path) == 0o644


# --- 5: a FIFO, a socket or a device where a file should be ------------------------------


def fifo(path: Path) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.mkfifo(path, 0o600)
    return path


def run_promptly(home: Path, *words: str, stdin: str = "") -> Outcome:
    return bp_process(home, *words, stdin=stdin, timeout=PROMPT_S)


def python_promptly(code: str, home: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=process_env(home),
        timeout=PROMPT_S,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@EVERY_KIND_OF_COMMAND
def test_a_fifo_config_is_refused_at_once(home: Path, words: tuple[str, ...]) -> None:
    path = fifo(home / "config.json")
    result = run_promptly(home, *words, stdin=ALICE_TOKEN)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"Refusing to use {path}: it is a FIFO, not a regular file. "
        f"Move it away: mv {path} {path}.bad\n"
    )
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_completion_and_the_first_frame_never_wait_on_a_fifo_config(home: Path) -> None:
    fifo(home / "config.json")
    assert run_promptly(home, "__complete", "profiles", "use", "") == Outcome(0, "", "")
    code = "from pathlib import Path; from bpshell.complete import peek_config\n"
    code += f"print(peek_config(Path({str(home / 'config.json')!r})))\n"
    assert python_promptly(code, home) == "{}\n"


def test_a_fifo_lock_is_refused_at_once(home: Path, sandbox: Sandbox, bp: Bp) -> None:
    seed(bp, one_profile(sandbox.url))
    lock = fifo(home / "config.json.lock")
    for words in (("profiles", "use", "default"), ("logout", "--all", "-y")):
        result = run_promptly(home, *words)
        assert (result.code, result.out) == (1, "")
        assert result.err == (
            f"Refusing to use {lock}: it is a FIFO, not a regular file. Remove it: rm {lock}\n"
        )
    assert run_promptly(home, "profiles", "list").code == 0


def test_a_fifo_workspace_cache_is_skipped_at_once(home: Path, sandbox: Sandbox, bp: Bp) -> None:
    seed(bp, one_profile(sandbox.url))
    fifo(home / "cache" / "workspaces.default.json")
    result = run_promptly(home, "__complete", "login", "--workspaceId", "")
    assert result == Outcome(0, "ws_acme\n", "")
    code = "from pathlib import Path; from bpshell.cache import read_workspaces\n"
    code += f"print(read_workspaces(Path({str(home)!r}), 'default'))\n"
    assert python_promptly(code, home) == "None\n"


def test_a_fifo_history_is_skipped_at_once(home: Path) -> None:
    path = fifo(home / "shell_history")
    code = (
        "from pathlib import Path; from bpshell.history import RedactingFileHistory\n"
        f"history = RedactingFileHistory(Path({str(path)!r}))\n"
        "print(list(history.load_history_strings()))\n"
        "history.store_string('profiles list')\n"
        "print('done')\n"
    )
    assert python_promptly(code, home) == "[]\ndone\n"
    assert stat.S_ISFIFO(os.lstat(path).st_mode)


def test_a_socket_or_a_device_config_is_refused(bp: Bp) -> None:
    bp.home.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(bp.config_path))
        result = bp("profiles", "list")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"Refusing to use {bp.config_path}: it is a socket, not a regular file. "
        f"Move it away: mv {bp.config_path} {bp.config_path}.bad\n"
    )
    bp.config_path.unlink()
    os.mknod(bp.config_path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero
    result = bp("profiles", "list")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"Refusing to use {bp.config_path}: it is a character device, not a regular file. "
        f"Move it away: mv {bp.config_path} {bp.config_path}.bad\n"
    )


# --- 3: the store's size limit ------------------------------------------------------------


def test_a_write_over_the_size_limit_is_refused_and_the_old_file_kept(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "h", lambda _: None)
    store.update(lambda c: c.profiles.update(a=Profile(apiUrl="https://x", workspaceId="w")))
    before = store.path.read_bytes()
    huge = "n" * (17 * 2**20)  # a 17 MiB workspace name

    def rename(config: Any) -> None:
        config.profiles["a"].workspaceName = huge

    with pytest.raises(StorageError) as caught:
        store.update(rename)
    assert (caught.value.message, caught.value.hint) == (
        f"refusing to write {store.path}: it would be larger than 16 MiB, the most bpshell reads",
        "the previous file is unchanged",
    )
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in store.home.iterdir()) == ["config.json", "config.json.lock"]


def test_a_login_that_would_outgrow_the_limit_changes_nothing(bp: Bp, sandbox: Sandbox) -> None:
    empty = seed(bp, {"version": 1, "activeProfile": None, "profiles": {}, "padding": ""})
    padding = "p" * (MAX_CONFIG_BYTES - len(empty) - 40)
    before = seed(bp, {"version": 1, "activeProfile": None, "profiles": {}, "padding": padding})
    assert len(before) <= MAX_CONFIG_BYTES
    result = bp("login", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme",
                "-y", stdin=ALICE_TOKEN)  # fmt: skip
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Refusing to write {bp.config_path}: it would be larger than 16 MiB, the most bpshell "
        "reads. The previous file is unchanged\n"
    )
    assert bp.config_bytes() == before
    assert tokens(bp) == {}
    assert bp("profiles", "list").code == 0


@pytest.mark.parametrize(
    "words",
    [
        ("profiles", "list"),
        ("profiles", "rm", "default", "-y"),
        ("logout", "--all"),
        ("login", "--token", "-", "--workspaceId", "ws_acme", "-y"),
    ],
    ids=" ".join,
)
def test_a_too_large_file_names_the_way_out(bp: Bp, words: tuple[str, ...]) -> None:
    bp.home.mkdir(mode=0o700)
    with open(bp.config_path, "wb") as handle:
        handle.truncate(MAX_CONFIG_BYTES + 1)
    bp.config_path.chmod(0o600)
    result = bp(*words, stdin=ALICE_TOKEN)
    assert (result.code, result.out) == (2, "")
    path = bp.config_path
    assert result.err == f"{path} is larger than 16 MiB. Move it away: mv {path} {path}.bad\n"
    assert path.stat().st_size == MAX_CONFIG_BYTES + 1
