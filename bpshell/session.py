"""What the interactive shell knows between commands, kept fresh in the background.

A :class:`Session` holds, in memory only, the credentials in force (:class:`View`, from
config.json), the result of checking them (:class:`Auth`) and the completion data. Its
background tasks run in a task group beside the prompt and only update that memory, then call
``on_change`` (the prompt's ``invalidate``):

* every :data:`POLL_S` seconds, and before and after each command, a cheap ``os.stat`` of
  config.json; when it changed (this shell or another process), the view is reloaded;
* when the view's key changes (a switch: profile, API URL, workspace or file token), the
  running check is cancelled and a new one starts (``verify`` of the resolved credentials);
  while no command runs it is done again every :data:`RECHECK_S` seconds, the toolbar
  keeping what it shows until the answer;
* what a command's requests with the checked credentials meet (:meth:`Session.seen`, from
  :mod:`bpshell.sightings`) shows at once: a 401 or no answer is ``✗``, and an answer after
  a failure starts a check;
* the active profile's workspaces are loaded from the disk cache (in a thread) and fetched
  from the API when missing or stale, always after a login in this shell; a profile named on
  the line (``-p``) is loaded from disk on request, and fetched with its own stored token
  when missing or stale (one fetch per profile in flight; :attr:`Session.notice` says so
  while Tab has nothing to offer). In memory they are keyed by (profile, API URL) and
  dropped when that profile's API URL or token changes, and a fetch whose profile changed
  meanwhile is thrown away.

Failures never reach the prompt: expected errors become state (``✗ reason``), anything else is
one warning line.

Start-up: with ``ui_ready``, the first frame's view is a plain-JSON peek at config.json (no
pydantic), and nothing else happens until the prompt has been drawn; then the heavy modules
(pydantic models, httpx) are imported in a worker thread and the real state is loaded. A
keystroke typed meanwhile is handled at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from bpshell.cache import STALE_AFTER_S, cache_path, drop_workspaces, read_workspaces
from bpshell.commands import GlobalOptions
from bpshell.complete import peek_config
from bpshell.completion import CompletionData, Key, SearchIndex, ShellCompleter
from bpshell.env import Env
from bpshell.errors import BpError
from bpshell.render import clean, workspace_label
from bpshell.sightings import Credentials, Sighting
from bpshell.toolbar import Auth, View

if TYPE_CHECKING:
    from bpshell.config import ConfigFile

POLL_S = 1.0
RETRY_AFTER_FAILURE_S = 30.0
RECHECK_S = 180.0  # the toolbar's check of the credentials, again, while the shell is idle
NOTICE_S = 10.0  # how long the toolbar says that a fetch asked for by Tab failed
REJECTED = "the token is invalid or expired"  # what the API's 401 means (api.AuthError)
PROFILE_TOKENS = ("keyring", "file")  # workspaces.PROFILE_TOKENS, without httpx
DEFAULT_API_URL = "https://api.botpress.cloud"  # config.DEFAULT_API_URL, without pydantic
HEAVY_MODULES = ("bpshell.config", "bpshell.profiles", "bpshell.workspaces", "bpshell.api")

Stamp = tuple[int, int, int] | None


def stamp(path: Path) -> Stamp:
    """What changes when a file is rewritten (or appears, or goes): mtime, size, inode."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


class _Discard(io.StringIO):
    """A stream that forgets what is written (background chatter has nowhere to go)."""

    def write(self, text: str) -> int:
        return len(text)


class _NoTokens:
    """A token store with nothing in it: resolving the view never touches the keyring."""

    service = "none"

    def scoped(self, service: str) -> _NoTokens:
        return self

    async def get(self, profile: str) -> str | None:
        return None

    async def set(self, profile: str, token: str) -> None:
        raise BpError("read-only")

    async def delete(self, profile: str) -> bool:
        return False


def _quiet(env: Env, **changes: Any) -> Env:
    """``env`` for background work: no terminal, nothing shown; the same token store, token
    commands (one run a session) and deadline (a background walk's, as a command's)."""
    quiet: dict[str, Any] = {
        "interactive": False,
        "stdin_stream": io.StringIO(),
        "stdout_stream": _Discard(),
        "stderr_stream": _Discard(),
        "verbose": False,
    }
    return env.derived(**{**quiet, **changes})


def _import_heavy() -> None:
    for name in HEAVY_MODULES:
        importlib.import_module(name)


def peek(
    path: Path,
    environ: Mapping[str, str],
    profile: str | None,
    default_url: str = DEFAULT_API_URL,
) -> tuple[View, dict[str, tuple[str, str]]]:
    """The first frame's view, and each profile's (API URL, label), from config.json as plain JSON.

    No validation and no pydantic; the same precedence as :func:`bpshell.profiles.resolve`,
    for display only: the real reload replaces both moments later. Anything odd reads as empty.
    ``default_url`` is the API URL with no profile in force (the sandbox's in one).
    """
    override = environ.get("BP_API_URL")
    data = peek_config(path)
    try:
        profiles = {
            str(name): (
                str(override or entry["apiUrl"]).rstrip("/"),
                workspace_label(_text(entry.get("workspaceName")), str(entry["workspaceId"])),
            )
            for name, entry in data["profiles"].items()
        }
        name = profile or _text(data.get("activeProfile"))
        entry = data["profiles"].get(name) if name in profiles else None
    except (KeyError, TypeError, AttributeError):
        return View(profile), {}
    if entry is None or name is None:
        return View(profile, api_url=override or default_url), profiles
    workspace = environ.get("BP_WORKSPACE_ID") or entry["workspaceId"]
    label = entry.get("workspaceName") if workspace == entry["workspaceId"] else None
    return View(name, _text(workspace), _text(label), profiles[name][0]), profiles


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


async def check_auth(
    env: Env, opts: GlobalOptions, sending: Callable[[Credentials], None] = lambda _: None
) -> Auth:
    """Check the credentials commands would use now; a value, never raised. ``sending`` is
    told which credentials, before the request."""
    from bpshell.api import verify
    from bpshell.profiles import resolve

    try:
        resolved = await resolve(_pinned(opts, env), env)
    except BpError as exc:
        return Auth("failed", exc.message)
    if resolved.token is None:
        return Auth("failed", "no token found" if resolved.profile else "not logged in")
    if resolved.workspace_id is None:
        return Auth("failed", "no workspace ID")
    sending(Credentials.of(resolved.api_url, resolved.token))
    verification = await verify(env.api(resolved.api_url, resolved.token), resolved.workspace_id)
    if verification.ok and verification.account is not None:
        return Auth("ok", verification.account.email)
    return Auth("failed", verification.reason or verification.status)


def _pinned(opts: GlobalOptions, env: Env) -> GlobalOptions:
    """``opts`` as a line of the shell gets them: the pinned profile, if the shell is."""
    return env.pin.apply(opts) if env.pin is not None else opts


class Session:
    """The shell's live state; see the module docstring."""

    def __init__(self, env: Env, opts: GlobalOptions, *, sandbox: bool = False) -> None:
        self.opts = opts
        self.home = env.home
        self.sandbox = sandbox
        self._default_url = env.sandbox.url if env.sandbox else DEFAULT_API_URL
        self.view = View()
        self.auth = Auth()
        self.completer = ShellCompleter(want=self.want)
        self.on_change: Callable[[], None] = lambda: None
        # The prompt's line, and how to open its completion menu (set by the REPL): Tab on
        # workspaces being fetched offers them once they are in, if the line is unchanged.
        self.line: Callable[[], str | None] = lambda: None
        self.offer: Callable[[], None] = lambda: None
        self._env = _quiet(env)
        self._view_env = _quiet(env, tokens=_NoTokens(), token_commands=None)
        self._config_path = env.home / "config.json"
        self._config_stamp: object = False
        self._loaded = False
        self._after_login = False
        self._urls: dict[str, str] = {}
        self._fingerprints: dict[str, int] = {}
        self._from_commands: set[str] = set()  # profiles whose token a command prints
        self._pat_indexes: dict[Key, SearchIndex] = {}
        self._profiles = SearchIndex(())
        self._indexes: dict[Key, SearchIndex] = {}
        self._index_stamps: dict[Key, Stamp] = {}
        self._fetched_at: dict[Key, float] = {}
        self._failed_at: dict[Key, float] = {}
        self._busy: set[Key] = set()
        self._wanted: set[Key] = set()
        self._wake = anyio.Event()
        self._refetch: set[Key] = set()
        self._check_scope: anyio.CancelScope | None = None
        self._checked: Credentials | None = None  # what the toolbar's check sends
        self._checked_at = time.monotonic()
        self._command_running = False
        # Asked for by Tab with nothing to show yet: the line at that Tab.
        self._awaited: dict[Key, str | None] = {}
        self._fetch_failure: tuple[str, float] | None = None  # (notice, until when)
        self._group: anyio.abc.TaskGroup | None = None
        self._warned: set[str] = set()

    @property
    def active_key(self) -> Key | None:
        """(profile, API URL) of the credentials in force, when a profile is in force."""
        if self.view.profile is None or self.view.api_url is None:
            return None
        return (self.view.profile, self.view.api_url)

    @property
    def notice(self) -> str | None:
        """A word for the toolbar about what Tab asked for: being fetched, or why it failed."""
        waiting = sorted({profile for profile, _ in self._awaited})
        if waiting:
            return f"fetching workspaces of {clean(', '.join(waiting))}…"
        if self._fetch_failure is not None and time.monotonic() < self._fetch_failure[1]:
            return self._fetch_failure[0]
        return None

    @property
    def checking(self) -> bool:
        """Whether a check of the credentials is on its way (quiet ones too)."""
        return self._check_scope is not None

    @contextlib.contextmanager
    def command_running(self) -> Iterator[None]:
        """While in force, a command runs: the credentials are not checked again meanwhile."""
        self._command_running = True
        try:
            yield
        finally:
            self._command_running = False

    def seen(self, sighting: Sighting) -> None:
        """A command's request was answered, or not (see :mod:`bpshell.sightings`): when it
        carried the checked credentials, the toolbar says at once what it met."""
        checked = self._checked
        if checked is None or not sighting.concerns(checked):
            return
        if sighting.status == 401:
            self._settle(Auth("failed", REJECTED))
        elif sighting.status is None:
            self._settle(Auth("failed", sighting.failure))
        elif self.auth.state == "failed":
            self._checked_at = -RECHECK_S  # it answers again: check once the command is done

    def _settle(self, auth: Auth) -> None:
        if self._check_scope is not None:  # what it would say is older than this
            self._check_scope.cancel()
            self._check_scope = None
        self.auth, self._checked_at = auth, time.monotonic()
        self.on_change()

    async def run(
        self,
        *,
        ui_ready: anyio.Event | None = None,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Load the state, report started, then watch config.json until cancelled.

        With ``ui_ready``: report started with a peeked view at once, and load the real state
        once the event is set (the prompt has been drawn).
        """
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                group.start_soon(self._serve_wants)
                if ui_ready is not None:
                    self._first_frame()
                    task_status.started()
                    await ui_ready.wait()
                    await anyio.to_thread.run_sync(_import_heavy)
                    await self.reload()
                else:
                    await self.reload()
                    task_status.started()
                self._spawn("reading of the official CLI's help", self._read_official)
                while True:
                    await anyio.sleep(POLL_S)
                    await self.reload()
                    self._ensure_active()
                    self._recheck_if_due()
                    self._expire_notice()
        finally:
            self._group = None
            await self._env.aclose()

    def _first_frame(self) -> None:
        from bpshell.local_profile import quietly

        opts = _pinned(self.opts, self._env)
        here, _ = quietly(self._env) if opts.profile is None else (None, None)
        profile = opts.profile or (here.name if here else None)
        view, profiles = peek(self._config_path, self._env.environ, profile, self._default_url)
        source = opts.profile_source if opts.profile else "local" if here else None
        self.view = dataclasses.replace(view, source=source)
        self._urls = {name: url for name, (url, _) in profiles.items()}
        self._profiles = SearchIndex((name, label) for name, (_, label) in profiles.items())
        self._publish()

    async def reload(self, force: bool = False) -> None:
        """Re-read config.json if it changed (or when ``force``); handle a switch."""
        from bpshell.profiles import resolve

        opts = _pinned(self.opts, self._env)
        current = (stamp(self._config_path), opts.profile, self._local_stamp(opts))
        if current == self._config_stamp and not force:
            return
        self._config_stamp = current
        try:
            config = self._env.config.load()
        except BpError as exc:
            self._set_view(View(opts.profile, problem=exc.message))
            return
        self._read_profiles(config)
        self._tell_a_switch(config.active())
        try:
            resolved = await resolve(opts, self._view_env, config)
        except BpError as exc:
            self._set_view(View(opts.profile, problem=exc.message))
            return
        fingerprint = self._fingerprints.get(resolved.profile or "", 0)
        self._set_view(
            View(
                resolved.profile,
                resolved.workspace_id,
                resolved.workspace_name,
                resolved.api_url,
                fingerprint=str(fingerprint),
                source=resolved.profile_source,
            )
        )

    async def _read_official(self) -> None:
        """The official CLI's commands and flags for completion (see
        :mod:`bpshell.official.catalog`): from the cache, else read from its help."""
        from bpshell.official.catalog import load_catalog
        from bpshell.official.in_shell import working_folder

        catalog = await load_catalog(self.home, self._env.environ, working_folder())
        if catalog is not None:
            self.completer.official = catalog
            self.on_change()

    def _local_stamp(self, opts: GlobalOptions) -> object:
        """What changes when the .bp-profile in force here does (a few ``lstat``s); nothing
        when a profile is named, as the file is not read then."""
        from bpshell.local_profile import quietly

        if opts.profile is not None:
            return None
        found, problem = quietly(self._env)
        return problem.message if problem is not None else found

    def _tell_a_switch(self, active: str | None) -> None:
        """A pinned shell says once that the active profile was switched elsewhere."""
        note = self._env.pin.switched(active) if self._env.pin is not None else None
        if note is not None:
            print(note, file=sys.stderr)

    async def after_command(self, path: tuple[str, ...], code: int) -> None:
        """Catch up with what a command of this shell did (a login may have a new token)."""
        self._after_login = path == ("login",) and code == 0
        await self.reload(force=True)
        key = self.active_key
        # The check may have failed on a token command it ran without the terminal, which a
        # command has now run with it: check again, with the token that run printed.
        commands, name = self._env.token_commands, self.view.profile
        retry = (
            self.auth.state == "failed"
            and name in self._from_commands
            and commands is not None
            and commands.knows(name)
        )
        if (self._after_login or retry) and key is not None:  # same key, maybe a new token
            self._after_login = False
            self._start_check()
            self._ensure(key, fetch=True, force=True)
        else:
            self._ensure_active()

    def want(self, key: Key) -> None:
        """Completion needs ``key``'s workspaces: load them from disk (fetch if active).

        Called by the completer outside any task (a key binding's callback), so it only
        records the wish; :meth:`_serve_wants`, a task of the session, acts on it.
        """
        self._wanted.add(key)
        self._wake.set()

    async def _serve_wants(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            wanted, self._wanted = self._wanted, set()
            for key in wanted:
                self._ensure(key, fetch=True)
                if key in self._busy and key not in self._indexes:
                    self._awaited[key] = self.line()
                    self.on_change()

    def _read_profiles(self, config: ConfigFile) -> None:
        override = self._env.environ.get("BP_API_URL")
        urls = {
            name: (override or profile.apiUrl).rstrip("/")
            for name, profile in config.profiles.items()
        }
        # A login elsewhere always changes one of these: a keyring token gets a fresh entry.
        fingerprints = {
            name: hash((profile.apiUrl, profile.token, profile.tokenKey, profile.tokenCommand))
            for name, profile in config.profiles.items()
        }
        self._from_commands = {n for n, p in config.profiles.items() if p.tokenCommand}
        for key in list(self._indexes):
            name = key[0]
            if urls.get(name) != key[1] or fingerprints.get(name) != self._fingerprints.get(name):
                self._forget(key)
        self._urls, self._fingerprints = urls, fingerprints
        self._profiles = SearchIndex(
            (name, workspace_label(p.workspaceName, p.workspaceId))
            for name, p in config.profiles.items()
        )

    def _set_view(self, view: View) -> None:
        switched = view.key != self.view.key or not self._loaded
        self.view, self._loaded = view, True
        if switched:
            self._start_check()
            key = self.active_key
            if key is not None:
                self._ensure(key, fetch=True, force=self._after_login)
            self._after_login = False
        self._publish()

    def _publish(self) -> None:
        urls = dict.fromkeys([self._default_url, *sorted(set(self._urls.values()))])
        self.completer.data = CompletionData(
            profiles=self._profiles,
            profile_urls=dict(self._urls),
            active=self.active_key,
            workspaces=dict(self._indexes),
            api_urls=tuple(urls),
            pats=dict(self._pat_indexes),
        )
        self.on_change()

    def _start_check(self, *, quietly: bool = False) -> None:
        """Check the credentials in force; ``quietly``: the toolbar keeps what it shows until
        the answer (a periodic check), instead of ``checking…`` (a switch)."""
        if self._check_scope is not None:
            self._check_scope.cancel()
            self._check_scope = None
        if not quietly:
            self._checked = None
        if self.view.problem is not None or (
            self.view.profile is None and not self._env.environ.get("BP_TOKEN")
        ):
            self.auth = Auth()
            return
        if not quietly:
            self.auth = Auth("checking")
        scope = anyio.CancelScope()
        self._check_scope = scope
        self._spawn("credentials check", self._check, scope, self.view.key)

    async def _check(self, scope: anyio.CancelScope, key: object) -> None:
        def sending(credentials: Credentials) -> None:
            if key == self.view.key:
                self._checked = credentials

        try:
            with scope:
                auth = await check_auth(self._env, self.opts, sending)
                if key == self.view.key:
                    self.auth, self._checked_at = auth, time.monotonic()
                    self.on_change()
        finally:
            if self._check_scope is scope:
                self._check_scope = None

    def _recheck_if_due(self) -> None:
        due = time.monotonic() - self._checked_at >= RECHECK_S
        idle = not self._command_running and self._check_scope is None
        if due and idle and self._checked is not None:
            self._start_check(quietly=True)

    def _expire_notice(self) -> None:
        if self._fetch_failure is not None and time.monotonic() >= self._fetch_failure[1]:
            self._fetch_failure = None
            self.on_change()

    def _ensure_active(self) -> None:
        key = self.active_key
        if key is not None:
            self._ensure(key, fetch=True)

    def _ensure(self, key: Key, *, fetch: bool, force: bool = False) -> None:
        if key in self._busy:
            if force:
                self._refetch.add(key)
            return
        if not force and key in self._indexes:
            fresh = time.time() - self._fetched_at.get(key, 0.0) <= STALE_AFTER_S
            unchanged = stamp(cache_path(self.home, key[0])) == self._index_stamps.get(key)
            if unchanged and (fresh or not fetch or self._failed_recently(key)):
                return
        self._busy.add(key)
        self._spawn("workspace refresh", self._load, key, fetch, force)

    def _failed_recently(self, key: Key) -> bool:
        return time.monotonic() - self._failed_at.get(key, -1e9) < RETRY_AFTER_FAILURE_S

    async def _load(self, key: Key, fetch: bool, force: bool) -> None:
        try:
            if not force:
                await self._load_from_disk(key)
                fresh = time.time() - self._fetched_at.get(key, 0.0) <= STALE_AFTER_S
                if (key in self._indexes and fresh) or not fetch or self._failed_recently(key):
                    return
            await self._fetch(key)
        finally:
            self._busy.discard(key)
            if key in self._awaited:
                del self._awaited[key]
                self.on_change()
        if key in self._refetch:
            self._refetch.discard(key)
            self._ensure(key, fetch=True, force=True)

    async def _load_from_disk(self, key: Key) -> None:
        profile, api_url = key
        path = cache_path(self.home, profile)
        found = stamp(path)
        if found is None or (key in self._indexes and found == self._index_stamps.get(key)):
            return
        cached = await anyio.to_thread.run_sync(read_workspaces, self.home, profile)
        if cached is None or cached.api_url != api_url or self._urls.get(profile) != api_url:
            return
        index = await anyio.to_thread.run_sync(SearchIndex, cached.workspaces)
        self._keep(key, index, found, cached.fetched_at)

    async def _fetch(self, key: Key) -> None:
        """``key``'s workspaces from the API: the active profile with the credentials in
        force, another one with its own stored token only."""
        from bpshell.profiles import resolve
        from bpshell.workspaces import fetch_workspaces

        active = key == self.active_key
        opts = (
            _pinned(self.opts, self._env)
            if active
            else self.opts._replace(profile=key[0], profile_source="flag")
        )
        before = self._fingerprints.get(key[0])
        try:
            resolved = await resolve(opts, self._env)
            if (resolved.profile, resolved.api_url) != key:
                return
            if resolved.token is None or not (active or resolved.token_source in PROFILE_TOKENS):
                by_variable = resolved.token_source == "BP_TOKEN"
                self._failed(key, "BP_TOKEN is set" if by_variable else "no token stored for it")
                return
            path = cache_path(self.home, key[0])
            prior = stamp(path)
            pairs = await fetch_workspaces(self._env, resolved)
        except BpError as exc:
            self._failed(key, exc.message)
            return
        written = stamp(path)
        # Logged in again meanwhile (here or elsewhere): these are another token's workspaces,
        # and so is the cache the fetch just wrote.
        if self._urls.get(key[0]) != key[1] or self._fingerprints.get(key[0]) != before:
            if written != prior and stamp(path) == written:
                await anyio.to_thread.run_sync(drop_workspaces, self.home, key[0])
            return
        index = await anyio.to_thread.run_sync(SearchIndex, pairs)
        if self._urls.get(key[0]) == key[1] and self._fingerprints.get(key[0]) == before:
            self._keep(key, index, written, time.time())
            await self._fetch_pats(key, resolved)

    def _failed(self, key: Key, reason: str) -> None:
        self._failed_at[key] = time.monotonic()
        if key in self._awaited:
            said = f"cannot fetch workspaces of {clean(key[0])}: {clean(reason)}"
            self._fetch_failure = (said, time.monotonic() + NOTICE_S)

    async def _fetch_pats(self, key: Key, resolved: Any) -> None:
        """The token's PATs (id, note), for ``tokens revoke <Tab>``: memory only, refreshed
        with the workspaces; a token that may not list them simply has none to offer."""
        if resolved.token_source not in ("keyring", "file"):
            return
        try:
            found = await self._env.api(resolved.api_url, resolved.token).list_pats()
        except BpError:
            return
        if self._urls.get(key[0]) == key[1] and key in self._indexes:
            self._pat_indexes[key] = SearchIndex((p.id, p.note) for p in found)
            self._publish()

    def _keep(self, key: Key, index: SearchIndex, found: Stamp, fetched_at: float) -> None:
        self._indexes[key] = index
        self._index_stamps[key] = found
        self._fetched_at[key] = fetched_at
        self._failed_at.pop(key, None)
        line = self._awaited.pop(key, None)
        self._publish()
        if line is not None and line == self.line():
            self.offer()  # the Tab that waited for them, answered

    def _forget(self, key: Key) -> None:
        self._pat_indexes.pop(key, None)
        self._indexes.pop(key, None)
        self._index_stamps.pop(key, None)
        self._fetched_at.pop(key, None)
        self._failed_at.pop(key, None)

    def _spawn(self, what: str, func: Callable[..., Awaitable[None]], *args: Any) -> None:
        if self._group is not None:
            self._group.start_soon(self._guarded, what, func, *args)

    async def _guarded(self, what: str, func: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            await func(*args)
        except BpError:
            pass
        except Exception as exc:  # a bug in a background task must not end the session
            if what not in self._warned:
                self._warned.add(what)
                print(
                    f"warning: the background {what} failed ({type(exc).__name__}); "
                    "the shell goes on without it",
                    file=sys.stderr,
                )
