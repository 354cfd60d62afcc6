"""The installed official CLI's commands and flags, read once from its own help and cached.

The shell reads them in the background (:func:`load_catalog`, never on a keystroke): ``bp
--help``, then ``bp COMMAND --help`` for each command and ``bp GROUP COMMAND --help`` for
each member of a group, at most :data:`CONCURRENCY` at a time, each bounded in time and
output, none with credentials in its environment, each in a session of its own (a Ctrl-C
meant for a command never reaches it). A complete reading is kept in
``<home>/cache/official-help.<version>.json`` (0600), so it is done once per installed
version; the version is the one in the package.json of ``@botpress/cli`` beside the program
that the lookup found (else what its ``--version`` says, and nothing is cached when neither
says). That file is read as untrusted input (:mod:`bpshell.official.helptext`): a private
regular file of this user's, at most :data:`MAX_CACHE_BYTES`, each entry checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bpshell.cache import CACHE_DIR, open_private
from bpshell.commands import COMMANDS, GROUPS
from bpshell.official.helptext import (
    MAX_HELP_CHARS,
    VERSION,
    Catalog,
    Entry,
    OfficialCommand,
    catalog_from_json,
    catalog_to_json,
    parse_help,
)

CACHE_PREFIX = "official-help."
MAX_CACHE_BYTES = 256 * 1024
MAX_PACKAGE_BYTES = 64 * 1024
HELP_TIMEOUT_S = 20.0
CONCURRENCY = 2
PACKAGE = "@botpress/cli"
# bpshell's own words win: the official CLI's login, logout (and profiles) are never offered.
OURS = frozenset({c.path[0] for c in COMMANDS} | set(GROUPS) | {"help", "exit", "quit", "clear"})


def catalog_path(home: Path, version: str) -> Path:
    """Where the catalog of ``version`` (a checked version string) is kept."""
    return home / CACHE_DIR / f"{CACHE_PREFIX}{version}.json"


def installed_version(command: Sequence[str]) -> str | None:
    """The version of ``@botpress/cli`` that ``command`` runs, from its package.json (the
    program, or the script given to node, is in the package's folder or one below it)."""
    for part in command:
        if os.sep not in part:
            continue
        folder = os.path.dirname(os.path.realpath(part))
        for _ in range(3):
            version = _package_version(os.path.join(folder, "package.json"))
            if version is not None:
                return version
            folder = os.path.dirname(folder)
    return None


def _package_version(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(MAX_PACKAGE_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("name") != PACKAGE:
        return None
    version = data.get("version")
    return version if isinstance(version, str) and VERSION.fullmatch(version) else None


def read_catalog(home: Path, version: str) -> Catalog | None:
    """The cached catalog of ``version``, or None (none, or not one to trust)."""
    if not VERSION.fullmatch(version):
        return None
    try:
        with os.fdopen(open_private(catalog_path(home, version)), "rb") as handle:
            raw = handle.read(MAX_CACHE_BYTES + 1)
        if len(raw) > MAX_CACHE_BYTES:
            return None
        found = catalog_from_json(json.loads(raw), version)
    except (OSError, ValueError, RecursionError):
        return None
    if found is None:
        return None
    return Catalog(version, tuple(c for c in found.commands if not OURS & {c.name, *c.aliases}))


def write_catalog(home: Path, catalog: Catalog) -> None:
    """Keep ``catalog`` for its version, atomically; failures are ignored (it is a cache)."""
    if not VERSION.fullmatch(catalog.version):
        return
    folder = home / CACHE_DIR
    tmp = folder / f".{CACHE_PREFIX}{os.getpid()}.{secrets.token_hex(4)}.tmp"
    data = json.dumps(catalog_to_json(catalog), ensure_ascii=False).encode()
    if len(data) > MAX_CACHE_BYTES:
        return
    with contextlib.suppress(OSError):
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, catalog_path(home, catalog.version))
    with contextlib.suppress(OSError):
        tmp.unlink()


def cached_catalog(home: Path, command: Sequence[str]) -> Catalog | None:
    """The cached catalog of the official CLI ``command`` runs, when its version is known
    without running it: a few small reads, for deciding what a typed word is."""
    version = installed_version(command)
    return read_catalog(home, version) if version is not None else None


async def load_catalog(home: Path, environ: Mapping[str, str], cwd: Path | None) -> Catalog | None:
    """The catalog of the official CLI the lookup finds from ``cwd``: from the cache, else
    read from its help (and cached when the reading was complete); None without one."""
    import anyio

    from bpshell.errors import BpError
    from bpshell.official.delegation import look_for_official_cli

    try:
        command = look_for_official_cli(environ, cwd).command
    except BpError:  # a BP_OFFICIAL_CLI that cannot be run: delegation says why
        return None
    if command is None:
        return None
    version = installed_version(command) or await _version(command, environ)
    if version is not None:
        cached = await anyio.to_thread.run_sync(read_catalog, home, version)
        if cached is not None:
            return cached
    catalog, complete = await build_catalog(command, version or "", environ)
    if catalog is not None and complete and version is not None:
        await anyio.to_thread.run_sync(write_catalog, home, catalog)
    return catalog


async def _version(command: Sequence[str], environ: Mapping[str, str]) -> str | None:
    output = await run_help(command, ["--version"], environ)
    first = (output or "").strip().splitlines()[:1]
    version = first[0].strip().removeprefix("v") if first else ""
    return version if VERSION.fullmatch(version) else None


async def build_catalog(
    command: Sequence[str], version: str, environ: Mapping[str, str]
) -> tuple[Catalog | None, bool]:
    """The catalog read from the help of ``command``, and whether every help was read."""
    import anyio

    top = await run_help(command, ["--help"], environ)
    if top is None:
        return None, False
    entries = [
        e for e in parse_help(top).commands if len(e[0]) == 1 and not OURS & {e[0][0], *e[3]}
    ]
    read = await _commands(command, entries, environ, anyio.CapacityLimiter(CONCURRENCY))
    commands = tuple(
        found or OfficialCommand(path[0], summary, aliases, args)
        for found, (path, args, summary, aliases) in zip(read, entries, strict=True)
    )
    return Catalog(version, commands), all(found is not None for found in read)


async def _commands(
    command: Sequence[str], entries: Sequence[Entry], environ: Mapping[str, str], limiter: Any
) -> list[OfficialCommand | None]:
    """Each entry's command read from its help, concurrently, in the order of ``entries``."""
    import anyio

    read: list[OfficialCommand | None] = [None] * len(entries)

    async def one(index: int) -> None:
        read[index] = await _command(command, entries[index], environ, limiter)

    async with anyio.create_task_group() as group:
        for index in range(len(entries)):
            group.start_soon(one, index)
    return read


async def _command(
    command: Sequence[str], entry: Entry, environ: Mapping[str, str], limiter: Any
) -> OfficialCommand | None:
    """One command from its help, a group with its members; None when a help failed."""
    path, args, summary, aliases = entry
    async with limiter:
        output = await run_help(command, [*path, "--help"], environ)
    if output is None:
        return None
    found = parse_help(output)
    members = [e for e in found.commands if len(e[0]) == len(path) + 1 and e[0][:-1] == path]
    if not members or len(path) > 1:
        return OfficialCommand(path[-1], summary, aliases, args, found.flags)
    read = await _commands(command, members, environ, limiter)
    if any(member is None for member in read):
        return None
    subs = tuple(member for member in read if member is not None)
    return OfficialCommand(path[-1], summary, aliases, args, found.flags, subs)


def help_environ(environ: Mapping[str, str], program: str) -> dict[str, str]:
    """The environment of a help run: no credentials, no colours, the loop mark."""
    from bpshell.official.delegation import DELEGATING

    clean = {k: v for k, v in environ.items() if not k.startswith("BP_")}
    clean.update(NO_COLOR="1", FORCE_COLOR="0")
    clean[DELEGATING] = program
    return clean


async def run_help(
    command: Sequence[str], words: Sequence[str], environ: Mapping[str, str]
) -> str | None:
    """What ``command WORDS`` prints on stdout, or None (it failed, took longer than
    :data:`HELP_TIMEOUT_S`, or printed more than :data:`MAX_HELP_CHARS`)."""
    import asyncio
    import signal
    import subprocess

    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            *words,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=help_environ(environ, command[0]),
            start_new_session=True,
        )
    except OSError:
        return None
    output: bytes | None = None
    try:
        async with asyncio.timeout(HELP_TIMEOUT_S):
            output = await _read_at_most(process.stdout, MAX_HELP_CHARS)
            if output is not None:
                await process.wait()
    except TimeoutError:
        output = None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    await process.wait()  # at once, after a kill; and its pipes are closed
    if output is None or process.returncode != 0:
        return None
    return output.decode("utf-8", "replace")


async def _read_at_most(stream: object, limit: int) -> bytes | None:
    import asyncio

    assert isinstance(stream, asyncio.StreamReader)
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(65536):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
