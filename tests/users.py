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
