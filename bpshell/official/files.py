"""The official CLI's ``profiles.json`` and ``global.cache.json`` imported as bpshell profiles.

Every entry is checked like bpshell's own input, and a bad one is skipped with its reason.
Tokens go to the keyring where one works. The files are only read, except by
``bp profiles import --move`` (:func:`move_tokens`): once the import is committed, it removes
from them the token fields, and only those, whose tokens bpshell's profiles hold (read back
from the store, under config.json's lock); everything else in them stays as it was, with the
same permissions, replaced atomically. A symlink, a file of another user or one that changed
meanwhile is left alone. So a failed import removes nothing, and whatever stops the move, each
token is in both places or in bpshell's store, never in neither.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bpshell.commands import GlobalOptions
from bpshell.commands.table import ImportOptions
from bpshell.config import (
    DEFAULT_API_URL,
    DEFAULT_PROFILE,
    Profile,
    check_api_url,
    check_profile_name,
    check_token,
    check_workspace_id,
)
from bpshell.env import Env
from bpshell.errors import BpError, ExitStatus, UsageError
from bpshell.official import CACHE_FILE, OFFICIAL_FILES, PROFILES_FILE, official_files
from bpshell.render import Result, clean

if TYPE_CHECKING:
    from bpshell.tokens import Storage

MAX_OFFICIAL_BYTES = 1 << 20


class Found(NamedTuple):
    """A valid set of credentials in one of the official CLI's files."""

    name: str
    api_url: str
    workspace_id: str
    token: str
    source: str

    def __repr__(self) -> str:
        return f"Found(name={self.name!r}, source={self.source!r}, token=...)"


class Skipped(NamedTuple):
    """An entry that was not imported, and why."""

    name: str | None
    source: str
    reason: str


class OfficialState(NamedTuple):
    """What the official CLI's files hold: valid entries, rejected ones, and the login."""

    found: tuple[Found, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    logged_in_as: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing at all to import or to report."""
        return not self.found and not self.skipped


class ImportReport(NamedTuple):
    """The outcome of an import."""

    added: tuple[tuple[Found, Storage], ...]
    skipped: tuple[Skipped, ...]
    active: str | None


def read_official(home: Path) -> OfficialState:
    """Parse and check the official CLI's files in ``home``; never writes or raises."""
    found: dict[str, Found] = {}
    skipped: list[Skipped] = []
    profiles = _load(home / PROFILES_FILE, skipped)
    for name, entry in (profiles or {}).items():
        checked = _check(name, entry, PROFILES_FILE)
        if isinstance(checked, Found):
            found[name] = checked
        elif checked is not None:
            skipped.append(checked)
    cache = _load(home / CACHE_FILE, skipped) or {}
    active = cache.get("activeProfile")
    name = active if isinstance(active, str) and active else DEFAULT_PROFILE
    logged_in = bool(cache.get("token"))
    if logged_in and name not in found:
        checked = _check(name, cache, CACHE_FILE)
        if isinstance(checked, Found):
            found[name] = checked
        elif checked is not None:
            skipped.append(checked)
    return OfficialState(
        tuple(found.values()), tuple(skipped), name if logged_in and name in found else None
    )


def _load(path: Path, skipped: list[Skipped]) -> dict[str, Any] | None:
    try:
        raw = _read(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        skipped.append(Skipped(None, path.name, f"cannot read it: {exc.strerror}"))
        return None
    try:
        data = json.loads(raw) if len(raw) <= MAX_OFFICIAL_BYTES else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        skipped.append(Skipped(None, path.name, "not a JSON object"))
        return None
    return data


def _read(path: Path) -> bytes:
    """The file's bytes (one past the bound at most); OSError when it cannot be read or is no
    regular file (a FIFO in its place is never waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
        return handle.read(MAX_OFFICIAL_BYTES + 1)


def _check(name: str, entry: object, source: str) -> Found | Skipped | None:
    if not isinstance(entry, dict):
        return Skipped(clean(name), source, "not a JSON object")
    token, workspace_id = entry.get("token"), entry.get("workspaceId")
    api_url = entry.get("apiUrl") or DEFAULT_API_URL
    if not token and not workspace_id:
        return None
    try:
        check_profile_name(name)
        if not isinstance(token, str) or not token:
            raise UsageError("no token")
        check_token(token)
        if not isinstance(workspace_id, str) or not workspace_id:
            raise UsageError("no workspace ID")
        check_workspace_id(workspace_id)
        if not isinstance(api_url, str):
            raise UsageError("invalid API URL")
        api_url = check_api_url(api_url)
    except UsageError as exc:
        return Skipped(clean(name), source, exc.message)
    return Found(name, api_url, workspace_id, token, source)


async def import_official(env: Env) -> ImportReport:
    """Add every valid official entry that is not already a bpshell profile."""
    state = read_official(env.home)
    existing = env.config.load().profiles
    skipped = list(state.skipped)
    fresh: list[Found] = []
    for entry in state.found:
        if entry.name in existing:
            skipped.append(Skipped(entry.name, entry.source, "a bpshell profile has that name"))
        else:
            fresh.append(entry)
    from bpshell.credentials import unit

    added: list[tuple[Found, Storage]] = []
    active: str | None = None
    async with unit(env) as change:
        config = change.config
        for entry in fresh:
            if entry.name in config.profiles:  # made by another bp meanwhile
                skipped.append(Skipped(entry.name, entry.source, "a bpshell profile has that name"))
                continue
            key = await change.put(entry.name, entry.token)
            config.profiles[entry.name] = Profile(
                apiUrl=entry.api_url,
                workspaceId=entry.workspace_id,
                token=entry.token if key is None else None,
                tokenKey=key,
            )
            added.append((entry, "file" if key is None else "keyring"))
        names = {e.name for e, _ in added}
        if config.active() is None and state.logged_in_as in names:
            config.activeProfile = active = state.logged_in_as
    return ImportReport(tuple(added), tuple(skipped), active)


def _report_lines(report: ImportReport) -> list[str]:
    lines = []
    for entry, storage in report.added:
        where = "the keyring" if storage == "keyring" else "config.json (0600)"
        lines.append(
            f'Imported profile "{entry.name}" ({entry.workspace_id}, {clean(entry.api_url)}) '
            f"from {entry.source}; its token is in {where}"
        )
    for skip in report.skipped:
        what = f'profile "{skip.name}"' if skip.name is not None else "the file"
        lines.append(f"Skipped {what} of {skip.source}: {clean(skip.reason)}")
    if report.active:
        lines.append(f'Active profile is now "{report.active}"')
    return lines


async def run_import(options: ImportOptions, opts: GlobalOptions, env: Env) -> Result:
    """``bp profiles import``: import the official CLI's profiles now; report each one. With
    ``--move``, then remove from its files the tokens bpshell now holds."""
    files = official_files(env.home)
    nothing: dict[str, Any] = {"added": [], "skipped": [], "activeProfile": None}
    if options.move:
        nothing.update(moved=[], kept=[])
    if not files:
        env.err(
            f"No files of the official Botpress CLI in {env.home} "
            f"({PROFILES_FILE}, {CACHE_FILE}); nothing to import."
        )
        return Result(nothing, "")
    from bpshell.official.homes import is_private_home

    if is_private_home(env.home):
        env.err(
            f"{env.home} is the private home of a bp exec, whose credentials are in its "
            "environment (BP_TOKEN, BP_WORKSPACE_ID, BP_API_URL); nothing to import."
        )
        return Result(nothing, "")
    report = await import_official(env)
    env.config.create()  # done now: the next command need not try again
    if not report.added and not report.skipped:
        env.err(f"The official Botpress CLI is logged out in {env.home}; nothing to import.")
    data: dict[str, Any] = {
        "added": [
            {
                "profile": e.name,
                "workspaceId": e.workspace_id,
                "apiUrl": e.api_url,
                "source": e.source,
                "tokenStorage": s,
            }
            for e, s in report.added
        ],
        "skipped": [
            {"profile": s.name, "source": s.source, "reason": s.reason} for s in report.skipped
        ],
        "activeProfile": report.active,
    }
    lines = _report_lines(report)
    if not options.move:
        if report.added:
            env.err(_plain_text_note(files))
        return Result(data, "\n".join(lines))
    moved, kept = await move_tokens(env, report)
    data["moved"] = [{"profile": m.name, "source": m.source} for m in moved]
    data["kept"] = [{"profile": k.name, "source": k.source, "reason": k.reason} for k in kept]
    lines += _move_lines(env.home, moved, kept)
    if moved:
        env.err(
            "note: the official CLI now gets credentials from bp only: run it as "
            "bp exec -- bp deploy, or run bp deploy (bp hands it over)"
        )
    return Result(data, "\n".join(lines), ExitStatus.FAILURE if kept else ExitStatus.OK)


def _plain_text_note(files: Sequence[Path]) -> str:
    names = " and ".join(str(f) for f in files)
    return (
        f"note: the official CLI keeps these tokens in plain text in {names}; "
        "bpshell leaves its files as they are (bp profiles import --move removes them there)"
    )


def _move_lines(home: Path, moved: Sequence[Moved], kept: Sequence[Kept]) -> list[str]:
    lines = []
    for source in OFFICIAL_FILES:
        names = [f'"{clean(m.name)}"' for m in moved if m.source == source]
        if names:
            plural = "s" * (len(names) != 1)
            lines.append(
                f"Removed the token{plural} of profile{plural} {', '.join(names)} from "
                f"{home / source} (the rest of it is unchanged)"
            )
    for keep in kept:
        what = f'the token of profile "{clean(keep.name)}"' if keep.name else "the tokens"
        lines.append(f"Kept {what} in {home / keep.source}: {clean(keep.reason)}")
    return lines


class Moved(NamedTuple):
    """A token removed from one of the official CLI's files: bpshell holds it."""

    name: str
    source: str


class Kept(NamedTuple):
    """A token left in one of the official CLI's files, and why."""

    name: str | None
    source: str
    reason: str


def plain_tokens(home: Path) -> list[tuple[Path, list[tuple[str, str]]]]:
    """Each of the official CLI's files in ``home`` that holds tokens, with its (profile,
    token) pairs (``global.cache.json``'s is its active profile's)."""
    found = []
    for source in OFFICIAL_FILES:
        data = _load(home / source, [])
        entries = _token_entries(source, data) if data else []
        if entries:
            found.append((home / source, entries))
    return found


def _token_entries(source: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    if source == CACHE_FILE:
        token, active = data.get("token"), data.get("activeProfile")
        name = active if isinstance(active, str) and active else DEFAULT_PROFILE
        return [(name, token)] if isinstance(token, str) and token else []
    return [
        (name, entry["token"])
        for name, entry in data.items()
        if isinstance(entry, dict) and isinstance(entry.get("token"), str) and entry["token"]
    ]


async def move_tokens(env: Env, report: ImportReport) -> tuple[list[Moved], list[Kept]]:
    """After an import is committed: under config.json's lock (no logout can remove a profile
    meanwhile), remove from the official CLI's files each token some bpshell profile holds,
    as read back from its store now; say why each other one is kept."""
    skipped = {(s.source, s.name): s.reason for s in report.skipped}
    moved: list[Moved] = []
    kept: list[Kept] = []
    with env.config.transaction() as transaction:
        held, unreadable = await _held_tokens(transaction.config, env)
        for source in OFFICIAL_FILES:
            removed, left, refusal = _strip(env.home / source, held)
            moved += [Moved(name, source) for name in removed]
            for name in left:
                reason = refusal or unreadable.get(name) or skipped.get((source, name))
                if reason == THAT_NAME:
                    reason = f"{THAT_NAME}, with another token"
                kept.append(Kept(name, source, reason or "no bpshell profile holds this token"))
    return moved, kept


THAT_NAME = "a bpshell profile has that name"


async def _held_tokens(config: Any, env: Env) -> tuple[set[str], dict[str, str]]:
    """The tokens bpshell's profiles hold, read back from their stores, and why a profile's
    could not be read."""
    import anyio

    from bpshell.tokens import read_token

    held: set[str] = set()
    unreadable: dict[str, str] = {}

    async def read(name: str, profile: Profile) -> None:
        problems: list[str] = []
        token, _ = await read_token(env.keyring, name, profile, problems.append)
        if token is not None:
            held.add(token)
        elif problems:
            unreadable[name] = problems[0].removeprefix("warning: ")

    async with anyio.create_task_group() as group:
        for name, profile in config.profiles.items():
            group.start_soon(read, name, profile)
    return held, unreadable


def _strip(path: Path, held: set[str]) -> tuple[list[str], list[str], str | None]:
    """Remove from the file at ``path`` the token fields whose tokens are in ``held``: the
    profiles whose token went, those whose token stays, and why nothing could be changed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return [], [], None
    except OSError as exc:
        why = "it is a symlink" if exc.errno == errno.ELOOP else f"cannot read it: {exc.strerror}"
        return [], _names(path), f"{why}; bpshell changes only a regular file of yours"
    with open(fd, "rb") as handle:
        info = os.fstat(fd)
        raw = handle.read(MAX_OFFICIAL_BYTES + 1) if stat.S_ISREG(info.st_mode) else b""
    try:
        data = json.loads(raw) if 0 < len(raw) <= MAX_OFFICIAL_BYTES else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return [], [], None
    entries = _token_entries(path.name, data)
    if not entries:
        return [], [], None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        return [], [n for n, _ in entries], "it is not a regular file of yours"
    removed = [name for name, token in entries if token in held]
    left = [name for name, token in entries if token not in held]
    if not removed:
        return [], left, None
    if path.name == CACHE_FILE:
        data.pop("token")
    else:
        for entry in data.values():
            if isinstance(entry, dict) and entry.get("token") in held:
                entry.pop("token")
    all_names = [name for name, _ in entries]
    lines = b"\n" in raw.strip()  # as the official CLI writes it: indented by 2, or on one line
    text = json.dumps(
        data,
        ensure_ascii=False,
        indent=2 if lines else None,
        separators=None if lines else (",", ":"),
    )
    try:
        _replace(path, info, text + ("\n" if raw.endswith(b"\n") else ""))
    except _Changed:
        return [], all_names, "it changed while bpshell rewrote it; run the move again"
    except OSError as exc:
        return [], all_names, f"cannot rewrite it: {exc.strerror}"
    return removed, left, None


def _names(path: Path) -> list[str]:
    data = _load(path, [])
    return [name for name, _ in _token_entries(path.name, data)] if data else []


class _Changed(Exception):
    """The official file is no longer the one that was read."""


def _replace(path: Path, read: os.stat_result, text: str) -> None:
    """Put ``text`` in place of ``path`` atomically, with the mode it had; :class:`_Changed`
    when another program replaced or wrote it since it was ``read``."""
    from bpshell.atomic import replace_file

    def unchanged() -> None:
        now = os.lstat(path)
        same = (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns)
        if same != (read.st_dev, read.st_ino, read.st_size, read.st_mtime_ns):
            raise _Changed

    replace_file(path, text.encode("utf-8"), stat.S_IMODE(read.st_mode), check=unchanged)


async def import_on_first_run(env: Env) -> None:
    """Import once, before the first command of a home; never fails the command."""
    from bpshell.official.homes import is_private_home

    if is_private_home(env.home):  # its token is a bp exec's, not a login to import
        return
    state = read_official(env.home)
    if state.empty:
        return
    try:
        report = await import_official(env)
        env.config.create()
    except BpError as error:
        env.err(f"warning: could not import the official Botpress CLI's profiles: {error.message}")
        return
    except Exception as exc:  # a bug: the command the user asked for still runs
        env.err(f"warning: could not import the official Botpress CLI's profiles ({exc!r:.80})")
        return
    if report.added:
        env.err(
            f"Found a login of the official Botpress CLI in {env.home}; "
            "imported it (its files are unchanged):"
        )
    else:
        env.err(f"Found files of the official Botpress CLI in {env.home}; nothing was imported:")
    for line in _report_lines(report):
        env.err(f"  {line}")
    if report.added:
        env.err(_plain_text_note(official_files(env.home)))


def official_copies(home: Path, tokens: dict[str, str]) -> list[tuple[str, Path]]:
    """(profile, file) for each of ``tokens`` (profile -> token) that one of the official
    CLI's plain-text files in ``home`` still holds."""
    found: list[tuple[str, Path]] = []
    if not official_files(home):
        return found
    for path in (home / PROFILES_FILE, home / CACHE_FILE):
        data = _load(path, [])
        if not data:
            continue
        held = {data.get("token")} | {
            entry.get("token") for entry in data.values() if isinstance(entry, dict)
        }
        found += [(name, path) for name, token in tokens.items() if token in held]
    return found
