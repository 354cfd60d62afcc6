"""config.json: its exact shape, old files, permissions, corrupt files and failed writes."""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpshell.config import ConfigFile, ConfigStore, Profile
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, KeyringView, Outcome, process_env, seed


def login(bp: Bp, sandbox: Sandbox, *extra: str, token: str = ALICE_TOKEN) -> Outcome:
    words = ("login", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y")
    return bp(*words, *extra, stdin=token)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def entries(bp: Bp) -> KeyringView:
    return KeyringView(bp)


# --- the exact file ---------------------------------------------------------------------


def test_exact_bytes_of_config_json(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox).code == 0
    assert login(bp, sandbox, "-p", "ci", "--insecure-storage").code == 0
    url = sandbox.url
    key = bp.config(raw=True)["profiles"]["default"]["tokenKey"]
    alice_id = bp.config(raw=True)["profiles"]["default"]["accountId"]
    assert entries(bp) == {"default": ALICE_TOKEN}
    assert bp.config_path.read_text() == (
        "{\n"
        '  "version": 1,\n'
        '  "activeProfile": "ci",\n'
        '  "profiles": {\n'
        '    "default": {\n'
        f'      "apiUrl": "{url}",\n'
        '      "workspaceId": "ws_acme",\n'
        '      "workspaceName": "acme",\n'
        f'      "tokenKey": "{key}",\n'
        f'      "accountId": "{alice_id}"\n'
        "    },\n"
        '    "ci": {\n'
        f'      "apiUrl": "{url}",\n'
        '      "workspaceId": "ws_acme",\n'
        '      "workspaceName": "acme",\n'
        f'      "token": "{ALICE_TOKEN}",\n'
        f'      "accountId": "{alice_id}"\n'
        "    }\n"
        "  }\n"
        "}\n"
    )


def test_legacy_profiles_load_and_unknown_keys_survive(bp: Bp, sandbox: Sandbox) -> None:
    legacy: dict[str, Any] = {
        "activeProfile": "old",
        "profiles": {
            "old": {
                "apiUrl": sandbox.url,
                "workspaceId": "ws_acme",
                "token": ALICE_TOKEN,
                "note": {"from": "official cli"},
            }
        },
        "telemetry": False,
    }
    seed(bp, legacy)
    get = bp("profiles", "get")
    assert (get.code, get.err) == (0, "")
    assert get.out == (
        f"Profile: old (active)\nWorkspace: ws_acme\nAPI URL: {sandbox.url}\n"
        "Token: bp_pat_…0001 (file)\n"
    )
    active = bp("profiles", "active")
    assert (active.code, active.out.splitlines()[2]) == (0, "Authenticated: Yes")
    assert bp.config_bytes() == (json.dumps(legacy, indent=2) + "\n").encode()  # reads never write

    assert login(bp, sandbox, "-p", "new", token=BOB_TOKEN).code == 1  # bob may not use ws_acme
    result = bp(
        "login",
        "-p",
        "new",
        "--apiUrl",
        sandbox.url,
        "--workspaceId",
        "ws_initech",
        env={"BP_TOKEN": BOB_TOKEN},
    )
    assert result.code == 0, result.err
    assert bp.config() == {
        "version": 1,
        "activeProfile": "new",
        "profiles": {
            "old": legacy["profiles"]["old"],
            "new": {"apiUrl": sandbox.url, "workspaceId": "ws_initech", "workspaceName": "initech"},
        },
        "telemetry": False,
    }
    assert bp("profiles", "rename", "old", "older").code == 0
    assert bp("profiles", "use", "older").code == 0
    assert bp.config()["profiles"]["older"] == legacy["profiles"]["old"]
    assert bp.config()["telemetry"] is False


def test_relogin_keeps_unknown_keys_of_the_profile(bp: Bp, sandbox: Sandbox) -> None:
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {
                "default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "color": "blue"}
            },
        },
        {"default": ALICE_TOKEN},
    )
    assert bp("login", "--workspaceId", "ws_globex").code == 0
    assert bp.config()["profiles"]["default"] == {
        "apiUrl": sandbox.url,
        "workspaceId": "ws_globex",
        "workspaceName": "Globex Corp",
        "color": "blue",
    }


# --- permissions ------------------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[Any]:
    previous = os.umask(0o022)
    os.umask(previous)

    def set_umask(value: int) -> None:
        os.umask(value)

    yield set_umask
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o000])
def test_new_home_is_0700_and_files_0600(
    tmp_path: Path, sandbox: Sandbox, umask: Any, mask: int
) -> None:
    bp = Bp(tmp_path / "deep" / "botpress")
    umask(mask)
    assert login(bp, sandbox).code == 0
    assert mode(bp.home) == 0o700
    assert mode(bp.config_path) == 0o600
    assert mode(bp.home / "config.json.lock") == 0o600
    assert sorted(p.name for p in bp.home.iterdir()) == ["config.json", "config.json.lock"]


def test_an_existing_0755_home_is_made_0700_by_a_write(bp: Bp, sandbox: Sandbox) -> None:
    bp.home.mkdir(mode=0o755)
    result = login(bp, sandbox)
    assert result.code == 0
    assert result.err == (
        f"note: {bp.home} was readable by other users (mode 0755); bpshell made it 0700, "
        "since it holds your credentials\n"
    )
    assert mode(bp.home) == 0o700
    assert mode(bp.config_path) == 0o600


@pytest.mark.parametrize(("before", "words"), [(0o644, ("profiles", "list")), (0o640, ("logout",))])
def test_a_readable_file_is_tightened_with_a_warning(
    bp: Bp, sandbox: Sandbox, before: int, words: tuple[str, ...]
) -> None:
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {"default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme"}},
        },
    )
    bp.config_path.chmod(before)
    result = bp(*words)
    assert result.code == 0
    assert result.err == (
        f"warning: {bp.config_path} was readable by other users; its permissions are now 0600\n"
    )
    assert mode(bp.config_path) == 0o600
    assert bp(*words).err in ("", "Not logged in; nothing to remove.\n")


# --- corrupt files: exit 2, the path and the parse error, the file untouched -------------


CORRUPT = [
    pytest.param(
        "{not json",
        "top level: Invalid JSON: key must be a string at line 1 column 2",
        id="not-json",
    ),
    pytest.param(
        "", "top level: Invalid JSON: EOF while parsing a value at line 1 column 0", id="empty"
    ),
    pytest.param("[]", "top level: Input should be an object", id="a-list"),
    pytest.param('"config"', "top level: Input should be an object", id="a-string"),
    pytest.param('{"version": 2}', "version: Input should be 1", id="future-version"),
    pytest.param('{"profiles": []}', "profiles: Input should be an object", id="profiles-list"),
    pytest.param(
        '{"activeProfile": 3}', "activeProfile: Input should be a valid string", id="active-int"
    ),
    pytest.param(
        '{"profiles": {"a": {"apiUrl": 3, "workspaceId": "ws_a"}}}',
        "profiles.a.apiUrl: Input should be a valid string",
        id="apiUrl-int",
    ),
    pytest.param(
        '{"profiles": {"a": {"apiUrl": "https://x"}}}',
        "profiles.a.workspaceId: Field required",
        id="workspace-missing",
    ),
    pytest.param(
        '{"profiles": {"a": {"apiUrl": "https://x", "workspaceId": "w", "token": null, '
        '"workspaceName": 7}}}',
        "profiles.a.workspaceName: Input should be a valid string",
        id="name-int",
    ),
]


@pytest.mark.parametrize(("text", "why"), CORRUPT)
@pytest.mark.parametrize(
    "words",
    [
        ("profiles", "list"),
        ("profiles", "active"),
        ("profiles", "use", "a"),
        ("profiles", "rm", "a"),
        ("profiles", "rename", "a", "b"),
        ("logout", "--all"),
        ("login", "--token", "-", "--workspaceId", "ws_acme"),
    ],
)
def test_corrupt_config_is_reported_and_left_alone(
    bp: Bp, sandbox: Sandbox, text: str, why: str, words: tuple[str, ...]
) -> None:
    bp.home.mkdir(mode=0o700)
    bp.config_path.write_text(text)
    bp.config_path.chmod(0o600)
    stamp = bp.config_path.stat()
    result = (
        bp(*words, "--apiUrl", sandbox.url, stdin=ALICE_TOKEN)
        if words[0] == "login"
        else bp(*words)
    )
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"{bp.config_path} is not a valid bpshell config ({why}). Fix it or move it away: "
        f"mv {bp.config_path} {bp.config_path}.bad (bpshell does not overwrite it)\n"
    )
    assert bp.config_path.read_text() == text
    assert bp.config_path.stat().st_mtime_ns == stamp.st_mtime_ns
    assert sandbox.stats.total == 0
    assert entries(bp) == {}


def test_corrupt_config_json_error(bp: Bp) -> None:
    bp.home.mkdir(mode=0o700)
    bp.config_path.write_text("[]")
    bp.config_path.chmod(0o600)
    result = bp("profiles", "list", "--json")
    assert (result.code, result.out) == (2, "")
    assert json.loads(result.err) == {
        "error": {
            "type": "config",
            "message": f"{bp.config_path} is not a valid bpshell config "
            "(top level: Input should be an object)",
            "hint": f"fix it or move it away: mv {bp.config_path} {bp.config_path}.bad "
            "(bpshell does not overwrite it)",
        }
    }


# --- writes that fail: a clear error, the old file intact -------------------------------


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # Python ignores SIGXFSZ: EFBIG instead


def test_write_that_fails_keeps_the_old_file(tmp_path: Path, sandbox: Sandbox) -> None:
    """A file system that refuses the new bytes (here RLIMIT_FSIZE, which binds root too)."""
    home = tmp_path / "botpress"
    bp = Bp(home)
    assert login(bp, sandbox, "--insecure-storage").code == 0
    before = bp.config_bytes()
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bpshell", "login", "-p", "new", "--token", "-"),
            *("--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "--insecure-storage"),
        ],
        input=ALICE_TOKEN,
        capture_output=True,
        text=True,
        env=process_env(home, {"PYTHONDONTWRITEBYTECODE": "1"}),
        cwd=ROOT,
        timeout=60,
        preexec_fn=_limit_file_size,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        "warning: --insecure-storage: the token is stored in plain text in config.json (0600)\n"
        f"Cannot write {bp.config_path}: File too large. The previous file is unchanged\n"
    )
    assert bp.config_bytes() == before
    assert sorted(p.name for p in home.iterdir()) == ["config.json", "config.json.lock"]


@pytest.fixture
def immutable_home(bp: Bp, sandbox: Sandbox) -> Iterator[Path]:
    """The home after a login, made immutable (chattr +i): read-only even for root."""
    assert login(bp, sandbox).code == 0
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    made = subprocess.run([chattr, "+i", str(bp.home)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this file system has no immutable flag: {made.stderr.strip()}")
    try:
        yield bp.home
    finally:
        subprocess.run([chattr, "-i", str(bp.home)], check=True)


def test_read_only_home_keeps_the_old_file_and_keyring_entry(
    bp: Bp, sandbox: Sandbox, immutable_home: Path
) -> None:
    before = bp.config_bytes()
    result = bp(
        "login",
        "--workspaceId",
        "ws_initech",
        "--apiUrl",
        sandbox.url,
        "-y",
        env={"BP_TOKEN": BOB_TOKEN},
    )
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Cannot write {bp.config_path}: Operation not permitted. The previous file is unchanged\n"
    )
    assert bp.config_bytes() == before
    assert entries(bp) == {"default": ALICE_TOKEN}
    use = bp("profiles", "rename", "default", "main")
    assert (use.code, use.out) == (1, "")
    assert entries(bp) == {"default": ALICE_TOKEN}
    assert bp.config_bytes() == before


def test_lock_that_cannot_be_opened(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox).code == 0
    assert login(bp, sandbox, "-p", "other").code == 0
    before = bp.config_bytes()
    lock = bp.home / "config.json.lock"
    lock.unlink()
    lock.mkdir()
    result = bp("profiles", "use", "default")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Cannot lock {bp.config_path}: Is a directory. "
        f"Check that {bp.home} is writable; nothing was changed\n"
    )
    assert bp.config_bytes() == before


def test_home_under_a_regular_file(tmp_path: Path, sandbox: Sandbox) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    bp = Bp(blocker / "botpress")
    result = login(bp, sandbox)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"The botpress home {bp.home} cannot be a folder: {blocker} is a file. "
        "Set BP_BOTPRESS_HOME or --botpressHome to a folder\n"
    )
    assert entries(bp) == {}
    assert blocker.read_text() == ""


@pytest.mark.parametrize("mode", [0o600, 0o664], ids=["private", "group-writable"])
def test_home_that_is_a_regular_file(tmp_path: Path, sandbox: Sandbox, mode: int) -> None:
    """Not "cannot read …/config.json/config.json", nor a chmod: no permission would help."""
    home = tmp_path / "config.json"
    home.write_text("{}")
    home.chmod(mode)
    bp = Bp(home)
    for result in (bp("profiles", "list"), login(bp, sandbox)):
        assert (result.code, result.out) == (2, "")
        assert result.err == (
            f"The botpress home {home} is a file, not a folder. "
            "Set BP_BOTPRESS_HOME or --botpressHome to a folder\n"
        )
    assert home.read_text() == "{}"


# --- the store itself -------------------------------------------------------------------


def test_update_without_a_change_does_not_rewrite(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "h", lambda _: None)
    store.update(lambda c: c.profiles.update(a=Profile(apiUrl="https://x", workspaceId="w")))
    inode = store.path.stat().st_ino
    assert store.update(lambda c: c.active()) is None
    assert store.path.stat().st_ino == inode


def test_update_sweeps_temporary_files_of_killed_writers(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "h", lambda _: None)
    store.update(lambda c: None)
    leftover = store.home / ".config.json.12345.deadbeef.tmp"
    leftover.write_text("{half")
    store.update(lambda c: setattr(c, "activeProfile", "x"))
    assert sorted(p.name for p in store.home.iterdir()) == ["config.json", "config.json.lock"]


def test_load_never_writes(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "h", lambda _: None)
    assert store.load() == ConfigFile()
    assert not store.home.exists()
