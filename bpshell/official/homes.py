"""Private botpress homes of ``bp exec``: made, marked, locked, and swept when abandoned.

A child of ``bp exec`` (the 0.8 line of the official CLI reads the token only from
``global.cache.json``) gets a home of its own, ``<home>/.exec/<run>/home``, beside
``<run>/.bpshell-private``: the mark that tells a ``bp`` run inside the child that its home is
one (so it never imports the token there as a profile, nor writes a config.json there), and
the lock the ``bp exec`` holds for its lifetime. Only SIGKILL skips the clean-up; the next
``bp`` run (one ``stat`` when there is nothing) or ``bp logout`` finds the lock free and
removes what was left (:func:`sweep_private_homes`).

Imported at start-up when a home holds private homes (to sweep them): bpshell.config
(pydantic) and bpshell.official.files are imported where they are used.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from bpshell.errors import StorageError
from bpshell.official import PRIVATE_HOMES
from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:  # config.py asks is_private_home on every write: keep this module light
    from bpshell.env import Env

PRIVATE_MARK = ".bpshell-private"
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def is_private_home(home: str | os.PathLike[str]) -> bool:
    """Whether ``home`` is the private home of a ``bp exec`` (one ``stat``): its credentials are
    in the environment, so bp never imports or writes anything there."""
    return os.path.lexists(os.path.join(os.path.dirname(os.path.abspath(home)), PRIVATE_MARK))


class PrivateHome(Record):
    """A private home, ``<run>/home``, and the lock on ``<run>/.bpshell-private``, held by this
    process alone (O_CLOEXEC: not the child, which may outlive us) until it is removed."""

    run: str
    lock: int
    swept: Path | None  # the home whose .exec holds it; None: the temporary folder

    @property
    def home(self) -> str:
        """What the child gets as ``BP_BOTPRESS_HOME``."""
        return os.path.join(self.run, "home")

    @classmethod
    def make(cls, env: Env, variables: Mapping[str, str]) -> PrivateHome:
        """A new private home holding ``variables`` in ``global.cache.json``; in
        ``<home>/.exec`` where that can be, else (a read-only home) in the temporary folder."""
        swept: Path | None = env.home
        try:
            folder: int | None = _open_private_homes(env.home)
        except OSError as exc:
            env.debug(
                f"debug: cannot keep private homes in {env.home / PRIVATE_HOMES} "
                f"({exc.strerror}); using the temporary folder"
            )
            folder, swept = None, None
        try:
            run, lock = _new_run(None if swept is None else env.home / PRIVATE_HOMES)
        except OSError as exc:
            raise StorageError(f"cannot create a private botpress home: {exc.strerror}") from None
        finally:
            if folder is not None:
                os.close(folder)  # only now: a sweep must never see the new run unlocked
        private = cls(run, lock, swept)
        try:
            os.mkdir(private.home, 0o700)
            _write_cache(private.home, variables)
        except OSError as exc:
            private.remove()
            raise StorageError(f"cannot write a private botpress home: {exc.strerror}") from None
        return private

    def remove(self) -> None:
        """Remove the private home, then ``.exec`` if it is the last one."""
        _remove_tree(self.run)
        os.close(self.lock)
        if self.swept is not None:
            sweep_private_homes(self.swept)


def _open_private_homes(home: Path) -> int:
    """``home/.exec`` (made 0700 if needed), open and locked shared: no sweep can remove it,
    nor see a private home half made in it, until it is closed."""
    path = home / PRIVATE_HOMES
    for _ in range(100):
        if not home.is_dir():
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
        fd = os.open(path, _FOLDER_FLAGS)
        try:
            info = os.fstat(fd)
            if info.st_uid != os.geteuid():
                raise OSError(errno.EPERM, "it belongs to another user")
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.fchmod(fd, 0o700)
            fcntl.flock(fd, fcntl.LOCK_SH)
            if os.fstat(fd).st_nlink > 0:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # a sweep removed it (it was empty) while we waited: make it again
    raise OSError(errno.EAGAIN, "it keeps being removed")


def _new_run(where: Path | None) -> tuple[str, int]:
    """A new run folder in ``where`` (None: the temporary folder), and its lock, held."""
    import tempfile

    prefix = "bpshell-exec-" if where is None else f"{os.getpid()}-"
    run = os.path.abspath(tempfile.mkdtemp(prefix=prefix, dir=where))
    try:
        lock = os.open(
            os.path.join(run, PRIVATE_MARK),
            os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            raise
    except OSError:
        _remove_tree(run)
        raise
    return run, lock


def _remove_tree(path: str, dir_fd: int | None = None) -> None:
    """``shutil.rmtree``, imported here: config.json's writes import this module, and shutil
    costs ~2 ms of ``-X importtime`` that no write needs."""
    import shutil

    shutil.rmtree(path, ignore_errors=True, dir_fd=dir_fd)


def _write_cache(home: str, variables: Mapping[str, str]) -> None:
    from bpshell.official import CACHE_FILE

    cache = {
        "apiUrl": variables["BP_API_URL"],
        "token": variables["BP_TOKEN"],
        "workspaceId": variables["BP_WORKSPACE_ID"],
    }
    fd = os.open(
        os.path.join(home, CACHE_FILE),
        os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
    )
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(cache, handle)


def sweep_private_homes(home: Path) -> list[str]:
    """Remove the private homes in ``home/.exec`` whose ``bp exec`` is gone (only SIGKILL
    skips its clean-up), then ``.exec`` once empty; the paths removed.

    A home is gone when its lock can be taken, or it has none (killed while making it: no one
    is making one while the sweep holds ``.exec``). Only folders of this user are removed,
    never through a symlink; busy or odd, it is left for the next sweep. Never raises.
    """
    folder = home / PRIVATE_HOMES
    try:
        fd = os.open(folder, _FOLDER_FLAGS)
    except OSError:
        return []
    removed: list[str] = []
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            return []
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for name in os.listdir(fd):
            if _abandoned(fd, name):
                _remove_tree(name, fd)
                removed.append(str(folder / name))
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # only once empty
    except OSError:  # BlockingIOError: a bp exec is making its home; the next run sweeps
        pass
    finally:
        os.close(fd)
    return removed


def _abandoned(parent: int, name: str) -> bool:
    """Whether the entry ``name`` of ``.exec`` is a private home of ours whose run is gone."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return False
        run = os.open(name, _FOLDER_FLAGS, dir_fd=parent)
    except OSError:
        return False
    try:
        lock = os.open(PRIVATE_MARK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=run)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    finally:
        os.close(run)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its bp exec holds it: alive
    finally:
        os.close(lock)
    return True
