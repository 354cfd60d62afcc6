"""Per-folder profiles: ``bp profiles use --local``, the ``.bp-profile`` search, its precedence,
and files that must not be used (another user's, writable by others, links, FIFOs, huge, odd)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bpshell.config import _PROFILE_RE, _TOKEN_LIKE
from bpshell.local_profile import NAME_RE, TOKEN_LIKE
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, bp_process, process_env
from tests.mounts import tmpfs
from tests.shell_helpers import logged_in_two
from tests.users import AsUser, UnixUser, open_folder


@dataclass
class World:
    """``default`` (alice, acme; active) and ``bob`` (initech), tokens in config.json; HOME is
    ``home``, and the working folder ``bot`` (in it), for this process and its children."""

    bp: Bp
    home: Path
    bot: Path
    url: str

    def run(self, *words: str, cwd: Path | None = None, **env: str) -> tuple[int, str, str]:
        """``bp WORDS`` as a real process in ``cwd`` (default ``bot``)."""
        done = bp_process(
            self.bp.home, *words, cwd=cwd or self.bot, env={"HOME": str(self.home), **env}
        )
        return done.code, done.out, done.err

    def file(self, text: str | bytes, folder: Path | None = None) -> Path:
        path = (folder or self.bot) / ".bp-profile"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        path.chmod(0o644)
        return path


@pytest.fixture
def world(bp: Bp, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home, bot = tmp_path / "home", tmp_path / "home" / "bot"
    bot.mkdir(parents=True)
    logged_in_two(bp, sandbox)
    bp.environ["HOME"] = str(home)
    monkeypatch.chdir(bot)
    return World(bp, home, bot, sandbox.url)


def test_the_rules_are_configs() -> None:
    assert NAME_RE.pattern == _PROFILE_RE.pattern
    assert TOKEN_LIKE.pattern == _TOKEN_LIKE.pattern


# --- writing and removing it --------------------------------------------------------------


def test_use_local_writes_only_the_name(world: World) -> None:
    before = world.bp.config_bytes()
    old = os.umask(0o002)  # a group-writable umask must not make a file bp then refuses
    try:
        result = world.bp("profiles", "use", "--local", "bob")
    finally:
        os.umask(old)
    assert (result.code, result.err) == (0, "")
    path = world.bot / ".bp-profile"
    assert result.out == (
        f'Commands in {world.bot} now use profile "bob", workspace initech (ws_initech); '
        f"written to {path}\n"
    )
    assert path.read_text() == "bob\n"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert world.bp.config_bytes() == before  # the active profile is still default
    assert sorted(p.name for p in world.bot.iterdir()) == [".bp-profile"]


def test_use_local_json(world: World) -> None:
    result = world.bp("profiles", "use", "--local", "bob", "--json")
    assert result.json() == {
        "profile": "bob",
        "workspaceId": "ws_initech",
        "workspaceName": "initech",
        "apiUrl": world.url,
        "scope": "local",
        "file": str(world.bot / ".bp-profile"),
    }


def test_use_local_replaces_a_link_without_following_it(world: World, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("default\n")
    (world.bot / ".bp-profile").symlink_to(target)
    assert world.bp("profiles", "use", "--local", "bob").code == 0
    assert not (world.bot / ".bp-profile").is_symlink()
    assert (world.bot / ".bp-profile").read_text() == "bob\n"
    assert target.read_text() == "default\n"


@pytest.mark.parametrize(
    ("name", "code", "err"),
    [
        (
            "nope",
            1,
            'Unknown profile "nope". Known profiles: bob, default. Create it with: '
            "bp login -p nope\n",
        ),
        (
            "a b",
            2,
            'Invalid profile name "a b". Use 1-64 letters, digits, ".", "_" or "-"\n',
        ),
        (
            "bp_pat_abcdef0123456789",
            2,
            "That looks like a token, not a profile name; nothing was written. A .bp-profile "
            "holds a profile's name (see bp profiles list), never a credential\n",
        ),
    ],
)
def test_use_local_refuses_what_is_no_profile(world: World, name: str, code: int, err: str) -> None:
    result = world.bp("profiles", "use", "--local", name)
    assert (result.code, result.out, result.err) == (code, "", err)
    assert not (world.bot / ".bp-profile").exists()


def test_unset_removes_it(world: World) -> None:
    world.file("bob\n")
    result = world.bp("profiles", "use", "--local", "--unset")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f'Removed {world.bot}/.bp-profile; commands here use the active profile, "default"\n'
    )
    assert not (world.bot / ".bp-profile").exists()
    again = world.bp("profiles", "use", "--local", "--unset")
    assert (again.code, again.out) == (0, "")
    assert again.err == f"No .bp-profile in {world.bot}; nothing was removed\n"


def test_unset_in_a_subfolder_points_at_the_file_above(world: World) -> None:
    path = world.file("bob\n")
    deep = world.bot / "src"
    deep.mkdir()
    code, out, err = world.run("profiles", "use", "--local", "--unset", cwd=deep)
    assert (code, out) == (0, "")
    assert err == (
        f"No .bp-profile in {deep}; nothing was removed\n"
        f'note: commands here use profile "bob" (from {path})\n'
    )
    assert path.exists()


@pytest.mark.parametrize(
    ("words", "err"),
    [
        (("--unset",), "--unset goes with --local (remove this folder's .bp-profile) or "),
        (("--local", "--session", "bob"), "--local and --session do not go together"),
        (("--local", "--unset", "bob"), "--unset takes no profile name"),
    ],
)
def test_use_flags_that_do_not_go_together(world: World, words: tuple[str, ...], err: str) -> None:
    result = world.bp("profiles", "use", *words)
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(err[0].upper() + err[1:])


# --- which profile is in use --------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "where", "flags", "env", "profile", "source", "file"),
    [
        ({}, "bot", (), {}, "default", "active", None),
        ({"bot": "bob"}, "bot", (), {}, "bob", "local", "bot"),
        ({"bot": "bob"}, "bot/src/deep", (), {}, "bob", "local", "bot"),
        ({".": "bob"}, "bot", (), {}, "bob", "local", "."),  # the home's own counts
        ({"..": "bob"}, "bot", (), {}, "default", "active", None),  # above the home: not
        ({".": "default", "bot": "bob"}, "bot", (), {}, "bob", "local", "bot"),  # the nearest
        ({"bot": "bob"}, "bot", (), {"BP_PROFILE": "default"}, "default", "BP_PROFILE", None),
        ({"bot": "bob"}, "bot", ("-p", "default"), {"BP_PROFILE": "bob"}, "default", "flag", None),
        ({"bot": "default"}, "bot", ("-p", "bob"), {}, "bob", "flag", None),
    ],
)
def test_precedence(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, str],
    where: str,
    flags: tuple[str, ...],
    env: dict[str, str],
    profile: str,
    source: str,
    file: str | None,
) -> None:
    for folder, name in files.items():
        world.file(f"{name}\n", world.home / folder)
    (world.home / where).mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(world.home / where)
    result = world.bp("profiles", "active", "--json", *flags, env=env)
    assert result.code == 0, result.err
    data = result.json()
    expected_file = str((world.home / file / ".bp-profile").resolve()) if file else None
    assert (data["profile"], data["sources"]["profile"], data["profileFile"]) == (
        profile,
        source,
        expected_file,
    )
    token = {"bob": BOB_TOKEN, "default": ALICE_TOKEN}[profile]
    assert world.bp("env", "--json", *flags, env=env).json()["BP_TOKEN"] == token


def test_a_home_that_does_not_exist_still_finds_the_file(world: World) -> None:
    world.file("bob\n")
    code, out, _ = world.run("profiles", "active", "--json", HOME="/nonexistent")
    assert (code, json.loads(out)["profile"]) == (0, "bob")


def test_values_keep_flag_then_variable_then_that_profile(world: World) -> None:
    world.file("bob\n")
    result = world.bp("env", "--json", env={"BP_WORKSPACE_ID": "ws_acme"})
    assert result.json() == {
        "BP_TOKEN": BOB_TOKEN,
        "BP_WORKSPACE_ID": "ws_acme",
        "BP_API_URL": world.url,
    }


def test_profiles_active_names_the_file(world: World) -> None:
    path = world.file("bob\n")
    result = world.bp("profiles", "active")
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert lines[:3] == [
        "Workspace: initech (ws_initech)",
        f"API URL: {world.url}",
        "Authenticated: Yes",
    ]
    assert f"Profile: bob (from {path})" in lines[3:]


def test_profiles_list_marks_the_profile_in_use_here(world: World) -> None:
    plain = world.bp("profiles", "list")
    assert (plain.code, plain.err) == (0, "")
    assert plain.out.splitlines()[1:] == [
        f"   bob      initech (ws_initech)  {world.url}",
        f"*  default  acme (ws_acme)        {world.url}",
    ]
    path = world.file("bob\n")
    marked = world.bp("profiles", "list")
    assert marked.out.splitlines()[1:] == [
        f">  bob      initech (ws_initech)  {world.url}",
        f"*  default  acme (ws_acme)        {world.url}",
    ]
    assert (
        marked.err == f'note: ">" marks the profile in use here (from {path}), "*" the active one\n'
    )
    rows = world.bp("profiles", "list", "--json").json()
    assert [(r["name"], r["active"], r["inUse"]) for r in rows] == [
        ("bob", False, True),
        ("default", True, False),
    ]


def test_profiles_list_still_lists_beside_a_bad_file(world: World) -> None:
    path = world.file("nope\n")
    result = world.bp("profiles", "list")
    assert result.code == 0
    assert len(result.out.splitlines()) == 3
    assert result.err.startswith(f'warning: unknown profile "nope", named by {path}. ')


def test_a_global_switch_says_what_wins_here(world: World) -> None:
    path = world.file("default\n")
    result = world.bp("profiles", "use", "bob")
    assert result.code == 0
    assert result.err == (
        f'note: here {path} picks profile "default", which wins over the active profile; '
        "to change it: bp profiles use --local bob\n"
    )
    assert world.bp.config()["activeProfile"] == "bob"


def test_login_goes_into_the_profile_of_the_folder(world: World) -> None:
    world.file("carol\n")
    result = world.bp(
        "login", "--token", "-", "--apiUrl", world.url, "--workspaceId", "ws_acme", "-y",
        "--insecure-storage", stdin=ALICE_TOKEN,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.endswith('— profile "carol"\n')
    assert sorted(world.bp.config()["profiles"]) == ["bob", "carol", "default"]


# --- a file naming an unknown profile -----------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        ("profiles", "active"),
        ("profiles", "get"),
        ("env",),
        ("exec", "--", "true"),
        ("workspaces", "list"),
        ("tokens", "list"),
        ("shell", "-c", "profiles active"),
    ],
)
def test_an_unknown_profile_in_the_file_is_an_error(world: World, words: tuple[str, ...]) -> None:
    path = world.file("nope\n")
    code, out, err = world.run(*words)
    assert (code, out) == (1, "")
    bp = "" if words[0] == "shell" else "bp "
    assert err == (
        f'Unknown profile "nope", named by {path}. Known profiles: bob, default '
        f"({bp}profiles list). Create it with: {bp}login -p nope, or stop using the file: "
        f"{bp}profiles use --local --unset\n"
    )


def test_an_unknown_profile_in_a_file_above(world: World) -> None:
    path = world.file("nope\n")
    deep = world.bot / "src"
    deep.mkdir()
    code, _, err = world.run("profiles", "active", cwd=deep)
    assert code == 1
    assert err.endswith(f"or stop using the file: rm {path}\n")


# --- files that must not be used ----------------------------------------------------------

WHOEVER = "and whoever can change it picks the profile (and the token) bp uses here"
REPLACE = (
    "Replace it with: bp profiles use --local NAME (or remove it: bp profiles use --local --unset)"
)


def _mode(mode: int) -> Callable[[World, Path], str]:
    def make(world: World, tmp_path: Path) -> str:
        path = world.file("bob\n")
        path.chmod(mode)
        return (
            f"Refusing to use {path}: other users can change it (mode {mode:04o}), {WHOEVER}. "
            f"If you trust its content, run: chmod 644 {path}"
        )

    return make


def _link_to_config(world: World, tmp_path: Path) -> str:
    (world.bot / ".bp-profile").symlink_to(world.bp.config_path)
    return (
        f"Refusing to use {world.bot}/.bp-profile: it is a symlink, not a regular file. {REPLACE}"
    )


def _link_to_fifo(world: World, tmp_path: Path) -> str:
    os.mkfifo(tmp_path / "fifo")  # followed and opened, it would wait for a writer forever
    (world.bot / ".bp-profile").symlink_to(tmp_path / "fifo")
    return (
        f"Refusing to use {world.bot}/.bp-profile: it is a symlink, not a regular file. {REPLACE}"
    )


def _fifo(world: World, tmp_path: Path) -> str:
    os.mkfifo(world.bot / ".bp-profile")
    return f"Refusing to use {world.bot}/.bp-profile: it is a FIFO, not a regular file. {REPLACE}"


def _folder(world: World, tmp_path: Path) -> str:
    (world.bot / ".bp-profile").mkdir()
    path = world.bot / ".bp-profile"
    return (
        f"Refusing to use {path}: it is a folder, not a regular file. "
        f"Move it away: mv {path} {path}.bad"
    )


def _huge(world: World, tmp_path: Path) -> str:
    world.file(b"bob\n" + b" " * (2 * 1024 * 1024))
    return (
        f"Refusing to use {world.bot}/.bp-profile: it is larger than 1024 bytes, and a "
        f".bp-profile holds only a profile name. {REPLACE}"
    )


def _content(data: bytes, reads: str) -> Callable[[World, Path], str]:
    def make(world: World, tmp_path: Path) -> str:
        world.file(data)
        return (
            f"{world.bot}/.bp-profile does not hold a profile name ({reads}). It must hold one "
            'profile name: 1-64 letters, digits, ".", "_" or "-"; write one with: bp profiles '
            "use --local NAME"
        )

    return make


def _token(world: World, tmp_path: Path) -> str:
    world.file(ALICE_TOKEN + "\n")
    return (
        f"{world.bot}/.bp-profile holds what looks like a token, not a profile name; bp did not "
        "use it or show it. A .bp-profile must never hold a credential; remove it: bp profiles "
        "use --local --unset, and revoke that token if the file was shared"
    )


HOSTILE = {
    "group-writable": _mode(0o664),
    "writable by all": _mode(0o646),
    "link to config.json": _link_to_config,
    "link to a FIFO": _link_to_fifo,
    "FIFO": _fifo,
    "folder": _folder,
    "huge": _huge,
    "two names": _content(b"bob default\n", 'it reads "bob default"'),
    "two lines": _content(b"bob\ndefault\n", 'it reads "bob\\ndefault"'),
    "escape sequence": _content(b"\x1b]0;owned\x07bob\n", 'it reads "\\x1b]0;owned\\x07bob"'),
    "a path": _content(b"../../.botpress/config.json\n", 'it reads "../../.botpress/config.json"'),
    "not UTF-8": _content(b"\xff\xfebob\n", "it is not UTF-8 text"),
    "empty": _content(b"", "it is empty"),
    "only blanks": _content(b" \n\n", "it is empty"),
    "a token": _token,
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_file_that_may_not_be_used_is_refused(world: World, tmp_path: Path, case: str) -> None:
    said = HOSTILE[case](world, tmp_path)
    before = world.bp.config_bytes()
    code, out, err = world.run("profiles", "get", "--json")
    assert (code, out) == (2, "")
    assert json.loads(err)["error"]["type"] == "config"
    code, out, err = world.run("profiles", "get")
    assert (code, out, err) == (2, "", said + "\n")
    assert ALICE_TOKEN not in err and BOB_TOKEN not in err
    assert world.bp.config_bytes() == before
    # -p names the profile: the file is not even read
    named = world.run("profiles", "get", "-p", "bob")
    assert named[0] == 0 and named[1].startswith("Profile: bob\n")
    named = world.run("profiles", "get", "bob")  # named on the line: no less named
    assert named[0] == 0 and named[1].startswith("Profile: bob\n")
    if case != "folder":  # what the refusal advises works
        assert world.run("profiles", "use", "--local", "--unset")[0] == 0
        assert not os.path.lexists(world.bot / ".bp-profile")


def test_another_users_file_is_refused(world: World, second_user: UnixUser) -> None:
    path = world.file("bob\n")
    second_user.owns(path)
    code, out, err = world.run("profiles", "get")
    assert (code, out) == (2, "")
    assert err == (
        f"Refusing to use {path}: it belongs to user {second_user.name}, {WHOEVER}. If you "
        f"trust it, run: chown root {path}; or remove it: bp profiles use --local --unset\n"
    )
    assert world.run("profiles", "use", "--local", "--unset")[0] == 0


def test_another_users_folder_above_is_searched_but_its_file_refused(
    world: World, second_user: UnixUser
) -> None:
    path = world.file("bob\n", world.home)
    second_user.owns(path)
    code, _, err = world.run("profiles", "get")
    assert code == 2
    assert err.endswith(f"or remove it: rm {path}\n")


def test_a_folder_others_can_write_is_no_place_for_it(world: World) -> None:
    """Whoever can write the folder can swap the file for another one, or remove it: the
    file's own mode and owner promise nothing there (as ssh's StrictModes checks folders)."""
    path = world.file("bob\n")
    world.bot.chmod(0o777)
    code, out, err = world.run("profiles", "get")
    assert (code, out) == (2, "")
    assert err == (
        f"Refusing to use {path}: other users can change its folder (mode 0777), so they can "
        f"replace it, {WHOEVER}. If you trust that folder, run: chmod o-w {world.bot}; or "
        "remove it: bp profiles use --local --unset\n"
    )
    assert world.run("profiles", "get", "-p", "bob")[0] == 0  # -p does not read it
    code, out, err = world.run("profiles", "use", "--local", "default")
    assert (code, out) == (2, "")
    assert err.startswith(f"Refusing to write {path}: other users can change its folder ")
    assert path.read_text() == "bob\n"
    world.bot.chmod(0o1777)  # sticky, as /tmp: no one else can rename or remove it
    data = json.loads(world.run("profiles", "active", "--json")[1])
    assert (data["profile"], data["profileFile"]) == ("bob", str(path))


def test_a_folder_of_another_user_is_no_place_for_it(world: World, second_user: UnixUser) -> None:
    path = world.file("bob\n")
    second_user.owns(world.bot)
    code, out, err = world.run("profiles", "get")
    assert (code, out) == (2, "")
    assert err == (
        f"Refusing to use {path}: its folder belongs to user {second_user.name}, who can "
        f"replace it, {WHOEVER}. If you trust that user, run: chown root {world.bot}; or "
        "remove it: bp profiles use --local --unset\n"
    )


def test_the_search_stops_at_the_edge_of_the_file_system(world: World) -> None:
    world.file("bob\n", world.home)
    plain = world.home / "plain" / "bot"
    plain.mkdir(parents=True)
    assert json.loads(world.run("profiles", "active", "--json", cwd=plain)[1])["profile"] == "bob"
    with tmpfs(world.home / "mnt") as mounted:
        bot = mounted / "bot"
        bot.mkdir()
        code, out, err = world.run("profiles", "active", "--json", cwd=bot)
        assert code == 0, err
        data = json.loads(out)
        assert (data["profile"], data["sources"]["profile"]) == ("default", "active")
        world.file("bob\n", mounted)  # on the mounted file system itself: found
        data = json.loads(world.run("profiles", "active", "--json", cwd=bot)[1])
        assert (data["profile"], data["profileFile"]) == ("bob", f"{mounted}/.bp-profile")


# --- the way on, wherever the file is ------------------------------------------------------


def test_a_fix_for_a_folder_with_a_newline_in_its_name_is_a_command_that_works(
    world: World,
) -> None:
    """clean() shows a newline as \\n, which inside '…' the shell keeps as a backslash and
    an n: the command would name another file. $'…' says the same bytes the shell's way."""
    odd = world.bot / ("nl\nx " + os.fsdecode(b"\xff"))  # a newline, a byte that is not UTF-8
    (odd / "sub").mkdir(parents=True)
    (odd / ".bp-profile").symlink_to(world.bp.config_path)
    code, out, err = world.run("profiles", "get", cwd=odd / "sub")
    assert (code, out) == (2, "")
    quoted = f"$'{world.bot}/nl\\nx \\xff/.bp-profile'"
    assert err.endswith(f"Remove it: rm {quoted}\n")
    assert "\n" not in err[:-1]
    done = subprocess.run(["bash", "-c", f"rm {quoted}"], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert not os.path.lexists(odd / ".bp-profile")


def test_a_file_planted_where_it_cannot_be_removed_points_to_p(
    world: World, second_user: UnixUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's file in a sticky folder such as /tmp: rm is refused there (and chown
    needs sudo), so the way on is to name the profile, which skips the file."""
    from bpshell.errors import ConfigError
    from bpshell.local_profile import find

    shared = tmp_path / "shared"
    (shared / "work").mkdir(parents=True)
    shared.chmod(0o1777)
    planted = world.file("bob\n", shared)
    second_user.owns(planted)
    monkeypatch.setattr(os, "geteuid", lambda: 4242)  # bp as a third user, not root
    with pytest.raises(ConfigError) as refused:
        find(shared / "work", world.home)
    assert refused.value.message.startswith(f"refusing to use {planted}: it belongs to user ")
    assert refused.value.hint == (
        f"if you trust it, run: sudo chown {4242} {planted}; or choose the profile with -p NAME "
        "or BP_PROFILE here"
    )


NAME_IT = "choose the profile with -p NAME or BP_PROFILE here"
NAME_IT_SAID = NAME_IT[0].upper() + NAME_IT[1:]


@pytest.mark.parametrize(
    "case", ["others can write it", "not a name", "a folder", "a symlink in a sticky folder"]
)
def test_as_a_user_who_may_not_change_the_file_the_way_on_is_to_name_the_profile(
    as_second_user: AsUser, case: str
) -> None:
    """bp as a user other than root, beside a root-owned .bp-profile it refuses, in a folder
    that user may not write (or a sticky one, as /tmp): chmod, mv, rm and --local would all be
    refused by the system, so the hint is the one thing that works there."""
    folder = open_folder("ro")
    try:
        path = folder / ".bp-profile"
        if case == "others can write it":
            path.write_text("bob\n")
            path.chmod(0o666)
            said = (
                f"Refusing to use {path}: other users can change it (mode 0666), {WHOEVER}. "
                f"If you trust its content, run: sudo chmod 644 {path}; or {NAME_IT}"
            )
        elif case == "not a name":
            path.write_text("bad!\n")
            said = (
                f'{path} does not hold a profile name (it reads "bad!"). It must hold one '
                f'profile name: 1-64 letters, digits, ".", "_" or "-"; {NAME_IT}'
            )
        elif case == "a folder":
            path.mkdir()
            said = f"Refusing to use {path}: it is a folder, not a regular file. {NAME_IT_SAID}"
        else:
            folder.chmod(0o1777)
            path.symlink_to("/etc/hostname")
            said = f"Refusing to use {path}: it is a symlink, not a regular file. {NAME_IT_SAID}"
        done = as_second_user("profiles", "get", cwd=folder)
        assert (done.returncode, done.stdout, done.stderr) == (2, "", said + "\n")
        named = as_second_user("profiles", "get", "-p", "bob", cwd=folder)
        assert "Refusing" not in named.stderr and "profile name" not in named.stderr
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_working_folder_that_was_removed_is_no_reason_to_use_the_active_profile(
    world: World,
) -> None:
    """A .bp-profile above it may pick another profile: bp cannot look, so it says so."""
    world.file("bob\n")
    script = 'mkdir gone && cd gone && rmdir ../gone && exec "$@"'
    env = process_env(world.bp.home, {"HOME": str(world.home)})
    done = subprocess.run(
        ["sh", "-c", script, "sh", sys.executable, "-m", "bpshell", "env"],
        capture_output=True, text=True, env=env, cwd=world.bot, timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "Cannot read the working folder to look for a .bp-profile: No such file or directory. "
        "Change to a folder that exists, or choose the profile with -p NAME or BP_PROFILE here\n"
    )
    named = subprocess.run(
        ["sh", "-c", script, "sh", sys.executable, "-m", "bpshell", "env", "-p", "bob"],
        capture_output=True, text=True, env=env, cwd=world.bot, timeout=60,
    )  # fmt: skip
    assert named.returncode == 0 and "BP_WORKSPACE_ID=ws_initech" in named.stdout


def test_the_shell_words_a_refusal_as_its_own_and_says_where(world: World) -> None:
    os.mkfifo(world.bot / ".bp-profile")
    done = bp_process(
        world.bp.home, "shell", stdin="profiles active\n", cwd=world.bot,
        env={"HOME": str(world.home)},
    )  # fmt: skip
    assert (done.code, done.out) == (2, "")
    assert done.err == (
        f"line 1: Refusing to use {world.bot}/.bp-profile: it is a FIFO, not a regular file. "
        "Replace it with: profiles use --local NAME (or remove it: profiles use --local --unset)\n"
    )


def test_writing_where_a_folder_is_says_how_to_move_it(world: World) -> None:
    (world.bot / ".bp-profile").mkdir()
    result = world.bp("profiles", "use", "--local", "bob")
    path = world.bot / ".bp-profile"
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Cannot write {path}: Is a directory. Nothing was changed; move it away: "
        f"mv {path} {path}.bad\n"
    )


def test_renaming_the_profile_of_the_folder_says_how_to_follow(world: World) -> None:
    path = world.file("bob\n")
    result = world.bp("profiles", "rename", "bob", "robert")
    assert (result.code, result.out) == (0, 'Renamed profile "bob" to "robert"\n')
    assert result.err == (
        f'hint: {path} still names "bob"; follow the rename with: bp profiles use --local robert\n'
    )
    assert world.bp("profiles", "use", "--local", "robert").code == 0
    deep = world.bot / "src" / "lib"
    deep.mkdir(parents=True)
    code, _, err = world.run("profiles", "rename", "robert", "bobby", cwd=deep)
    assert (code, err) == (
        0,
        f'hint: {path} still names "robert"; follow the rename with: (cd {world.bot} && '
        "bp profiles use --local bobby)\n",
    )
    assert world.bp("profiles", "rename", "bobby", "bob", "--json").err == ""
    # bp shell leaves a line for the system's shell as it is: it has no cd
    world.file("bob\n")
    done = bp_process(
        world.bp.home, "shell", "-c", "profiles rename bob robert", cwd=deep,
        env={"HOME": str(world.home)},
    )  # fmt: skip
    assert (done.code, done.err) == (
        0,
        f'hint: {path} still names "bob"; follow the rename with: (cd {world.bot} && '
        "bp profiles use --local robert)\n",
    )


def test_removing_the_profile_of_the_folder_says_the_file_is_left(world: World) -> None:
    path = world.file("bob\n")
    result = world.bp("profiles", "rm", "bob", "-y")
    assert (result.code, result.out) == (0, 'Removed profile "bob" and its token\n')
    assert result.err == (
        f'hint: {path} still names "bob", so commands here will fail; choose another with: '
        "bp profiles use --local NAME, or remove it: bp profiles use --local --unset\n"
    )


# --- completion, exec, delegation ---------------------------------------------------------


def test_completion_follows_the_file(world: World) -> None:
    def complete(*words: str) -> list[str]:
        code, out, err = world.run("__complete", *words)
        assert (code, err) == (0, "")
        return out.splitlines()

    assert [line.split("\t")[0] for line in complete("login", "--workspaceId", "")] == ["ws_acme"]
    world.file("bob\n")
    assert [line.split("\t")[0] for line in complete("login", "--workspaceId", "")] == [
        "ws_initech"
    ]
    assert complete("profiles", "use", "") == [
        "bob\tinitech (ws_initech) (in use here)",
        "default\tacme (ws_acme) (active)",
    ]
    world.file("nope\n")  # a Tab never fails: it offers what it can
    assert complete("profiles", "use", "") == [
        "bob\tinitech (ws_initech)",
        "default\tacme (ws_acme) (active)",
    ]


def test_exec_follows_the_file(world: World) -> None:
    world.file("bob\n")
    show = (
        f"import os; print(os.environ['BP_WORKSPACE_ID'], os.environ['BP_TOKEN'] == {BOB_TOKEN!r})"
    )
    code, out, err = world.run("exec", "--", sys.executable, "-c", show)
    assert (code, out, err) == (0, "ws_initech True\n", "")


FAKE_OFFICIAL = '#!/bin/sh\necho "workspace: ${BP_WORKSPACE_ID-unset}"\n'


def test_delegation_follows_the_file(world: World, tmp_path: Path) -> None:
    fake = tmp_path / "official" / "bp"
    fake.parent.mkdir()
    fake.write_text(FAKE_OFFICIAL)
    fake.chmod(0o755)
    official = {"BP_OFFICIAL_CLI": str(fake)}
    assert world.run("deploy", **official)[:2] == (0, "workspace: ws_acme\n")
    world.file("bob\n")
    assert world.run("deploy", **official)[:2] == (0, "workspace: ws_initech\n")
    world.file("nope\n")
    code, out, err = world.run("deploy", **official)
    assert (code, out) == (1, "")
    assert err.startswith('Unknown profile "nope", named by ')


def test_offline_commands_stay_light(world: World) -> None:
    world.file("bob\n")
    # typing too (bpshell.records); -S: no site, whose editable-install hook imports it.
    heavy = {"httpx", "keyring", "anyio", "prompt_toolkit", "typing"}
    for words in (("profiles", "use", "--local", "bob"), ("profiles", "list"), ("profiles", "get"),
                  ("profiles", "use", "--local", "--unset")):  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-S", "-X", "importtime", "-m", "bpshell", *words],
            capture_output=True, text=True, cwd=world.bot, timeout=60,
            env=process_env(world.bp.home, {"HOME": str(world.home)}),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
        assert {n for n in imported if n.split(".")[0] in heavy} == set(), words


def test_the_checkout_has_no_file_of_its_own() -> None:
    """Every other test runs bp in the checkout: a stray .bp-profile there would change them."""
    assert not any(os.path.lexists(p / ".bp-profile") for p in (ROOT, *ROOT.parents))
    assert re.fullmatch(NAME_RE, "prod")
