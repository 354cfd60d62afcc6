"""``bp``: argv to one command (or the shell). The only place errors become exit codes."""

from __future__ import annotations

import os
import re
import sys

from bpshell.commands import (
    HELP_WORD,
    GlobalOptions,
    Invocation,
    env_globals,
    parse,
    usage_text,
    version_data,
    version_text,
)
from bpshell.errors import BpError, ExitStatus, UsageError

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Mapping, Sequence
    from typing import Any

    from bpshell.env import Env

# A pattern for re.sub, which compiles it when an error is reported (not on every start).
_TOKENISH = r"bp_pat_[\x21-\x7e]+|(?i:bearer\s+)[\x21-\x7e]+"


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bp`` with ``argv`` (default: sys.argv[1:]) and return the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["__complete"]:
        from bpshell.complete import main as complete

        return complete(words[1:], os.environ)
    if not words and sys.stdin.isatty() and sys.stdout.isatty():
        words = ["shell"]
    try:
        code = run(words, os.environ, make_env)
    except BrokenPipeError:  # `bp … | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = int(ExitStatus.FAILURE)
    _exit_now_if_keyring_stuck(code)
    return code


def _exit_now_if_keyring_stuck(code: int) -> None:
    """A keyring call given up on may sit in D-Bus forever, and the interpreter's exit (atexit
    handlers of the keyring's libraries, finalisation) could wait for it: leave at once."""
    if "bpshell.tokens" not in sys.modules:
        return
    from bpshell.tokens import keyring_stuck

    if keyring_stuck():
        import contextlib

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def run(
    words: Sequence[str], environ: Mapping[str, str], make: Callable[[GlobalOptions], Env]
) -> int:
    """Parse ``words`` and run them in an environment built by ``make``; the exit status."""
    try:
        invocation = parse(words, environ)
    except UsageError as error:
        delegated = _delegate(words, environ, make)
        if delegated is not None:
            return delegated
        env = make(env_globals(environ))
        report(error, "--json" in words or env_globals(environ).json, env)
        return int(error.exit_status)
    env = make(invocation.globals)
    if invocation.version:
        if invocation.globals.json:
            from bpshell.render import to_json

            env.out(to_json(version_data()))
        else:
            env.out(version_text())
        return 0
    if invocation.command is None or invocation.help_for is not None:
        return _help(invocation, words, environ, make, env)
    return _run_async(invocation, env)


def _help(
    invocation: Invocation,
    words: Sequence[str],
    environ: Mapping[str, str],
    make: Callable[[GlobalOptions], Env],
    env: Env,
) -> int:
    """Help for ``bp``, a command or a topic; the official CLI's for its own commands."""
    if invocation.command is None and _not_ours(invocation.help_for):
        delegated = _delegate(_as_help_flag(words), environ, make)
        if delegated is not None:
            return delegated
    try:
        text = usage_text(invocation.help_for or ())
    except UsageError as error:
        report(error, invocation.globals.json, env)
        return int(error.exit_status)
    env.out(text)
    return 0


def _as_help_flag(words: Sequence[str]) -> list[str]:
    """``bp help deploy`` as ``bp deploy --help``, the form the official CLI knows."""
    if HELP_WORD not in words:
        return list(words)
    index = list(words).index(HELP_WORD)
    return [*words[:index], *words[index + 1 :], "--help"]


def _run_async(invocation: Invocation, env: Env) -> int:
    command = invocation.command
    assert command is not None
    if not command.read_only:
        _sweep_private_homes(env)
    first_run = not command.read_only and _first_run(invocation, env)
    offline = command.offline
    if (
        offline is not None
        and not first_run
        and offline(invocation.options, invocation.globals, env.interactive)
    ):
        try:
            return _without_loop(execute(invocation, env))
        except KeyboardInterrupt:
            env.interrupted()
            return int(ExitStatus.INTERRUPTED)

    import asyncio

    async def run() -> int:
        try:
            if first_run:
                from bpshell.official.files import import_on_first_run

                await import_on_first_run(env)
            return await execute(invocation, env)
        finally:
            await env.aclose()

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        env.interrupted()
        return int(ExitStatus.INTERRUPTED)


def _without_loop(coroutine: Coroutine[Any, Any, int]) -> int:
    """Run an offline command, which never waits on anything, with no event loop at all."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return int(done.value)
    coroutine.close()
    raise RuntimeError("an offline command waited on something: it needs an event loop")


def _first_run(invocation: Invocation, env: Env) -> bool:
    """No config.json yet (one stat per run), the official CLI's files are there, and the home
    is not the private home of a ``bp exec``: the token there is the run's, in its environment
    too, and imported it would replace the user's own profile."""
    if os.path.exists(os.path.join(env.home, "config.json")):
        return False
    if invocation.command is None or invocation.command.path == ("profiles", "import"):
        return False
    from bpshell.official import official_files

    if not official_files(env.home):
        return False
    from bpshell.official.homes import is_private_home

    return not is_private_home(env.home)


def _sweep_private_homes(env: Env) -> None:
    from bpshell.official import sweep_left_homes

    sweep_left_homes(env.home, env.debug)


def _not_ours(help_for: tuple[str, ...] | None) -> bool:
    from bpshell.commands import COMMANDS, TOPICS

    ours = {c.path[0] for c in COMMANDS} | set(TOPICS)
    return bool(help_for) and (help_for or ("",))[0] not in ours


def _delegate(
    words: Sequence[str], environ: Mapping[str, str], make: Callable[[GlobalOptions], Env]
) -> int | None:
    """Hand a command of the official Botpress CLI over to it; None when it is not one."""
    import asyncio

    from bpshell.official.delegation import delegate, plan_delegation

    try:
        plan = plan_delegation(words, environ)
    except UsageError as error:
        report(error, "--json" in words or env_globals(environ).json, make(env_globals(environ)))
        return int(error.exit_status)
    if plan is None:
        return None
    env = make(plan.globals)
    _sweep_private_homes(env)

    async def run() -> int:
        try:
            return await delegate(plan, env)
        except BpError as error:
            report(error, plan.globals.json, env)
            return int(error.exit_status)
        finally:
            await env.aclose()

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        env.interrupted()
        return int(ExitStatus.INTERRUPTED)


def make_env(opts: GlobalOptions) -> Env:
    """The real environment of a run: this process's streams, home, keyring and terminal."""
    from bpshell.env import Env

    home = opts.home or None  # a path when first used: see Env.home
    return Env(
        environ=os.environ,
        home=home,
        interactive=sys.stdin.isatty() and sys.stdout.isatty(),
        tokens=None,
        prompter=None,  # the terminal's, when a question is asked
        verbose=opts.verbose,
    )


async def execute(
    invocation: Invocation, env: Env, said: Callable[[BpError, bool, Env], None] | None = None
) -> int:
    """Run a parsed command, write its result or error (by ``said``: :func:`report` unless
    the shell gives its own), and return its exit status."""
    from bpshell.render import to_json

    command, opts = invocation.command, invocation.globals
    assert command is not None
    try:
        if command.uses_profile:  # a folder's .bp-profile, where no profile is named
            from bpshell.local_profile import apply

            opts = apply(opts, env)
        result = await command.run(invocation.options, opts, env)
    except BpError as error:
        (said or report)(error, opts.json, env)
        return int(error.exit_status)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a bug: say so without a traceback that could hold a token
        env.err(
            f"bp: internal error ({type(exc).__name__}); please report it. Run with -v for details"
        )
        if env.verbose:
            import traceback

            env.err(redact("".join(traceback.format_exception(exc))))
        return int(ExitStatus.FAILURE)
    if opts.json:
        if result.data is not None:  # None: nothing to say in JSON (the shell)
            env.out(to_json(result.data))
    else:
        if result.text:
            env.out(result.text)
        for hint in result.hints:
            env.err(f"hint: {hint}")
    return int(result.status)


def report(error: BpError, json_mode: bool, env: Env) -> None:
    """Write ``error`` as one line (or one JSON object, never coloured) to stderr."""
    from bpshell.render import error_json, error_line

    line = error_json(error) if json_mode else error_line(error, env.palette(env.stderr))
    env.stderr.write(line + "\n")


def redact(text: str) -> str:
    """Hide anything that looks like a token."""
    return re.sub(_TOKENISH, "[redacted]", text)
