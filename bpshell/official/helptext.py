"""The official CLI's commands and flags, as its ``--help`` shows them (yargs' layout).

:func:`parse_help` reads one help text; :func:`catalog_from_json` turns a stored catalog back
into values. Both treat what they read as untrusted: every name must look like a command or a
flag (anything else is dropped), every text is stripped of control characters and cut to
:data:`MAX_TEXT`, and there are at most :data:`MAX_ENTRIES` commands (or flags) per level and
two levels. Pure functions, no I/O; the running of ``--help`` and the cache file are
:mod:`bpshell.official.catalog`'s job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 160
MAX_ENTRIES = 64
MAX_HELP_CHARS = 64 * 1024
FORMAT = 1
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
FLAG = re.compile(r"--?[A-Za-z][A-Za-z0-9_-]{0,39}")
VERSION = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6}){0,3}(?:[-+][A-Za-z0-9.-]{1,32})?")
_VALUE_TYPES = ("[string]", "[number]", "[array]", "[choices:")
_ANNOTATION = re.compile(r"\s*\[[a-z]+(?:: (?:[^\[\]]|\[[^\[\]]*\])*)?\]")
_ALIASES = re.compile(r"\[aliases: ([^\]]*)\]")


@dataclass(frozen=True)
class OfficialFlag:
    """One flag of an official command: its spellings, whether a value follows, its help."""

    names: tuple[str, ...]
    takes_value: bool = False
    help: str = ""


@dataclass(frozen=True)
class OfficialCommand:
    """One command (or group) of the official CLI; ``commands`` are a group's members."""

    name: str
    summary: str = ""
    aliases: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    flags: tuple[OfficialFlag, ...] = ()
    commands: tuple[OfficialCommand, ...] = ()

    def member(self, word: str) -> OfficialCommand | None:
        """The member named ``word`` (or one of its aliases)."""
        return _named(self.commands, word)


@dataclass(frozen=True)
class Catalog:
    """The commands of one installed version of the official CLI."""

    version: str
    commands: tuple[OfficialCommand, ...] = ()
    words: frozenset[str] = field(default=frozenset(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = {w for c in self.commands for w in (c.name, *c.aliases)}
        object.__setattr__(self, "words", frozenset(names))

    def command(self, word: str) -> OfficialCommand | None:
        """The top-level command named ``word`` (or one of its aliases)."""
        return _named(self.commands, word)


def _named(commands: Sequence[OfficialCommand], word: str) -> OfficialCommand | None:
    return next((c for c in commands if word == c.name or word in c.aliases), None)


# A command a help text lists: its words after ``bp``, its arguments, summary and aliases.
Entry = tuple[tuple[str, ...], tuple[str, ...], str, tuple[str, ...]]


@dataclass(frozen=True)
class Help:
    """What one help text lists: commands and flags."""

    commands: tuple[Entry, ...] = ()
    flags: tuple[OfficialFlag, ...] = ()


def text(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as one line of plain text: control and format characters (escape sequences,
    bidi overrides) dropped, runs of spaces made one, at most ``limit`` characters."""
    if not isinstance(value, str):
        return ""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value[: limit * 4]
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(kept.split())[:limit]


def parse_help(output: str) -> Help:
    """The commands and flags a yargs help text lists (the sections ``Commands:`` and
    ``Options:``; entries are indented, their descriptions may wrap onto indented lines)."""
    commands: list[Entry] = []
    flags: list[OfficialFlag] = []
    for section, head, description in _entries(output[:MAX_HELP_CHARS]):
        if section == "commands" and len(commands) < MAX_ENTRIES:
            entry = _command_entry(head, description)
            if entry is not None:
                commands.append(entry)
        elif section == "options" and len(flags) < MAX_ENTRIES:
            flag = _flag_entry(head, description)
            if flag is not None:
                flags.append(flag)
    return Help(tuple(commands), tuple(flags))


def _entries(output: str) -> Iterator[tuple[str, str, str]]:
    """(section, the entry's first column, its whole description) for each entry."""
    section = ""
    current: list[str] | None = None
    for line in output.splitlines():
        stripped = line.strip()
        if stripped and not line.startswith(" "):  # a heading, or text between sections
            if current is not None:
                yield section, current[0], " ".join(current[1:])
            current = None
            section = stripped[:-1].lower() if stripped.endswith(":") else ""
            continue
        if not stripped or section not in ("commands", "options"):
            continue
        head, _, rest = stripped.partition("  ")
        starts = stripped.startswith("-") if section == "options" else stripped.startswith("bp ")
        if starts:
            if current is not None:
                yield section, current[0], " ".join(current[1:])
            current = [head, rest.strip()]
        elif current is not None:
            current.append(stripped)
    if current is not None:
        yield section, current[0], " ".join(current[1:])


def _command_entry(head: str, description: str) -> Entry | None:
    words = head.split()[1:]  # after "bp"
    path = tuple(w for w in words if not w.startswith(("<", "[")))
    args = tuple(w.strip("<>[].") for w in words if w.startswith(("<", "[")))
    if not path or not all(NAME.fullmatch(w) for w in path):
        return None
    found = _ALIASES.search(description)
    aliases = tuple(a.strip() for a in found.group(1).split(",")) if found else ()
    return path, args, _summary(description), tuple(a for a in aliases if NAME.fullmatch(a))


def _flag_entry(head: str, description: str) -> OfficialFlag | None:
    names = tuple(n.strip() for n in head.split(","))
    if not names or not all(FLAG.fullmatch(n) for n in names):
        return None
    takes_value = any(kind in description for kind in _VALUE_TYPES)
    return OfficialFlag(names, takes_value, _summary(description))


def _summary(description: str) -> str:
    # One space between words first: the pattern's leading \s* then never rescans a run.
    return text(_ANNOTATION.sub("", " ".join(description.split())[: MAX_TEXT * 8]))


# --- the stored form -------------------------------------------------------------------


def catalog_to_json(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain JSON values, as :func:`catalog_from_json` reads it."""
    return {
        "format": FORMAT,
        "cli": catalog.version,
        "commands": [_command_to_json(c) for c in catalog.commands],
    }


def _command_to_json(command: OfficialCommand) -> dict[str, Any]:
    return {
        "name": command.name,
        "summary": command.summary,
        "aliases": list(command.aliases),
        "args": list(command.args),
        "flags": [
            {"names": list(f.names), "value": f.takes_value, "help": f.help} for f in command.flags
        ],
        "commands": [_command_to_json(c) for c in command.commands],
    }


def catalog_from_json(data: object, version: str) -> Catalog | None:
    """The catalog of ``version`` in ``data``, or None when it is not one (another version,
    another format, not an object). Entries that are not well-formed are left out."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        return None
    if data.get("cli") != version or not VERSION.fullmatch(version):
        return None
    commands = _commands_from_json(data.get("commands"), depth=2)
    return Catalog(version, commands)


def _commands_from_json(items: object, depth: int) -> tuple[OfficialCommand, ...]:
    if depth == 0 or not isinstance(items, list):
        return ()
    found: dict[str, OfficialCommand] = {}
    for item in items[:MAX_ENTRIES]:
        command = _command_from_json(item, depth)
        if command is not None and command.name not in found:
            found[command.name] = command
    return tuple(found.values())


def _command_from_json(item: object, depth: int) -> OfficialCommand | None:
    if not isinstance(item, Mapping):
        return None
    name = item.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    return OfficialCommand(
        name,
        text(item.get("summary")),
        _names(item.get("aliases"), NAME),
        _names(item.get("args"), NAME),
        _flags_from_json(item.get("flags")),
        _commands_from_json(item.get("commands"), depth - 1),
    )


def _flags_from_json(items: object) -> tuple[OfficialFlag, ...]:
    if not isinstance(items, list):
        return ()
    flags: list[OfficialFlag] = []
    for item in items[:MAX_ENTRIES]:
        if not isinstance(item, Mapping):
            continue
        names = _names(item.get("names"), FLAG)
        if names:
            flags.append(OfficialFlag(names, item.get("value") is True, text(item.get("help"))))
    return tuple(flags)


def _names(items: object, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    return tuple(w for w in items[:8] if isinstance(w, str) and pattern.fullmatch(w))
