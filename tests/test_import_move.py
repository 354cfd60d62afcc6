"""``bp profiles import --move``: the official CLI's tokens into bpshell's store, then out of its
plain-text files; never the only copy lost.

The files are written as the official CLI 0.8.59 writes them (0644, two-space indents, no
final newline); the last part has the real ``@botpress/cli`` log in, then runs it through
``bp exec`` and delegation once its files hold no token.
"""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bpshell.sandbox import ALICE_TOKEN, Sandbox
from bpshell.tokens import service_for
from tests.conftest import ROOT, Bp, KeyringView, process_env
from tests.keyring_backends import read_entries
from tests.test_official_cli import ACME_BOTS, bot_names, bp_argv, official_js, run  # noqa: F401
from tests.users import UnixUser

TOKEN = "bp_pat_official00000000000000000000000000001"
PROD_TOKEN = "bp_pat_officialprod000000000000000000000002"
URL = "https://api.botpress.cloud"


def write_official(home: Path, name: str, data: Any) -> Path:
    """One of the official CLI's files as it writes it: indented by two, no final newline, 0644."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = home / name
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o644)
    return path


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def two_logins(home: Path) -> tuple[Path, Path]:
    """A recent official CLI's home: two profiles, prod in use."""
    profiles = write_official(
        home,
        "profiles.json",
        {
            "default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN},
            "prod": {"apiUrl": URL, "workspaceId": "ws_prod", "token": PROD_TOKEN},
        },
    )
    cache = write_official(
        home,
        "global.cache.json",
        {"apiUrl": URL, "token": PROD_TOKEN, "workspaceId": "ws_prod", "activeProfile": "prod"},
    )
    return profiles, cache


def test_move_keeps_everything_but_the_tokens(bp: Bp) -> None:
    profiles, cache = two_logins(bp.home)
    result = bp("profiles", "import", "--move")
    assert result.code == 0, result.err
    assert result.out == (
        'Imported profile "default" (ws_acme, https://api.botpress.cloud) from profiles.json; '
        "its token is in the keyring\n"
        'Imported profile "prod" (ws_prod, https://api.botpress.cloud) from profiles.json; '
        "its token is in the keyring\n"
        'Active profile is now "prod"\n'
        f'Removed the tokens of profiles "default", "prod" from {profiles} (the rest of it is '
        "unchanged)\n"
        f'Removed the token of profile "prod" from {cache} (the rest of it is unchanged)\n'
    )
    assert result.err == (
        "note: the official CLI now gets credentials from bp only: run it as "
        "bp exec -- bp deploy, or run bp deploy (bp hands it over)\n"
    )
    assert profiles.read_text() == json.dumps(
        {
            "default": {"apiUrl": URL, "workspaceId": "ws_acme"},
            "prod": {"apiUrl": URL, "workspaceId": "ws_prod"},
        },
        indent=2,
    )
    assert cache.read_text() == json.dumps(
        {"apiUrl": URL, "workspaceId": "ws_prod", "activeProfile": "prod"}, indent=2
    )
    assert (mode(profiles), mode(cache)) == (0o644, 0o644)
    assert KeyringView(bp) == {"default": TOKEN, "prod": PROD_TOKEN}
    assert sorted(p.name for p in bp.home.iterdir()) == [
        "config.json",
        "config.json.lock",
        "global.cache.json",
        "profiles.json",
    ]
    again = bp("profiles", "import", "--move", "--json")
    assert again.code == 0
    assert again.json()["moved"] == [] and again.json()["kept"] == []


def test_move_after_the_first_run_imported_them(bp: Bp) -> None:
    cache = write_official(
        bp.home, "global.cache.json", {"token": TOKEN, "workspaceId": "ws_acme", "apiUrl": URL}
    )
    first = bp("profiles", "list")
    assert "bp profiles import --move removes them there" in first.err
    result = bp("--json", "profiles", "import", "--move")
    assert result.code == 0, result.err
    assert result.json() == {
        "added": [],
        "skipped": [
            {
                "profile": "default",
                "source": "global.cache.json",
                "reason": "a bpshell profile has that name",
            }
        ],
        "activeProfile": None,
        "moved": [{"profile": "default", "source": "global.cache.json"}],
        "kept": [],
    }
    assert read(cache) == {"workspaceId": "ws_acme", "apiUrl": URL}
    assert KeyringView(bp) == {"default": TOKEN}


def test_tokens_bpshell_does_not_hold_stay(bp: Bp) -> None:
    bp.home.mkdir(mode=0o700)
    (bp.home / "config.json").write_text(
        json.dumps(
            {
                "version": 1,
                "activeProfile": "default",
                "profiles": {"default": {"apiUrl": URL, "workspaceId": "ws_mine", "token": "x1"}},
            }
        )
    )
    (bp.home / "config.json").chmod(0o600)
    profiles = write_official(
        bp.home,
        "profiles.json",
        {
            "default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN},
            "bad": {"apiUrl": URL, "workspaceId": "ws/../x", "token": "bp_pat_bad0000000000001"},
            "prod": {"apiUrl": URL, "workspaceId": "ws_prod", "token": PROD_TOKEN},
        },
    )
    result = bp("profiles", "import", "--move")
    assert result.code == 1
    assert result.out.splitlines()[-3:] == [
        f'Removed the token of profile "prod" from {profiles} (the rest of it is unchanged)',
        f'Kept the token of profile "default" in {profiles}: a bpshell profile has that name, '
        "with another token",
        f'Kept the token of profile "bad" in {profiles}: invalid workspace ID "ws/../x"',
    ]
    assert read(profiles) == {
        "default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN},
        "bad": {"apiUrl": URL, "workspaceId": "ws/../x", "token": "bp_pat_bad0000000000001"},
        "prod": {"apiUrl": URL, "workspaceId": "ws_prod"},
    }
    assert bp.config()["profiles"]["default"]["token"] == "x1"


def test_a_failed_import_removes_nothing(bp: Bp) -> None:
    profiles, cache = two_logins(bp.home)
    before = (profiles.read_bytes(), cache.read_bytes())
    (bp.home / "config.json").write_text("{not json")
    (bp.home / "config.json").chmod(0o600)
    result = bp("profiles", "import", "--move")
    assert result.code == 2
    assert "is not a valid bpshell config" in result.err
    assert (profiles.read_bytes(), cache.read_bytes()) == before


def test_a_symlink_is_left_alone(bp: Bp, tmp_path: Path) -> None:
    elsewhere = write_official(
        tmp_path / "dotfiles",
        "profiles.json",
        {"default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN}},
    )
    bp.home.mkdir(mode=0o700)
    (bp.home / "profiles.json").symlink_to(elsewhere)
    before = elsewhere.read_bytes()
    result = bp("profiles", "import", "--move")
    assert result.code == 1
    assert result.out.splitlines()[-1] == (
        f'Kept the token of profile "default" in {bp.home / "profiles.json"}: it is a symlink; '
        "bpshell changes only a regular file of yours"
    )
    assert elsewhere.read_bytes() == before
    assert (bp.home / "profiles.json").is_symlink()
    assert KeyringView(bp) == {"default": TOKEN}


def test_a_file_of_another_user_is_left_alone(bp: Bp, second_user: UnixUser) -> None:
    profiles, cache = two_logins(bp.home)
    second_user.owns(cache)
    before = cache.read_bytes()
    result = bp("profiles", "import", "--move")
    assert result.code == 1
    assert result.out.splitlines()[-1] == (
        f'Kept the token of profile "prod" in {cache}: it is not a regular file of yours'
    )
    assert cache.read_bytes() == before
    assert "token" not in read(profiles)["prod"]


def test_a_keyring_that_cannot_give_the_token_back(home: Path) -> None:
    """Imported into config.json (no keyring), the tokens are held: they move."""
    from bpshell.tokens import InMemoryTokens

    bp = Bp(home, tokens=InMemoryTokens(broken="no usable keyring backend on this system"))
    _, cache = two_logins(home)
    result = bp("profiles", "import", "--move")
    assert result.code == 0, result.out
    assert bp.config()["profiles"]["prod"]["token"] == PROD_TOKEN
    assert "token" not in read(cache)


# --- killed at any point: each token somewhere, never nowhere ------------------------------


def where_tokens_are(home: Path, keyring: Path) -> dict[str, set[str]]:
    """For each token, the places that hold it: the official files, bpshell's profiles."""
    found: dict[str, set[str]] = {TOKEN: set(), PROD_TOKEN: set()}
    for name in ("profiles.json", "global.cache.json"):
        text = (home / name).read_text()
        for token in found:
            if token in text:
                found[token].add(name)
    config_path = home / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    entries = read_entries(keyring)
    service = service_for(home)
    for name, profile in config.get("profiles", {}).items():
        token = profile.get("token") or entries.get(f"{service}\t{profile.get('tokenKey', name)}")
        if token in found:
            found[token].add(f"bpshell:{name}")
    return found


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_a_kill_never_leaves_a_token_nowhere(tmp_path: Path, signum: int) -> None:
    outcomes: set[frozenset[tuple[str, frozenset[str]]]] = set()
    for attempt in range(8):
        home, keyring = tmp_path / f"h{attempt}", tmp_path / f"k{attempt}.json"
        two_logins(home)
        env = process_env(
            home,
            {
                "PYTHON_KEYRING_BACKEND": "tests.keyring_backends.FileBacked",
                "BPSHELL_TEST_KEYRING": str(keyring),
                "BPSHELL_TEST_KEYRING_DELAY": "0.1",
            },
        )
        child = subprocess.Popen(
            [sys.executable, "-m", "bpshell", "profiles", "import", "--move"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.3 + attempt * 0.15)  # from before the first keyring write to after the end
        child.send_signal(signum)
        child.wait(30)
        places = where_tokens_are(home, keyring)
        assert all(places.values()), (attempt, places)
        outcomes.add(frozenset((token, frozenset(held)) for token, held in places.items()))
    assert len(outcomes) > 1, outcomes  # the kills did land at different points


# --- the real official CLI afterwards --------------------------------------------------------


def test_the_official_cli_after_a_move(official_js: Path, sandbox: Sandbox, tmp_path: Path) -> None:  # noqa: F811
    home = tmp_path / "botpress"
    login = ["node", str(official_js), "login", "--apiUrl", sandbox.url, "--token", ALICE_TOKEN]
    login += ["--workspaceId", "ws_acme", "-y", "--botpressHome", str(home)]
    done = run(home, sandbox, login, cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    keyring = {
        "PYTHON_KEYRING_BACKEND": "tests.keyring_backends.FileBacked",
        "BPSHELL_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }
    moved = run(home, sandbox, bp_argv("profiles", "import", "--move"), **keyring)
    assert moved.code == 0, moved.err
    cache = home / "global.cache.json"
    assert ALICE_TOKEN not in cache.read_text()
    assert read(cache) == {"workspaceId": "ws_acme", "apiUrl": sandbox.url}
    alone = run(home, sandbox, ["node", str(official_js), "bots", "ls", "--botpressHome",
                                str(home)], cwd=tmp_path)  # fmt: skip
    assert alone.code != 0 and "Not logged in" in alone.out + alone.err
    command = bp_argv("exec", "--", "node", str(official_js), "bots", "ls", "--json")
    exec_run = run(home, sandbox, command, **keyring)
    assert exec_run.code == 0, exec_run.err
    assert bot_names(exec_run.out) == ACME_BOTS
    official = str(official_js.parent.parent.parent / ".bin" / "bp")
    handed = run(home, sandbox, bp_argv("bots", "ls", "--json"), BP_OFFICIAL_CLI=official,
                 **keyring)  # fmt: skip
    assert handed.code == 0, handed.err
    assert bot_names(handed.out) == ACME_BOTS
    assert ALICE_TOKEN not in cache.read_text()
    doctor = run(home, sandbox, bp_argv("doctor"), **keyring)
    assert f"✓ official CLI files: no plain-text token in the official CLI's files in {home}" in (
        doctor.out
    )
