"""Which official CLI ``bp deploy`` (and every handed-over command) runs: only a safe one.

It runs with the user's token in its environment, so a program someone else could have put
there, or could replace, must never be it: another user's ``/tmp/node_modules/.bin/bp``, a
program in a folder others can write, a ``node_modules`` above the project. Local installs are
looked for as npm finds its prefix: from the working folder up to the nearest one holding
package.json or node_modules, never above the home or onto another file system.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpshell.official.delegation import OfficialCliMissing, find_official_cli
from tests.conftest import ROOT, Outcome, process_env
from tests.users import UnixUser

TOKEN = "bp_pat_lookup0000000000000000000000000000001"
URL = "https://api.botpress.cloud"
HINT = (
    "Install it with: npm install -g @botpress/cli (or in this project: npm install "
    "@botpress/cli), or set BP_OFFICIAL_CLI to its bp"
)
OFFICIAL = '#!/bin/sh\necho "official ran: $* token=$BP_TOKEN"\n'


def executable(path: Path, text: str, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def planted(path: Path, leak: Path) -> Path:
    """A program that writes its whole environment to ``leak``: what an attacker would run."""
    return executable(path, f"#!/bin/sh\nenv > '{leak}'\necho planted ran\n")


def who(user: UnixUser) -> str:
    return f"{user.name} (uid {user.uid})"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A botpress home logged in (token in config.json, so no keyring is involved)."""
    home = tmp_path / "botpress"
    home.mkdir(mode=0o700)
    config = {
        "version": 1,
        "activeProfile": "default",
        "profiles": {"default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN}},
    }
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)
    return home


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """A PATH with nothing on it: only the candidates a test makes are there."""
    path = tmp_path / "empty"
    path.mkdir()
    return path


def deploy(home: Path, cwd: Path, *words: str, path: Path, user_home: Path) -> Outcome:
    """``bp [WORDS] deploy`` as a real process in ``cwd``."""
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", *words, "deploy"],
        capture_output=True,
        text=True,
        env=process_env(home, {"PATH": str(path), "HOME": str(user_home)}),
        cwd=cwd,
        timeout=60,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


# --- a program planted by another user ------------------------------------------------


def test_a_program_planted_by_another_user_never_gets_the_token(
    home: Path, tmp_path: Path, empty: Path, second_user: UnixUser
) -> None:
    project = tmp_path / "shared" / "proj"
    (project / "src").mkdir(parents=True)
    (project / "package.json").write_text("{}")
    leak = tmp_path / "leak"
    program = planted(project / "node_modules" / ".bin" / "bp", leak)
    second_user.owns(project / "node_modules", project / "node_modules" / ".bin", program)
    result = deploy(home, project / "src", "-v", path=empty, user_home=tmp_path / "user")
    assert not leak.exists(), "the planted program ran with the token"
    assert (result.code, result.out) == (2, "")
    why = f"{project / 'node_modules'} is owned by {who(second_user)}, not by you or root"
    assert result.err.splitlines() == [
        f"debug: the project root is {project} (it holds package.json): looking for "
        f"node_modules/.bin/bp from {project / 'src'} up to it",
        f"debug: skipped {program}: {why}",
        f"'bp deploy' is a command of the official Botpress CLI; bpshell did not run {program}, "
        f"as {why}. {HINT}",
    ]


def test_another_users_node_modules_in_a_shared_folder_is_skipped(
    tmp_path: Path, empty: Path, second_user: UnixUser
) -> None:
    """The ``/tmp/node_modules/.bin/bp`` attack: a sticky, world-writable folder (like /tmp)
    with another user's node_modules in it, and a project below without package.json."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    program = planted(shared / "node_modules" / ".bin" / "bp", tmp_path / "leak")
    second_user.owns(shared / "node_modules", shared / "node_modules" / ".bin", program)
    cwd = shared / "mine" / "work"
    cwd.mkdir(parents=True)
    assert find_official_cli({"PATH": str(empty)}, cwd) is None


# --- folders and files others can write ------------------------------------------------


@pytest.mark.parametrize(
    ("writable", "mode", "reason"),
    [
        ("node_modules/.bin/bp", 0o777, "writable by other users"),
        ("node_modules/.bin/bp", 0o775, "writable by its group"),
        ("node_modules/.bin", 0o777, "writable by other users"),
        ("node_modules", 0o773, "writable by other users"),
        (".", 0o775, "writable by its group"),
        ("..", 0o757, "writable by other users"),
    ],
)
def test_a_program_others_could_replace_is_skipped(
    tmp_path: Path, empty: Path, writable: str, mode: int, reason: str
) -> None:
    project = tmp_path / "outer" / "proj"
    (project / "package.json").parent.mkdir(parents=True)
    (project / "package.json").write_text("{}")
    program = executable(project / "node_modules" / ".bin" / "bp", OFFICIAL)
    target = (project / writable).resolve()
    target.chmod(mode)
    try:
        assert find_official_cli({"PATH": str(empty)}, project) is None
        from bpshell.official.delegation import look_for_official_cli

        lookup = look_for_official_cli({"PATH": str(empty)}, project)
        assert lookup.command is None
        assert lookup.skipped == ((str(program), f"{target} is {reason}"),)
    finally:
        target.chmod(0o755)


def test_a_sticky_folder_on_the_way_is_fine(tmp_path: Path, empty: Path) -> None:
    """Like /tmp: others can add entries to it, not replace ours."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    program = executable(shared / "proj" / "node_modules" / ".bin" / "bp", OFFICIAL)
    assert find_official_cli({"PATH": str(empty)}, shared / "proj") == [str(program)]


def test_path_entries_are_checked_too(tmp_path: Path, second_user: UnixUser) -> None:
    theirs = executable(tmp_path / "theirs" / "bp", OFFICIAL)
    second_user.owns(tmp_path / "theirs", theirs)
    open_folder = executable(tmp_path / "open" / "bp", OFFICIAL)
    (tmp_path / "open").chmod(0o777)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    good = executable(tmp_path / "good" / "bp", OFFICIAL)
    (shared / "bp").symlink_to(good)  # a link someone else made in a sticky folder
    second_user.owns(shared / "bp")
    folders = ["theirs", "open", "shared", "good"]
    environ = {"PATH": os.pathsep.join(str(tmp_path / f) for f in folders)}
    assert find_official_cli(environ, None) == [str(good)]
    from bpshell.official.delegation import look_for_official_cli

    lookup = look_for_official_cli(environ, None)
    assert lookup.skipped == (
        (str(theirs), f"{tmp_path / 'theirs'} is owned by {who(second_user)}, not by you or root"),
        (str(open_folder), f"{tmp_path / 'open'} is writable by other users"),
        (str(shared / "bp"), f"{shared / 'bp'} is owned by {who(second_user)}, not by you or root"),
    )


def test_an_unsafe_bp_official_cli_is_refused(tmp_path: Path, empty: Path) -> None:
    program = executable(tmp_path / "open" / "bp", OFFICIAL, mode=0o777)
    environ = {"PATH": str(empty), "BP_OFFICIAL_CLI": str(program)}
    with pytest.raises(OfficialCliMissing) as caught:
        find_official_cli(environ, None)
    assert caught.value.message == (
        f"BP_OFFICIAL_CLI={program} is not safe to run: {program} is writable by other users"
    )


# --- where local installs are looked for -----------------------------------------------


def test_a_local_install_above_the_project_root_is_not_used(tmp_path: Path, empty: Path) -> None:
    executable(tmp_path / "outer" / "node_modules" / ".bin" / "bp", OFFICIAL)
    project = tmp_path / "outer" / "proj"
    (project / "src").mkdir(parents=True)
    (project / "package.json").write_text("{}")
    assert find_official_cli({"PATH": str(empty)}, project / "src") is None


def test_local_installs_are_never_looked_for_above_the_home(tmp_path: Path, empty: Path) -> None:
    executable(tmp_path / "node_modules" / ".bin" / "bp", OFFICIAL)
    (tmp_path / "package.json").write_text("{}")
    work = tmp_path / "home" / "work"
    work.mkdir(parents=True)
    environ = {"PATH": str(empty), "HOME": str(tmp_path / "home")}
    assert find_official_cli(environ, work) is None
    assert find_official_cli({"PATH": str(empty)}, work) is not None  # without the home limit


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs at ``tmp_path/outer/mnt``: another file system below ``tmp_path/outer``."""
    where = tmp_path / "outer" / "mnt"
    where.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = f"cannot mount a tmpfs here: {done.stderr.strip()}"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message}; CI=true, so this is an error, not a skip")
        pytest.skip(message)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_local_installs_are_never_looked_for_on_another_file_system(
    tmp_path: Path, empty: Path, mount_point: Path
) -> None:
    executable(tmp_path / "outer" / "node_modules" / ".bin" / "bp", OFFICIAL)
    (tmp_path / "outer" / "package.json").write_text("{}")
    work = mount_point / "proj" / "src"
    work.mkdir(parents=True)
    assert find_official_cli({"PATH": str(empty)}, work) is None
    local = executable(mount_point / "proj" / "node_modules" / ".bin" / "bp", OFFICIAL)
    assert find_official_cli({"PATH": str(empty)}, work) == [str(local)]


def test_a_local_install_of_the_user_runs_and_says_why(
    home: Path, tmp_path: Path, empty: Path
) -> None:
    """As npm lays it out: ``.bin/bp`` a symlink into the package."""
    executable(tmp_path / "outer" / "node_modules" / ".bin" / "bp", '#!/bin/sh\necho "outer"\n')
    project = tmp_path / "outer" / "proj"
    (project / "src" / "bot").mkdir(parents=True)
    (project / "package.json").write_text("{}")
    executable(project / "node_modules" / "@botpress" / "cli" / "bin.js", OFFICIAL)
    link = project / "node_modules" / ".bin" / "bp"
    link.parent.mkdir()
    link.symlink_to("../@botpress/cli/bin.js")
    cwd = project / "src" / "bot"
    result = deploy(home, cwd, "-v", path=empty, user_home=tmp_path / "user")
    # -v goes after the command's words (bp's global flags go anywhere; yargs wants them after)
    assert (result.code, result.out) == (0, f"official ran: deploy -v token={TOKEN}\n")
    assert result.err.splitlines() == [
        f"debug: the project root is {project} (it holds package.json): looking for "
        f"node_modules/.bin/bp from {cwd} up to it",
        f"debug: running the official CLI {link} (the project's local install)",
    ]
    quiet = deploy(home, cwd, path=empty, user_home=tmp_path / "user")
    assert (quiet.code, quiet.out, quiet.err) == (0, f"official ran: deploy token={TOKEN}\n", "")


def test_the_real_official_cli_install_passes_the_checks() -> None:
    """The CI install of @botpress/cli (``.ci/node``): root's, in folders only root writes."""
    local = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "bp"
    if not local.exists() or shutil.which("node") is None:
        missing = "the official CLI is not installed in .ci/node (run: bash .ci/test)"
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(missing)
        pytest.skip(missing)
    from bpshell.official.delegation import unsafe_because

    assert unsafe_because(local) is None
