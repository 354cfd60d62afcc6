"""A login is all or nothing, even when interrupted or raced (real processes, a slow keyring).

The keyring is :class:`tests.keyring_backends.FileBacked`, shared by every process of a test,
each call taking ``DELAY`` seconds, so that signals and rivals land between the keyring write
and the config write. Whatever happens, config.json and the keyring hold the old pair
(token and workspace) or the new pair, never a mix; every keyring entry no profile names is in
config.json's journal, and the next ``bp logout`` leaves nothing behind.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from bpshell.tokens import service_for
from tests.conftest import ROOT, process_env
from tests.keyring_backends import KEYRING_DELAY, KEYRING_FILE, read_entries

DELAY = 0.3
OLD = (ALICE_TOKEN, "ws_acme")
NEW = (BOB_TOKEN, "ws_initech")
WORKSPACE_OF = dict([OLD, NEW])


class Home:
    """A botpress home and the slow file keyring its processes share."""

    def __init__(self, root: Path, url: str) -> None:
        self.path = root / "botpress"
        self.keyring = root / "keyring.json"
        self.url = url
        self.env = process_env(
            self.path,
            {
                "PYTHON_KEYRING_BACKEND": "tests.keyring_backends.FileBacked",
                KEYRING_FILE: str(self.keyring),
                KEYRING_DELAY: str(DELAY),
            },
        )
        self.service = service_for(self.path)

    def start(self, *words: str, stdin: str = "", delay: float = DELAY) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "bpshell", *words],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**self.env, KEYRING_DELAY: str(delay)},
            cwd=ROOT,
        )
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
        process.stdin = None  # communicate() would flush it
        return process

    def login(self, pair: tuple[str, str], delay: float = DELAY) -> subprocess.Popen[str]:
        token, workspace = pair
        return self.start(
            *("login", "--token", "-", "--apiUrl", self.url, "--workspaceId", workspace, "-y"),
            stdin=token,
            delay=delay,
        )

    def config(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path / "config.json").read_text())
        return data

    def entries(self) -> dict[str, str]:
        """This home's keyring entries: user -> token."""
        prefix = f"{self.service}\t"
        return {
            key[len(prefix) :]: value
            for key, value in read_entries(self.keyring).items()
            if key.startswith(prefix)
        }

    def pair(self) -> tuple[str, str] | None:
        """The default profile's (token, workspace) as the next command would see them."""
        profile = self.config()["profiles"].get("default")
        if profile is None:
            return None
        user = profile.get("tokenKey") or "default"
        token = profile.get("token") or self.entries().get(user)
        assert token is not None, f"profile default has no token: {profile}, {self.entries()}"
        return token, profile["workspaceId"]

    def check_consistent(self) -> None:
        """Every entry no profile names is journaled (so the next unit deletes it)."""
        config = self.config()
        named = {
            p.get("tokenKey") or name
            for name, p in config["profiles"].items()
            if p.get("token") is None
        }
        journaled = set(config.get("staleKeyringEntries", []))
        assert set(self.entries()) <= named | journaled, (self.entries(), config)


def finish(process: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return process.returncode, err


@pytest.fixture
def home(tmp_path: Path, sandbox: Sandbox) -> Home:
    """A home logged in to the old pair."""
    home = Home(tmp_path, sandbox.url)
    code, err = finish(home.login(OLD))
    assert code == 0, err
    assert home.pair() == OLD
    return home


def logged_out_completely(home: Home) -> None:
    code, err = finish(home.start("logout"))
    assert code == 0, err
    assert home.entries() == {}
    assert home.config() == {"version": 1, "activeProfile": None, "profiles": {}}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_login_interrupted_anywhere_keeps_the_old_pair_or_the_new(
    home: Home, signum: signal.Signals
) -> None:
    # Points spread over the whole login, jittered the same way on every run: the gaps
    # between keyring and config writes are each hit, and a failure reproduces.
    chance = random.Random(signum)
    for step in range(8):
        process = home.login(NEW)
        time.sleep(0.3 + step * 0.2 + chance.uniform(0, 0.1))
        process.send_signal(signum)
        code, _ = finish(process)
        pair = home.pair()
        assert pair in (OLD, NEW), pair
        assert code != 0 or pair == NEW, (code, pair)  # said it logged in: it did
        home.check_consistent()
        if pair == NEW:  # back to the old pair for the next round
            assert finish(home.login(OLD))[0] == 0
    logged_out_completely(home)


def test_two_logins_of_one_profile_end_with_one_of_the_pairs(home: Home) -> None:
    """A slow keyring for the first (its write lands long before its reply), a fast one for
    the second, started so that its writes fall inside the first's wait: without one lock
    over both writes, the first's workspace ends with the second's token."""
    for lag in (3.3, 3.6):
        first = home.login(NEW, delay=2.0)
        time.sleep(lag)
        second = home.login(OLD, delay=0.05)
        assert finish(first)[0] == 0
        assert finish(second)[0] == 0
        assert home.pair() in (OLD, NEW), (lag, home.pair())
        home.check_consistent()
        assert len(home.entries()) == 1
    logged_out_completely(home)


def test_a_login_racing_logout_leaves_a_working_profile_or_none(home: Home) -> None:
    for lead in (0.0, DELAY, 2 * DELAY):
        login = home.login(NEW)
        time.sleep(0.3 + lead)
        logout = home.start("logout")
        assert finish(login)[0] == 0
        finish(logout)
        pair = home.pair()
        assert pair in (None, NEW), pair
        home.check_consistent()
        if pair is None:
            assert home.entries() == {}
        assert finish(home.login(OLD))[0] == 0
    logged_out_completely(home)
