"""A second local Unix user, for files that must belong to someone else (planted programs,
folders of another user). Made with ``useradd``, so it needs root: the ``second_user``
fixture of ``tests/conftest.py`` skips without it, except under ``CI=true``, where that fails.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class UnixUser:
    """A local account other than the one running the tests."""

    name: str
    uid: int
    gid: int

    def owns(self, *paths: Path) -> None:
        """Make ``paths`` this user's (symlinks themselves, not what they point to)."""
        for path in paths:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)


def cannot_add_users() -> str | None:
    """Why this process cannot make a user, or None when it can."""
    if os.geteuid() != 0:
        return "a second Unix user needs root (useradd)"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "a second Unix user needs useradd and userdel"
    return None


@contextmanager
def added_user(name: str) -> Iterator[UnixUser]:
    """A new system user ``name`` (no home, no login shell), removed afterwards."""
    command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
    for attempt in range(20):
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            break
        # 1 and 10: /etc/passwd or /etc/group is locked by another useradd; try again.
        if done.returncode not in (1, 10) or attempt == 19:
            raise RuntimeError(f"useradd {name} failed: {done.stderr.strip()}")
        time.sleep(0.1)
    entry = pwd.getpwnam(name)
    try:
        yield UnixUser(name, entry.pw_uid, entry.pw_gid)
    finally:
        for _ in range(20):
            done = subprocess.run(["userdel", name], capture_output=True, timeout=30)
            if done.returncode in (0, 6):  # 6: no such user
                break
            time.sleep(0.1)


# The distribution's Python: the suite's own interpreter may live in root's home (pyenv), which
# other users cannot enter. .ci/test installs it (python3, Debian 12: 3.11).
SYSTEM_PYTHON = Path("/usr/bin/python3")


@dataclass(frozen=True)
class AsUser:
    """``bp`` run as ``user`` from a copy of this checkout's ``bpshell`` others can read, on
    :data:`SYSTEM_PYTHON` without site: only the standard library, which is all bp loads up to
    a folder's ``.bp-profile`` and its refusal."""

    user: UnixUser
    source: Path  # holds bpshell/, readable by all
    home: Path  # the user's HOME, theirs

    def __call__(self, *words: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        env = {
            "HOME": str(self.home),
            "BP_BOTPRESS_HOME": str(self.home / ".botpress"),
            "PYTHONPATH": str(self.source),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }
        ids = [f"--reuid={self.user.uid}", f"--regid={self.user.gid}", "--clear-groups"]
        return subprocess.run(
            ["setpriv", *ids, str(SYSTEM_PYTHON), "-S", "-m", "bpshell", *words],
            capture_output=True, text=True, env=env, cwd=cwd, timeout=60,
        )  # fmt: skip


def open_folder(name: str) -> Path:
    """A new folder of root's (0755) under /tmp: every user can enter it, none but root
    write it (the pytest folders under /tmp/pytest-of-root are root's alone)."""
    import tempfile

    top = Path(tempfile.mkdtemp(prefix=f"bpshell-{name}-", dir="/tmp"))
    top.chmod(0o755)
    return top


@contextmanager
def bp_as(user: UnixUser, checkout: Path) -> Iterator[AsUser]:
    """An :class:`AsUser` for ``user``, in a folder under /tmp that every user can enter."""
    top = open_folder("as-user")
    try:
        shutil.copytree(
            checkout / "bpshell", top / "src" / "bpshell",
            ignore=shutil.ignore_patterns("__pycache__"),
        )  # fmt: skip
        for folder, _, files in os.walk(top / "src"):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        home = top / "home"
        home.mkdir(mode=0o700)
        user.owns(home)
        yield AsUser(user, top / "src", home)
    finally:
        shutil.rmtree(top, ignore_errors=True)
