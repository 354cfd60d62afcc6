"""``bp __complete WORDS… CURRENT``: what the shell scripts in ``completions/`` offer at a Tab.

The scripts pass the words typed after ``bp`` (the last one is the word being completed,
possibly empty); this prints one candidate a line, ``value<TAB>description``, already
filtered by the current word. A line starting with ``:`` asks the shell to complete by
itself instead: ``:files``, ``:dirs`` or ``:commands``.

What to offer is decided from the command table (commands, subcommands, flags, and each
flag's or argument's ``complete`` key); values come from config.json (read with plain
``json``) and the per-profile workspace cache. It never writes, never touches the network,
never imports pydantic, httpx, anyio, keyring, prompt_toolkit or asyncio, and answers with
nothing at all, exit 0, on any problem: a Tab must never print a traceback.
"""

from __future__ import annotations

import json
import os
import sys

from bpshell.commands import (
    CHOICES,
    COMMANDS,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_FLAG,
    HELP_WORD,
    TOPICS,
    VERSION_FLAG,
    Command,
    CompletionOptions,
    Flag,
    GlobalOptions,
    find_command,
)

TYPE_CHECKING = False  # not typing's (nor pathlib): see bpshell.records and bpshell.cache
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any, TextIO, TypeAlias

    from bpshell.cache import Place
    from bpshell.env import Env
    from bpshell.render import Result

    Candidate: TypeAlias = tuple[str, str]

# bpshell.config has the same constant, but importing it would load pydantic.
DEFAULT_API_URL = "https://api.botpress.cloud"
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_DESCRIPTION = 80
HELP_COMMAND = (HELP_WORD, "show help for a command, or a topic (bp help environment)")
SCRIPTS = {"bash": "bp.bash", "zsh": "_bp", "fish": "bp.fish"}


def main(words: Sequence[str], environ: Mapping[str, str], out: TextIO | None = None) -> int:
    """Print the candidates for ``words``; always exit 0, printing nothing on any problem."""
    try:
        text = "".join(f"{line}\n" for line in complete(words, environ))
        if out is not None:
            out.write(text)
        else:
            _write_all(sys.stdout.fileno(), text.encode("utf-8", "replace"))
    except BaseException:  # a Tab must never show a traceback, even on Ctrl-C or a closed pipe
        return 0
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Line:
    """What the words before the current one say: the command, its arguments, the flags."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.group: str | None = None
        self.command: Command | None = None
        self.args: list[str] = []
        self.used: set[str] = set()
        self.pending: Flag | None = None
        self.after_dashdash = False
        self.unknown = False
        self.helping = False  # `bp help …`: what follows names a command or a topic
        self.profile: str | None = None
        self.home: str | None = None

    def flags(self) -> tuple[Flag, ...]:
        own = self.command.flags if self.command is not None else ()
        extra = (HELP_FLAG,) if self.command is not None else (HELP_FLAG, VERSION_FLAG)
        return (*own, *GLOBAL_FLAGS, *extra)

    def read(self, words: Sequence[str]) -> None:
        for word in words:
            if self.pending is not None:
                self._set(self.pending, word)
                self.pending = None
            elif self.after_dashdash:
                self.args.append(word)
            elif word == "--":
                self.after_dashdash = True
            elif word.startswith("-") and word != "-":
                self._flag(word)
            else:
                self._positional(word)

    def _flag(self, word: str) -> None:
        name, eq, value = word.partition("=") if word.startswith("--") else (word, "", "")
        flag = _lookup(name, self.flags())
        if flag is None:
            return
        self.used.add(flag.dest)
        if flag.takes_value and eq:
            self._set(flag, value)
        elif flag.takes_value:
            self.pending = flag

    def _set(self, flag: Flag, value: str) -> None:
        if flag.dest == "profile":
            self.profile = value
        elif flag.dest == "home":
            self.home = value

    def _positional(self, word: str) -> None:
        if self.command is not None or self.unknown:
            self.args.append(word)
            return
        if word == HELP_WORD and self.group is None and not self.helping:
            self.helping = True
            return
        path = [self.group, word] if self.group else [word]
        command, _ = find_command(path)
        if command is not None:
            self.command = command
        elif self.group is None and word in GROUPS:
            self.group = word
        else:
            self.unknown = True


def complete(words: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """The output lines for ``words`` (the last one is the word being completed)."""
    *before, current = list(words) or [""]
    line = _Line(environ)
    line.read(before)
    values = _Values(line)
    if line.pending is not None:
        return _flag_values(line.pending, current, values, "")
    if line.unknown:
        return []
    if line.after_dashdash or not current.startswith("-"):
        if line.helping:
            return [] if line.command is not None else _render(_help_words(line.group), current)
        if line.command is not None:
            return _argument(line.command, len(line.args), current, values)
        found = _command_words(line.group, current)
        return _render(found + ([] if line.group else [HELP_COMMAND]), current)
    if current.startswith("--") and "=" in current:
        name, _, value = current.partition("=")
        flag = _lookup(name, line.flags())
        if flag is None or not flag.takes_value:
            return []
        return _flag_values(flag, value, values, name + "=")
    return _render(_flag_names(line, current), current)


def _argument(command: Command, index: int, current: str, values: _Values) -> list[str]:
    spread = bool(command.args) and command.args[-1].many
    if spread and index >= len(command.args) - 1:
        return [":commands" if index == len(command.args) - 1 else ":files"]
    if index >= len(command.args):
        return []
    return _render(values.of(command.args[index].complete), current)


def _command_words(group: str | None, current: str) -> list[Candidate]:
    found: dict[str, str] = {}
    for command in COMMANDS:
        if group is None:
            word = command.path[0]
            found.setdefault(word, GROUPS.get(word, command.summary))
        elif command.path[0] == group and len(command.path) > 1:
            found.setdefault(command.path[1], command.summary)
            hidden = not current or command.path[1].startswith(current)
            for alias in command.aliases:
                if not hidden and alias.startswith(current):
                    found.setdefault(alias, command.summary)
    return list(found.items())


def _help_words(group: str | None) -> list[Candidate]:
    """What ``bp help`` takes next: a command or group, or a topic; a group's commands."""
    topics = [(name, summary) for name, (summary, _) in TOPICS.items()] if group is None else []
    return _command_words(group, "") + topics


def _flag_names(line: _Line, current: str) -> list[Candidate]:
    found: list[Candidate] = []
    for flag in line.flags():
        if flag.dest in line.used:
            continue
        longs = [n for n in flag.names if n.startswith("--") and n.startswith(current)]
        shorts = [n for n in flag.names if not n.startswith("--") and n == current]
        chosen = longs[:1] or shorts[:1]
        if chosen:
            found.append((chosen[0], flag.help))
    return found


def _flag_values(flag: Flag, current: str, values: _Values, prefix: str) -> list[str]:
    if flag.complete is None:
        return [":dirs"] if flag.metavar == "DIR" and not prefix else []
    found = [(prefix + v, d) for v, d in values.of(flag.complete)]
    return _render(found, prefix + current)


def _render(candidates: Iterable[Candidate], current: str) -> list[str]:
    lines = []
    for value, description in candidates:
        if not value.startswith(current) or not _safe_value(value):
            continue
        text = _description(description)
        lines.append(f"{value}\t{text}" if text else value)
    return lines


def _safe_value(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value and value[:1] != ":"


def _description(text: str) -> str:
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    flat = " ".join(text.split()) if "  " in text or text != text.strip() else text
    return flat if len(flat) <= MAX_DESCRIPTION else flat[: MAX_DESCRIPTION - 1] + "…"


def _lookup(name: str, flags: Iterable[Flag]) -> Flag | None:
    for flag in flags:
        if name in flag.names:
            return flag
    return None


class _Values:
    """Dynamic values, read lazily from this run's home: profiles, workspaces, API URLs."""

    def __init__(self, line: _Line) -> None:
        environ = self.environ = line.environ
        home = line.home or environ.get("BP_BOTPRESS_HOME") or os.path.join("~", ".botpress")
        self.home = os.path.expanduser(home)
        self.named = line.profile or environ.get("BP_PROFILE") or None
        self._here: str | bool | None = False
        self._config: dict[str, Any] | None = None

    def here(self) -> str | None:
        """The profile the folder's ``.bp-profile`` names (None: none, or one not usable)."""
        if self._here is False:
            from bpshell.errors import BpError
            from bpshell.local_profile import find, top_of

            try:
                found = find(None, top_of(self.environ))
            except BpError:
                found = None
            self._here = found.name if found is not None else None
        return self._here if isinstance(self._here, str) else None

    @property
    def profile(self) -> str | None:
        """The profile in use: named (``-p``, ``BP_PROFILE``), else the folder's."""
        return self.named or self.here()

    def of(self, key: str | None) -> list[Candidate]:
        if key is None:
            return []
        if key in CHOICES:
            return [(choice, "") for choice in CHOICES[key]]
        if key == "profiles":
            return self._profiles()
        if key == "workspaces":
            return self._workspaces()
        if key == "api_urls":
            return self._api_urls()
        return []

    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = peek_config(os.path.join(self.home, "config.json"))
        return self._config

    def profiles(self) -> dict[str, dict[str, Any]]:
        profiles = self.config().get("profiles")
        if not isinstance(profiles, dict):
            return {}
        return {k: v for k, v in profiles.items() if isinstance(k, str) and isinstance(v, dict)}

    def active(self) -> str | None:
        name = self.config().get("activeProfile")
        return name if isinstance(name, str) and name in self.profiles() else None

    def _profiles(self) -> list[Candidate]:
        active, here = self.active(), None if self.named else self.here()
        found = []
        for name, profile in sorted(self.profiles().items()):
            label = _label(profile.get("workspaceName"), profile.get("workspaceId"))
            mark = " (active)" if name == active else ""
            mark += " (in use here)" if name == here and here != active else ""
            found.append((name, label + mark))
        return found

    def _workspaces(self) -> list[Candidate]:
        from bpshell.cache import read_workspaces

        profiles = self.profiles()
        name = self.profile if self.profile in profiles else self.active()
        if name is None:
            return []
        found: dict[str, str] = {}
        cached = read_workspaces(self.home, name)
        if cached is not None:
            for workspace_id, workspace_name in cached.workspaces:
                found.setdefault(workspace_id, workspace_name)
        own, label = profiles[name].get("workspaceId"), profiles[name].get("workspaceName")
        if isinstance(own, str):
            found.setdefault(own, label if isinstance(label, str) else "")
        return sorted(found.items())

    def _api_urls(self) -> list[Candidate]:
        users: dict[str, list[str]] = {DEFAULT_API_URL: []}
        for name, profile in sorted(self.profiles().items()):
            url = profile.get("apiUrl")
            if isinstance(url, str):
                users.setdefault(url, []).append(name)
        return [
            (url, "used by " + ", ".join(names) if names else "default")
            for url, names in sorted(users.items())
        ]


def peek_config(path: Place) -> dict[str, Any]:
    """config.json as plain JSON, unvalidated: ``{}`` for anything missing, odd or too big, and
    for what is not a private regular file (a FIFO must not hold up a Tab or the first frame;
    another user's file is not shown as the user's profiles)."""
    from bpshell.cache import open_private

    try:
        with open(open_private(path), "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        data = json.loads(raw) if len(raw) <= MAX_CONFIG_BYTES else None
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _label(name: object, workspace_id: object) -> str:
    if not isinstance(workspace_id, str):
        return ""
    return f"{name} ({workspace_id})" if isinstance(name, str) and name else workspace_id


def script(shell: str) -> str:
    """The completion script for ``shell`` (a key of :data:`SCRIPTS`), as shipped."""
    from pathlib import Path

    return (Path(__file__).parent / "completions" / SCRIPTS[shell]).read_text(encoding="utf-8")


async def run_completion(options: CompletionOptions, opts: GlobalOptions, env: Env) -> Result:
    """``bp completion SHELL``: print the script to source or install."""
    from bpshell.errors import UsageError
    from bpshell.render import Result

    if options.shell not in SCRIPTS:
        raise UsageError(
            f"unknown shell {options.shell[:40]!r}", "choose one of: " + ", ".join(SCRIPTS)
        )
    text = script(options.shell)
    return Result({"shell": options.shell, "script": text}, text.rstrip("\n"))
