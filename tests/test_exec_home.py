"""``bp exec``'s private home: never imported by a ``bp`` inside it, and never outliving its run.

The private home holds a token (for the 0.8 official CLI). A ``bp`` run inside the child must
not take it for a login of the official CLI (importing it would replace the user's own
``default``), and a ``bp exec`` killed with SIGKILL, which cannot clean up, leaves it only until
the next ``bp`` run or ``bp logout`` of that home.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpshell.commands import GlobalOptions, LogoutOptions
from bpshell.env import Env
from bpshell.tokens import InMemoryTokens
from tests.conftest import ROOT, Bp, ScriptedPrompter, bp_process, process_env
from tests.test_env_exec import start_exec as start_in_group
from tests.users import UnixUser

TOKEN = "bp_pat_exechome000000000000000000000000001"
URL = "https://api.botpress.cloud"
CONFIG = {
    "version": 1,
    "activeProfile": "ci",
    "profiles": {"ci": {"apiUrl": URL, "workspaceId": "ws_ci", "token": TOKEN}},
}
LISTING = "   NAME  WORKSPACE  API URL\n*  ci    ws_ci      https://api.botpress.cloud\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home logged in as ``ci``, its token in config.json."""
    home = tmp_path / "botpress"
    home.mkdir(mode=0o700)
    (home / "config.json").write_text(json.dumps(CONFIG))
    (home / "config.json").chmod(0o600)
    return home


def state(home: Path) -> dict[str, bytes | None]:
    """Every entry of ``home``: a file's bytes, None for a folder."""
    return {p.name: None if p.is_dir() else p.read_bytes() for p in sorted(home.iterdir())}


@pytest.fixture
def orphans() -> Iterator[list[int]]:
    """Pids of children left running by a killed ``bp exec``: killed after the test."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_exec(home: Path, script: str) -> tuple[subprocess.Popen[str], str, int]:
    """``bp exec -- sh -c SCRIPT`` (SCRIPT first prints $BP_BOTPRESS_HOME and $$)."""
    process, private = start_in_group(home, script)
    assert process.stdout is not None
    return process, private, int(process.stdout.readline())


def killed_exec(home: Path, orphans: list[int]) -> str:
    """The private home of a ``bp exec`` killed with SIGKILL while its child sleeps."""
    process, private, child = start_exec(home, 'echo "$BP_BOTPRESS_HOME"; echo $$; exec sleep 60')
    orphans.append(child)
    process.kill()
    # Not communicate(): the orphaned child holds the pipes open.
    assert process.wait(timeout=20) == -signal.SIGKILL
    for stream in (process.stdin, process.stdout, process.stderr):
        assert stream is not None
        stream.close()
    cache = Path(private) / "global.cache.json"
    assert json.loads(cache.read_text())["token"] == TOKEN  # what is at stake
    return private


@pytest.fixture
def leftovers() -> Iterator[list[str]]:
    """Private homes a test may leave when the code under test fails: removed after it."""
    paths: list[str] = []
    yield paths
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
        run = Path(path).parent
        if (run / ".bpshell-private").exists():  # only ever a run folder, never its parent
            shutil.rmtree(run, ignore_errors=True)


# --- the private home never outlives its run ---------------------------------------------


def test_the_next_run_removes_the_home_of_a_killed_exec(
    home: Path, orphans: list[int], leftovers: list[str]
) -> None:
    before = state(home)
    private = killed_exec(home, orphans)
    leftovers.append(private)
    result = bp_process(home, "profiles", "list")
    assert (result.code, result.out, result.err) == (0, LISTING, "")
    assert not os.path.exists(private)
    assert state(home) == before


def test_logout_removes_the_home_of_a_killed_exec(
    home: Path, orphans: list[int], leftovers: list[str]
) -> None:
    """``run_logout`` itself sweeps: a logout in a long-running ``bp shell`` does it too."""
    from bpshell.login import run_logout

    private = killed_exec(home, orphans)
    leftovers.append(private)
    env = Env(
        environ={},
        home=home,
        interactive=False,
        tokens=InMemoryTokens(),
        prompter=ScriptedPrompter(()),
    )
    asyncio.run(run_logout(LogoutOptions(), GlobalOptions(), env))
    assert not os.path.exists(private)
    assert not (home / ".exec").exists()


def test_a_running_exec_keeps_its_home_while_other_runs_sweep(home: Path) -> None:
    before = state(home)
    process, private, _ = start_exec(home, 'echo "$BP_BOTPRESS_HOME"; echo $$; read line')
    try:
        for _ in range(2):
            result = bp_process(home, "profiles", "list")
            assert (result.code, result.out, result.err) == (0, LISTING, "")
            assert json.loads((Path(private) / "global.cache.json").read_text())["token"] == TOKEN
    finally:
        out, err = process.communicate("\n", timeout=20)
    assert (process.returncode, out, err) == (0, "", "")
    assert not os.path.exists(private)
    assert state(home) == before


def test_private_homes_are_made_in_the_home_and_the_folder_goes_with_the_last(
    tmp_path: Path,
) -> None:
    """``<home>/.exec/<run>/home``, beside the mark; ``.exec`` only while a run needs it."""
    bp = Bp(tmp_path / "fresh")
    script = (
        "import json, os\n"
        "home = os.environ['BP_BOTPRESS_HOME']\n"
        "run = os.path.dirname(home)\n"
        "mode = lambda path: oct(os.stat(path).st_mode & 0o777)\n"
        "print(json.dumps([os.path.dirname(run), sorted(os.listdir(run)),"
        " sorted(os.listdir(home)), mode(os.path.dirname(run)), mode(run)]))\n"
    )
    env = {"BP_TOKEN": TOKEN, "BP_WORKSPACE_ID": "ws_ci", "BP_API_URL": URL}
    result = bp("exec", "--", sys.executable, "-c", script, env=env)
    assert (result.code, result.err) == (0, ""), result.err
    assert json.loads(result.out) == [
        str(bp.home / ".exec"),
        [".bpshell-private", "home"],
        ["global.cache.json"],
        "0o700",
        "0o700",
    ]
    assert sorted(os.listdir(bp.home)) == []


SHOW_HOME = (
    "import os; home = os.environ['BP_BOTPRESS_HOME']; "
    "print(os.path.isfile(home + '/global.cache.json'), os.path.dirname(os.path.dirname(home)))"
)


def test_a_home_that_cannot_hold_private_homes_still_runs_exec(tmp_path: Path) -> None:
    """Then the private home is made in the temporary folder (not swept if SIGKILLed)."""
    import tempfile

    bp = Bp(tmp_path / "fresh")
    bp.home.mkdir()
    (bp.home / ".exec").write_text("not a folder")
    env = {"BP_TOKEN": TOKEN, "BP_WORKSPACE_ID": "ws_ci", "BP_API_URL": URL}
    result = bp("exec", "--", sys.executable, "-c", SHOW_HOME, env=env)
    assert (result.code, result.out, result.err) == (0, f"True {tempfile.gettempdir()}\n", "")
    assert (bp.home / ".exec").read_text() == "not a folder"


def test_private_homes_of_another_user_are_never_used(
    tmp_path: Path, second_user: UnixUser
) -> None:
    import tempfile

    bp = Bp(tmp_path / "fresh")
    (bp.home / ".exec").mkdir(parents=True, mode=0o700)
    second_user.owns(bp.home / ".exec")
    env = {"BP_TOKEN": TOKEN, "BP_WORKSPACE_ID": "ws_ci", "BP_API_URL": URL}
    result = bp("exec", "--", sys.executable, "-c", SHOW_HOME, env=env)
    assert (result.code, result.out, result.err) == (0, f"True {tempfile.gettempdir()}\n", "")
    assert os.listdir(bp.home / ".exec") == []


# --- the sweep: only dead homes, only ours, never through a symlink -------------------------


def dead_home(home: Path, name: str, *, marked: bool = True) -> Path:
    """What a killed ``bp exec`` leaves: ``.exec/NAME/.bpshell-private`` (unless not
    ``marked``) and ``.exec/NAME/home/global.cache.json``."""
    run = home / ".exec" / name
    (run / "home").mkdir(parents=True, mode=0o700)
    if marked:
        (run / ".bpshell-private").write_text("")
    (run / "home" / "global.cache.json").write_text(json.dumps({"token": TOKEN}))
    return run


def sweep(home: Path) -> list[str]:
    from bpshell.official.homes import sweep_private_homes

    return sorted(sweep_private_homes(home))


def test_the_sweep_removes_dead_homes_and_keeps_live_ones(home: Path) -> None:
    dead = dead_home(home, "dead")
    unmarked = dead_home(home, "killed-before-it-was-locked", marked=False)
    live = dead_home(home, "live")
    lock = os.open(live / ".bpshell-private", os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert sweep(home) == [str(dead), str(unmarked)]
        assert sorted(os.listdir(home / ".exec")) == ["live"]
    finally:
        os.close(lock)
    assert sweep(home) == [str(live)]
    assert not (home / ".exec").exists()


def test_the_sweep_never_follows_a_symlink(home: Path, tmp_path: Path) -> None:
    elsewhere = dead_home(tmp_path / "elsewhere", "dead")
    (home / ".exec").mkdir()
    (home / ".exec" / "link").symlink_to(elsewhere)
    assert sweep(home) == []
    assert (elsewhere / "home" / "global.cache.json").exists()
    shutil.rmtree(home / ".exec")
    (home / ".exec").symlink_to(elsewhere.parent)
    assert sweep(home) == []
    assert (elsewhere / "home" / "global.cache.json").exists()


def test_the_sweep_leaves_what_another_user_owns(home: Path, second_user: UnixUser) -> None:
    theirs = dead_home(home, "theirs")
    second_user.owns(theirs)
    assert sweep(home) == []
    assert (theirs / "home" / "global.cache.json").exists()
    shutil.rmtree(home / ".exec")
    dead = dead_home(home, "dead")
    second_user.owns(home / ".exec")
    assert sweep(home) == []
    assert dead.exists()


def test_the_start_up_check_is_one_stat_and_imports_nothing(home: Path) -> None:
    """Offline commands are benchmarked: with nothing to sweep, ``bp profiles list`` loads no
    more than before (not the module that sweeps)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bpshell", "profiles", "list"],
        capture_output=True,
        text=True,
        env=process_env(home),
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "bpshell.official." not in done.stderr  # the package's names only, no module


# --- a bp inside the child never imports the private home ----------------------------------

INSIDE = (
    '"$PY" -m bpshell profiles list; echo "code $?"; '
    '"$PY" -m bpshell --json profiles list; '
    '"$PY" -m bpshell profiles import; echo "code $?"; '
    'ls -A "$BP_BOTPRESS_HOME"'
)


def test_bp_inside_exec_does_not_import_the_private_home(home: Path) -> None:
    before = state(home)
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", "exec", "--", "sh", "-c", INSIDE],
        capture_output=True,
        text=True,
        env=process_env(home, {"PY": sys.executable}),
        cwd=ROOT,
        timeout=60,
    )
    assert done.stdout == "code 0\n[]\ncode 0\nglobal.cache.json\n"
    assert "Found a login" not in done.stderr and "Imported" not in done.stderr
    assert done.stderr.splitlines()[0] == "No profiles. Log in with: bp login"
    assert done.returncode == 0
    assert state(home) == before


def test_nothing_is_written_in_a_private_home(tmp_path: Path) -> None:
    """A ``bp login`` or ``bp profiles use`` run inside ``bp exec`` says so and writes nothing:
    the home is deleted when the exec ends, and the token in it is not a login."""
    from bpshell.config import ConfigStore
    from bpshell.errors import StorageError
    from bpshell.official.homes import PRIVATE_MARK

    run = tmp_path / "run"
    (run / "home").mkdir(parents=True)
    (run / PRIVATE_MARK).touch()
    store = ConfigStore(run / "home", lambda text: None)
    with pytest.raises(StorageError, match="private home of a bp exec"):
        store.update(lambda config: None)
    with pytest.raises(StorageError, match="private home of a bp exec"):
        store.create()
    assert sorted(p.name for p in (run / "home").iterdir()) == []
