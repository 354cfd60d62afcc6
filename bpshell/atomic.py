"""Files replaced whole, durably: the old content or the new, never a mix, after any crash.

The new content goes to a temporary file beside the target (``.NAME.PID.HEX.tmp``, made
0600 and then given its mode), is fsync-ed and renamed over the target, and the folder is
fsync-ed so the rename itself survives a power cut. Standard library only: config.json is
written through here by offline commands.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def replace_file(
    path: Path, data: bytes, mode: int, *, check: Callable[[], None] | None = None
) -> None:
    """Put ``data`` in place of ``path``, with permissions ``mode``. ``check`` runs just before
    the rename and may raise to keep the old file. Raises OSError (callers word it); the
    temporary file never stays behind, whatever is raised."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if check is not None:
            check()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_folder(path.parent)


def fsync_folder(path: Path) -> None:
    """Make a rename in ``path`` durable; a folder that cannot be opened is left as it is."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
