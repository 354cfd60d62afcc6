"""``bp shell``: one session running the same commands as one-shot ``bp``, line after line.

Each command of a line goes through the one parser and :func:`bpshell.cli.execute` (the only
place errors become exit statuses), on the one event loop of the run. The session's own global
flags (``bp -p prod shell``, ``--botpressHome``…) become ``BP_*`` variables of the session, so
every line sees them exactly as a one-shot run would, and a line's own flags win.

Ctrl-C: while a command runs, a SIGINT handler cancels that command's anyio cancel scope (the
request is dropped; config.json is only ever replaced atomically) and the line ends with
status 130, "Cancelled." Between commands of a script it stops the script (130). At the prompt
prompt_toolkit owns SIGINT (it restores our handler afterwards) and Ctrl-C clears the line.

Script mode (``-c``, or stdin not a terminal) runs the commands in order with no decoration,
stops at the first failure with its status (``--keep-going``: runs everything and ends with
the status of the last command that failed), and never imports prompt_toolkit. Its errors
say where they happened: ``line 3:`` (stdin), ``command 2:`` (``-c`` with several commands).

The shell speaks its own language: errors name commands without ``bp`` and give the shell's
advice (:func:`bpshell.commands.for_shell`), commands run with ``in_shell`` set so that they
can do the same, and ``--json`` prints one document a line (JSON Lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import signal
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO, cast

import anyio

from bpshell.cli import execute
from bpshell.commands import (
    GlobalOptions,
    Invocation,
    env_globals,
    for_shell,
    parse,
    usage_text,
    version_data,
    version_text,
)
from bpshell.env import Env
from bpshell.errors import BpError, ExitStatus, UsageError
from bpshell.lines import split_commands
from bpshell.official.in_shell import hand_over
from bpshell.pin import ShellPin, active_in
from bpshell.render import Result, error_json, error_line, to_json

if TYPE_CHECKING:
    from bpshell.commands.table import Run

INTERRUPTED = int(ExitStatus.INTERRUPTED)
BUILTINS_HELP = """

Shell builtins:
  help [COMMAND]  show help (for one command, or a topic: help exit-codes)
  clear           clear the screen (also Ctrl-L)
  exit, quit      leave the shell (also Ctrl-D)"""


@dataclass(frozen=True)
class Place:
    """Where a command of a script is: its line of stdin (None for ``-c``), and which of the
    ``count`` commands of that line (or of the ``-c`` text) it is, from 1 (0: the text did
    not split into commands)."""

    line: int | None
    command: int
    count: int

    @property
    def label(self) -> str:
        """``line 3``, ``line 3, command 2``, ``command 2``; empty for a lone ``-c`` command."""
        parts = [f"line {self.line}"] if self.line is not None else []
        if self.count > 1:
            parts.append(f"command {self.command}")
        return ", ".join(parts)

    def fields(self) -> dict[str, int]:
        """The same for a JSON error: ``line`` (stdin scripts) and ``command``."""
        found = {"line": self.line} if self.line is not None else {}
        return {**found, "command": self.command} if self.command else found


@dataclass
class LineRunner:
    """Runs shell lines in one session environment; see the module docstring."""

    env: Env
    environ: Mapping[str, str]
    after: Callable[[tuple[str, ...], int], Awaitable[None]] | None = None
    clear_screen: Callable[[], None] | None = None
    finished: bool = False
    _scope: anyio.CancelScope | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """Whether a command is running (so Ctrl-C means: cancel it)."""
        return self._scope is not None

    def interrupt(self) -> None:
        """Cancel the running command, if any."""
        if self._scope is not None:
            self._scope.cancel()

    async def run_text(
        self, text: str, *, keep_going: bool = True, line: int | None = None, script: bool = False
    ) -> int:
        """Run every command of ``text``: 0, or the status of the last one that failed (the
        first failure stops the rest unless ``keep_going``; 130 always does). A ``script``
        names the :class:`Place` of each error: ``line`` of stdin, or the -c command."""
        try:
            commands = split_commands(text)
        except UsageError as error:
            self._report(error, self._json(), Place(line, 0, 0) if script else None)
            return int(error.exit_status)
        failed = 0
        for number, words in enumerate(commands, 1):
            place = Place(line, number, len(commands)) if script else None
            status = await self.run_words(words, place)
            if status == INTERRUPTED:
                return status
            failed = status or failed
            if self.finished or (status and not keep_going):
                break
        return failed

    async def run_words(self, words: list[str], place: Place | None = None) -> int:
        """Run one command (or builtin) given as words; its exit status."""
        if words[:1] == ["bp"] and len(words) > 1:
            words = words[1:]
        try:
            invocation = hand_over(
                words, self.environ, self.env.home, builtins=_BUILTINS, repl=place is None
            )
            if invocation is None:
                builtin = _BUILTINS.get(words[0])
                if builtin is not None:
                    return builtin(self, words[1:])
                invocation = parse(words, self.environ)
            if invocation.command is not None and invocation.command.path == ("shell",):
                raise UsageError("already in the shell", "run its commands directly")
            if invocation.version:
                data = invocation.globals.json
                self.env.out(to_json(version_data(), compact=True) if data else version_text())
                return 0
            if invocation.command is None or invocation.help_for is not None:
                self.env.out(usage_text(invocation.help_for or (), in_shell=True))
                return 0
        except UsageError as error:
            self._report(error, self._json(words), place)
            return int(error.exit_status)
        command = invocation.command
        shell_run = command._replace(run=_one_line_json(command.run))
        globals_ = invocation.globals._replace(in_shell=True)
        pin = self.env.pin or ShellPin()
        if pin.name is not None:
            globals_ = pin.apply(globals_)
            self._tell(pin.switched(active_in(self.env.home)))
        pin.busy = True
        try:
            status = await self._execute(
                invocation._replace(command=shell_run, globals=globals_), place
            )
        finally:
            pin.busy = False
            if pin.name is not None:  # what the command changed is this shell's doing: no news
                pin.saw(active_in(self.env.home))
        if self.after is not None:
            await self.after(command.path, status)
        return status

    def _tell(self, note: str | None) -> None:
        if note is not None:
            self.env.err(note)

    async def _execute(self, invocation: Invocation, place: Place | None) -> int:
        """:func:`execute` in this shell: its errors reported the shell's way, at ``place``."""
        opts = invocation.globals
        home, verbose = self.env.home, self.env.verbose
        self.env.home = _home(opts, home)
        self.env.verbose = opts.verbose
        status = INTERRUPTED
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                status = await execute(
                    invocation,
                    self.env,
                    lambda error, json_mode, env: self._report(error, json_mode, place),
                )
        except KeyboardInterrupt:  # Ctrl-C typed at a question the command asked
            status = INTERRUPTED
        finally:
            self._scope = None
            self.env.home, self.env.verbose = home, verbose
        if status == INTERRUPTED:
            self.env.err("Cancelled.")
        return status

    def _json(self, words: list[str] | None = None) -> bool:
        """Whether a line that did not parse asked for JSON."""
        return "--json" in (words or []) or env_globals(self.environ).json

    def _report(self, error: BpError, json_mode: bool, place: Place | None) -> None:
        """One line on stderr: ``error`` in the shell's words, with where it happened."""
        said = BpError(for_shell(error.message), for_shell(error.hint) if error.hint else None)
        said.kind = error.kind
        if json_mode:
            body = json.loads(error_json(said))
            body["error"].update(place.fields() if place else {})
            line = to_json(body, compact=True)
        else:
            line = error_line(said, self.env.palette(self.env.stderr))
            if place is not None and place.label:
                line = f"{place.label}: {line}"
        self.env.stderr.write(line + "\n")


def _one_line_json(run: Run) -> Run:
    """``run`` with its JSON on one line: one-shot ``bp`` prints one document, a session one
    per command."""

    async def in_shell(options: Any, opts: GlobalOptions, env: Env) -> Result:
        result = await run(options, opts, env)
        if not opts.json or result.data is None:
            return result
        env.out(to_json(result.data, compact=True))
        return Result(None, "", result.status)

    return in_shell


def _home(opts: GlobalOptions, default: Path) -> Path:
    return Path(opts.home).expanduser() if opts.home else default


def _help(runner: LineRunner, words: list[str]) -> int:
    # UsageError for a word that is no command or topic
    text = usage_text(tuple(words), in_shell=True)
    runner.env.out(text + (BUILTINS_HELP if not words else ""))
    return 0


def _exit(runner: LineRunner, words: list[str]) -> int:
    if words:
        raise UsageError("exit takes no arguments")
    runner.finished = True
    return 0


def _clear(runner: LineRunner, words: list[str]) -> int:
    if runner.clear_screen is not None:
        runner.clear_screen()
    return 0


_BUILTINS: dict[str, Callable[[LineRunner, list[str]], int]] = {
    "help": _help,
    "exit": _exit,
    "quit": _exit,
    "clear": _clear,
}


@contextlib.contextmanager
def sigint_cancels(runner: LineRunner, *, stop_when_idle: bool) -> Iterator[None]:
    """While in force, Ctrl-C cancels the running command; idle, it stops a script or is ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if runner.running:
            loop.call_soon_threadsafe(runner.interrupt)
        elif stop_when_idle:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def run_script(
    runner: LineRunner, texts: Iterable[str], *, keep_going: bool, numbered: bool
) -> int:
    """Run ``texts`` in order (lines of stdin when ``numbered``, so that errors name them);
    see the module docstring for the exit status."""
    failed = 0
    try:
        with sigint_cancels(runner, stop_when_idle=True):
            for number, text in enumerate(texts, 1):
                line = number if numbered else None
                status = await runner.run_text(text, keep_going=keep_going, line=line, script=True)
                if status == INTERRUPTED or (status and not keep_going):
                    return status
                failed = status or failed
                if runner.finished:
                    break
    except KeyboardInterrupt:
        runner.env.err("Interrupted.")
        return INTERRUPTED
    return failed


def session_environ(environ: Mapping[str, str], opts: GlobalOptions) -> dict[str, str]:
    """``environ`` plus the shell's own global flags, as the ``BP_*`` variables they stand for;
    the profile (``-p``, ``BP_PROFILE``) is not one of them: it pins the shell (:func:`pin_of`)."""
    merged = dict(environ)
    merged.pop("BP_PROFILE", None)
    if opts.home:
        merged["BP_BOTPRESS_HOME"] = opts.home
    flags = {"BP_JSON": opts.json, "BP_VERBOSE": opts.verbose, "BP_CONFIRM": opts.confirm}
    merged.update({name: "1" for name, on in flags.items() if on})
    return merged


def pin_of(opts: GlobalOptions) -> ShellPin:
    """The pin of a new shell: to the profile given by ``bp shell -p NAME`` or ``BP_PROFILE``."""
    pin = ShellPin()
    if opts.profile:
        by = "-p" if opts.profile_source == "flag" else "BP_PROFILE"
        pin.set(opts.profile, by)
    return pin


def _lines(stream: TextIO) -> Iterator[str]:
    while line := stream.readline():
        yield line


async def run_shell(options: Any, opts: GlobalOptions, env: Env) -> Result:
    """``bp shell``: the REPL on a terminal, else a script; the status of the session."""
    from_stdin = options.command is None and not env.stdin.isatty()
    async with contextlib.AsyncExitStack() as stack:
        if options.sandbox:
            from bpshell.sandbox_session import sandbox_env

            env = await stack.enter_async_context(sandbox_env(env))
            opts = opts._replace(home=None, profile=_flag_profile(opts))
        environ = session_environ(env.environ, opts)
        script = env.stdin
        session = env.derived(
            environ=environ,
            verbose=opts.verbose,
            stdin_stream=io.StringIO() if from_stdin else env.stdin_stream,
            cwd=env.cwd or _working_folder(),  # its .bp-profile is the one of where it started
            pin=pin_of(opts),
        )
        stack.push_async_callback(session.aclose)
        if session.pin is not None and session.pin.name is not None:
            session.pin.saw(active_in(session.home))  # what a switch elsewhere is told against
        runner = LineRunner(session, environ)
        if options.command is not None:
            status = await run_script(
                runner, [options.command], keep_going=options.keep_going, numbered=False
            )
        elif from_stdin:
            status = await run_script(
                runner, _lines(script), keep_going=options.keep_going, numbered=True
            )
        else:
            from bpshell.repl import run_repl

            status = await run_repl(runner, env_globals(environ), sandbox=options.sandbox)
    return Result(None, "", _status(status))


def _working_folder() -> Path | None:
    try:
        return Path.cwd()
    except OSError:
        return None


def _flag_profile(opts: GlobalOptions) -> str | None:
    return opts.profile if opts.profile_source == "flag" else None


def _status(code: int) -> ExitStatus:
    """The session's exit status: a child's own (``exec``, the official CLI) as it is, as
    one-shot ``bp`` passes it on."""
    return cast(ExitStatus, code) if 0 <= code <= 255 else ExitStatus.FAILURE
