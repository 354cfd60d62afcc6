"""The interactive loop: ``await session.prompt_async()`` inside ``patch_stdout``, then the line.

The prompt, toolbar and completer read the :class:`~bpshell.session.Session`'s memory only;
its background tasks run in a task group beside this loop and redraw the prompt when they
learn something. Commands run between prompts (so the questions they ask get the terminal to
themselves); output printed while the prompt is shown goes above it.
"""

from __future__ import annotations

import functools

import anyio
from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.filters import Condition
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout

from bpshell.commands import GlobalOptions
from bpshell.history import HISTORY_NAME, RedactingFileHistory
from bpshell.keys import shell_bindings
from bpshell.lines import scan
from bpshell.session import Session
from bpshell.shell import LineRunner, sigint_cancels
from bpshell.sightings import watch_requests
from bpshell.toolbar import prompt_text, toolbar_text


def make_prompt(
    session: Session, input: Input | None = None, output: Output | None = None
) -> PromptSession[str]:
    """The prompt of ``session``: live message and toolbar, completion, redacted history."""
    return PromptSession(
        message=lambda: prompt_text(session.view),
        bottom_toolbar=lambda: toolbar_text(
            session.view,
            session.auth,
            session.sandbox,
            notice=session.notice,
            width=get_app().output.get_size().columns,
        ),
        completer=session.completer,
        complete_while_typing=False,
        key_bindings=merge_key_bindings([shell_bindings(session.completer), continuation()]),
        prompt_continuation="> ",
        history=RedactingFileHistory(session.home / HISTORY_NAME),
        auto_suggest=AutoSuggestFromHistory(),
        input=input,
        output=output,
    )


def continuation() -> KeyBindings:
    """Enter after a trailing backslash starts a continuation line instead of running the line.

    The lines are then one entry of the prompt, run and kept in the history as the one line
    they stand for: a token typed alone on a continuation line is still redacted there.
    """
    bindings = KeyBindings()

    @Condition
    def continued() -> bool:
        return scan(get_app().current_buffer.text).continued

    @bindings.add("enter", filter=continued)
    def newline(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        buffer.cursor_position = len(buffer.text)
        buffer.insert_text("\n")

    return bindings


async def run_repl(
    runner: LineRunner,
    opts: GlobalOptions,
    *,
    sandbox: bool = False,
    input: Input | None = None,
    output: Output | None = None,
    session: Session | None = None,
) -> int:
    """Prompt and run lines until Ctrl-D or ``exit``; always 0."""
    session = session or Session(runner.env, opts, sandbox=sandbox)
    watch_requests(runner.env, session.seen)
    prompt = make_prompt(session, input, output)
    session.on_change = prompt.app.invalidate
    session.line = lambda: prompt.app.current_buffer.text
    session.offer = lambda: prompt.app.current_buffer.start_completion(insert_common_part=True)
    runner.after = session.after_command

    def clear_screen() -> None:
        screen = prompt.app.output
        screen.erase_screen()
        screen.cursor_goto(0, 0)
        screen.flush()

    runner.clear_screen = clear_screen
    drawn = anyio.Event()
    prompt.app.after_render += lambda _: drawn.set()
    async with anyio.create_task_group() as group:
        await group.start(functools.partial(session.run, ui_ready=drawn))
        try:
            with sigint_cancels(runner, stop_when_idle=False):
                while not runner.finished:
                    try:
                        with patch_stdout(raw=True):
                            text = await prompt.prompt_async()
                    except KeyboardInterrupt:
                        continue
                    except EOFError:
                        break
                    await session.reload()
                    with session.command_running():
                        await runner.run_text(text)
        finally:
            group.cancel_scope.cancel()
    return 0
