"""Questions asked on a terminal: hidden input, a choice among many, yes or no.

Commands ask through ``env.prompter`` (a :class:`Prompter`; tests give a scripted one) and
never when no one can answer: :func:`confirm` refuses a question with no terminal and no
``-y`` (exit 2). The prompts are prompt_toolkit's, imported when one is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpshell.errors import UsageError

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import Protocol

    from bpshell.env import Env


if TYPE_CHECKING:  # only for type checkers: no class at run time

    class Prompter(Protocol):
        """Questions asked of the user on a terminal. Never used when not interactive."""

        async def secret(self, label: str) -> str:
            """Ask for a value without echoing it (never pre-filled)."""

        async def choose(
            self,
            label: str,
            choices: Sequence[tuple[str, str]],
            default: str | None,
            *,
            rows: Sequence[Sequence[str]] | None = None,
        ) -> str:
            """Pick one of ``choices`` ((value, description) pairs); returns the value. ``rows``
            are the columns shown for each choice (by default its description, then its value)."""

        async def confirm(self, question: str, default: bool = False) -> bool:
            """A yes/no question."""


class TerminalPrompter:
    """:class:`Prompter` on the real terminal through prompt_toolkit."""

    async def secret(self, label: str) -> str:
        """See :meth:`Prompter.secret`."""
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession()
        return await _ask(session.prompt_async(label, is_password=True))

    async def choose(
        self,
        label: str,
        choices: Sequence[tuple[str, str]],
        default: str | None,
        *,
        rows: Sequence[Sequence[str]] | None = None,
    ) -> str:
        """See :meth:`Prompter.choose`: numbered rows of aligned columns, as many as fit the
        screen (:mod:`bpshell.picker`); the answer is a number, or part of a value or of its
        description, completed and filtered in a menu as it is typed."""
        import shutil

        from prompt_toolkit import PromptSession, print_formatted_text

        from bpshell.picker import HINT, ChoiceCompleter, picker_lines
        from bpshell.render import clean

        shown = rows or [(description, value) for value, description in choices]
        values = [value for value, _ in choices]
        current = values.index(default) if default in values else None
        size = shutil.get_terminal_size()
        for line in [*picker_lines(shown, current, size.lines, size.columns), HINT]:
            print_formatted_text(line)
        session: PromptSession[str] = PromptSession(
            completer=ChoiceCompleter(choices, shown), complete_while_typing=True
        )
        hint = f" [{clean(default)}]" if default else ""
        while True:
            answer = (await _ask(session.prompt_async(f"{label}{hint}: "))).strip()
            if not answer and default:
                return default
            picked, problem = pick(choices, answer)
            if picked is not None:
                return picked
            print_formatted_text(problem)

    async def confirm(self, question: str, default: bool = False) -> bool:
        """See :meth:`Prompter.confirm`."""
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession()
        suffix = " [Y/n] " if default else " [y/N] "
        answer = (await _ask(session.prompt_async(question + suffix))).strip().lower()
        return default if not answer else answer in ("y", "yes")


async def confirm(env: Env, question: str, *, yes: bool) -> bool:
    """The answer to a yes/no ``question`` before something destructive: ``yes`` (``-y``)
    answers it; on a terminal the user does; with neither, it is refused (exit 2), never
    taken as a yes (``bp profiles rm X </dev/null`` removes nothing)."""
    if yes:
        return True
    if not env.interactive:
        # The question leads with its own quoted names, so it is not quoted again.
        raise UsageError(f"no terminal to ask: {question}", "pass -y to answer yes")
    return await env.prompter.confirm(question)


def pick(choices: Sequence[tuple[str, str]], answer: str) -> tuple[str | None, str]:
    """The value an answer names (a number, a value, or a unique part of a value or of its
    description, ignoring case), or None and what to tell the user."""
    values = [value for value, _ in choices]
    if answer.isdigit() and 1 <= int(answer) <= len(choices):
        return values[int(answer) - 1], ""
    if answer in values:
        return answer, ""
    wanted = answer.lower()
    found = [v for v, d in choices if wanted and (wanted in v.lower() or wanted in d.lower())]
    if len(found) == 1:
        return found[0], ""
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        return None, f"{len(found)} match: {shown}. Type more of it, or a number."
    if len(choices) == 1:
        return None, "Answer with 1, or part of its name or ID."
    return None, f"Answer with a number from 1 to {len(choices)}, or part of a name or ID."


async def _ask(pending: object) -> str:
    try:
        answer: str = await pending  # type: ignore[misc]
    except EOFError:
        raise UsageError("no answer given (end of input)") from None
    return answer
