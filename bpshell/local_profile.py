"""``.bp-profile``: the profile a folder and the folders below it use, as pyenv's
``.python-version`` picks a Python.

``bp profiles use --local NAME`` writes NAME in ``.bp-profile`` of the working folder. A
command that is given no profile (``-p``, ``BP_PROFILE``) looks for the file from its working
folder upward and uses the profile it names instead of the active one, so that ``cd prod-bot
&& bp deploy`` uses prod while other terminals keep theirs. The search ends at the home folder
(whose own ``.bp-profile`` counts: what is above the home is not the user's), at the root, and
where the file system changes (a mount: another disk, a network share, a container volume,
whose folders above are not this project's), as git's discovery and npm's prefix search do.

The file is untrusted input (a cloned repository, a shared folder), and whoever can change it
picks which of the user's tokens commands here send. It is used only when it is a small
regular file (never a symlink, a FIFO or a device: those are refused without being opened or
followed) that belongs to this user or root, that no one else can write, in a folder that
no one else can write to (a sticky one aside) or owns, and that holds one valid profile name
and nothing else. Anything else is a :class:`~bpshell.errors.ConfigError`
naming the file and the fix; a name that is no profile is
:class:`~bpshell.errors.ProfileNotFoundError` (:func:`bpshell.profiles.resolve`). Never a
silent fall-back to the active profile. The search and the read take plain ``os`` paths and
load neither ``pathlib`` nor ``typing`` (see :mod:`bpshell.records`): completion reads the
file on every Tab, and offline commands on every run.
"""

from __future__ import annotations

import errno
import os
import re
import stat

from bpshell.errors import BpError, ConfigError, StorageError
from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from bpshell.cache import Place
    from bpshell.commands import GlobalOptions
    from bpshell.env import Env

FILE_NAME = ".bp-profile"
LOCAL = "local"  # GlobalOptions.profile_source of a profile named by the file
MAX_BYTES = 1024
# bpshell.config has the same rules (a test keeps them equal); importing it loads pydantic.
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
TOKEN_LIKE = re.compile(r"bp_(?:pat|bak|iak)_")
NAME_RULE = 'one profile name: 1-64 letters, digits, ".", "_" or "-"'
_NO_WAIT = os.O_NONBLOCK | os.O_NOCTTY  # a FIFO or a device that slipped in is never waited on
_WHOEVER = "and whoever can change it picks the profile (and the token) bp uses here"
NAME_IT = "choose the profile with -p NAME or BP_PROFILE here"  # the file is not read then

Stamp = tuple[int, int, int]


class DirectoryProfile(Record):
    """The profile a ``.bp-profile`` names, where the file is, and what changes when it does."""

    name: str
    path: str
    stamp: Stamp


def top_of(environ: Mapping[str, str]) -> str:
    """The highest folder searched by default: the home folder."""
    return environ.get("HOME") or os.path.expanduser("~")


def find(start: Place | None, top: Place | None) -> DirectoryProfile | None:
    """The ``.bp-profile`` in force in ``start`` (None: the working folder): the first one from
    there up to ``top`` (its own counts) on the file system ``start`` is on; None when there is
    none. Raises :class:`ConfigError` for a file found that may not be used, and for a
    folder that cannot be read (removed under the shell): a file above it may pick another
    profile, so falling back to the active one would be a guess."""
    try:
        here = os.path.abspath(start if start is not None else os.getcwd())
        device = os.stat(here).st_dev
    except OSError as exc:
        raise ConfigError(
            f"cannot read the working folder to look for a {FILE_NAME}: {exc.strerror}",
            f"change to a folder that exists, or {NAME_IT}",
        ) from None
    try:
        ceiling = _identity(top) if top is not None else None
    except OSError:  # no such home (HOME=/nonexistent): the search ends at the edges only
        ceiling = None
    folder = here
    while True:
        try:
            found = _read(os.path.join(folder, FILE_NAME), here)
        except _Hidden:
            return None
        if found is not None:
            return found
        parent = os.path.dirname(folder)
        try:
            if _identity(folder) == ceiling or parent == folder:
                return None
            if os.stat(parent).st_dev != device:
                return None
        except OSError:
            return None
        folder = parent


def in_force(env: Env) -> DirectoryProfile | None:
    """:func:`find` for ``env``: from its folder (``env.cwd``) up to ``env.local_top`` or home."""
    return find(env.cwd, env.local_top or top_of(env.environ))


def apply(opts: GlobalOptions, env: Env) -> GlobalOptions:
    """``opts`` with the profile of the folder's ``.bp-profile``, unless a profile is named
    already (``-p``, ``BP_PROFILE``, the shell's pin): those win, and the file is not read."""
    if opts.profile:
        return opts
    found = in_force(env)
    if found is None:
        return opts
    return opts._replace(profile=found.name, profile_source=LOCAL, profile_file=str(found.path))


def quietly(env: Env) -> tuple[DirectoryProfile | None, BpError | None]:
    """:func:`in_force`, its refusal returned instead of raised (for a list, a toolbar)."""
    try:
        return in_force(env), None
    except BpError as error:
        return None, error


def folder_of(env: Env) -> Path:
    """The folder ``--local`` writes in: ``env.cwd``, or the working folder."""
    from pathlib import Path

    try:
        return env.cwd if env.cwd is not None else Path.cwd()
    except OSError as exc:
        raise StorageError(
            f"cannot find the working folder: {exc.strerror}", "change to a folder that exists"
        ) from None


class _Hidden(Exception):
    """A folder the search cannot look into: it ends there (nothing above is visible)."""


def _identity(path: Place) -> tuple[int, int]:
    info = os.stat(path)
    return (info.st_dev, info.st_ino)


def _read(path: str, start: str) -> DirectoryProfile | None:
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        raise _Hidden() from None
    _check(path, info, start)
    unsafe = _unsafe_folder(os.path.dirname(path))
    if unsafe is not None:
        why, fix = unsafe
        raise _refused(path, f"{why}, {_WHOEVER}", f"{fix}; or {_remove(path, start)}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | _NO_WAIT)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # replaced meanwhile by a link, a socket
            raise _refused(path, "it is not a regular file", _replace(path, start)) from None
        raise ConfigError(
            f"cannot read {_shown(path)}: {exc.strerror}", _replace(path, start), path
        ) from None
    with open(fd, "rb") as handle:
        opened = os.fstat(fd)
        _check(path, opened, start)  # the file read is the one checked, not a swapped one
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _too_big(path, start)
    stamp = (opened.st_mtime_ns, opened.st_size, opened.st_ino)
    return DirectoryProfile(_name(raw, path, start), path, stamp)


def _check(path: str, info: os.stat_result, start: str) -> None:
    mode = info.st_mode
    if not stat.S_ISREG(mode):
        hint = _replace(path, start, folder=stat.S_ISDIR(mode))
        raise _refused(path, f"it is {_kind(mode)}, not a regular file", hint)
    me = os.geteuid()
    if info.st_uid not in (me, 0):
        sudo = "" if me == 0 else "sudo "
        raise _refused(
            path,
            f"it belongs to {_user(info.st_uid)}, {_WHOEVER}",
            f"if you trust it, run: {sudo}chown {_user(me, bare=True)} {_quoted(path)}; "
            f"or {_remove(path, start)}",
        )
    if mode & 0o022:
        fix = f"if you trust its content, run: chmod 644 {_quoted(path)}"
        if info.st_uid != me and me != 0:  # root's file: chmod needs sudo, which few have
            fix = f"if you trust its content, run: sudo chmod 644 {_quoted(path)}; or "
            fix += _remove(path, start)
        raise _refused(
            path, f"other users can change it (mode {stat.S_IMODE(mode):04o}), {_WHOEVER}", fix
        )
    if info.st_size > MAX_BYTES:
        raise _too_big(path, start)


def _unsafe_folder(folder: Place) -> tuple[str, str] | None:
    """Why the file in ``folder`` could be swapped or removed by another user, and the fix;
    None when it cannot. Whoever can write a folder can replace the files in it, whatever
    their own mode and owner, unless it is sticky (as /tmp): a rename needs the file's owner
    then. The group's write is allowed: with a umask of 002 every folder has it, and the
    user's own group is the usual one."""
    try:
        info = os.stat(folder)
    except OSError:  # the file's own checks and read say what is wrong
        return None
    me = os.geteuid()
    if info.st_uid not in (me, 0):
        sudo = "" if me == 0 else "sudo "
        return (
            f"its folder belongs to {_user(info.st_uid)}, who can replace it",
            f"if you trust that user, run: {sudo}chown {_user(me, bare=True)} {_quoted(folder)}",
        )
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        return (
            f"other users can change its folder (mode {stat.S_IMODE(info.st_mode):04o}), so "
            "they can replace it",
            f"if you trust that folder, run: chmod o-w {_quoted(folder)}",
        )
    return None


def _user(uid: int, bare: bool = False) -> str:
    from bpshell.config import user_name

    return user_name(uid, bare)


def _name(raw: bytes, path: str, start: str) -> str:
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        text = None
    if text is not None and TOKEN_LIKE.search(text):
        raise ConfigError(
            f"{_shown(path)} holds what looks like a token, not a profile name; bp did not "
            "use it or show it",
            f"a .bp-profile must never hold a credential; {_remove(path, start)}, and revoke "
            "that token if the file was shared",
            path,
        )
    name = text.strip() if text is not None else ""
    if NAME_RE.fullmatch(name):
        return name
    if text is None:
        reads = "it is not UTF-8 text"
    elif not name:
        reads = "it is empty"
    else:
        reads = f"it reads {_quote(name)}"
    raise ConfigError(
        f"{_shown(path)} does not hold a profile name ({reads})",
        f"it must hold {NAME_RULE}; {_rewrite(path, start)}",
        path,
    )


def _refused(path: Place, why: str, hint: str) -> ConfigError:
    return ConfigError(f"refusing to use {_shown(path)}: {why}", hint, str(path))


def _too_big(path: str, start: str) -> ConfigError:
    return _refused(
        path,
        f"it is larger than {MAX_BYTES} bytes, and a .bp-profile holds only a profile name",
        _replace(path, start),
    )


def _here(path: str, start: str) -> bool:
    return os.path.dirname(path) == start


def _remove(path: str, start: str) -> str:
    """``remove it: COMMAND``; where this user cannot remove the file, naming the profile."""
    command = _removal(path, start)
    return f"remove it: {command}" if command is not None else NAME_IT


def _removal(path: str, start: str) -> str | None:
    """The command that removes the file (``--local --unset`` works in its own folder only);
    None when this user may not remove it."""
    if not _removable(path):
        return None
    return "bp profiles use --local --unset" if _here(path, start) else f"rm {_quoted(path)}"


def _removable(path: str) -> bool:
    """Whether this user may remove ``path``: write access to its folder and, in a sticky
    folder (as /tmp), owning the file or the folder. Anything unknown counts as yes: the
    command then says itself what is wrong."""
    me = os.geteuid()
    folder = os.path.dirname(path)
    try:
        info = os.stat(folder)
        owner = os.lstat(path).st_uid
    except OSError:
        return True
    if me == 0:
        return True
    if not os.access(folder, os.W_OK | os.X_OK, effective_ids=True):
        return False
    return not info.st_mode & stat.S_ISVTX or me in (info.st_uid, owner)


def stop_using(path: str, env: Env) -> str:
    """How to stop ``path``, a ``.bp-profile`` found from ``env``'s folder, from being used:
    the command that removes it, or naming the profile where this user may not remove it."""
    command = _removal(path, _start(env))
    return f"stop using the file: {command}" if command is not None else NAME_IT


def still_names(env: Env, old: str, new: str | None) -> str | None:
    """A hint when the ``.bp-profile`` in force from ``env``'s folder names ``old``, a profile
    just renamed to ``new`` (None: removed); None otherwise. The file is the user's (often
    committed with a project), so bp says how to change it rather than changing it."""
    found, _ = quietly(env)
    if found is None or found.name != old:
        return None
    from bpshell.render import clean

    path, start = found.path, _start(env)
    said = f'{_shown(path)} still names "{clean(old)}"'
    if not _removable(path):  # nor can this user rewrite it
        return f"{said}; {NAME_IT}" if new is not None else f"{said}, so {NAME_IT}"
    if new is not None:
        return f"{said}; follow the rename with: {_local(path, start, new)}"
    return (
        f"{said}, so commands here will fail; choose another with: "
        f"{_local(path, start, 'NAME')}, or {_remove(path, start)}"
    )


def _start(env: Env) -> str:
    try:
        return os.path.abspath(env.cwd if env.cwd is not None else os.getcwd())
    except OSError:
        return ""


def _local(path: str, start: str, name: str) -> str:
    """``bp profiles use --local NAME`` for the file at ``path``: it writes in the working
    folder, so from another one it runs in the file's, in a subshell (the user's shell stays
    where it is; ``bp shell``'s wording leaves such a line as it is)."""
    command = f"bp profiles use --local {name}"
    if _here(path, start):
        return command
    return f"(cd {_quoted(os.path.dirname(path))} && {command})"


def _replace(path: str, start: str, folder: bool = False) -> str:
    if not _removable(path):  # nor move it, nor replace it
        return NAME_IT
    if folder:
        return _move_away(path)
    if _here(path, start):
        return (
            "replace it with: bp profiles use --local NAME (or remove it: bp profiles use "
            "--local --unset)"
        )
    return f"remove it: rm {_quoted(path)}"


def _move_away(path: Place) -> str:
    beside = os.path.join(os.path.dirname(path), FILE_NAME + ".bad")
    return f"move it away: mv {_quoted(path)} {_quoted(beside)}"


def _rewrite(path: str, start: str) -> str:
    if not _removable(path):
        return NAME_IT
    if _here(path, start):
        return "write one with: bp profiles use --local NAME"
    return f"fix it, or {_remove(path, start)}"


def write(folder: Path, name: str) -> Path:
    """Write ``name`` as ``folder``'s ``.bp-profile``, atomically (a temporary file renamed over
    it: a symlink or a FIFO there is replaced, never followed), 0644 whatever the umask."""
    path = folder / FILE_NAME
    unsafe = _unsafe_folder(folder)
    if unsafe is not None:  # it would be refused at every use
        why, fix = unsafe
        raise ConfigError(
            f"refusing to write {_shown(path)}: {why}, {_WHOEVER}; nothing was written",
            f"{fix}, or {NAME_IT}",
        )
    from bpshell.atomic import replace_file

    try:
        replace_file(path, f"{name}\n".encode(), 0o644)
    except OSError as exc:
        moved = f"; {_move_away(path)}" if exc.errno == errno.EISDIR else ""
        raise StorageError(
            f"cannot write {_shown(path)}: {exc.strerror}", f"nothing was changed{moved}"
        ) from None
    return path


def remove(folder: Path) -> Path | None:
    """Remove ``folder``'s ``.bp-profile`` (whatever kind of file it is, but a folder, and
    whoever it belongs to: removing it is what a refusal advises); None when there is none."""
    path = folder / FILE_NAME
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot remove {_shown(path)}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise StorageError(
            f"{_shown(path)} is a folder, not a file bp wrote; it was left as it is",
            _move_away(path),
        )
    try:
        os.unlink(path)
    except OSError as exc:
        raise StorageError(f"cannot remove {_shown(path)}: {exc.strerror}") from None
    return path


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _shown(path: Place) -> str:
    from bpshell.render import clean

    return clean(str(path))


def _quoted(path: Place) -> str:
    from bpshell.render import shell_word  # not at import: completion reads this module

    return shell_word(path)


def _quote(text: str) -> str:
    from bpshell.render import clean

    cut = text[:40] + ("…" if len(text) > 40 else "")
    return f'"{clean(cut)}"'
