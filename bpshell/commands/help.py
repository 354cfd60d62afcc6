"""Help: the overview, a group's commands, one command, the topics, and the version.

Built from the command table, so help never disagrees with what parses. Help for a word that
is neither a command nor a topic is a usage error with a did-you-mean, as a mistyped command
is. :func:`for_shell` rewords messages for the shell, where commands are typed without ``bp``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from bpshell.commands.parse import HELP_WORD, find_command
from bpshell.commands.table import (
    COMMANDS,
    DEFAULT_API_URL,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_FLAG,
    VERSION_FLAG,
    Command,
    Flag,
    GlobalOptions,
)
from bpshell.errors import UsageError

ENVIRONMENT = f"""\
The environment variables bp reads.

Credentials, used instead of the profile's (a flag wins over its variable, which wins
over the profile):
  BP_TOKEN          Personal Access Token
  BP_WORKSPACE_ID   workspace ID
  BP_API_URL        API URL (default {DEFAULT_API_URL})
  BP_PROFILE        profile to use, as -p NAME (it wins over a folder's .bp-profile)
  BP_BOTPRESS_HOME  botpress home directory, as --botpressHome (default ~/.botpress)

Switches (on with 1, true, yes or on):
  BP_CONFIRM        as -y: answer yes, never prompt
  BP_JSON           as --json
  BP_VERBOSE        as -v
  CI                no hint about a token given on the command line

Other settings:
  BP_OFFICIAL_CLI   the official Botpress CLI to hand its commands to: a path, or a
                    command with arguments (default: node_modules/.bin/bp of the
                    project, npm's global prefix, next to node, then PATH)
  BP_TOKEN_COMMAND_TIMEOUT
                    seconds a profile's token command may take (default 30)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
                    the proxy to reach the API through, as curl reads them (lowercase
                    names too), and the hosts reached without one
  SSL_CERT_FILE, SSL_CERT_DIR
                    CA certificates to trust for the API, besides the system's
  PYTHON_KEYRING_BACKEND
                    the keyring backend (the keyring library's own setting); with
                    keyring.backends.fail.Keyring tokens go to config.json, with a warning
  NO_COLOR          set and not empty: no colour at all (it wins over the next two)
  FORCE_COLOR, CLICOLOR_FORCE
                    set and not empty or 0 (FORCE_COLOR: nor false): colour even when
                    piped (never in --json output)
  TERM              dumb: no colour, and no spinner line while bp waits
  BROWSER, DISPLAY, WAYLAND_DISPLAY
                    whether login can open the token page in a browser

bp exec, and the official CLI bp hands a command to, get BP_TOKEN, BP_WORKSPACE_ID and
BP_API_URL of the credentials in force (and, unless --env-only, BP_BOTPRESS_HOME of a
private home holding them)."""

EXIT_CODES = """\
What bp's exit status means.

  0    done
  1    the command failed: the API refused or could not be reached, a profile is
       unknown, a check failed (profiles list --verify, profiles active, doctor), a
       token could not be removed, or a question was answered no
  2    usage: a wrong command, flag, argument or value; a question with no terminal
       to ask it and no -y; config.json unreadable or not valid, or a .bp-profile
       refused; no official CLI to hand a command to
  126  bp exec: the command was found but cannot be run
  127  bp exec: the command was not found
  130  interrupted (Ctrl-C)

bp exec, and the commands bp hands to the official Botpress CLI, end with the child's
own status (128+N when signal N ended it): bp exec -- make test fails as make does.

bp shell -c and bp shell < script stop at the first command that fails, with its
status; with --keep-going they run every command and end with the status of the last
one that failed (0 when none did). The interactive shell always ends with 0."""

TOPICS: dict[str, tuple[str, str]] = {
    "environment": ("the environment variables bp reads", ENVIRONMENT),
    "exit-codes": ("what each exit status means", EXIT_CODES),
}

# More about a command than its flags say, after them in its help.
DETAILS: dict[tuple[str, ...], str] = {
    ("login",): f"""\
Where each value comes from (the first one given wins):
  profile    -p NAME, BP_PROFILE, the folder's .bp-profile, the active profile,
             "default"
  token      --token or --token-command, BP_TOKEN, the profile's stored token or token
             command (same API URL), asked for
  workspace  --workspaceId, BP_WORKSPACE_ID, asked for (with no terminal or -y: the
             profile's)
  API URL    --apiUrl, BP_API_URL, the profile's, {DEFAULT_API_URL}
With no terminal, or with -y, nothing is asked: give the token (--token - reads it from
stdin, and keeps it out of the process list) and the workspace ID.
--token-command runs a command that prints the token (a secret manager's: op, pass,
vault) once to check it, and stores only the command: bp runs it whenever it needs the
token (once per bp shell session). It is split into words as a shell would and run
without one; for pipes or variables, say sh -c '...'.
See 'bp help environment' for every variable bp reads.""",
    ("exec",): """\
The command gets BP_TOKEN, BP_WORKSPACE_ID and BP_API_URL of the credentials in force in
its environment, never in its arguments, and, unless --env-only, a private botpress home
holding them, removed when it exits. bp exec ends with the command's own exit status
(128+N when signal N ended it; 127: not found; 126: cannot be run).""",
    ("shell",): """\
Script mode (-c, or stdin not a terminal) runs the commands in order: ';' or a newline
ends one, '#' starts a comment. It stops at the first failure, with its exit status;
--keep-going runs them all and ends with the status of the last one that failed. An
error says where it happened: 'line 3:' (stdin), 'command 2:' (-c with several).
With --json every command prints its JSON document on one line (JSON Lines).
In the shell, commands are typed without 'bp'; help, clear and exit are its own.
bp shell -p NAME (or BP_PROFILE) pins the shell to a profile: its commands use NAME
whatever the active profile becomes; inside, profiles use --session NAME pins it to
another and profiles use --session --unset unpins it. Unpinned, the shell uses the
.bp-profile of the folder it started in, else the active profile.""",
    ("profiles", "use"): """\
The profile in use: -p NAME, the profile of a pinned bp shell, BP_PROFILE, the
.bp-profile of the working folder (or of the nearest folder above it, up to your home
and never onto another file system), then the active profile. --local writes that
.bp-profile (a profile name only, never a credential); one that another user owns,
that others can write, that is a link, a FIFO or not a profile name is refused.""",
}


def usage_text(path: tuple[str, ...], *, in_shell: bool = False) -> str:
    """Help for ``bp`` (no words), a group (``profiles``), a command or a topic; a
    UsageError for anything else. ``in_shell``: as typed in ``bp shell``, without ``bp``."""
    if not path:
        return _overview(None, in_shell)
    if path in {(group,) for group in GROUPS}:
        return _overview(path[0], in_shell)
    if len(path) == 1 and path[0] in TOPICS:
        return TOPICS[path[0]][1]
    command, size = find_command(list(path))
    if command is None or size != len(path):
        raise _no_help(path)
    return _command_help(command, in_shell)


def _no_help(path: tuple[str, ...]) -> UsageError:
    from bpshell.render import clean

    subjects = [*dict.fromkeys(c.path[0] for c in COMMANDS), *TOPICS]
    subjects += [" ".join(c.path) for c in COMMANDS if len(c.path) > 1]
    wanted = " ".join(path)
    import difflib  # only for a mistyped word

    close = difflib.get_close_matches(wanted, subjects, n=1)
    hint = f"did you mean 'bp help {close[0]}'?" if close else "Run: bp help"
    return UsageError(f"unknown command or help topic '{clean(wanted[:60])}'", hint)


def _command_help(command: Command, in_shell: bool) -> str:
    bp = "" if in_shell else "bp "
    lines = [f"{command.summary[0].upper()}{command.summary[1:]}.", "", "Usage:"]
    args = " ".join(a.dest.upper() if a.required else f"[{a.dest.upper()}]" for a in command.args)
    lines.append(f"  {bp}{command.name} {args} [flags]".replace("  [", " [").rstrip())
    if command.aliases:
        lines.append(f"  (alias: {bp}{' '.join(command.path[:-1])} {', '.join(command.aliases)})")
    if command.flags:
        lines += ["", "Flags:", *_flag_lines(command.flags)]
    if command.path in DETAILS:
        details = DETAILS[command.path]
        lines += ["", for_shell(details) if in_shell else details]
    lines += ["", "Global flags:", *_flag_lines((*GLOBAL_FLAGS, HELP_FLAG))]
    examples = [_in_shell(e) for e in command.examples] if in_shell else command.examples
    if any(examples):
        lines += ["", "Examples:", *(f"  {e}" for e in examples if e)]
    return "\n".join(lines)


def _in_shell(example: str) -> str:
    """A command line's example as typed in the shell, or "" when it needs what the shell
    does not have: stdin, pipes, substitution, or a shell of its own."""
    if any(part in example for part in ("<", "|", "$(", "--token -", "bp shell")):
        return ""
    return for_shell(example)


def _overview(group: str | None, in_shell: bool) -> str:
    from bpshell import __version__

    bp = "" if in_shell else "bp "
    chosen = [c for c in COMMANDS if group is None or c.path[0] == group]
    width = max(len(name) for name in [*(c.name for c in chosen), *TOPICS]) + 2
    title = f"{GROUPS[group][0].upper()}{GROUPS[group][1:]}." if group else ""
    lines = [
        title or f"bp {__version__}: Botpress Cloud login and profiles",
        "",
        "Usage:",
        f"  {bp}{group or 'COMMAND'} {'COMMAND ' if group else ''}[flags]",
        "",
        "Commands:",
    ]
    lines += [f"  {c.name.ljust(width)}{c.summary}" for c in chosen]
    if group is None:
        lines += ["", "Help topics:"]
        lines += [f"  {name.ljust(width)}{summary}" for name, (summary, _) in TOPICS.items()]
    lines += ["", "Global flags:", *_flag_lines((*GLOBAL_FLAGS, HELP_FLAG, VERSION_FLAG))]
    if group is None:
        lines += [
            "",
            "Other commands (deploy, dev, bots, integrations, …) are handed to the official",
            "Botpress CLI when it is installed, with the credentials in force.",
            "",
            f"Run '{bp}help COMMAND' (or '{bp}COMMAND --help') for more about a command,",
            f"'{bp}help TOPIC' for a topic.",
        ]
    else:
        lines += ["", f"Run '{bp}help {group} COMMAND' for more about a command."]
    return "\n".join(lines)


def _flag_lines(flags: Sequence[Flag]) -> list[str]:
    rows = [(", ".join(f.names) + (f" {f.metavar}" if f.metavar else ""), f.help) for f in flags]
    width = max((len(left) for left, _ in rows), default=0) + 2
    return [f"  {left.ljust(width)}{text}" for left, text in rows]


def version_data() -> dict[str, str]:
    """What ``bp --version --json`` prints."""
    from bpshell import __version__

    python = ".".join(str(part) for part in sys.version_info[:3])
    return {"version": __version__, "python": python}


def version_text() -> str:
    """What ``bp --version`` prints."""
    return f"bpshell {version_data()['version']}"


# Advice that only a command line can follow (a command in the shell has no stdin of its
# own, and no way to set a variable), by how it starts, and what to say in the shell
# instead; what follows the start is kept.
_COMMAND_LINE_ONLY = (
    (
        "hint: --token - (reads stdin) or BP_TOKEN keeps the token out of shell history "
        "and the process list",
        "hint: login without --token asks for the token, without showing it",
    ),
    (
        "pipe it in (bp login --token - < file) or run bp login to be asked for it",
        "run login without --token to be asked for it",
    ),
    (
        "pipe the token into bp login --token -",
        "commands in the shell read no stdin; login without --token asks for the token "
        "on a terminal",
    ),
    (
        "pass --token - (reads stdin) or set BP_TOKEN",
        "login without --token asks for the token on a terminal",
    ),
)
# `bp` before a command name, as messages quote commands ("Run: bp login", "'bp profiles
# frob'"); not after a letter or a path ("~/bp login"), nor after "a" ("a bp exec" is one).
# Patterns, not compiled ones: re compiles (and caches) them in the shell, where they are
# used; every `bp --help` imports this module.
_BP_COMMAND = (
    # Not after "&&": a chained command line (cd DIR && bp …) is for the system's shell.
    r"(?<![\w./~-])(?<!\ba )(?<!&& )bp (?=(?:"
    + "|".join(re.escape(w) for w in dict.fromkeys((*(c.path[0] for c in COMMANDS), HELP_WORD)))
    + r")\b)"
)
_BP_HELP_FLAG = r"(?<![\w./~-])bp ((?:[a-z][a-z-]* )*)--help\b"


def for_shell(text: str) -> str:
    """``text`` (a message or a hint) the way the shell says it: commands without ``bp``
    (``Run: login``, ``did you mean 'profiles'?``), ``help X`` for ``bp X --help``, and
    shell advice instead of advice for a command line."""
    for start, instead in _COMMAND_LINE_ONLY:
        if text.startswith(start):
            text = instead + text[len(start) :]
            break
    # No environment variable is set from inside the shell; its way to fix the profile is this.
    text = text.replace("-p NAME or BP_PROFILE", "-p NAME or profiles use --session NAME")
    text = re.sub(_BP_HELP_FLAG, lambda m: f"help {m.group(1)}".rstrip(), text)
    return re.sub(_BP_COMMAND, "", text)


def worded(opts: GlobalOptions, text: str) -> str:
    """``text`` as the run that prints it says it: :func:`for_shell` in ``bp shell``."""
    return for_shell(text) if opts.in_shell else text
