"""Commands of the official CLI typed in ``bp shell``, handed over as one-shot ``bp`` does.

A line whose command word is none of bpshell's (nor a builtin) is decided here, before the
parser sees it (:func:`hand_over`):

- a command of the official CLI (those one-shot ``bp`` hands over, and those the installed
  CLI's help lists once read, see :mod:`bpshell.official.catalog`) runs the official CLI;
- a word close to a command (bpshell's, a builtin or the official CLI's) is ``Unknown command
  'deplyo'. Did you mean 'deploy'?``;
- any other word runs the official CLI only when one is installed whose commands bpshell has
  not read yet, with a note saying so; else it is ``Unknown command``.

``help deploy`` is ``deploy --help``, as in one-shot ``bp``. The hand-over is one-shot's: the
credentials in force for the session (its ``-p`` or ``BP_PROFILE``, else the active profile; a
``-p`` on the line wins) in the child's environment and a private home, never in its argv; the
same safe lookup, from the shell's working folder. The child has the terminal: the prompt is
not running while a command runs (were one running, the child would run in its
``in_terminal``); the shell ignores SIGINT while the child runs, so Ctrl-C, which the terminal
sends to both, is the child's; and the terminal's modes are put back as they were when it
ends. At the prompt, a status other than 0 (or 130: "Cancelled.") is said in one line; scripts
pass the child's output and status on as they are.

Only :mod:`bpshell.commands` is imported until a line names no command of bpshell's.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from bpshell.commands import (
    COMMANDS,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_WORD,
    TOPICS,
    Command,
    GlobalOptions,
    Invocation,
)

if TYPE_CHECKING:
    from bpshell.env import Env
    from bpshell.official.delegation import Delegation
    from bpshell.official.helptext import Catalog
    from bpshell.render import Result

OURS = frozenset({c.path[0] for c in COMMANDS} | set(GROUPS))
CANCELLED = 130  # the shell says "Cancelled." itself
UNLISTED = (
    "note: '{word}' is not a command of bpshell; running it with the official Botpress CLI "
    "({cli}), whose list of commands bpshell has not read yet"
)


def hand_over(
    words: Sequence[str],
    environ: Mapping[str, str],
    home: Path,
    *,
    builtins: Container[str],
    repl: bool,
) -> Invocation | None:
    """The invocation that runs ``words`` with the official CLI; None when they are for
    bpshell (one of its commands, a builtin, or no command at all). UsageError for a word
    that is no command (see the module docstring). ``repl``: a line typed at the prompt."""
    word = _command_word(words)
    if word is None or word in OURS:
        return None
    known = None
    if word == HELP_WORD:
        topic = _command_word(words[words.index(HELP_WORD) + 1 :])
        if topic is None or topic in OURS or topic in TOPICS or topic in builtins:
            return None
        known = _Known.find(environ, home)
        if topic not in known.listed:
            return None  # bpshell's help says it is none of its commands or topics
        words, word = _as_help_flag(words), topic
    elif word in builtins:
        return None
    known = known or _Known.find(environ, home)
    plan, unlisted = _decide(words, word, environ, known, builtins)
    note = UNLISTED if unlisted else None
    return Invocation(_command(plan, repl, note), None, plan.globals, words=tuple(words))


def _command_word(words: Sequence[str]) -> str | None:
    """The first word that is no flag, as :func:`~bpshell.official.delegation.plan_delegation`
    finds it: bpshell's ``-p NAME`` and ``--botpressHome DIR`` may come first."""
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
        name = word.partition("=")[0] if word.startswith("--") else word
        flag = next((f for f in GLOBAL_FLAGS if name in f.names), None)
        index += 2 if flag is not None and flag.takes_value and "=" not in word else 1
    return None


def _as_help_flag(words: Sequence[str]) -> list[str]:
    index = list(words).index(HELP_WORD)
    return [*words[:index], *words[index + 1 :], "--help"]


@dataclass(frozen=True)
class _Known:
    """The official CLI found (its command), its commands as last read, and every official
    command word known: one-shot's and those."""

    installed: list[str] | None
    catalog: Catalog | None
    listed: frozenset[str]

    @classmethod
    def find(cls, environ: Mapping[str, str], home: Path) -> _Known:
        from bpshell.errors import BpError
        from bpshell.official.catalog import cached_catalog
        from bpshell.official.delegation import OFFICIAL_COMMANDS, look_for_official_cli

        try:
            installed = look_for_official_cli(environ, working_folder()).command
        except BpError:  # a BP_OFFICIAL_CLI that cannot run: the hand-over says why
            installed = None
        catalog = cached_catalog(home, installed) if installed is not None else None
        listed = OFFICIAL_COMMANDS | (catalog.words if catalog is not None else frozenset())
        return cls(installed, catalog, listed)


# How alike a typo must be to an official command to be taken for it: more than to one of
# bpshell's (difflib's 0.6), as there are more of them ("bogus" is not "bots").
OFFICIAL_CUTOFF = 0.75


def _decide(
    words: Sequence[str],
    word: str,
    environ: Mapping[str, str],
    known: _Known,
    builtins: Container[str],
) -> tuple[Delegation, bool]:
    """The hand-over of ``words``, and whether ``word`` is one no list of commands names."""
    import difflib

    from bpshell.errors import UsageError
    from bpshell.official.delegation import plan_delegation
    from bpshell.render import clean

    plan = plan_delegation(words, environ, commands=None)
    assert plan is not None and plan.command == word
    if word in known.listed:
        return plan, False
    shown = clean(word[:60] + ("…" if len(word) > 60 else ""))
    ours = [*sorted(OURS), *(w for w in ("help", "exit", "quit", "clear") if w in builtins)]
    close = difflib.get_close_matches(word, ours, n=1) + difflib.get_close_matches(
        word, sorted(known.listed), n=1, cutoff=OFFICIAL_CUTOFF
    )
    if close:
        best = max(close, key=lambda c: difflib.SequenceMatcher(None, word, c).ratio())
        raise UsageError(f"unknown command '{shown}'", f"did you mean '{best}'?")
    if known.installed is not None and known.catalog is None:
        return plan, True
    raise UsageError(f"unknown command '{shown}'", "Run: help")


def working_folder() -> Path | None:
    """The shell's working folder (None when it is gone), where the lookup starts."""
    try:
        return Path.cwd()
    except OSError:
        return None


def _command(plan: Delegation, repl: bool, note: str | None) -> Command:
    """A command of the table's shape whose run hands ``plan`` over."""

    async def run(options: Any, opts: GlobalOptions, env: Env) -> Result:
        from bpshell.errors import ExitStatus
        from bpshell.official.child import run_child
        from bpshell.official.delegation import (
            DELEGATING,
            delegated_variables,
            official_cli,
        )
        from bpshell.render import Result, clean

        word = clean(plan.command)
        cli = official_cli(plan.command, env, said=f"'{word}'")
        if note is not None:
            env.err(note.format(word=word, cli=clean(cli[0])))
        # The line's globals as the shell gives them (a pinned shell's profile among them).
        variables = await delegated_variables(replace(plan, globals=opts), env)

        def child() -> Awaitable[int]:
            return run_child(
                [*cli, *plan.words],
                variables,
                env,
                private_home=bool(variables),
                extra={DELEGATING: cli[0]},
            )

        with _modes_kept(env.stdin):
            status = await _in_terminal(child)
        if repl and status not in (0, CANCELLED):
            env.err(f"note: '{word}' (official Botpress CLI) exited with status {status}")
        return Result(None, "", cast(ExitStatus, status))

    return Command((plan.command,), "a command of the official Botpress CLI", run)


async def _in_terminal(child: Callable[[], Awaitable[int]]) -> int:
    """Run ``child`` with the terminal released by a prompt_toolkit app, if one is running
    (none is between prompts; none can be if prompt_toolkit was never imported)."""
    if "prompt_toolkit" not in sys.modules:
        return await child()
    from prompt_toolkit.application import in_terminal

    async with in_terminal():
        return await child()


@contextlib.contextmanager
def _modes_kept(stream: IO[str]) -> Iterator[None]:
    """The terminal's modes as they were, whatever the child left (a ``bp dev`` killed while
    its prompt had the terminal raw), as shells do when a job ends."""
    import termios

    try:
        fd = stream.fileno()
        saved = termios.tcgetattr(fd) if stream.isatty() else None
    except (OSError, ValueError, AttributeError, termios.error):
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
