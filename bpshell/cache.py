"""The per-profile workspace cache under ``<home>/cache/``, read by completion without I/O cost.

One file per profile, ``workspaces.<profile>.json`` (0600, in a 0700 folder):
``{"version": 1, "profile": str, "apiUrl": str, "fetchedAt": float (epoch s),
"workspaces": [{"id": str, "name": str}, ...]}``. Reading never raises and never touches the
network: a missing, stale or broken file reads as what it can give, or nothing; so does one
that is not a regular file of this user's (a FIFO is skipped, never waited on). Plain ``json``
only, so the completion entry point stays light.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time

from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from pathlib import Path

    Place = str | os.PathLike[str]

STALE_AFTER_S = 300.0
CACHE_DIR = "cache"
_SAFE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class CachedWorkspaces(Record):
    """The workspaces a profile's token could use when they were last fetched."""

    profile: str
    api_url: str
    fetched_at: float
    workspaces: tuple[tuple[str, str], ...]

    def stale(self, now: float | None = None) -> bool:
        """Older than :data:`STALE_AFTER_S`."""
        return (now if now is not None else time.time()) - self.fetched_at > STALE_AFTER_S


def cache_path(home: Path, profile: str) -> Path:
    """Where the cache of ``profile`` lives; odd names (a hand-edited file) are hex-encoded."""
    from pathlib import Path

    return Path(_file(home, profile))


def _file(home: Place, profile: str) -> str:
    """:func:`cache_path` as a string: completion reads the cache without loading ``pathlib``
    (with the ``urllib.parse`` and ``ipaddress`` it imports, 3 ms of a Tab's 30)."""
    safe = (
        profile if _SAFE.fullmatch(profile) and profile.strip(".") else "x" + profile.encode().hex()
    )
    return os.path.join(home, CACHE_DIR, f"workspaces.{safe[:140]}.json")


def read_workspaces(home: Place, profile: str) -> CachedWorkspaces | None:
    """The cached workspaces of ``profile``, or None when there is no usable cache."""
    try:
        with os.fdopen(open_private(_file(home, profile)), encoding="utf-8") as handle:
            data = json.load(handle)
        pairs = tuple(
            (str(item["id"]), str(item.get("name", "")))
            for item in data["workspaces"]
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        )
        return CachedWorkspaces(profile, str(data["apiUrl"]), float(data["fetchedAt"]), pairs)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def open_private(path: Place, flags: int = os.O_RDONLY) -> int:
    """``path`` opened without waiting (a FIFO or a device answers an open at once) if it is a
    regular file of this user's (or root's) that no one else can write; else OSError.

    For the lenient readers of files under the home (this cache, completion's look at
    config.json, the shell's history): what another user planted, or a FIFO, is skipped like
    a missing file, instead of trusted or waited on. ``flags`` may add ``O_CREAT`` (0600).
    """
    fd = os.open(path, flags | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY, 0o600)
    info = os.fstat(fd)
    mine = info.st_uid in (os.geteuid(), 0) and not info.st_mode & 0o022
    if stat.S_ISREG(info.st_mode) and mine:
        return fd
    os.close(fd)
    raise OSError(errno.EPERM, "not a private regular file", str(path))


def write_workspaces(
    home: Path, profile: str, api_url: str, workspaces: list[tuple[str, str]]
) -> None:
    """Replace the cache of ``profile`` atomically; failures are ignored (it is only a cache)."""
    import contextlib

    folder = home / CACHE_DIR
    data = {
        "version": 1,
        "profile": profile,
        "apiUrl": api_url,
        "fetchedAt": time.time(),
        "workspaces": [{"id": i, "name": n} for i, n in workspaces],
    }
    tmp = folder / f".workspaces.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    with contextlib.suppress(OSError):
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle, ensure_ascii=False)
        os.replace(tmp, cache_path(home, profile))
    with contextlib.suppress(OSError):
        tmp.unlink()


def drop_workspaces(home: Path, profile: str) -> None:
    """Forget the cache of ``profile`` (on logout, rm, rename)."""
    import contextlib

    with contextlib.suppress(OSError):
        cache_path(home, profile).unlink()
