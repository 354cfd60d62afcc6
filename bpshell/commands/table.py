"""The command table: each command's words, options, flags, arguments and run function.

Data only: parsing is :mod:`bpshell.commands.parse`'s job and help text
:mod:`bpshell.commands.help`'s. Run functions import their module when a command runs, so
``bp --help`` and completion stay light; for the same reason the records are
:class:`~bpshell.records.Record`s, which do not import ``typing``.
"""

from __future__ import annotations

from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from typing import Any, TypeAlias

    from bpshell.env import Env
    from bpshell.render import Result

TRUE_WORDS = ("1", "true", "yes", "on")
# bpshell.config has the same constant (a test keeps them equal); importing it loads pydantic.
DEFAULT_API_URL = "https://api.botpress.cloud"


class Flag(Record):
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


class Arg(Record):
    """One positional argument; ``many`` (last only) takes every remaining word, as a tuple."""

    dest: str
    help: str = ""
    required: bool = True
    complete: str | None = None
    many: bool = False


class GlobalOptions(Record):
    """Flags every command takes, before or after its name."""

    json: bool = False
    verbose: bool = False
    confirm: bool = False
    home: str | None = None
    profile: str | None = None
    # flag, BP_PROFILE, local (a folder's .bp-profile, named in profile_file) or session (the
    # profile bp shell is pinned to); see bpshell.profiles.resolve.
    profile_source: str | None = None
    profile_file: str | None = None
    # Set by ``bp shell`` for its lines: a command's messages name commands the shell's way
    # (``profiles use x``, not ``bp profiles use x``; see bpshell.commands.help.for_shell)
    # and leave out advice that only a command line can follow.
    in_shell: bool = False


class LoginOptions(Record):
    """``bp login``."""

    token: str | None = None
    workspace_id: str | None = None
    api_url: str | None = None
    insecure_storage: bool = False
    no_browser: bool = False
    token_command: str | None = None


class LogoutOptions(Record):
    """``bp logout``."""

    all: bool = False
    revoke: bool = False


class TokensCreateOptions(Record):
    """``bp tokens create``."""

    note: str | None = None
    save_as: str | None = None


class TokensRotateOptions(Record):
    """``bp tokens rotate``."""

    revoke_old: str | None = None
    keep_old: bool = False


class TokensRevokeOptions(Record):
    """``bp tokens revoke``."""

    id: str | None = None


class ListOptions(Record):
    """``bp profiles list``."""

    verify: bool = False
    display_token: bool = False
    concurrency: int = 64
    timeout: float = 10.0


class ActiveOptions(Record):
    """``bp profiles active``."""

    display_token: bool = False


class NameOptions(Record):
    """Profile commands that take one profile name."""

    name: str | None = None
    display_token: bool = False


class UseOptions(Record):
    """``bp profiles use``."""

    name: str | None = None
    local: bool = False
    session: bool = False
    unset: bool = False


class RenameOptions(Record):
    """``bp profiles rename``."""

    old: str = ""
    new: str = ""


class NoOptions(Record):
    """Commands without options of their own."""


class ShellOptions(Record):
    """``bp shell``."""

    sandbox: bool = False
    command: str | None = None
    keep_going: bool = False


if TYPE_CHECKING:
    Run: TypeAlias = Callable[[Any, GlobalOptions, Env], Awaitable[Result]]
    # Whether a run with these options (and this interactivity) needs no network and no
    # prompt: such runs go without an event loop, so asyncio is never even imported.
    Offline: TypeAlias = Callable[[Any, GlobalOptions, bool], bool]


def _always(options: Any, opts: GlobalOptions, interactive: bool) -> bool:
    return True


class Command(Record):
    """One entry of the table: a path of words, its options, and its run function."""

    path: tuple[str, ...]
    summary: str
    run: Run
    options: type[Any] = NoOptions
    flags: tuple[Flag, ...] = ()
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    offline: Offline | None = None
    # From its first argument on, every word is the command line it runs (``bp exec``), as
    # with sudo and aws-vault: ``bp exec echo -p x`` passes ``-p x`` on.
    runs_a_command: bool = False
    # Whether the command acts on the profile in use when none is named (-p, BP_PROFILE): a
    # folder's .bp-profile is read for it before it runs (bpshell.local_profile).
    uses_profile: bool = True
    # It only looks (``bp doctor``): no first-run import of the official CLI's files, no sweep
    # of private homes a killed ``bp exec`` left, before it runs.
    read_only: bool = False

    @property
    def name(self) -> str:
        """``profiles list``."""
        return " ".join(self.path)


class Invocation(Record):
    """A parsed line: the command (None for top-level help/version), its options and globals."""

    command: Command | None
    options: Any
    globals: GlobalOptions
    help_for: tuple[str, ...] | None = None
    version: bool = False
    words: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # Not the words: they may hold a token (``login --token …``).
        name = self.command.name if self.command else None
        return f"Invocation(command={name!r}, help_for={self.help_for!r}, version={self.version})"


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


def _tokens(name: str, options: type, summary: str, **rest: Any) -> Command:
    async def run(options: Any, opts: GlobalOptions, env: Env) -> Result:
        from bpshell import pats

        runner: Run = getattr(pats, f"run_{name}")
        return await runner(options, opts, env)

    return Command(("tokens", name), summary, run, options, **rest)


PROFILE_ARG = Arg("name", "profile name", complete="profiles")

COMPLETION_SHELLS = ("bash", "zsh", "fish")
ENV_SHELLS = ("sh", "fish", "powershell")
# Shells that read sh syntax, accepted for --shell as sh is (users name their own shell).
SH_LIKE = ("bash", "zsh")
CHOICES: dict[str, tuple[str, ...]] = {
    "completion_shells": COMPLETION_SHELLS,
    "env_shells": ENV_SHELLS,
}


class CompletionOptions(Record):
    """``bp completion``."""

    shell: str = ""


class EnvOptions(Record):
    """``bp env``."""

    shell: str = "sh"


class ImportOptions(Record):
    """``bp profiles import``."""

    move: bool = False


class DoctorOptions(Record):
    """``bp doctor``."""

    timeout: float = 10.0


class ExecOptions(Record):
    """``bp exec``."""

    env_only: bool = False
    command: tuple[str, ...] = ()


def _one_of(
    choices: tuple[str, ...], same: Mapping[str, str] | None = None
) -> Callable[[str], str]:
    """A value check: one of ``choices``, or a key of ``same`` (which stands for its value)."""
    aliases = dict(same or {})

    def convert(text: str) -> str:
        if text in aliases:
            return aliases[text]
        if text not in choices:
            raise ValueError("one of " + ", ".join((*choices, *aliases)))
        return text

    return convert


async def _run_completion(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.complete import run_completion

    return await run_completion(options, opts, env)


async def _run_import(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.official.files import run_import

    return await run_import(options, opts, env)


async def _run_doctor(options: Any, opts: GlobalOptions, env: Env) -> Result:
    from bpshell.doctor import run_doctor

    return await run_doctor(options, opts, env)


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
                ("--token-command", "--tokenCommand"),
                "token_command",
                "COMMAND",
                "command that prints the token; only it is stored",
            ),
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
            "bp login -p team --token-command 'op read op://Private/Botpress/token'",
        ),
    ),
    Command(
        ("logout",),
        "remove stored credentials",
        _run_logout,
        LogoutOptions,
        flags=(
            Flag(("--all",), "all", help="log out of every profile"),
            Flag(
                ("--revoke",),
                "revoke",
                help="first revoke the token server-side (bpshell must know its ID)",
            ),
        ),
        examples=("bp logout", "bp logout -p prod", "bp logout --all", "bp logout --revoke"),
        # --all asks on a terminal, and a prompt needs the event loop
        offline=lambda o, g, interactive: (
            not o.revoke and (not o.all or g.confirm or not interactive)
        ),
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
                "profiles checked at once, at most (default 64; one request each)",
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
        uses_profile=False,  # it marks the profile in use itself, and still lists with a bad file
    ),
    _profiles(
        "active",
        ActiveOptions,
        "show the active credentials and check them",
        flags=(DISPLAY_TOKEN,),
    ),
    _profiles(
        "use",
        UseOptions,
        "make a profile the active one",
        args=(PROFILE_ARG._replace(required=False),),
        flags=(
            Flag(("--local",), "local", help="only in this folder and below (writes .bp-profile)"),
            Flag(("--session",), "session", help="only in this bp shell, until it ends"),
            Flag(
                ("--unset",),
                "unset",
                help="with --local: remove .bp-profile; with --session: unpin the shell",
            ),
        ),
        examples=(
            "bp profiles use prod",
            "bp profiles use --local prod",
            "bp profiles use --local --unset",
            "bp shell -p prod",
        ),
        offline=lambda o, g, i: o.name is not None or g.profile_source == "flag" or o.unset,
        uses_profile=False,
    ),
    _profiles(
        "get",
        NameOptions,
        "show one profile",
        args=(PROFILE_ARG._replace(required=False),),
        flags=(DISPLAY_TOKEN,),
        offline=_always,
        uses_profile=False,  # a profile named on the line leaves the folder's file unread
    ),
    _profiles(
        "rm",
        NameOptions,
        "remove a profile and its token",
        args=(PROFILE_ARG,),
        offline=lambda o, g, interactive: g.confirm or not interactive,
        uses_profile=False,
    ),
    _profiles(
        "rename",
        RenameOptions,
        "rename a profile",
        args=(Arg("old", "current name", complete="profiles"), Arg("new", "new name")),
        offline=_always,
        uses_profile=False,
    ),
    _tokens(
        "list",
        NoOptions,
        "list the account's Personal Access Tokens",
        aliases=("ls",),
        examples=("bp tokens list", "bp tokens list -p prod --json"),
    ),
    _tokens(
        "create",
        TokensCreateOptions,
        "create a Personal Access Token; its value is shown once",
        flags=(
            Flag(("--note",), "note", "NOTE", "what the token is for (required)"),
            Flag(
                ("--save-as", "--saveAs"),
                "save_as",
                "PROFILE",
                "store it as a new profile instead of printing it",
            ),
        ),
        examples=(
            "bp tokens create --note 'GitHub Actions' | gh secret set BP_TOKEN",
            "bp tokens create --note 'staging box' --save-as staging",
        ),
    ),
    _tokens(
        "rotate",
        TokensRotateOptions,
        "replace the profile's token with a new one, then revoke the old one",
        flags=(
            Flag(
                ("--revoke-old", "--revokeOld"),
                "revoke_old",
                "ID",
                "the old token's ID, when bpshell does not know it",
                complete="pats",
            ),
            Flag(("--keep-old", "--keepOld"), "keep_old", help="do not revoke the old token"),
        ),
        examples=("bp tokens rotate", "bp tokens rotate -p prod --revoke-old ID"),
    ),
    _tokens(
        "revoke",
        TokensRevokeOptions,
        "revoke a Personal Access Token",
        args=(Arg("id", "the token's ID (see bp tokens list)", required=False, complete="pats"),),
        examples=("bp tokens revoke", "bp tokens revoke ID -y"),
    ),
    Command(
        ("profiles", "import"),
        "import the profiles and login of the official Botpress CLI",
        _run_import,
        ImportOptions,
        flags=(
            Flag(
                ("--move",),
                "move",
                help="then remove the imported tokens from the official CLI's files",
            ),
        ),
        examples=(
            "bp profiles import",
            "bp profiles import --move",
            "bp profiles import --botpressHome ~/.botpress",
        ),
        uses_profile=False,
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
                "sh (default; bash and zsh too), fish or powershell",
                "env_shells",
                convert=_one_of(ENV_SHELLS, dict.fromkeys(SH_LIKE, "sh")),
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
            "mkdir -p ~/.config/fish/completions && "
            "bp completion fish > ~/.config/fish/completions/bp.fish",
        ),
        uses_profile=False,
    ),
    Command(
        ("workspaces", "list"),
        "list the workspaces the active token can use",
        _run_workspaces_list,
        aliases=("ls",),
        examples=("bp workspaces list", "bp workspaces list -p prod --json"),
    ),
    Command(
        ("doctor",),
        "check the keyring, files, profiles, API and tools; say how to fix each problem",
        _run_doctor,
        DoctorOptions,
        flags=(
            Flag(
                ("--timeout",),
                "timeout",
                "SECONDS",
                "time allowed per check that touches the network (default 10)",
                convert=_positive_float,
            ),
        ),
        examples=("bp doctor", "bp doctor -p prod", "bp doctor --json"),
        read_only=True,
        uses_profile=False,  # it reads .bp-profile itself: a refused one is a failed check
    ),
    Command(
        ("shell",),
        "open an interactive shell, or run commands from -c or stdin",
        _run_shell,
        ShellOptions,
        flags=(
            Flag(("--sandbox",), "sandbox", help="try bp offline against a local sandbox"),
            Flag(("-c", "--command"), "command", "COMMANDS", "run these commands (; between)"),
            Flag(
                ("--keep-going", "--keepGoing"),
                "keep_going",
                help="go on after a failure; end with the last failure's status",
            ),
        ),
        examples=(
            "bp shell",
            "bp shell -p prod",
            "bp shell --sandbox",
            'bp shell -c "profiles use dev; profiles active"',
            "bp shell < setup.bp",
        ),
        uses_profile=False,  # its commands look for .bp-profile themselves, one by one
    ),
)

GROUPS = {
    "profiles": "manage profiles",
    "tokens": "manage Personal Access Tokens",
    "workspaces": "list workspaces",
}
