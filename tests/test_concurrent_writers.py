"""Many real ``bp`` processes changing one config.json at once lose nothing."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import uuid
from pathlib import Path

from bpshell.config import ConfigFile
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, process_env
from tests.secret_service import SecretService
from tests.test_keyring import stored

WRITERS = 20
KEYRING_WRITERS = 10


def start_logins(
    home: Path, sandbox: Sandbox, names: list[str], extra: list[str], env: dict[str, str]
) -> None:
    """Start one ``bp login -p NAME --token - < file`` per name, all before waiting for any."""
    token_files = {}
    for token in (ALICE_TOKEN, BOB_TOKEN):
        token_files[token] = home.parent / f"token.{token[-4:]}"
        token_files[token].write_text(token)
    started = []
    for index, name in enumerate(names):
        token = ALICE_TOKEN if index % 2 else BOB_TOKEN
        workspace = "ws_acme" if index % 2 else "ws_initech"
        words = ["login", "-p", name, "--token", "-", "--apiUrl", sandbox.url]
        with token_files[token].open() as stdin:
            started.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bpshell",
                        *words,
                        "--workspaceId",
                        workspace,
                        "-y",
                        *extra,
                    ],
                    stdin=stdin,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=process_env(home, env),
                    cwd=ROOT,
                )
            )
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert out.startswith("Logged in to workspace ")


def check_file(home: Path, names: list[str]) -> ConfigFile:
    path = home / "config.json"
    config = ConfigFile.from_json(path.read_bytes())
    assert sorted(config.profiles) == sorted(names)
    assert config.activeProfile in names
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["config.json", "config.json.lock"]
    return config


def test_concurrent_logins_to_distinct_profiles_all_land(tmp_path: Path, sandbox: Sandbox) -> None:
    home = tmp_path / "botpress"
    names = [f"p{index:02d}" for index in range(WRITERS)]
    sandbox.set_latency(200)  # every process verifies at once, so the writes bunch up too
    start_logins(home, sandbox, names, ["--insecure-storage"], {})
    config = check_file(home, names)
    for index, name in enumerate(names):
        profile = config.profiles[name]
        assert (profile.workspaceId, profile.token) == (
            ("ws_acme", ALICE_TOKEN) if index % 2 else ("ws_initech", BOB_TOKEN)
        )
    assert json.loads((home / "config.json").read_text())["version"] == 1


def test_concurrent_logins_with_the_real_keyring(
    tmp_path: Path, sandbox: Sandbox, secret_service: SecretService
) -> None:
    home = tmp_path / "botpress"
    names = [f"cw-{uuid.uuid4().hex[:8]}-{index}" for index in range(KEYRING_WRITERS)]
    start_logins(home, sandbox, names, [], secret_service.env)
    config = check_file(home, names)
    assert all(profile.token is None for profile in config.profiles.values())
    assert stored(home, secret_service, *names) == {
        name: ALICE_TOKEN if index % 2 else BOB_TOKEN for index, name in enumerate(names)
    }


def test_concurrent_renames_and_switches_keep_the_file_whole(tmp_path: Path) -> None:
    home = tmp_path / "botpress"
    names = [f"p{index:02d}" for index in range(WRITERS)]
    home.mkdir(mode=0o700)
    profiles = {
        name: {"apiUrl": "https://api.botpress.cloud", "workspaceId": "ws_acme", "token": name}
        for name in names
    }
    config = {"version": 1, "activeProfile": None, "profiles": profiles}
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bpshell", "profiles", *words],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=process_env(home),
            cwd=ROOT,
        )
        for index, name in enumerate(names)
        for words in (["rename", name, f"r{index:02d}"] if index % 2 else ["use", name],)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    renamed = [f"r{i:02d}" if i % 2 else f"p{i:02d}" for i in range(WRITERS)]
    result = check_file(home, renamed)
    assert {name: p.token for name, p in result.profiles.items()} == {
        new: old for new, old in zip(renamed, names, strict=True)
    }
