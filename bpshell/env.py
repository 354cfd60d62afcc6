"""What a command may touch: streams, environment, home, tokens, HTTP, prompts, the browser.

Commands get everything through an :class:`Env`; tests build one from fakes. Streams are
looked up when written to, not captured at import, because the shell's ``patch_stdout``
swaps them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from bpshell.errors import UsageError

if TYPE_CHECKING:
    import httpx

    from bpshell.api import ApiClient
    from bpshell.config import ConfigStore
    from bpshell.errors import AuthError
    from bpshell.token_command import TokenCommands
    from bpshell.tokens import TokenStore


class Prompter(Protocol):
    """Questions asked of the user on a terminal. Never used when not interactive."""

    async def secret(self, label: str) -> str:
        """Ask for a value without echoing it (never pre-filled)."""

    async def choose(
        self, label: str, choices: Sequence[tuple[str, str]], default: str | None
    ) -> str:
        """Pick one of ``choices`` ((value, description) pairs); returns the value."""

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
        self, label: str, choices: Sequence[tuple[str, str]], default: str | None
    ) -> str:
        """See :meth:`Prompter.choose`: a numbered list; the answer is a number, or part of a
        value or of its description (Tab completes either)."""
        from prompt_toolkit import PromptSession, print_formatted_text

        from bpshell.completion import ChoiceCompleter
        from bpshell.render import clean

        for number, (value, description) in enumerate(choices, 1):
            mark = " (current)" if value == default else ""
            print_formatted_text(f"  {number:>3}. {clean(description)}  {clean(value)}{mark}")
        session: PromptSession[str] = PromptSession(
            completer=ChoiceCompleter(choices), complete_while_typing=True
        )
        hint = f" [{default}]" if default else ""
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
        raise UsageError(
            f'"{question}" needs an answer, and there is no terminal to ask',
            "pass -y to answer yes",
        )
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
        shown = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
        return None, f"{len(found)} match: {shown}. Type more of it, or a number."
    return None, f"Answer with a number from 1 to {len(choices)}, or part of a name or ID."


async def _ask(pending: object) -> str:
    try:
        answer: str = await pending  # type: ignore[misc]
    except EOFError:
        raise UsageError("no answer given (end of input)") from None
    return answer


def open_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser when there is one; text browsers are never started."""
    graphical = sys.platform in ("darwin", "win32") or any(
        os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    )
    if not graphical:
        return False
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _token_commands() -> TokenCommands:
    from bpshell.token_command import TokenCommands

    return TokenCommands()


def default_home(environ: Mapping[str, str]) -> Path:
    """``$BP_BOTPRESS_HOME`` or ``~/.botpress``."""
    return Path(environ.get("BP_BOTPRESS_HOME") or Path.home() / ".botpress").expanduser()


@dataclass
class Env:
    """Everything a command touches. One per one-shot run; one per shell session."""

    environ: Mapping[str, str]
    home: Path
    interactive: bool
    tokens: TokenStore
    prompter: Prompter
    browser: Callable[[str], bool] = open_browser
    stdin_stream: TextIO | None = None
    stdout_stream: TextIO | None = None
    stderr_stream: TextIO | None = None
    verbose: bool = False
    api_timeout: float | None = None
    # What token commands printed, for the life of this environment; None: never run one
    # (the shell's view of config.json, which must not start programs).
    token_commands: TokenCommands | None = field(default_factory=_token_commands, repr=False)
    _http: httpx.AsyncClient | None = field(default=None, repr=False)
    _config: ConfigStore | None = field(default=None, repr=False)

    @property
    def stdin(self) -> TextIO:
        """Standard input, looked up now."""
        return self.stdin_stream or sys.stdin

    @property
    def stdout(self) -> TextIO:
        """Standard output, looked up now."""
        return self.stdout_stream or sys.stdout

    @property
    def stderr(self) -> TextIO:
        """Standard error, looked up now."""
        return self.stderr_stream or sys.stderr

    def out(self, text: str) -> None:
        """Write a line of data to stdout."""
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        """Write a line of chatter (progress, warnings) to stderr."""
        print(text, file=self.stderr, flush=True)

    def debug(self, text: str) -> None:
        """Write a line to stderr in verbose mode only."""
        if self.verbose:
            self.err(text)

    @property
    def keyring(self) -> TokenStore:
        """The token store of this home's entries (see :func:`bpshell.tokens.service_for`)."""
        from bpshell.tokens import service_for

        return self.tokens.scoped(service_for(self.home))

    @property
    def config(self) -> ConfigStore:
        """The config store of this home."""
        if self._config is None or self._config.home != self.home:
            from bpshell.config import ConfigStore

            self._config = ConfigStore(self.home, self.err)
        return self._config

    def api(self, api_url: str, token: str, timeout: float | None = None) -> ApiClient:
        """An API client for these credentials, on the run's shared HTTP client; waits for a
        rate limit are told on stderr (a countdown on a terminal)."""
        from bpshell.api import TOTAL_TIMEOUT_S, ApiClient, new_http_client
        from bpshell.network import Transport
        from bpshell.ratelimit import Notices

        if self._http is None:
            self._http = new_http_client(self.debug, Transport(self.environ, self.debug))
        bounds = [t for t in (timeout, self.api_timeout) if t is not None]
        seconds = min(bounds) if bounds else TOTAL_TIMEOUT_S
        notices = Notices(self._raw_err, _isatty(self.stderr))
        return ApiClient(
            self._http,
            api_url,
            token,
            timeout=seconds,
            notices=notices,
            on_unauthorized=lambda error: self._refused(token, error),
        )

    def _refused(self, token: str, error: AuthError) -> None:
        """A 401: a token a command printed is forgotten (the next use runs the command
        again, and may get a new one), and the advice is about that command."""
        commands = self.token_commands
        name = commands.origin(token) if commands is not None else None
        if commands is None or name is None:
            return
        commands.forget(token)
        from bpshell.render import clean

        error.hint = (
            f'it came from the token command of profile "{clean(name)}": store a valid token '
            "where the command reads it"
        )

    def _raw_err(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()

    async def aclose(self) -> None:
        """Close the HTTP client, if one was opened."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
