"""``bp``: argv to one command (or the shell). The only place errors become exit codes."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bpshell.commands import GlobalOptions, Invocation, parse, usage_text
from bpshell.errors import BpError, ExitStatus, UsageError

if TYPE_CHECKING:
    from bpshell.env import Env

_TOKENISH = re.compile(r"bp_pat_[\x21-\x7e]+|(?i:bearer\s+)[\x21-\x7e]+")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``bp`` with ``argv`` (default: sys.argv[1:]) and return the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in words or os.environ.get("BP_JSON", "").lower() in ("1", "true", "yes")
    try:
        invocation = parse(words, os.environ)
    except UsageError as error:
        report(error, json_mode, sys.stderr.write)
        return int(error.exit_status)
    if invocation.version:
        from bpshell import __version__

        print(f"bpshell {__version__}")
        return 0
    if invocation.command is None or invocation.help_for is not None:
        print(usage_text(invocation.help_for or ()))
        return 0
    return _run_async(invocation)


def _run_async(invocation: Invocation) -> int:
    import anyio

    env = make_env(invocation.globals)

    async def run() -> int:
        try:
            return await execute(invocation, env)
        finally:
            await env.aclose()

    try:
        return anyio.run(run)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return int(ExitStatus.INTERRUPTED)


def make_env(opts: GlobalOptions) -> Env:
    """The real environment of a run: this process's streams, home, keyring and terminal."""
    from pathlib import Path

    from bpshell.env import Env, TerminalPrompter, default_home
    from bpshell.tokens import KeyringTokens

    home = Path(opts.home).expanduser() if opts.home else default_home(os.environ)
    return Env(
        environ=os.environ,
        home=home,
        interactive=sys.stdin.isatty() and sys.stdout.isatty(),
        tokens=KeyringTokens(),
        prompter=TerminalPrompter(),
        verbose=opts.verbose,
    )


async def execute(invocation: Invocation, env: Env) -> int:
    """Run a parsed command, write its result or error, and return its exit status."""
    from bpshell.render import error_line, to_json

    command, opts = invocation.command, invocation.globals
    assert command is not None
    try:
        result = await command.run(invocation.options, opts, env)
    except BpError as error:
        report(error, opts.json, lambda text: env.stderr.write(text))
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
        env.out(to_json(result.data))
    elif result.text:
        env.out(result.text)
    del error_line
    return int(result.status)


def report(error: BpError, json_mode: bool, write: object) -> None:
    """Write ``error`` as one line (or one JSON object) to stderr."""
    from bpshell.render import error_json, error_line

    text = error_json(error) if json_mode else error_line(error)
    assert callable(write)
    write(text + "\n")


def redact(text: str) -> str:
    """Hide anything that looks like a token."""
    return _TOKENISH.sub("[redacted]", text)
