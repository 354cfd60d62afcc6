"""Keyring entries belong to one botpress home, in the real Secret Service.

The default home (``~/.botpress``) keeps the service ``botpress-cli`` (existing logins keep
working); any other home has ``botpress-cli:<its real path>``, which ``secret-tool search``
shows. A login, logout, rm, rename or import in one home never touches another's tokens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, Outcome
from tests.secret_service import SecretService, start_secret_service

CAROL_TOKEN = "bp_pat_officialcarol000000000000000000000003"


class Machine:
    """One user's machine: a HOME whose ``.botpress`` is the default home, and the keyring."""

    def __init__(self, root: Path, secret_service: SecretService) -> None:
        self.user_home = root / "user"
        self.user_home.mkdir()
        self.default_home = self.user_home / ".botpress"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
        self.env.update(secret_service.env, HOME=str(self.user_home), PYTHONPATH=str(ROOT))

    def bp(self, *words: str, stdin: str = "") -> Outcome:
        done = subprocess.run(
            [sys.executable, "-m", "bpshell", *words],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            cwd=ROOT,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)

    def login(self, url: str, token: str, *words: str) -> None:
        workspace = "ws_acme" if token == ALICE_TOKEN else "ws_initech"
        result = self.bp(
            *words,
            *("login", "--token", "-", "--apiUrl", url, "--workspaceId", workspace, "-y"),
            stdin=token,
        )
        assert result.code == 0, result.err
        assert "warning" not in result.err

    def token(self, *words: str) -> str:
        result = self.bp(*words, "profiles", "get", "--displayToken", "--json")
        assert result.code == 0, result.err
        token: str = result.json()["token"]
        return token

    def services(self) -> dict[str, list[str]]:
        """Keyring user names by service, as ``secret-tool search`` shows them."""
        done = subprocess.run(
            [
                "secret-tool",
                "search",
                "--all",
                "--unlock",
                # Every entry the keyring library makes carries this attribute. gnome-keyring
                # 42 matched ``xdg:schema org.freedesktop.Secret.Generic`` against some of
                # them only (none, one or both, from run to run).
                "application",
                "Python keyring library",
            ],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
        )
        found: dict[str, list[str]] = {}
        service = user = None
        for line in (done.stdout + done.stderr).splitlines():
            if line.startswith("attribute.service = "):
                service = line.split(" = ", 1)[1]
            elif line.startswith("attribute.username = "):
                user = line.split(" = ", 1)[1]
            if service is not None and user is not None:
                found.setdefault(service, []).append(user)
                service = user = None
        return {k: sorted(v) for k, v in found.items() if k.startswith("botpress-cli")}


@pytest.fixture
def machine(tmp_path: Path, secret_service: SecretService) -> Iterator[Machine]:
    """A machine with a keyring of its own: the default home's service is the same name on
    every machine, so tests sharing one keyring would see each other's entries."""
    with start_secret_service(tmp_path / "keyring") as own:
        yield Machine(tmp_path, own)


def test_another_home_never_replaces_or_deletes_the_default_homes_token(
    machine: Machine, sandbox: Sandbox, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    machine.login(sandbox.url, ALICE_TOKEN)
    machine.login(sandbox.url, BOB_TOKEN, "--botpressHome", str(other))
    assert machine.token() == ALICE_TOKEN
    assert machine.token("--botpressHome", str(other)) == BOB_TOKEN

    services = machine.services()
    other_service = f"botpress-cli:{os.path.realpath(other)}"
    assert sorted(services) == ["botpress-cli", other_service]
    assert [u.split(":")[0] for u in services["botpress-cli"]] == ["default"]
    assert [u.split(":")[0] for u in services[other_service]] == ["default"]

    logout = machine.bp("--botpressHome", str(other), "logout")
    assert (logout.code, logout.err) == (0, ""), logout.err
    assert machine.token() == ALICE_TOKEN
    assert other_service not in machine.services()


def test_rm_rename_and_import_stay_in_their_home(
    machine: Machine, sandbox: Sandbox, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    here = ("--botpressHome", str(other))
    machine.login(sandbox.url, ALICE_TOKEN)
    machine.login(sandbox.url, ALICE_TOKEN, "-p", "prod")
    machine.login(sandbox.url, BOB_TOKEN, *here, "-p", "prod")
    assert machine.bp(*here, "profiles", "rename", "prod", "staging").code == 0
    assert machine.bp(*here, "profiles", "rm", "staging", "-y").code == 0
    assert machine.token("-p", "prod") == ALICE_TOKEN

    cache = {"apiUrl": sandbox.url, "token": CAROL_TOKEN, "workspaceId": "ws_acme"}
    (other / "global.cache.json").write_text(json.dumps(cache))
    imported = machine.bp(*here, "profiles", "import")
    assert imported.code == 0, imported.err
    assert machine.token(*here, "-p", "default") == CAROL_TOKEN
    assert machine.token("-p", "default") == ALICE_TOKEN
    users = machine.services()
    assert sorted(u.split(":")[0] for u in users["botpress-cli"]) == ["default", "prod"]
    other_users = users[f"botpress-cli:{os.path.realpath(other)}"]
    assert [u.split(":")[0] for u in other_users] == ["default"]


def test_logins_of_an_earlier_bpshell_keep_working_in_the_default_home(
    machine: Machine, sandbox: Sandbox
) -> None:
    """Entries named after the profile, under ``botpress-cli``: where earlier logins are."""
    code = "import keyring, sys; keyring.set_password('botpress-cli', 'default', sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", code, ALICE_TOKEN], env=machine.env, check=True, timeout=30
    )
    machine.default_home.mkdir(mode=0o700)
    config = {
        "version": 1,
        "activeProfile": "default",
        "profiles": {"default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme"}},
    }
    (machine.default_home / "config.json").write_text(json.dumps(config))
    (machine.default_home / "config.json").chmod(0o600)
    assert machine.token() == ALICE_TOKEN
    active = machine.bp("profiles", "active")
    assert active.code == 0, active.err
    assert machine.bp("logout").code == 0
    assert machine.services() == {}
