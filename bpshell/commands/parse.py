"""The one parser: a command line (argv or a shell line, without ``bp``) into an invocation.

Parsing only fills and checks a frozen options value (or says which help was asked for);
running is the command's job. Every mistake is a :class:`~bpshell.errors.UsageError` that
says what was wrong and what to type instead.
"""

from __future__ import annotations

from bpshell.commands.table import (
    CHOICES,
    COMMANDS,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_FLAG,
    TRUE_WORDS,
    VERSION_FLAG,
    Arg,
    Command,
    Flag,
    GlobalOptions,
    Invocation,
)
from bpshell.errors import UsageError

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

# The word that asks for help (``bp help login``); not a command of the table, so that the
# shell's ``help`` builtin and completion of its words stay as they are.
HELP_WORD = "help"


def env_globals(environ: Mapping[str, str]) -> GlobalOptions:
    """Global options given by ``BP_*`` variables, before flags override them."""
    profile = environ.get("BP_PROFILE") or None

    def flag(name: str) -> bool:
        return environ.get(name, "").strip().lower() in TRUE_WORDS

    return GlobalOptions(
        json=flag("BP_JSON"),
        verbose=flag("BP_VERBOSE"),
        confirm=flag("BP_CONFIRM"),
        home=environ.get("BP_BOTPRESS_HOME") or None,
        profile=profile,
        profile_source="BP_PROFILE" if profile else None,
    )


def find_command(words: Sequence[str]) -> tuple[Command | None, int]:
    """The command named by the leading words, and how many words named it."""
    for command in COMMANDS:
        size = len(command.path)
        head = tuple(words[:size])
        if head == command.path or (
            head[:-1] == command.path[:-1] and head[-1:] and head[-1] in command.aliases
        ):
            return command, size
    return None, 0


def parse(words: Sequence[str], environ: Mapping[str, str]) -> Invocation:
    """Turn a command line (without ``bp``) into an :class:`Invocation`, or raise UsageError."""
    globals_ = env_globals(environ)
    rest: list[str] = []
    wants_help = wants_version = False
    seen: list[str] = []  # the words naming the command, so far
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            rest.extend(words[index:])
            break
        if not word.startswith("-") and _runs_a_command(seen):
            rest.extend(["--", *words[index:]])
            break
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        flag = _lookup(name, GLOBAL_FLAGS)
        if not word.startswith("-"):
            seen.append(word)
        if name in HELP_FLAG.names:
            wants_help = True
        elif name in VERSION_FLAG.names:
            wants_version = True
        elif flag is None:
            rest.append(word)
        else:
            value, index = _take_value(flag, words, index, inline if eq else None, "")
            if flag.dest == "profile":
                globals_ = globals_._replace(profile=value, profile_source="flag")
            else:
                globals_ = globals_._replace(**{flag.dest: value})
        index += 1
    positional = [word for word in rest if not word.startswith("-")]
    if positional[:1] == [HELP_WORD]:
        return Invocation(None, None, globals_, help_for=tuple(positional[1:]))
    command, size = find_command(positional)
    if wants_version and command is None:
        return Invocation(None, None, globals_, version=True)
    if command is None:
        return _no_command(positional, rest, globals_, wants_help)
    if wants_help:
        return Invocation(command, None, globals_, help_for=command.path)
    leftover = list(rest)
    for word in positional[:size]:
        leftover.remove(word)
    return Invocation(command, _parse_options(command, leftover), globals_, words=tuple(words))


def _runs_a_command(seen: list[str]) -> bool:
    """Whether ``seen`` names, whole, a command whose arguments are a command line."""
    if not seen:
        return False
    command, size = find_command(seen)
    return command is not None and command.runs_a_command and size == len(seen)


def _no_command(
    positional: list[str], rest: list[str], globals_: GlobalOptions, wants_help: bool
) -> Invocation:
    if wants_help or not rest:
        return Invocation(None, None, globals_, help_for=tuple(positional[:1]))
    if positional and positional[0] in GROUPS:
        raise _not_in_group(positional[0], positional[1:2])
    if not positional:
        raise UsageError(f"unknown flag {rest[0].split('=')[0]}", "Run: bp --help")
    known = [*dict.fromkeys(c.path[0] for c in COMMANDS), HELP_WORD]
    import difflib  # only for a mistyped word

    close = difflib.get_close_matches(positional[0], known, n=1)
    hint = f"did you mean 'bp {close[0]}'?" if close else "Run: bp --help"
    raise UsageError(f"unknown command '{_shown(positional[0])}'", hint)


def _not_in_group(group: str, sub: list[str]) -> UsageError:
    """``bp profiles`` alone, or with a word that is none of its commands (nor an alias)."""
    members = [c for c in COMMANDS if c.path[0] == group]
    choices = f"choose one of: {', '.join(c.path[1] for c in members)}"
    if not sub:
        return UsageError(f"'bp {group}' needs a command", choices)
    names = {c.path[1]: c.path[1] for c in members}
    names.update({alias: c.path[1] for c in members for alias in c.aliases})
    import difflib  # only for a mistyped word

    close = difflib.get_close_matches(sub[0], list(names), n=1)
    hint = f"did you mean 'bp {group} {names[close[0]]}'?" if close else choices
    return UsageError(f"unknown command 'bp {group} {_shown(sub[0])}'", hint)


def _parse_options(command: Command, words: list[str]) -> Any:
    values: dict[str, Any] = {}
    args: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            args.extend(words[index + 1 :])
            break
        if word.startswith("-") and word != "-":
            name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
            flag = _lookup(name, command.flags)
            if flag is None:
                raise UsageError(
                    f"unknown flag {_shown(name)} for 'bp {command.name}'",
                    _flag_hint(name, command),
                )
            value, index = _take_value(flag, words, index, inline if eq else None, command.name)
            values[flag.dest] = value
        else:
            args.append(word)
        index += 1
    spread = bool(command.args) and command.args[-1].many
    if len(args) > len(command.args) and not spread:
        count = len(command.args)
        takes = "no arguments" if not count else f"at most {count} argument{'s' * (count > 1)}"
        raise UsageError(
            f"'bp {command.name}' takes {takes}, got {_shown(args[count])}",
            f"Run: bp {command.name} --help",
        )
    for arg, value in zip(command.args, args, strict=False):
        values[arg.dest] = value
    if spread and len(args) >= len(command.args):
        values[command.args[-1].dest] = tuple(args[len(command.args) - 1 :])
    missing = [arg for arg in command.args[len(args) :] if arg.required]
    if missing:
        usage = " ".join(a.dest.upper() for a in command.args)
        raise UsageError(
            f"'bp {command.name}' needs {_wanted(missing[0])}", f"usage: bp {command.name} {usage}"
        )
    known = set(command.options._fields)
    return command.options(**{k: v for k, v in values.items() if k in known})


def _wanted(arg: Arg) -> str:
    """``NAME``, or for a word from a short list ``a shell: bash, zsh or fish`` (``SHELL``
    alone would read like the ``$SHELL`` variable)."""
    choices = CHOICES.get(arg.complete or "")
    if not choices:
        return arg.dest.upper()
    either = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]
    return f"a {arg.dest}: {either}"


def _take_value(
    flag: Flag, words: Sequence[str], index: int, inline: str | None, where: str
) -> tuple[Any, int]:
    name = words[index].partition("=")[0]
    if not flag.takes_value:
        if inline is not None:
            raise UsageError(f"flag {flag.names[-1]} takes no value", _help_hint(where))
        return True, index
    if inline is not None:
        raw = inline
    elif index + 1 < len(words) and (
        words[index + 1] == "-" or not words[index + 1].startswith("-")
    ):
        raw, index = words[index + 1], index + 1
    else:
        raise UsageError(f"flag {flag.names[0]} needs a value ({flag.metavar})", _help_hint(where))
    if not raw:  # `-p "$UNSET"` is a mistake, not a request for the default
        raise empty_value(name, flag)
    if flag.convert is None:
        return raw, index
    try:
        return flag.convert(raw), index
    except ValueError as exc:
        raise UsageError(
            f"invalid value {_shown(raw)} for {flag.names[0]}: expected {exc}"
        ) from None


# What leaving a flag out means, where it is not plain "the flag's default".
_LEFT_OUT = {
    "profile": "BP_PROFILE or the active profile",
    "home": "BP_BOTPRESS_HOME or ~/.botpress",
}


def empty_value(name: str, flag: Flag) -> UsageError:
    """An empty flag value (``-p ""``, ``--profile=``): refused, as it would silently pick the
    default, which is not what an explicit flag asked for (``bp logout -p "$UNSET"``)."""
    instead = f" to use {_LEFT_OUT[flag.dest]}" if flag.dest in _LEFT_OUT else ""
    return UsageError(
        f"{name} was given an empty value",
        f"give {name} {flag.metavar}, or leave {name} out{instead}",
    )


def _help_hint(where: str) -> str:
    """``Run: bp login --help``, or ``Run: bp --help`` for a global flag (``where`` empty)."""
    return f"Run: bp {where} --help" if where else "Run: bp --help"


def _lookup(name: str, flags: Sequence[Flag]) -> Flag | None:
    for flag in flags:
        if name in flag.names:
            return flag
    return None


def _flag_hint(name: str, command: Command) -> str:
    spellings = [n for f in (*command.flags, *GLOBAL_FLAGS) for n in f.names]
    import difflib  # only for a mistyped word

    close = difflib.get_close_matches(name, spellings, n=1, cutoff=0.75)
    return f"did you mean {close[0]}?" if close else f"Run: bp {command.name} --help"


def _shown(word: str) -> str:
    from bpshell.render import clean

    return clean(word[:60] + ("…" if len(word) > 60 else ""))
