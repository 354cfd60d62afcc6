"""What a command may touch: streams, environment, home, tokens, HTTP, prompts, the browser.

Commands get everything through an :class:`Env`; tests build one from fakes. Streams are
looked up when written to, not captured at import, because the shell's ``patch_stdout``
swaps them. The questions themselves are :mod:`bpshell.prompts`.
"""

from __future__ import annotations

import os
import sys

from bpshell.records import Record

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from contextlib import AbstractContextManager
    from pathlib import Path
    from typing import Any, Literal, TextIO

    import httpx

    from bpshell.api import ApiClient
    from bpshell.colour import Palette
    from bpshell.config import ConfigStore
    from bpshell.errors import AuthError
    from bpshell.pin import ShellPin
    from bpshell.prompts import Prompter
    from bpshell.spinner import Spinner, Wait
    from bpshell.token_command import TokenCommands
    from bpshell.tokens import TokenStore


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


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal; a closed or odd stream is not."""
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False


def _token_commands() -> TokenCommands:
    from bpshell.token_command import TokenCommands

    return TokenCommands()


# What :meth:`Env.derived` carries over: every constructor argument.
_CARRIED = (
    "environ",
    "home",
    "interactive",
    "tokens",
    "prompter",
    "browser",
    "stdin_stream",
    "stdout_stream",
    "stderr_stream",
    "verbose",
    "api_timeout",
    "sandbox",
    "cwd",
    "local_top",
    "pin",
    "token_commands",
)


def default_home(environ: Mapping[str, str]) -> Path:
    """``$BP_BOTPRESS_HOME`` or ``~/.botpress``."""
    from pathlib import Path

    return Path(environ.get("BP_BOTPRESS_HOME") or Path.home() / ".botpress").expanduser()


class Sandboxed(Record):
    """The local sandbox a ``bp shell --sandbox`` session runs on: logins default to its
    ``url`` and point at its demo tokens (fake; ``tokens`` lines, as its banner lists them),
    never at the real web app."""

    url: str
    tokens: tuple[str, ...]


class Env:
    """Everything a command touches. One per one-shot run; one per shell session.

    A plain class rather than a dataclass: every run builds one, and ``dataclasses`` costs
    ~5 ms of imports (``inspect``) that ``bp --version`` would otherwise pay.
    """

    def __init__(
        self,
        environ: Mapping[str, str],
        home: Path | str | None,
        interactive: bool,
        tokens: TokenStore | None,
        prompter: Prompter | None,
        browser: Callable[[str], bool] = open_browser,
        stdin_stream: TextIO | None = None,
        stdout_stream: TextIO | None = None,
        stderr_stream: TextIO | None = None,
        verbose: bool = False,
        api_timeout: float | None = None,
        sandbox: Sandboxed | None = None,
        cwd: Path | None = None,
        local_top: Path | None = None,
        pin: ShellPin | None = None,
        token_commands: TokenCommands | Literal["new"] | None = "new",  # noqa: S107
    ) -> None:
        self.environ = environ
        self._home: Path | str | None = home
        self.interactive = interactive
        self._tokens = tokens
        self._prompter = prompter  # None: the terminal's, made when first asked for
        self.browser = browser
        self.stdin_stream = stdin_stream
        self.stdout_stream = stdout_stream
        self.stderr_stream = stderr_stream
        self.verbose = verbose
        self.api_timeout = api_timeout
        self.sandbox = sandbox
        # Where a folder's .bp-profile is looked for from (None: the working folder), and the
        # highest folder looked in (None: the home folder); see bpshell.local_profile.
        self.cwd = cwd
        self.local_top = local_top
        # The profile ``bp shell`` is pinned to (bp shell -p, profiles use --session); None
        # outside the shell.
        self.pin = pin
        self._http: httpx.AsyncClient | None = None
        self._config: ConfigStore | None = None
        self._spinner: Spinner | None = None
        # What token commands printed, for the life of this environment; None: never run one
        # (the shell's view of config.json, which must not start programs). Made when first
        # used: most runs never need one.
        self._token_commands = token_commands

    @property
    def prompter(self) -> Prompter:
        """Who answers questions: the user on the terminal unless given (tests, the shell)."""
        if self._prompter is None:
            from bpshell.prompts import TerminalPrompter

            self._prompter = TerminalPrompter()
        return self._prompter

    @property
    def token_commands(self) -> TokenCommands | None:
        """See the constructor."""
        if self._token_commands == "new":
            self._token_commands = _token_commands()
        return self._token_commands

    @token_commands.setter
    def token_commands(self, commands: TokenCommands | None) -> None:
        self._token_commands = commands

    def __repr__(self) -> str:
        return f"Env(home={str(self.home)!r}, interactive={self.interactive})"

    def derived(self, **changes: Any) -> Env:
        """A new environment like this one but for ``changes`` (constructor arguments), with
        its own HTTP client, config store and spinner."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in _CARRIED}
        fields.update(changes)
        return Env(**fields)

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
        """Write a line of data to stdout (above the spinner line, if it shows)."""
        if self._spinner is not None:
            self._spinner.clear()
        print(text, file=self.stdout, flush=True)

    def err(self, text: str) -> None:
        """Write a line of chatter (progress, warnings) to stderr, above the spinner line;
        on a terminal a ``warning:`` is yellow and a ``hint:`` dim (:mod:`bpshell.colour`)."""
        if self._spinner is not None:
            self._spinner.clear()
        print(self.palette(self.stderr).chatter(text), file=self.stderr, flush=True)

    def palette(self, stream: TextIO) -> Palette:
        """The colours of text for people written to ``stream`` (never of JSON)."""
        from bpshell.colour import palette_for

        return palette_for(self.environ, stream)

    @property
    def spinner(self) -> Spinner:
        """The line on stderr that says bp waits (:mod:`bpshell.spinner`)."""
        if self._spinner is None:
            from bpshell.spinner import Spinner

            self._spinner = Spinner(lambda: self.stderr, self._may_spin)
        return self._spinner

    def waiting(self, label: str) -> AbstractContextManager[Wait]:
        """A wait of the command's own, shown as ``label`` (it may change it as it goes)
        instead of the waits' own words, when it lasts, on a terminal."""
        return self.spinner.waiting(label, strong=True)

    def interrupted(self, text: str = "Interrupted.") -> None:
        """After Ctrl-C: ``text`` on a line of its own. The ``^C`` the terminal echoed is gone
        with the spinner line when that was erased just now; else it needs a line break."""
        fresh = self._spinner is not None and self._spinner.erased_last
        self.err(text if fresh else "\n" + text)

    def _may_spin(self) -> bool:
        return isatty(self.stderr) and self.environ.get("TERM") != "dumb"

    def debug(self, text: str) -> None:
        """Write a line to stderr in verbose mode only."""
        if self.verbose:
            self.err(text)

    @property
    def home(self) -> Path:
        """The botpress home; a string or None (:func:`default_home`) given at construction is
        made a path when first asked (``pathlib`` costs ``bp --version`` a third of a bare
        start)."""
        if self._home is None:
            self._home = default_home(self.environ)
        elif isinstance(self._home, str):
            from pathlib import Path

            self._home = Path(self._home).expanduser()
        return self._home

    @home.setter
    def home(self, home: Path) -> None:
        self._home = home

    @property
    def tokens(self) -> TokenStore:
        """The token store; None given at construction means the OS keyring's, made when first
        used (``bpshell.tokens`` and its thread machinery cost a few ms that runs which never
        touch a token, such as ``bp --version``, would pay)."""
        if self._tokens is None:
            from bpshell.tokens import KeyringTokens

            self._tokens = KeyringTokens()
        return self._tokens

    @tokens.setter
    def tokens(self, store: TokenStore) -> None:
        self._tokens = store

    @property
    def keyring(self) -> TokenStore:
        """The token store of this home's entries (see :func:`bpshell.tokens.service_for`)."""
        from bpshell.spinner import WaitingTokens
        from bpshell.tokens import service_for

        return WaitingTokens(self.tokens.scoped(service_for(self.home)), self.spinner)

    @property
    def config(self) -> ConfigStore:
        """The config store of this home."""
        if self._config is None or self._config.home != self.home:
            from bpshell.config import ConfigStore

            self._config = ConfigStore(self.home, self.err)
        return self._config

    def api(self, api_url: str, token: str, timeout: float | None = None) -> ApiClient:
        """An API client for these credentials, on the run's shared HTTP client; its waits
        show on the spinner line, and a rate limit's on stderr (a countdown on a terminal)."""
        from urllib.parse import urlsplit

        from bpshell.api import TOTAL_TIMEOUT_S, ApiClient, new_http_client
        from bpshell.network import Transport
        from bpshell.ratelimit import Notices
        from bpshell.render import clean

        if self._http is None:
            self._http = new_http_client(self.debug, Transport(self.environ, self.debug))
        bounds = [t for t in (timeout, self.api_timeout) if t is not None]
        seconds = min(bounds) if bounds else TOTAL_TIMEOUT_S
        label = f"Waiting for {clean(urlsplit(api_url).netloc or api_url)}…"
        notices = Notices(self._raw_err, self.spinner, label)
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
        self.spinner.clear()
        self.stderr.write(text)
        self.stderr.flush()

    async def aclose(self) -> None:
        """Close the HTTP client, if one was opened."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
