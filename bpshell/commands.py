"""The command table, and the one parser that serves argv, shell lines, help and completion.

Parsing only fills and checks a frozen options value; running does the work. Run functions
are imported when a command runs, so ``bp --help`` and completion stay light.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from bpshell.errors import UsageError

if TYPE_CHECKING:
    from bpshell.env import Env
    from bpshell.render import Result

TRUE_WORDS = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Flag:
    """One flag: its spellings, where its value goes, and how to complete that value."""

    names: tuple[str, ...]
    dest: str
    metavar: str | None = None
    help: str = ""
    complete: str | None = None
    convert: Callable[[str], Any] | None = None

    @property
    def takes_value(self) -> bool:
        """Whether the flag is followed by a value."""
        return self.metavar is not None


@dataclass(frozen=True)
class Arg:
    """One positional argument; ``many`` (last only) takes every remaining word, as a tuple."""

    dest: str
    help: str = ""
    required: bool = True
    complete: str | None = None
    many: bool = False


@dataclass(frozen=True)
class GlobalOptions:
    """Flags every command takes, before or after its name."""

    json: bool = False
    verbose: bool = False
    confirm: bool = False
    home: str | None = None
    profile: str | None = None
    profile_source: str | None = None


@dataclass(frozen=True)
class LoginOptions:
    """``bp login``."""

    token: str | None = None
    workspace_id: str | None = None
    api_url: str | None = None
    insecure_storage: bool = False
    no_browser: bool = False


@dataclass(frozen=True)
class LogoutOptions:
    """``bp logout``."""

    all: bool = False


@dataclass(frozen=True)
class ListOptions:
    """``bp profiles list``."""

    verify: bool = False
    display_token: bool = False
    concurrency: int = 64
    timeout: float = 10.0


@dataclass(frozen=True)
class ActiveOptions:
    """``bp profiles active``."""

    display_token: bool = False


@dataclass(frozen=True)
class NameOptions:
    """Profile commands that take one profile name."""

    name: str | None = None
    display_token: bool = False


@dataclass(frozen=True)
class RenameOptions:
    """``bp profiles rename``."""

    old: str = ""
    new: str = ""


@dataclass(frozen=True)
class NoOptions:
    """Commands without options of their own."""


@dataclass(frozen=True)
class ShellOptions:
    """``bp shell``."""

    sandbox: bool = False
    command: str | None = None
    keep_going: bool = False


Run = Callable[[Any, GlobalOptions, "Env"], Awaitable["Result"]]
# Whether a run with these options (and this interactivity) needs no network and no prompt:
# such runs go without an event loop, so asyncio is never even imported.
Offline = Callable[[Any, GlobalOptions, bool], bool]


def _always(options: Any, opts: GlobalOptions, interactive: bool) -> bool:
    return True


@dataclass(frozen=True)
class Command:
    """One entry of the table: a path of words, its options, and its run function."""

    path: tuple[str, ...]
    summary: str
    run: Run
    options: type = NoOptions
    flags: tuple[Flag, ...] = ()
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    offline: Offline | None = None
    # From its first argument on, every word is the command line it runs (``bp exec``), as
    # with sudo and aws-vault: ``bp exec echo -p x`` passes ``-p x`` on.
    runs_a_command: bool = False

    @property
    def name(self) -> str:
        """``profiles list``."""
        return " ".join(self.path)


@dataclass(frozen=True)
class Invocation:
    """A parsed line: the command (None for top-level help/version), its options and globals."""

    command: Command | None
    options: Any
    globals: GlobalOptions
    help_for: tuple[str, ...] | None = None
    version: bool = False
    words: tuple[str, ...] = field(default=(), repr=False)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError("a whole number of at least 1")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value > 3600:
        raise ValueError("a number of seconds between 0 and 3600")
    return value


GLOBAL_FLAGS: tuple[Flag, ...] = (
    Flag(("--json",), "json", help="print only JSON on stdout"),
    Flag(("-v", "--verbose"), "verbose", help="log API requests (tokens redacted) on stderr"),
    Flag(("-y", "--confirm"), "confirm", help="answer yes; never prompt"),
    Flag(
        ("--botpressHome", "--botpress-home"),
        "home",
        "DIR",
        "botpress home directory (default ~/.botpress)",
    ),
    Flag(("-p", "--profile"), "profile", "NAME", "use this profile for this run", "profiles"),
)
HELP_FLAG = Flag(("-h", "--help"), "help", help="show help")
VERSION_FLAG = Flag(("--version",), "version", help="print the version")
DISPLAY_TOKEN = Flag(
    ("--displayToken", "--display-token"), "display_token", help="show tokens in clear"
)


async def _run_login(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.login import run_login

    return await run_login(options, opts, env)


async def _run_logout(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.login import run_logout

    return await run_logout(options, opts, env)


def _profiles(name: str, options: type, summary: str, **rest: Any) -> Command:
    async def run(options: Any, opts: GlobalOptions, env: Env) -> Result:
        from bpshell import profiles

        runner: Run = getattr(profiles, f"run_{name}")
        return await runner(options, opts, env)

    return Command(("profiles", name), summary, run, options, **rest)


PROFILE_ARG = Arg("name", "profile name", complete="profiles")

COMPLETION_SHELLS = ("bash", "zsh", "fish")
ENV_SHELLS = ("sh", "fish", "powershell")
CHOICES: dict[str, tuple[str, ...]] = {
    "completion_shells": COMPLETION_SHELLS,
    "env_shells": ENV_SHELLS,
}


@dataclass(frozen=True)
class CompletionOptions:
    """``bp completion``."""

    shell: str = ""


@dataclass(frozen=True)
class EnvOptions:
    """``bp env``."""

    shell: str = "sh"


@dataclass(frozen=True)
class ExecOptions:
    """``bp exec``."""

    env_only: bool = False
    command: tuple[str, ...] = ()


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        if text not in choices:
            raise ValueError("one of " + ", ".join(choices))
        return text

    return convert


async def _run_completion(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.complete import run_completion

    return await run_completion(options, opts, env)


async def _run_import(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.official.files import run_import

    return await run_import(options, opts, env)


async def _run_env(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.official.child import run_env

    return await run_env(options, opts, env)


async def _run_exec(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.official.child import run_exec

    return await run_exec(options, opts, env)


async def _run_workspaces_list(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.workspaces import run_list

    return await run_list(options, opts, env)


async def _run_shell(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.shell import run_shell

    return await run_shell(options, opts, env)


COMMANDS: tuple[Command, ...] = (
    Command(
        ("login",),
        "log in with a Personal Access Token and a workspace",
        _run_login,
        LoginOptions,
        flags=(
            Flag(("--token",), "token", "TOKEN", "Personal Access Token, or - to read stdin"),
            Flag(
                ("--workspaceId", "--workspace-id"),
                "workspace_id",
                "ID",
                "workspace to use",
                "workspaces",
            ),
            Flag(("--apiUrl", "--api-url"), "api_url", "URL", "API URL", "api_urls"),
            Flag(
                ("--insecure-storage", "--insecureStorage"),
                "insecure_storage",
                help="store the token in config.json, not the keyring",
            ),
            Flag(("--no-browser", "--noBrowser"), "no_browser", help="print the token page URL"),
        ),
        examples=(
            "bp login",
            "bp login --token - --workspaceId ws_abc123 -y < token.txt",
            "bp login -p prod --workspaceId ws_prod",
        ),
    ),
    Command(
        ("logout",),
        "remove stored credentials",
        _run_logout,
        LogoutOptions,
        flags=(Flag(("--all",), "all", help="log out of every profile"),),
        examples=("bp logout", "bp logout -p prod", "bp logout --all"),
        offline=_always,
    ),
    _profiles(
        "list",
        ListOptions,
        "list profiles",
        aliases=("ls",),
        flags=(
            Flag(("--verify",), "verify", help="check every profile against the API at once"),
            DISPLAY_TOKEN,
            Flag(
                ("--concurrency",),
                "concurrency",
                "N",
                "API requests in flight at most (default 64; each check sends 2)",
                convert=_positive_int,
            ),
            Flag(
                ("--timeout",),
                "timeout",
                "SECONDS",
                "time allowed per profile (default 10)",
                convert=_positive_float,
            ),
        ),
        offline=lambda o, g, i: not o.verify and not o.display_token,
    ),
    _profiles(
        "active",
        ActiveOptions,
        "show the active credentials and check them",
        flags=(DISPLAY_TOKEN,),
    ),
    _profiles(
        "use",
        NameOptions,
        "make a profile the active one",
        args=(replace(PROFILE_ARG, required=False),),
        offline=lambda o, g, i: o.name is not None,
    ),
    _profiles(
        "get",
        NameOptions,
        "show one profile",
        args=(replace(PROFILE_ARG, required=False),),
        flags=(DISPLAY_TOKEN,),
        offline=_always,
    ),
    _profiles(
        "rm",
        NameOptions,
        "remove a profile and its token",
        args=(PROFILE_ARG,),
        offline=lambda o, g, interactive: g.confirm or not interactive,
    ),
    _profiles(
        "rename",
        RenameOptions,
        "rename a profile",
        args=(Arg("old", "current name", complete="profiles"), Arg("new", "new name")),
        offline=_always,
    ),
    Command(
        ("profiles", "import"),
        "import the profiles and login of the official Botpress CLI",
        _run_import,
        examples=("bp profiles import", "bp profiles import --botpressHome ~/.botpress"),
    ),
    Command(
        ("env",),
        "print the credentials in force as BP_* variables, for eval",
        _run_env,
        EnvOptions,
        flags=(
            Flag(
                ("--shell",),
                "shell",
                "SHELL",
                "sh (default), fish or powershell",
                "env_shells",
                convert=_one_of(ENV_SHELLS),
            ),
        ),
        examples=('eval "$(bp env)"', "bp env -p prod --shell fish | source", "bp env --json"),
    ),
    Command(
        ("exec",),
        "run a command with the credentials in force in its environment",
        _run_exec,
        ExecOptions,
        flags=(
            Flag(
                ("--env-only", "--envOnly"),
                "env_only",
                help="only set BP_TOKEN, BP_WORKSPACE_ID, BP_API_URL; no private botpress home",
            ),
        ),
        args=(Arg("command", "the command to run and its arguments", many=True),),
        runs_a_command=True,
        examples=(
            "bp exec -- npx @botpress/cli deploy",
            "bp exec -p prod -- ./deploy.sh --verbose",
            "bp exec --env-only -- env",
        ),
    ),
    Command(
        ("completion",),
        "print the completion script for bash, zsh or fish",
        _run_completion,
        CompletionOptions,
        args=(Arg("shell", "bash, zsh or fish", complete="completion_shells"),),
        examples=(
            "source <(bp completion bash)",
            'bp completion zsh > "${fpath[1]}/_bp"',
            "bp completion fish > ~/.config/fish/completions/bp.fish",
        ),
    ),
    Command(
        ("workspaces", "list"),
        "list the workspaces the active token can use",
        _run_workspaces_list,
        aliases=("ls",),
        examples=("bp workspaces list", "bp workspaces list -p prod --json"),
    ),
    Command(
        ("shell",),
        "open an interactive shell, or run commands from -c or stdin",
        _run_shell,
        ShellOptions,
        flags=(
            Flag(("--sandbox",), "sandbox", help="try bp offline against a local sandbox"),
            Flag(("-c", "--command"), "command", "COMMANDS", "run these commands (; between)"),
            Flag(("--keep-going", "--keepGoing"), "keep_going", help="go on after a failure"),
        ),
        examples=(
            "bp shell",
            "bp shell --sandbox",
            'bp shell -c "profiles use dev; profiles active"',
            "bp shell < setup.bp",
        ),
    ),
)

GROUPS = {"profiles": "manage profiles", "workspaces": "list workspaces"}


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
                globals_ = replace(globals_, profile=value, profile_source="flag")
            else:
                globals_ = replace(globals_, **{flag.dest: value})
        index += 1
    positional = [word for word in rest if not word.startswith("-")]
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
        sub = positional[1] if len(positional) > 1 else None
        choices = ", ".join(c.path[1] for c in COMMANDS if c.path[0] == positional[0])
        what = (
            f"unknown command 'bp {positional[0]} {sub}'"
            if sub
            else f"'bp {positional[0]}' needs a command"
        )
        raise UsageError(what, f"choose one of: {choices}")
    if not positional:
        raise UsageError(f"unknown flag {rest[0].split('=')[0]}", "Run: bp --help")
    known = [c.path[0] for c in COMMANDS]
    close = difflib.get_close_matches(positional[0], known, n=1)
    hint = f"did you mean 'bp {close[0]}'?" if close else "Run: bp --help"
    raise UsageError(f"unknown command '{_shown(positional[0])}'", hint)


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
    missing = [arg.dest for arg in command.args[len(args) :] if arg.required]
    if missing:
        usage = " ".join(a.dest.upper() for a in command.args)
        raise UsageError(
            f"'bp {command.name}' needs {missing[0].upper()}", f"usage: bp {command.name} {usage}"
        )
    known = {f.name for f in fields(command.options)}
    return command.options(**{k: v for k, v in values.items() if k in known})


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
    close = difflib.get_close_matches(name, spellings, n=1, cutoff=0.75)
    return f"did you mean {close[0]}?" if close else f"Run: bp {command.name} --help"


def _shown(word: str) -> str:
    from bpshell.render import clean

    return clean(word[:60] + ("…" if len(word) > 60 else ""))


def usage_text(path: tuple[str, ...]) -> str:
    """Help for ``bp``, a group (``profiles``) or one command."""
    command, _ = find_command(list(path))
    if command is None:
        return _overview(path[0] if path and path[0] in GROUPS else None)
    lines = [f"{command.summary[0].upper()}{command.summary[1:]}.", "", "Usage:"]
    args = " ".join(a.dest.upper() if a.required else f"[{a.dest.upper()}]" for a in command.args)
    lines.append(f"  bp {command.name} {args} [flags]".replace("  [", " [").rstrip())
    if command.aliases:
        lines.append(f"  (alias: bp {' '.join(command.path[:-1])} {', '.join(command.aliases)})")
    lines += ["", "Flags:", *_flag_lines(command.flags), "", "Global flags:"]
    lines += _flag_lines((*GLOBAL_FLAGS, HELP_FLAG))
    if command.examples:
        lines += ["", "Examples:", *(f"  {e}" for e in command.examples)]
    return "\n".join(lines)


def _overview(group: str | None) -> str:
    from bpshell import __version__

    chosen = [c for c in COMMANDS if group is None or c.path[0] == group]
    width = max(len(c.name) for c in chosen) + 2
    lines = [
        f"bp {__version__}: Botpress Cloud login and profiles",
        "",
        "Usage:",
        f"  bp {group or 'COMMAND'} {'COMMAND ' if group else ''}[flags]",
        "",
        "Commands:",
    ]
    lines += [f"  {c.name.ljust(width)}{c.summary}" for c in chosen]
    lines += ["", "Global flags:", *_flag_lines((*GLOBAL_FLAGS, HELP_FLAG, VERSION_FLAG))]
    if group is None:
        lines += [
            "",
            "Other commands (deploy, dev, bots, integrations, …) are handed to the official",
            "Botpress CLI when it is installed, with the credentials in force.",
        ]
    lines += ["", "Run 'bp COMMAND --help' for more about a command."]
    return "\n".join(lines)


def _flag_lines(flags: Sequence[Flag]) -> list[str]:
    rows = [(", ".join(f.names) + (f" {f.metavar}" if f.metavar else ""), f.help) for f in flags]
    width = max((len(left) for left, _ in rows), default=0) + 2
    return [f"  {left.ljust(width)}{text}" for left, text in rows]
