"""Tokens in the OS keyring: the real Secret Service (gnome-keyring on a private D-Bus) for
``bp`` processes, the fallback to the file without a keyring, and a keyring that hangs."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import keyring
import keyring.backend
import keyring.core
import pytest
from keyring.backends import fail

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from bpshell.tokens import KeyringTokens, KeyringUnavailable, service_for
from tests.conftest import Bp, Outcome, bp_process, process_env
from tests.secret_service import FAIL_BACKEND, SecretService

FILE_WARNING = (
    "warning: no usable keyring backend on this system; "
    "the token is stored in plain text in config.json (0600)\n"
)


@pytest.fixture
def names() -> list[str]:
    """Fresh profile names: the Secret Service lives for the whole session."""
    return [f"kr-{uuid.uuid4().hex[:10]}" for _ in range(3)]


def run(home: Path, secret_service: SecretService, *words: str, stdin: str = "") -> Outcome:
    return bp_process(home, *words, stdin=stdin, env=secret_service.env)


def stored(home: Path, secret_service: SecretService, *profiles: str) -> dict[str, str | None]:
    """What a separate process reads from the keyring for each profile: the entry config.json
    names for it (or the profile's name, as older logins and unknown profiles have), in the
    home's own keyring service."""
    code = (
        "import json, os, sys, keyring\n"
        "from pathlib import Path\n"
        "from bpshell.tokens import service_for\n"
        "home = Path(os.environ['BP_BOTPRESS_HOME'])\n"
        "try:\n"
        "    profiles = json.loads((home / 'config.json').read_text())['profiles']\n"
        "except (OSError, KeyError, ValueError):\n"
        "    profiles = {}\n"
        "def user(n):\n"
        "    return (profiles.get(n) or {}).get('tokenKey') or n\n"
        "print(json.dumps({n: keyring.get_password(service_for(home), user(n))"
        " for n in sys.argv[1:]}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *profiles],
        env=process_env(home, secret_service.env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, str | None] = json.loads(done.stdout)
    return found


def login(
    home: Path, secret_service: SecretService, sandbox: Sandbox, name: str, token: str
) -> Outcome:
    workspace = "ws_acme" if token == ALICE_TOKEN else "ws_initech"
    return run(
        home,
        secret_service,
        *("login", "-p", name, "--token", "-", "--apiUrl", sandbox.url),
        *("--workspaceId", workspace, "-y"),
        stdin=token,
    )


# --- the real Secret Service --------------------------------------------------------------


def test_login_stores_the_token_in_the_keyring_not_the_file(
    tmp_path: Path, secret_service: SecretService, sandbox: Sandbox, names: list[str]
) -> None:
    home = tmp_path / "botpress"
    name = names[0]
    result = login(home, secret_service, sandbox, name, ALICE_TOKEN)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f'Logged in to workspace acme (ws_acme) as alice@example.com (owner) — profile "{name}"\n'
    )
    assert stored(home, secret_service, name) == {name: ALICE_TOKEN}
    text = (home / "config.json").read_text()
    assert ALICE_TOKEN not in text
    saved = json.loads(text)["profiles"][name]
    assert saved == {
        "apiUrl": sandbox.url,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "tokenKey": saved["tokenKey"],
        "accountId": saved["accountId"],
    }
    assert saved["tokenKey"].startswith(f"{name}:")
    get = run(home, secret_service, "profiles", "get", name)
    assert get.out.splitlines()[-1] == "Token: bp_pat_…0001 (keyring)"
    active = run(home, secret_service, "profiles", "active")
    assert (active.code, active.out.splitlines()[2]) == (0, "Authenticated: Yes")


def keyring_profiles(
    home: Path, secret_service: SecretService, url: str, tokens: dict[str, str]
) -> None:
    """Profiles whose tokens are in the keyring, as logins would leave them (one process)."""
    code = (
        "import json, sys, keyring\n"
        "for name, token in json.loads(sys.argv[1]).items():\n"
        f"    keyring.set_password({service_for(home)!r}, name, token)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(tokens)],
        env=process_env(home, secret_service.env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    home.mkdir(mode=0o700)
    profiles = {name: {"apiUrl": url, "workspaceId": "ws_acme"} for name in tokens}
    config = {"version": 1, "activeProfile": list(tokens)[-1], "profiles": profiles}
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)


def test_logout_and_rm_remove_the_keyring_entry(
    tmp_path: Path, secret_service: SecretService, sandbox: Sandbox, names: list[str]
) -> None:
    home = tmp_path / "botpress"
    first, second, third = names
    tokens = {first: ALICE_TOKEN, second: BOB_TOKEN, third: ALICE_TOKEN}
    keyring_profiles(home, secret_service, sandbox.url, tokens)
    out = run(home, secret_service, "logout")  # the active profile: the last one
    left = "|".join(sorted((first, second)))
    assert (out.code, out.err) == (0, f"No active profile; choose one: bp profiles use {left}\n")
    assert out.out == (
        f'Logged out of profile "{third}", workspace ws_acme: removed its token from the keyring, '
        "its workspace ID and API URL\n"
    )
    removed = run(home, secret_service, "profiles", "rm", second, "-y")
    assert (removed.code, removed.out, removed.err) == (
        0,
        f'Removed profile "{second}" and its token\n',
        "",
    )
    assert stored(home, secret_service, *names) == {first: ALICE_TOKEN, second: None, third: None}
    assert list(json.loads((home / "config.json").read_text())["profiles"]) == [first]


def test_rename_moves_the_keyring_entry(
    tmp_path: Path, secret_service: SecretService, sandbox: Sandbox, names: list[str]
) -> None:
    home = tmp_path / "botpress"
    old, new, _ = names
    keyring_profiles(home, secret_service, sandbox.url, {old: BOB_TOKEN})
    result = run(home, secret_service, "profiles", "rename", old, new)
    assert (result.code, result.out, result.err) == (
        0,
        f'Renamed profile "{old}" to "{new}"\n',
        "",
    )
    assert stored(home, secret_service, old, new) == {old: None, new: BOB_TOKEN}
    config = json.loads((home / "config.json").read_text())
    assert (config["activeProfile"], list(config["profiles"])) == (new, [new])


def test_insecure_storage_with_a_working_keyring_leaves_it_empty(
    tmp_path: Path, secret_service: SecretService, sandbox: Sandbox, names: list[str]
) -> None:
    home = tmp_path / "botpress"
    name = names[0]
    assert login(home, secret_service, sandbox, name, ALICE_TOKEN).code == 0
    again = run(
        home,
        secret_service,
        *("login", "-p", name, "--insecure-storage", "--workspaceId", "ws_acme", "-y"),
    )
    assert again.code == 0, again.err
    assert stored(home, secret_service, name) == {name: None}
    config = json.loads((home / "config.json").read_text())
    assert config["profiles"][name]["token"] == ALICE_TOKEN


# --- no keyring at all: the file, with a warning ------------------------------------------


def test_without_a_keyring_backend_the_token_goes_to_the_file(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    home = tmp_path / "botpress"
    result = bp_process(
        home,
        *("login", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "-y"),
        stdin=ALICE_TOKEN,
        env={"PYTHON_KEYRING_BACKEND": FAIL_BACKEND},
    )
    assert (result.code, result.err) == (0, FILE_WARNING)
    assert result.out == (
        'Logged in to workspace acme (ws_acme) as alice@example.com (owner) — profile "default"\n'
    )
    saved = json.loads((home / "config.json").read_text())["profiles"]["default"]
    assert saved == {
        "apiUrl": sandbox.url,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "token": ALICE_TOKEN,
        "accountId": saved["accountId"],
    }
    out = bp_process(home, "logout", env={"PYTHON_KEYRING_BACKEND": FAIL_BACKEND})
    assert (out.code, out.err) == (0, "")
    assert out.out == (
        'Logged out of profile "default", workspace acme (ws_acme): '
        "removed its token from config.json, "
        "its workspace ID and API URL\n"
    )


# --- KeyringTokens in-process -------------------------------------------------------------


def test_keyring_tokens_round_trip(secret_service_env: SecretService, names: list[str]) -> None:
    name = names[0]
    store = KeyringTokens()

    async def main() -> list[Any]:
        seen: list[Any] = [await store.get(name)]
        await store.set(name, BOB_TOKEN)
        seen.append(await store.get(name))
        seen.append(await store.delete(name))
        seen.append(await store.delete(name))  # already gone is fine
        seen.append(await store.get(name))
        return seen

    with keyring_backend(None):
        assert anyio.run(main) == [None, BOB_TOKEN, True, False, None]


class _Hung(keyring.backend.KeyringBackend):
    """A keyring that never answers until released (a locked or wedged Secret Service)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


class _Failing(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown\nmore detail")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown\nmore detail")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


@contextlib.contextmanager
def keyring_backend(backend: keyring.backend.KeyringBackend | None) -> Iterator[None]:
    """Make ``backend`` the keyring library's active one; None: detect it from os.environ."""
    saved = keyring.core._keyring_backend
    keyring.core._keyring_backend = backend
    try:
        yield
    finally:
        keyring.core._keyring_backend = saved


@pytest.mark.parametrize(
    ("backend", "warning"),
    [
        pytest.param(
            fail.Keyring(),
            "warning: no usable keyring backend on this system; "
            "the token is stored in plain text in config.json (0600)\n",
            id="no-backend",
        ),
        pytest.param(
            _Failing(),
            "warning: the keyring failed (RuntimeError: org.freedesktop.DBus.Error.ServiceUnknown);"
            " the token is stored in plain text in config.json (0600)\n",
            id="failing-backend",
        ),
        pytest.param(
            _Hung(),
            "warning: the keyring did not answer within 0.2 s; "
            "the token is stored in plain text in config.json (0600)\n",
            id="hung-backend",
        ),
    ],
)
def test_login_falls_back_to_the_file_when_the_keyring_cannot_be_used(
    home: Path, sandbox: Sandbox, backend: keyring.backend.KeyringBackend, warning: str
) -> None:
    bp = Bp(home, tokens=KeyringTokens(timeout=0.2))
    try:
        with keyring_backend(backend):
            result = bp(
                *("login", "--token", "-", "--apiUrl", sandbox.url),
                *("--workspaceId", "ws_acme", "-y"),
                stdin=ALICE_TOKEN,
            )
    finally:
        if isinstance(backend, _Hung):
            backend.release.set()
    assert (result.code, result.err) == (0, warning)
    assert bp.config()["profiles"]["default"]["token"] == ALICE_TOKEN


def test_a_hung_keyring_is_asked_once_per_run(home: Path) -> None:
    backend = _Hung()
    store = KeyringTokens(timeout=0.1)

    async def main() -> list[str]:
        messages = []
        for _ in range(3):
            try:
                await store.get("x")
            except KeyringUnavailable as exc:
                messages.append(exc.message)
        return messages

    try:
        with keyring_backend(backend):
            assert anyio.run(main) == ["the keyring did not answer within 0.1 s"] * 3
    finally:
        backend.release.set()
