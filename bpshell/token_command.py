"""Tokens printed by a command: a secret manager's (``op read …``, ``pass show …``, ``vault``).

A profile may keep, instead of a token, the command that prints one (``tokenCommand``, as
AWS's ``credential_process`` and git's credential helpers do). The token is then written
nowhere: whenever it is needed the command runs, and what it printed lives in memory for the
run, or for a ``bp shell`` session (:class:`TokenCommands`; a 401 forgets it, so the next
use runs the command again).

How it runs (:mod:`bpshell.token_process`): split as a shell splits words
(:func:`shlex.split`) and run without a shell, so no pipes, variables or ``~`` (a shell is
asked for in the command itself: ``sh -c '… | …'``); with bp's environment and working folder;
stdin only when bp's is a terminal (never input piped to bp); stdout is the token; stderr is
bp's; bounded in time (:data:`TIMEOUT_S`, or ``BP_TOKEN_COMMAND_TIMEOUT``), its whole process
group killed when it ends early; on bp's terminal, the terminal's foreground job while it
runs (it may ask for a passphrase; Ctrl-C stops it, exit 130, before anything is written).

What it printed must be a token: one line, at most 4096 printable ASCII characters without
spaces; anything else is refused without being shown. A failure is one line naming the
command and its exit code (or signal).
"""

from __future__ import annotations

import shlex
import signal
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from bpshell.errors import BpError, ConfigError, ExitStatus, UsageError
from bpshell.render import clean
from bpshell.tokens import mask_tokens_in

if TYPE_CHECKING:
    import asyncio

    from bpshell.env import Env

TIMEOUT_S = 30.0
TIMEOUT_VARIABLE = "BP_TOKEN_COMMAND_TIMEOUT"
MAX_TIMEOUT_S = 3600.0
MAX_OUTPUT = 8 * 1024  # a token is at most 4096 characters; a little more is a line ending
MAX_COMMAND_CHARS = 4096
MAX_SHOWN = 200
FLAG = "--token-command"
EXAMPLE = "op read op://Private/Botpress/token"

# (profile name, command) -> the token; what read_token runs a profile's command with.
Runner = Callable[[str, str], Awaitable[str]]


class TokenCommandError(BpError):
    """Raised when a token command cannot run, fails, or prints something that is no token."""

    kind = "token_command"


class TokenCommandInterrupted(TokenCommandError):
    """Raised when Ctrl-C stopped a token command (it had the terminal): exit 130."""

    exit_status = ExitStatus.INTERRUPTED


def check_command(text: str) -> str:
    """``text`` if it is a command line that splits into words and holds no token (bp stores
    it); else :class:`UsageError`."""
    problem = _problem(text)
    if problem is not None:
        raise UsageError(
            f"invalid {FLAG}: {problem}",
            f"name the program that prints the token, e.g. {FLAG} '{EXAMPLE}'",
        )
    if mask_tokens_in(text) != text:
        raise UsageError(
            f"invalid {FLAG}: it holds what looks like a token, and bp stores the command in "
            "config.json",
            f"keep the token in a secret manager and name the command that reads it, e.g. "
            f"{FLAG} '{EXAMPLE}'",
        )
    return text


def _problem(text: str) -> str | None:
    if len(text) > MAX_COMMAND_CHARS:
        return f"it is longer than {MAX_COMMAND_CHARS} characters"
    if not text.isprintable():
        return "it holds a control character or a line break"
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return str(exc).lower()
    return None if words else "it is empty"


def shown(command: str) -> str:
    """The command as an error shows it: escapes made inert, tokens masked, cut to
    :data:`MAX_SHOWN`."""
    text = clean(mask_tokens_in(command))
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def timeout_of(environ: Mapping[str, str]) -> float:
    """The time a token command may take: ``BP_TOKEN_COMMAND_TIMEOUT`` or :data:`TIMEOUT_S`."""
    raw = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return TIMEOUT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise UsageError(
            f"{TIMEOUT_VARIABLE} must be a number of seconds between 0 and {MAX_TIMEOUT_S:g}",
            f"unset it for the default, {TIMEOUT_S:g} s",
        )
    return seconds


def label(name: str | None) -> str:
    """How errors name the token command of profile ``name`` (None: the one ``bp login
    --token-command`` was given)."""
    return FLAG if name is None else f'the token command of profile "{clean(name)}"'


def _hint(name: str | None, start: str) -> str:
    if name is None:
        return f"{start}; nothing was changed"
    return f"{start}; to use another: bp login -p {clean(name)} {FLAG} COMMAND"


class TokenCommands:
    """The tokens token commands printed, in memory for the life of one :class:`Env` (a run,
    or a shell session). One command runs at a time: two must not share the terminal.

    A command that failed without the terminal (a background check) is not run again
    without it: the shell's other background work gets the same error, and only a command
    the user runs, which has the terminal, tries again (a secret manager may need to ask).
    """

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str], str] = {}
        self._failed: dict[tuple[str, str, str], TokenCommandError] = {}
        self._lock: asyncio.Lock | None = None

    def runner(self, env: Env) -> Runner:
        """What :func:`bpshell.tokens.read_token` runs the commands of ``env``'s profiles with."""

        async def run(name: str, command: str) -> str:
            return await self.token(env, name, command)

        return run

    async def token(self, env: Env, name: str, command: str) -> str:
        """Profile ``name``'s token: known already in this run, or printed by ``command``."""
        import asyncio

        key = (str(env.home), name, command)
        if key in self._tokens:
            return self._tokens[key]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if key in self._tokens:
                return self._tokens[key]
            from bpshell.token_process import attached

            detached = not attached(env)
            if detached and key in self._failed:
                raise self._failed[key]
            checked = config_command(name, command, env.config.path)
            try:
                self._tokens[key] = await run_command(checked, env, name)
            except TokenCommandError as exc:
                if detached:
                    self._failed[key] = exc
                raise
            self._failed.pop(key, None)
            return self._tokens[key]

    def remember(self, env: Env, name: str, command: str, token: str) -> None:
        """Note that ``command`` printed ``token`` for profile ``name`` (a login just ran it)."""
        self._tokens[(str(env.home), name, command)] = token

    def knows(self, name: str) -> bool:
        """Whether a command of profile ``name`` printed a token in this run (still in use)."""
        return any(key[1] == name for key in self._tokens)

    def origin(self, token: str) -> str | None:
        """The profile whose command printed ``token`` in this run, if one did."""
        return next((key[1] for key, value in self._tokens.items() if value == token), None)

    def forget(self, token: str) -> None:
        """Forget ``token`` (the API refused it): the next use runs the command again."""
        for key in [key for key, value in self._tokens.items() if value == token]:
            del self._tokens[key]


def config_command(name: str, command: str, path: object) -> str:
    """A profile's ``tokenCommand`` as read from config.json, or :class:`ConfigError`."""
    problem = _problem(command)
    if problem is None:
        return command
    raise ConfigError(
        f'the tokenCommand of profile "{clean(name)}" in {path} is not a command ({problem})',
        f"log in again: bp login -p {clean(name)} {FLAG} COMMAND",
    )


async def run_command(command: str, env: Env, name: str | None) -> str:
    """Run ``command`` once (see the module docstring) and return the token it printed;
    ``name`` is the profile it is the command of (None: ``bp login --token-command``)."""
    output, returncode = await _run(shlex.split(command), env, name, command)
    if returncode != 0:
        raise _failure(returncode, name, command)
    return _token(output, name, command)


def _failure(returncode: int, name: str | None, command: str) -> TokenCommandError:
    what, hint = label(name), _hint(name, "run it to see why")
    if returncode == -signal.SIGINT:
        return TokenCommandInterrupted(
            f"{what} was interrupted: {shown(command)}", "nothing was changed"
        )
    if returncode < 0:
        try:
            signame = signal.Signals(-returncode).name
        except ValueError:
            signame = "unknown"
        return TokenCommandError(
            f"{what} was killed by signal {-returncode} ({signame}): {shown(command)}", hint
        )
    return TokenCommandError(f"{what} failed (exit code {returncode}): {shown(command)}", hint)


def _token(output: bytes, name: str | None, command: str) -> str:
    """What the command printed, stripped, if it is a token; never shown when it is not."""
    from bpshell.config import check_token

    text = output.decode("utf-8", "replace").strip()
    lines = len(text.splitlines())
    if not text:
        problem = "printed nothing"
    elif lines > 1:
        problem = f"printed {lines} lines, not a token"
    else:
        try:
            return check_token(text)
        except UsageError:
            problem = "printed something that is not a token"
    raise TokenCommandError(
        f"{label(name)} {problem}: {shown(command)}", _hint(name, "run it to see why")
    )


async def _run(argv: list[str], env: Env, name: str | None, command: str) -> tuple[bytes, int]:
    """(stdout, exit status) of ``argv`` (:func:`bpshell.token_process.run`), its ways of
    ending early as :class:`TokenCommandError`."""
    from bpshell import token_process

    seconds = timeout_of(env.environ)
    try:
        return await token_process.run(argv, env, seconds, MAX_OUTPUT)
    except token_process.NotRunnable as exc:
        raise _not_runnable(name, argv[0], exc.why) from None
    except token_process.TimedOut:
        raise TokenCommandError(
            f"{label(name)} did not finish within {seconds:g} s, so it was stopped: "
            f"{shown(command)}",
            "if it waits for you (a passphrase, a touch), answer sooner, or allow it "
            f"longer with {TIMEOUT_VARIABLE}=SECONDS",
        ) from None
    except token_process.TooMuch:
        raise TokenCommandError(
            f"{label(name)} printed more than {MAX_OUTPUT // 1024} KiB, not a token: "
            f"{shown(command)}",
            _hint(name, "run it to see why"),
        ) from None


def _not_runnable(name: str | None, program: str, why: str) -> TokenCommandError:
    if name is None:
        hint = "install it, or name it by its full path; nothing was changed"
    else:
        hint = f"install it, or name it by its full path: bp login -p {clean(name)} {FLAG} COMMAND"
    return TokenCommandError(f"{label(name)} {why}: {clean(program)}", hint)


def runner_of(env: Env) -> Runner | None:
    """What runs ``env``'s token commands; None when it runs none."""
    commands = env.token_commands
    return commands.runner(env) if commands is not None else None
