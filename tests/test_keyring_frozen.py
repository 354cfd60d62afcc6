"""A keyring that never answers never hangs ``bp``: every kind of command ends, promptly after
its bounded keyring calls, with its output or one clear line.

Two keyrings that never answer: a test backend whose every call sleeps forever, and the real
gnome-keyring-daemon stopped with SIGSTOP on its private D-Bus session (the bus takes the call,
nobody replies). The subprocess timeout is a hang detector, not a speed check: a command that
exits at all exits within a few seconds of the 3 s keyring bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.conftest import ROOT, bp_process, process_env
from tests.secret_service import SecretService, start_secret_service

HANG_S = 25  # far above the 3 s bound: only a command that never exits gets there
FROZEN = {"PYTHON_KEYRING_BACKEND": "tests.keyring_backends.Frozen"}
NO_ANSWER = "the keyring did not answer within 3 s"

# (words, stdin, exit status, whether the keyring is asked at all)
COMMANDS = {
    "profiles active": (("profiles", "active"), "", 1, True),
    "login": (
        ("login", "--token", "-", "--workspaceId", "ws_acme", "-y"),
        ALICE_TOKEN,
        0,
        True,
    ),
    "env": (("env",), "", 1, True),
    "exec": (("exec", "--", sys.executable, "-c", "pass"), "", 1, True),
    "workspaces list": (("workspaces", "list"), "", 1, True),
    "profiles list --verify": (("profiles", "list", "--verify"), "", 1, True),
    "shell -c": (("shell", "-c", "profiles active"), "", 1, True),
    "logout": (("logout",), "", 1, True),
    "profiles get": (("profiles", "get"), "", 0, True),
    "profiles rm": (("profiles", "rm", "default", "-y"), "", 1, True),
    "profiles rename": (("profiles", "rename", "default", "renamed"), "", 1, True),
    "profiles use": (("profiles", "use", "default"), "", 0, False),
    "profiles list": (("profiles", "list"), "", 0, False),
}


def keyring_login(home: Path, url: str) -> bytes:
    """A profile whose token is in the keyring, as an earlier bpshell's login left it (an
    entry named after the profile: rename has to move it)."""
    home.mkdir(mode=0o700, parents=True)
    config = {
        "version": 1,
        "activeProfile": "default",
        "profiles": {"default": {"apiUrl": url, "workspaceId": "ws_acme"}},
    }
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)
    return (home / "config.json").read_bytes()


def run_bp(home: Path, words: tuple[str, ...], stdin: str, env: dict[str, str]) -> tuple[int, str]:
    try:
        done = bp_process(home, *words, stdin=stdin, env=env, timeout=HANG_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"bp {' '.join(words)} never exited with a keyring that does not answer")
    assert "Traceback" not in done.err
    return done.code, done.err


def check(home: Path, url: str, case: str, env: dict[str, str]) -> None:
    words, stdin, status, asks = COMMANDS[case]
    if case == "login":
        words = (*words, "--apiUrl", url)
    keyring_login(home, url)
    code, err = run_bp(home, words, stdin, env)
    assert code == status, err
    if asks:
        assert NO_ANSWER in err
    else:
        assert err == ""
    if case == "login":  # the login still happened: the token fell back to the file
        saved = json.loads((home / "config.json").read_text())["profiles"]["default"]
        assert saved["token"] == ALICE_TOKEN
        assert "tokenKey" not in saved


@pytest.mark.parametrize("case", list(COMMANDS))
def test_a_backend_that_sleeps_forever_never_hangs_bp(
    tmp_path: Path, sandbox: Sandbox, case: str
) -> None:
    check(tmp_path / "botpress", sandbox.url, case, FROZEN)


@pytest.fixture(scope="module")
def frozen_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """A Secret Service of these tests' own, stopped (SIGSTOP) while they run."""
    service = start_secret_service(tmp_path_factory.mktemp("frozen_keyring"))
    try:
        with service.frozen():
            yield service
    finally:
        service.stop()


@pytest.mark.parametrize(
    "case", ["profiles active", "login", "env", "shell -c", "logout", "profiles get"]
)
def test_a_frozen_gnome_keyring_never_hangs_bp(
    tmp_path: Path,
    sandbox: Sandbox,
    secret_service: SecretService,
    frozen_service: SecretService,
    case: str,
) -> None:
    check(tmp_path / "botpress", sandbox.url, case, frozen_service.env)


def test_eval_of_bp_env_returns_to_the_shell(tmp_path: Path, sandbox: Sandbox) -> None:
    """The reported harm: ``eval "$(bp env)"`` hung the user's shell."""
    home = tmp_path / "botpress"
    keyring_login(home, sandbox.url)
    script = f'eval "$({sys.executable} -m bpshell env)"; echo "status $?"'
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env=process_env(home, FROZEN),
        timeout=HANG_S,
        cwd=ROOT,
    )
    assert done.stdout == "status 0\n"  # eval of nothing; bp's own status went to stderr
    assert NO_ANSWER in done.stderr
