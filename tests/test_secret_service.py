"""Proves tests/secret_service.py gives a real, private, prompt-free Secret Service.

Observed behaviour (keyring 25.7, SecretStorage 3.5, jeepney 0.9, gnome-keyring 42):

* With the fixture's env, ``keyring.get_keyring()`` is
  ``keyring.backends.SecretService.Keyring`` -- both with the explicit
  ``PYTHON_KEYRING_BACKEND`` the env sets and by auto-detection without it.
* A password set in one process is read back by another (it lives in the daemon).
* ``delete_password`` on a missing entry raises ``keyring.errors.PasswordDeleteError``
  ("No such password!"); ``get_password`` on a missing entry returns ``None``.
* With ``NO_KEYRING_ENV`` the backend is ``keyring.backends.fail.Keyring``, and
  get/set/delete raise ``keyring.errors.NoKeyringError``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.secret_service import (
    FAIL_BACKEND,
    NO_KEYRING_ENV,
    SECRET_SERVICE_BACKEND,
    SecretService,
    secret_service_available,
    start_secret_service,
)

pytest_plugins = ["tests.conftest_keyring"]  # no-op when the root conftest already loads it

SERVICE = "botpress-cli"
TIMEOUT = 30


def run_py(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with no stdin; fail loudly on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc


def backend_name(env: dict[str, str]) -> str:
    code = "import keyring; k = type(keyring.get_keyring()); print(k.__module__ + '.' + k.__name__)"
    return run_py(code, env).stdout.strip()


def test_started_quickly(secret_service: SecretService) -> None:
    assert secret_service.alive()
    assert secret_service.start_seconds < 3.0, secret_service.start_seconds


def test_env_names_the_private_bus(secret_service: SecretService) -> None:
    env = secret_service.env
    root = str(secret_service.root)
    assert env["DBUS_SESSION_BUS_ADDRESS"] == secret_service.bus_address
    assert env["DBUS_SESSION_BUS_ADDRESS"].startswith("unix:path=")
    assert env["XDG_DATA_HOME"].startswith(root)
    assert env["HOME"].startswith(root)
    # The login keyring was created inside the temp dir, never in the real home.
    assert (Path(env["XDG_DATA_HOME"]) / "keyrings" / "login.keyring").is_file()


def test_backend_is_secret_service(secret_service: SecretService) -> None:
    assert backend_name(secret_service.child_env()) == SECRET_SERVICE_BACKEND


def test_backend_autodetects_secret_service(secret_service: SecretService) -> None:
    env = secret_service.child_env()
    env.pop("PYTHON_KEYRING_BACKEND")
    assert backend_name(env) == SECRET_SERVICE_BACKEND


def test_round_trip_across_processes(secret_service: SecretService) -> None:
    env = secret_service.child_env()
    user = f"user-{os.getpid()}-{time.monotonic_ns()}"
    secret = "bp_pat_FAKE-0123456789abcdef"
    pre = f"import json, keyring; s, u = json.loads({json.dumps([SERVICE, user])!r}); "

    run_py(pre + f"keyring.set_password(s, u, {secret!r})", env)
    got = run_py(pre + "print(keyring.get_password(s, u))", env)
    assert got.stdout.strip() == secret

    # Visible to another Secret Service client too (libsecret's secret-tool).
    if (tool := _which("secret-tool")) is not None:
        out = subprocess.run(
            [tool, "lookup", "service", SERVICE, "username", user],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout == secret

    run_py(pre + "keyring.delete_password(s, u)", env)
    gone = run_py(pre + "print(keyring.get_password(s, u))", env)
    assert gone.stdout.strip() == "None"

    again = run_py(
        pre + "import keyring.errors\n"
        "try:\n"
        "    keyring.delete_password(s, u)\n"
        "except keyring.errors.PasswordDeleteError as e:\n"
        "    print('PasswordDeleteError', e)\n"
        "else:\n"
        "    print('no error')\n",
        env,
    )
    assert again.stdout.startswith("PasswordDeleteError"), again.stdout


def test_in_process_with_applied_env(secret_service_env: SecretService) -> None:
    # A fresh backend instance connects using the applied os.environ; the global
    # keyring backend (cached by keyring.get_keyring()) is left alone.
    from keyring.backends.SecretService import Keyring

    kr = Keyring()
    user = f"inproc-{os.getpid()}-{time.monotonic_ns()}"
    kr.set_password(SERVICE, user, "s3cret")
    try:
        assert kr.get_password(SERVICE, user) == "s3cret"
    finally:
        kr.delete_password(SERVICE, user)
    assert kr.get_password(SERVICE, user) is None


def test_no_keyring_env_gives_fail_backend() -> None:
    env = {**os.environ, **NO_KEYRING_ENV}
    assert backend_name(env) == FAIL_BACKEND
    out = run_py(
        "import keyring, keyring.errors\n"
        "for call in (lambda: keyring.get_password('botpress-cli', 'u'),\n"
        "             lambda: keyring.set_password('botpress-cli', 'u', 'p'),\n"
        "             lambda: keyring.delete_password('botpress-cli', 'u')):\n"
        "    try:\n"
        "        call()\n"
        "    except keyring.errors.NoKeyringError as e:\n"
        "        print('NoKeyringError', isinstance(e, RuntimeError))\n",
        env,
    )
    assert out.stdout.split("\n")[:3] == ["NoKeyringError True"] * 3


def test_start_stop_leaves_nothing_running(tmp_path: Path, secret_service: SecretService) -> None:
    # Requesting the session fixture gives the same skip/CI-fail rule; a second,
    # independent instance runs alongside it.
    assert secret_service_available()
    t0 = time.monotonic()
    ss = start_secret_service(tmp_path)
    elapsed = time.monotonic() - t0
    pids = [p.pid for p in ss._procs]
    assert len(pids) == 2
    assert backend_name(ss.child_env()) == SECRET_SERVICE_BACKEND
    ss.stop()
    assert elapsed < 3.0, elapsed
    for pid in pids:
        assert not _pid_alive(pid), f"pid {pid} still running"
    assert not ss.alive()
    ss.stop()  # idempotent


def test_apply_and_restore(tmp_path: Path, secret_service: SecretService) -> None:
    before = dict(os.environ)
    secret_service.apply()
    assert os.environ["DBUS_SESSION_BUS_ADDRESS"] == secret_service.bus_address
    secret_service.restore()
    assert dict(os.environ) == before


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); Popen.wait() reaped ours, so treat zombies as dead anyway.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"
