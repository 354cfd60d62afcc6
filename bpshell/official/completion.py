"""What completion offers on a line that names a command of the official CLI.

Read from a :class:`~bpshell.official.helptext.Catalog` held in memory: the command's members
(``bots <Tab>``), then its flags as the command table's :class:`~bpshell.commands.Flag`, so
that :mod:`bpshell.completion` offers them, and their values, as it does for bpshell's own.
``-p/--profile`` and ``--botpressHome`` are bpshell's (they pick the credentials, and are not
passed on); ``--token`` is never offered, since a token on a command line ends up in the
child's argv. No I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bpshell.commands import GLOBAL_FLAGS, Flag
from bpshell.official.helptext import Catalog, OfficialCommand, OfficialFlag

NEVER_OFFERED = frozenset({"--token"})
# Where a value flag's value comes from, and the names bpshell's completion knows it by.
_VALUES: Mapping[str, tuple[str, str]] = {
    "--workspaceId": ("workspace_id", "workspaces"),
    "--workspace-id": ("workspace_id", "workspaces"),
    "--apiUrl": ("api_url", "api_urls"),
    "--api-url": ("api_url", "api_urls"),
}
_OURS = tuple(f for f in GLOBAL_FLAGS if f.dest in ("profile", "home"))
OFFICIAL = "(official CLI)"


@dataclass(frozen=True)
class OfficialLine:
    """A line naming an official command, read as far as it goes.

    ``offered`` are the flags to offer; ``used`` maps the ``dest`` of each flag given to its
    value (None: none yet, or none taken); ``pending`` is the flag whose value comes next;
    ``members`` the (name, summary) of the group members that may come next; ``needs_arg``
    whether an argument (a bot, an integration) comes next.
    """

    offered: tuple[Flag, ...]
    known: tuple[Flag, ...]
    used: dict[str, str | None]
    pending: Flag | None
    members: tuple[tuple[str, str], ...]
    needs_arg: bool

    def flag(self, name: str) -> Flag | None:
        """The flag spelled ``name`` on this line."""
        return next((f for f in self.known if name in f.names), None)


def tops(catalog: Catalog | None, taken: Sequence[str]) -> list[tuple[str, str]]:
    """(name, summary) of the official commands, for the first word of a line."""
    if catalog is None:
        return []
    return [(c.name, _meta(c.summary)) for c in catalog.commands if c.name not in taken]


def read_line(catalog: Catalog | None, words: Sequence[str]) -> OfficialLine | None:
    """``words`` (finished, without ``bp``) as an official command line; None when their
    command is not one of ``catalog``'s."""
    if catalog is None:
        return None
    command: OfficialCommand | None = None
    group: OfficialCommand | None = None
    used: dict[str, str | None] = {}
    given = 0
    index = 0
    while index < len(words):
        word = words[index]
        known = _known(command)
        if word.startswith("-") and word != "-":
            name, eq, inline = word.partition("=")
            flag = next((f for f in known if name in f.names), None)
            if flag is not None and flag.takes_value and not eq:
                if index + 1 == len(words):
                    return _line(command, group, used, flag, given)
                index += 1
                inline = words[index]
            if flag is not None:
                used[flag.dest] = inline if flag.takes_value else None
        elif command is None:
            command = catalog.command(word)
            if command is None:
                return None
        elif command.commands and group is None:
            member = command.member(word)
            if member is None:
                given += 1
            else:
                group, command = command, member
        else:
            given += 1
        index += 1
    if command is None:
        return None
    return _line(command, group, used, None, given)


def _line(
    command: OfficialCommand | None,
    group: OfficialCommand | None,
    used: dict[str, str | None],
    pending: Flag | None,
    given: int,
) -> OfficialLine:
    known = _known(command)
    offered = tuple(f for f in known if not NEVER_OFFERED.intersection(f.names))
    members: tuple[tuple[str, str], ...] = ()
    if command is not None and command.commands and group is None and not given:
        members = tuple((m.name, _meta(m.summary)) for m in command.commands)
    needs_arg = command is not None and given < len(command.args)
    return OfficialLine(offered, known, used, pending, members, needs_arg)


def _known(command: OfficialCommand | None) -> tuple[Flag, ...]:
    """Every flag of ``command`` (bpshell's own first), as the command table's flags."""
    if command is None:
        return _OURS
    ours = {name for flag in _OURS for name in flag.names}
    return (*_OURS, *(_as_flag(f) for f in command.flags if not ours.intersection(f.names)))


def _as_flag(flag: OfficialFlag) -> Flag:
    long = next((n for n in flag.names if n.startswith("--")), flag.names[-1])
    dest, complete = _VALUES.get(long, (long, None))
    metavar = "VALUE" if flag.takes_value else None
    return Flag(tuple(_long_first(flag.names)), dest, metavar, flag.help, complete)


def _long_first(names: Sequence[str]) -> Iterator[str]:
    yield from (n for n in names if n.startswith("--"))
    yield from (n for n in names if not n.startswith("--"))


def _meta(summary: str) -> str:
    return f"{summary} {OFFICIAL}" if summary else OFFICIAL
