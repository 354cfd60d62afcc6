"""Real mounts for tests of read-only and full file systems, and of file-system boundaries
(root, CAP_SYS_ADMIN)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` bind-mounted read-only over itself for the block: read-only even for root."""
    where = str(path)
    done = mount("--bind", where, where)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")
    try:
        done = mount("-o", "remount,ro,bind", where)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {done.stderr.strip()}")
        yield path
    finally:
        subprocess.run(["umount", "-l", where], check=True)


@contextlib.contextmanager
def tmpfs(path: Path) -> Iterator[Path]:
    """A fresh tmpfs mounted on ``path`` (made if missing) for the block: another file system
    (its own ``st_dev``) inside this one."""
    path.mkdir(parents=True, exist_ok=True)
    done = mount("-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)
