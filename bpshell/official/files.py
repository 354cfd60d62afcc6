"""The official CLI's ``profiles.json`` and ``global.cache.json`` imported as bpshell profiles.

Read only, never changed; every entry is checked like bpshell's own input, and a bad one is
skipped with its reason. Tokens go to the keyring where one works.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from bpshell.commands import GlobalOptions, NoOptions
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
from bpshell.errors import BpError, UsageError
from bpshell.render import Result, clean
from bpshell.tokens import Storage

PROFILES_FILE = "profiles.json"
CACHE_FILE = "global.cache.json"
OFFICIAL_FILES = (PROFILES_FILE, CACHE_FILE)
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


def official_files(home: Path) -> list[Path]:
    """The official CLI's files present in ``home`` (cheap: one ``stat`` each)."""
    return [home / name for name in OFFICIAL_FILES if os.path.isfile(home / name)]


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
        with open(path, "rb") as handle:
            raw = handle.read(MAX_OFFICIAL_BYTES + 1)
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


async def run_import(options: NoOptions, opts: GlobalOptions, env: Env) -> Result:
    """``bp profiles import``: import the official CLI's profiles now; report each one."""
    files = official_files(env.home)
    if not files:
        env.err(
            f"No files of the official Botpress CLI in {env.home} "
            f"({PROFILES_FILE}, {CACHE_FILE}); nothing to import."
        )
        return Result({"added": [], "skipped": [], "activeProfile": None}, "")
    from bpshell.official.homes import is_private_home

    if is_private_home(env.home):
        env.err(
            f"{env.home} is the private home of a bp exec, whose credentials are in its "
            "environment (BP_TOKEN, BP_WORKSPACE_ID, BP_API_URL); nothing to import."
        )
        return Result({"added": [], "skipped": [], "activeProfile": None}, "")
    report = await import_official(env)
    env.config.create()  # done now: the next command need not try again
    if not report.added and not report.skipped:
        env.err(f"The official Botpress CLI is logged out in {env.home}; nothing to import.")
    data = {
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
    if report.added:
        env.err(_plain_text_note(files))
    return Result(data, "\n".join(_report_lines(report)))


def _plain_text_note(files: Sequence[Path]) -> str:
    names = " and ".join(str(f) for f in files)
    return (
        f"note: the official CLI keeps these tokens in plain text in {names}; "
        "bpshell leaves its files as they are"
    )


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
