"""Tab completion for the shell, built from the command table and data held in memory.

The completer never does I/O: it reads a :class:`CompletionData` snapshot that the session
replaces whole when profiles or cached workspaces change (so a keystroke never waits on the
network, and a completion never mixes two snapshots). Workspaces are keyed by (profile, API
URL): after a switch, the previous profile's workspaces are simply not under the new key.
When a key has nothing in memory, ``want`` asks the session to load it in the background.

Matching is by tiers, best first: the ID (or name) starts with the text, then contains it,
then contains its characters in order (fuzzy). Search keys are lowercased once per load, all
keys are joined in one string so each tier is a few C-level scans, and at most
:data:`MAX_SHOWN` completions are produced.
"""

from __future__ import annotations

import bisect
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from bpshell.commands import (
    CHOICES,
    COMMANDS,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_FLAG,
    TOPICS,
    Command,
    Flag,
    find_command,
)
from bpshell.lines import scan
from bpshell.official.completion import OfficialLine, read_line
from bpshell.official.completion import tops as tops_of_official
from bpshell.official.helptext import Catalog
from bpshell.render import clean

MAX_SHOWN = 200
BUILTINS: Mapping[str, str] = {
    "help": "show help; help COMMAND for one command",
    "exit": "leave the shell (also Ctrl-D)",
    "quit": "leave the shell (also Ctrl-D)",
    "clear": "clear the screen",
}
NOT_IN_SHELL = frozenset({("shell",)})

Key = tuple[str, str]


class SearchIndex:
    """Choices (value, description) with lowercase search keys computed once.

    Values must not contain tabs or newlines (IDs and profile names cannot); descriptions
    may hold anything, control characters are blanked in the search key.
    """

    __slots__ = ("_hay", "_starts", "descriptions", "values")

    def __init__(self, choices: Iterable[tuple[str, str]]) -> None:
        ordered = sorted(choices, key=lambda pair: pair[0].lower())
        self.values: tuple[str, ...] = tuple(value for value, _ in ordered)
        self.descriptions: tuple[str, ...] = tuple(text for _, text in ordered)
        keys = [f"{v.lower()}\t{_blanked(d.lower())}" for v, d in ordered]
        self._starts: list[int] = []
        offset = 1
        for key in keys:
            self._starts.append(offset)
            offset += len(key) + 1
        self._hay = "\n" + "\n".join(keys) + "\n"

    def __len__(self) -> int:
        return len(self.values)

    def search(self, text: str, limit: int = MAX_SHOWN) -> list[int]:
        """Indexes of the choices matching ``text``, best tier first, at most ``limit``."""
        query = _blanked(text.lower())
        if not query:
            return list(range(min(limit, len(self.values))))
        found: dict[int, None] = {}
        for needle in ("\n" + query, "\t" + query, query):
            self._find(needle, found, limit)
            if len(found) >= limit:
                return list(found)[:limit]
        if len(query) == 1:
            return list(found)
        # Within the ID or within the name, never across; possessive: linear in the key.
        pattern = "".join(f"[^\\n\\t{re.escape(c)}]*+{re.escape(c)}" for c in query)
        fuzzy = re.compile("(?m)(?:^|\t)" + pattern)
        position = 0
        while len(found) < limit:
            match = fuzzy.search(self._hay, position)
            if match is None:
                break
            index = self._entry(match.start())
            found.setdefault(index, None)
            position = self._next_start(index)
        return list(found)[:limit]

    def _find(self, needle: str, found: dict[int, None], limit: int) -> None:
        position = self._hay.find(needle)
        while position >= 0 and len(found) < limit:
            index = self._entry(position + (needle[0] in "\n\t"))
            found.setdefault(index, None)
            position = self._hay.find(needle, self._next_start(index) - 1)

    def _entry(self, position: int) -> int:
        return bisect.bisect_right(self._starts, position) - 1

    def _next_start(self, index: int) -> int:
        return self._starts[index + 1] if index + 1 < len(self._starts) else len(self._hay)


def _blanked(text: str) -> str:
    return text if text.isprintable() else "".join(c if c.isprintable() else " " for c in text)


@dataclass(frozen=True)
class CompletionData:
    """Everything completion knows, as one immutable snapshot.

    ``profiles`` maps each profile to the API URL its commands would use; ``active`` is the
    (profile, API URL) of the line when it names no profile; ``workspaces`` holds the cached
    workspaces of the keys loaded so far; ``api_urls`` are the URLs offered for ``--apiUrl``.
    """

    profiles: SearchIndex = field(default_factory=lambda: SearchIndex(()))
    profile_urls: Mapping[str, str] = field(default_factory=dict)
    active: Key | None = None
    workspaces: Mapping[Key, SearchIndex] = field(default_factory=dict)
    api_urls: tuple[str, ...] = ()
    pats: Mapping[Key, SearchIndex] = field(default_factory=dict)  # PAT ids, notes beside


class ShellCompleter(Completer):
    """Completes the command under the cursor; reads :attr:`data` (and :attr:`official`,
    the official CLI's commands read from its help, replaced whole when loaded) only."""

    def __init__(
        self, data: CompletionData | None = None, want: Callable[[Key], None] | None = None
    ) -> None:
        self.data = data or CompletionData()
        self.want = want
        self.official: Catalog | None = None

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        """See :class:`prompt_toolkit.completion.Completer`."""
        found = scan(document.text_before_cursor)
        if found.in_comment:
            return
        words = list(found.words[1:] if found.words[:1] == ("bp",) else found.words)
        catalog = self.official
        official = read_line(catalog, words)
        line = _Line.read(words) if official is None else _Line([], official.used, official.pending)
        replace = -len(document.text_before_cursor) + found.current_start
        completing = _Completing(self.data, self.want, line, found.current, replace)
        completing.catalog, completing.official = catalog, official
        yield from completing.run()


@dataclass
class _Line:
    """The words of a command being typed, sorted into positionals and flags."""

    positional: list[str]
    flags: dict[str, str | None]
    pending: Flag | None

    @classmethod
    def read(cls, words: Sequence[str]) -> _Line:
        positional = [w for w in words if not w.startswith("-") or w == "-"]
        command, _ = find_command(positional)
        known = (*GLOBAL_FLAGS, *(command.flags if command else ()))
        line = cls([], {}, None)
        index = 0
        while index < len(words):
            word = words[index]
            name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
            flag = _flag_named(name, known) if word.startswith("-") and word != "-" else None
            if flag is None:
                if not word.startswith("-") or word == "-":
                    line.positional.append(word)
            elif flag.takes_value and not eq:
                if index + 1 == len(words):
                    line.pending = flag
                    line.flags[flag.dest] = None
                else:
                    index += 1
                    line.flags[flag.dest] = words[index]
            else:
                line.flags[flag.dest] = inline if eq else None
            index += 1
        return line


def _flag_named(name: str, flags: Iterable[Flag]) -> Flag | None:
    return next((flag for flag in flags if name in flag.names), None)


@dataclass
class _Completing:
    data: CompletionData
    want: Callable[[Key], None] | None
    line: _Line
    text: str
    start: int
    catalog: Catalog | None = None
    official: OfficialLine | None = None

    def run(self) -> Iterator[Completion]:
        command, size = find_command(self.line.positional)
        # The menu shows them in this order: what the command is about before the globals.
        flags = (*(command.flags if command else ()), *GLOBAL_FLAGS, HELP_FLAG)
        if self.official is not None:
            command, flags = None, self.official.known
        if self.line.pending is not None:
            yield from self._values(self.line.pending, self.text, self.start)
            return
        if self.text.startswith("--") and "=" in self.text:
            name, _, value = self.text.partition("=")
            flag = _flag_named(name, flags)
            if flag is not None and flag.takes_value:
                yield from self._values(flag, value, self.start + len(name) + 1)
            return
        if self.text.startswith("-"):
            yield from self._flags(self.official.offered if self.official else flags)
        elif self.official is not None:
            yield from self._official(self.official)
        elif command is None:
            yield from self._words(self.line.positional)
        elif command.path not in NOT_IN_SHELL:
            yield from self._arguments(command, self.line.positional[size:], flags)

    def _words(self, positional: list[str]) -> Iterator[Completion]:
        helping = positional[:1] == ["help"]
        if helping:
            positional = positional[1:]
        if not positional:
            tops: dict[str, str] = {} if helping else dict(BUILTINS)
            tops.update(GROUPS)
            for command in COMMANDS:
                if len(command.path) == 1 and command.path not in NOT_IN_SHELL:
                    tops[command.path[0]] = command.summary
            tops.update(tops_of_official(self.catalog, list(tops)))
            if helping:
                tops.update((name, summary) for name, (summary, _) in TOPICS.items())
            yield from self._choose(sorted(tops.items()), self.text)
        elif len(positional) == 1 and positional[0] in GROUPS:
            subs = [(c.path[1], c.summary) for c in COMMANDS if c.path[0] == positional[0]]
            yield from self._choose(subs, self.text)

    def _official(self, line: OfficialLine) -> Iterator[Completion]:
        """A group's members, or the flags of an official command (see
        :mod:`bpshell.official.completion`)."""
        if line.members:
            yield from self._choose(line.members, self.text)
        elif not self.text and not line.needs_arg:
            yield from self._flags(line.offered)

    def _arguments(
        self, command: Command, given: list[str], flags: Sequence[Flag]
    ) -> Iterator[Completion]:
        if command.args and command.args[-1].many and len(given) >= len(command.args) - 1:
            return
        if len(given) < len(command.args):
            arg = command.args[len(given)]
            if arg.complete == "profiles":
                yield from self._index(self.data.profiles, self.text, self.start)
                return
            if arg.complete == "pats":
                yield from self._pats(self.text, self.start)
                return
            if arg.complete in CHOICES:
                yield from self._choose([(c, "") for c in CHOICES[arg.complete]], self.text)
                return
            if arg.required:
                return
        if not self.text:
            yield from self._flags(flags)

    def _flags(self, flags: Sequence[Flag]) -> Iterator[Completion]:
        used = set(self.line.flags)
        for flag in flags:
            if flag.dest in used:
                continue
            spellings = [n for n in flag.names if n.startswith(self.text)]
            if self.text in ("", "-", "--"):
                spellings = [n for n in spellings if n.startswith("--")][:1]
            if spellings:
                shown = spellings[0] + (f" {flag.metavar}" if flag.metavar else "")
                yield Completion(spellings[0], self.start, display=shown, display_meta=flag.help)

    def _values(self, flag: Flag, text: str, start: int) -> Iterator[Completion]:
        if flag.complete == "profiles":
            yield from self._index(self.data.profiles, text, start)
        elif flag.complete == "workspaces":
            key = self._workspace_key()
            index = self.data.workspaces.get(key) if key else None
            if index is None and key is not None and self.want is not None:
                self.want(key)
            if index is not None:
                yield from self._index(index, text, start)
        elif flag.complete == "pats":
            yield from self._pats(text, start)
        elif flag.complete == "api_urls":
            yield from self._choose([(url, "") for url in self.data.api_urls], text, start)
        elif flag.complete in CHOICES:
            yield from self._choose([(c, "") for c in CHOICES[flag.complete]], text, start)

    def _pats(self, text: str, start: int) -> Iterator[Completion]:
        """The PATs of the line's token, fetched with its workspaces in the background."""
        key = self._workspace_key()
        index = self.data.pats.get(key) if key else None
        if index is None and key is not None and self.want is not None:
            self.want(key)
        if index is not None:
            yield from self._index(index, text, start)

    def _workspace_key(self) -> Key | None:
        profile = self.line.flags.get("profile")
        api_url = self.line.flags.get("api_url")
        if profile:
            known = self.data.profile_urls.get(profile)
            if known is None:
                return None
            return (profile, (api_url or known).rstrip("/"))
        if self.data.active is None:
            return None
        name, known = self.data.active
        return (name, (api_url or known).rstrip("/"))

    def _index(self, index: SearchIndex, text: str, start: int) -> Iterator[Completion]:
        for position in index.search(text):
            value = index.values[position]
            yield _shown(_quoted(value), start, value, index.descriptions[position])

    def _choose(
        self, choices: Sequence[tuple[str, str]], text: str, start: int | None = None
    ) -> Iterator[Completion]:
        begin = self.start if start is None else start
        for value, meta in choices:
            if value.startswith(text):
                yield _shown(_quoted(value), begin, value, meta)


def _shown(text: str, start: int, display: str, meta: str) -> Completion:
    """A completion whose menu entry is cleaned: a name from a cache written by hand, or by an
    older bpshell, may still hold escape sequences or bidi overrides."""
    return Completion(text, start, display=clean(display), display_meta=clean(meta))


def _quoted(value: str) -> str:
    return value if value and re.fullmatch(r"[\w@%+=:,./-]+", value) else shlex.quote(value)
