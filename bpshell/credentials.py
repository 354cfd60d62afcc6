"""A profile's entry in config.json and its token in the keyring, changed as one unit.

Every change that stores or removes a token runs under config.json's lock, held from the first
keyring call to the last write (:func:`unit`), so one process at a time changes the
credentials of a home and the last writer wins for token and workspace together.

A new token never overwrites an old one in place. It goes to a fresh keyring entry
(``<profile>:<random>``), named in the file's journal (``staleKeyringEntries``) before it is
written; config.json then switches the profile to it in one atomic rename; only then are
the entries no profile names any more deleted, and struck from the journal. So whatever stops
the process between two steps, SIGKILL included, config.json names an entry that holds its
own token, and the journal names every entry that may be left over, for the next unit (any
login, logout, rm, rename or import) to delete. SIGINT, SIGTERM and SIGHUP, and the shell's
cancellation, wait for the unit: before the switch it is undone, then they take effect.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from types import FrameType

from bpshell.config import ConfigFile, Transaction
from bpshell.render import clean
from bpshell.tokens import KeyringUnavailable

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from bpshell.env import Env
    from bpshell.tokens import TokenStore

JOURNAL = "staleKeyringEntries"
SEPARATOR = ":"  # never in a profile name, and plain text to a shell (secret-tool hints)
DEFERRED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def journal(config: ConfigFile) -> list[str]:
    """Keyring users that may hold a token no profile uses any more."""
    raw = config.extra.get(JOURNAL)
    return sorted({k for k in raw if isinstance(k, str) and k}) if isinstance(raw, list) else []


def _set_journal(config: ConfigFile, keys: set[str]) -> None:
    if keys:
        config.extra[JOURNAL] = sorted(keys)
    else:
        config.extra.pop(JOURNAL, None)


def owner(user: str) -> str:
    """The profile a keyring user belongs to."""
    return user.split(SEPARATOR)[0]


def referenced(config: ConfigFile) -> set[str]:
    """The keyring users that hold the token of some profile."""
    users = (p.keyring_user(name) for name, p in config.profiles.items())
    return {user for user in users if user is not None}


class Unit:
    """One change of credentials in progress; see :func:`unit`."""

    def __init__(self, env: Env, transaction: Transaction, signals: _DeferredSignals) -> None:
        self.config = transaction.config
        self.store: TokenStore = env.keyring
        self.left: dict[str, str] = {}  # keyring users that could not be deleted, and why
        self._env = env
        self._transaction = transaction
        self._signals = signals
        self._before = referenced(self.config)
        self._warned = False
        self.failure: str | None = None  # why the last put failed
        self._unsure: set[str] = set()  # entries whose write timed out: deleted, never reported

    @property
    def interrupted(self) -> bool:
        """Whether a signal came while the unit ran (it is undone, then delivered)."""
        return bool(self._signals.caught)

    async def put(self, name: str, token: str, *, fallback: bool = True) -> str | None:
        """Store ``token`` in a fresh keyring entry for profile ``name``; that entry's user,
        or None when the keyring is unavailable: with ``fallback`` the caller keeps the token
        in the file, which a warning says (once a unit)."""
        key = f"{name}{SEPARATOR}{os.urandom(4).hex()}"
        _set_journal(self.config, {*journal(self.config), key})
        self._transaction.save()
        try:
            await self.store.set(key, token)
        except KeyringUnavailable as exc:
            if exc.maybe_done:  # a write that timed out may still land: leave it journaled
                self._unsure.add(key)
            else:
                _set_journal(self.config, set(journal(self.config)) - {key})
            self.failure = exc.message
            if fallback and not self._warned:
                self._warned = True
                self._env.err(
                    clean(
                        f"warning: {exc.message}; the token is stored in plain text in "
                        "config.json (0600)"
                    )
                )
            return None
        return key

    async def read(self, name: str) -> str | None:
        """The token of profile ``name`` as stored now (None when unknown or unreadable)."""
        profile = self.config.profiles.get(name)
        if profile is None:
            return None
        user = profile.keyring_user(name)
        if user is None:
            return profile.token
        try:
            return await self.store.get(user)
        except KeyringUnavailable:
            return None

    def commit(self) -> None:
        """Save ``config`` as the new state; entries no profile names any more are journaled."""
        now = referenced(self.config)
        stale = (set(journal(self.config)) | self._before) - now
        _set_journal(self.config, stale)
        self._transaction.save()
        self._before = now

    async def sweep(self) -> None:
        """Delete the journaled entries no profile names; those that fail stay, in ``left``."""
        keys = set(journal(self.config)) - referenced(self.config)
        if not keys:
            return
        kept: set[str] = set()
        for key in sorted(keys):
            try:
                await self.store.delete(key)
            except KeyringUnavailable as exc:
                kept.add(key)
                if key not in self._unsure:
                    self.left[key] = exc.message
        _set_journal(self.config, kept | (set(journal(self.config)) - keys))
        self._transaction.save()


@contextlib.asynccontextmanager
async def unit(env: Env) -> AsyncIterator[Unit]:
    """Change credentials as one unit: the block changes ``unit.config`` (using
    :meth:`Unit.put` for tokens); at its end the change is committed and old entries deleted.
    An error or a signal before the end undoes it: entries put meanwhile are deleted."""
    with _DeferredSignals() as signals, _shielded(), env.config.transaction() as transaction:
        current = Unit(env, transaction, signals)
        await current.sweep()  # leftovers of a unit that was killed
        current.left.clear()
        try:
            yield current
        except BaseException:
            await current.sweep()
            raise
        if current.interrupted:
            await current.sweep()
            return
        current.commit()
        await current.sweep()


def warn_left(env: Env, change: Unit) -> None:
    """Say which tokens a unit could not delete from the keyring, and how they will go."""
    from bpshell.tokens import clear_command

    for user, reason in change.left.items():
        name = owner(user)
        what = "an old token" if name in change.config.profiles else "the token"
        env.err(
            clean(
                f'warning: {what} of profile "{name}" is still in the keyring ({reason}); '
                "bp removes it at the next login or logout once the keyring answers, or remove "
                f"it now with: {clear_command(change.store.service, user)}"
            )
        )


def _shielded() -> contextlib.AbstractContextManager[object]:
    """On an event loop, a scope the shell's Ctrl-C (a cancellation) cannot enter."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None or asyncio.events._get_running_loop() is None:
        return contextlib.nullcontext()
    import anyio

    return anyio.CancelScope(shield=True)


class _DeferredSignals:
    """Holds SIGINT, SIGTERM and SIGHUP back while a unit runs, then delivers them to the
    handlers that were in place (the process dies of SIGTERM as it would have, a little later:
    each keyring call is bounded). Only the main thread can set handlers; elsewhere a no-op."""

    def __init__(self) -> None:
        self.caught: list[int] = []
        self._saved: dict[int, object] = {}

    def __enter__(self) -> _DeferredSignals:
        # threading is not imported by a command that started no thread (~0.6 ms spared on
        # an offline logout): then this is the main thread.
        threading = sys.modules.get("threading")
        if threading is None or threading.current_thread() is threading.main_thread():
            for name in DEFERRED_SIGNALS:
                signum = getattr(signal, name)
                self._saved[signum] = signal.signal(signum, self._hold)
        return self

    def _hold(self, signum: int, frame: FrameType | None) -> None:
        self.caught.append(signum)

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._saved.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        for signum in dict.fromkeys(self.caught):
            signal.raise_signal(signum)
