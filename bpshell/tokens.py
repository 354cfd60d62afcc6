"""Where tokens live: the OS keyring when a usable one answers in time, else config.json.

``keyring`` is imported only when a token is read or written, every call runs in a daemon
thread bounded by a timeout (a locked or hung Secret Service must not freeze ``bp``, and a
thread stuck in a D-Bus call must not keep the process alive at exit: see
:func:`keyring_stuck`), and a keyring that is missing, failing or too slow is reported once as
:class:`KeyringUnavailable` so callers fall back to the file with a warning.

Entries belong to one botpress home: the default home (``~/.botpress``) uses the service
``botpress-cli``, as it always has; any other home uses ``botpress-cli:<its real path>``, so
``--botpressHome`` never reads, replaces or deletes another home's tokens
(:func:`service_for`). ``InMemoryTokens`` is the test double.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from bpshell.errors import StorageError
from bpshell.render import clean, shell_word  # names and keyring messages may hold escape sequences

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import Any, Literal, Protocol, TypeAlias

    from bpshell.config import Profile
    from bpshell.token_command import Runner

SERVICE = "botpress-cli"
KEYRING_TIMEOUT_S = 3.0
THREAD_NAME = "bpshell-keyring"

if TYPE_CHECKING:
    Storage: TypeAlias = Literal["keyring", "file", "command"]


class KeyringUnavailable(StorageError):
    """Raised when no usable keyring backend exists, or it failed or timed out.

    ``maybe_done``: the call timed out, so it may still take effect (a write may land).
    """

    kind = "keyring_unavailable"

    def __init__(self, message: str, hint: str | None = None, *, maybe_done: bool = False) -> None:
        super().__init__(message, hint)
        self.maybe_done = maybe_done


def service_for(home: Path) -> str:
    """The keyring service of a botpress home: ``botpress-cli`` for ``~/.botpress``, else
    ``botpress-cli:<real path of the home>``."""
    real = os.path.realpath(home)
    default = os.path.realpath(Path.home() / ".botpress")
    return SERVICE if real == default else f"{SERVICE}:{real}"


def keyring_stuck() -> bool:
    """Whether a keyring call that was given up on is still running in its thread."""
    # threading is imported by the first keyring call (-X importtime: ~1 ms): a command that
    # made none, such as the logout of a file token, has no thread to look for.
    threading = sys.modules.get("threading")
    if threading is None:
        return False
    return any(t.name == THREAD_NAME and t.is_alive() for t in threading.enumerate())


if TYPE_CHECKING:  # only for type checkers: no class at run time

    class TokenStore(Protocol):
        """Secret storage keyed by keyring user (see :mod:`bpshell.credentials`), in one service."""

        service: str

        def scoped(self, service: str) -> TokenStore:
            """The same store, for the entries of ``service`` (one botpress home)."""

        async def get(self, profile: str) -> str | None:
            """The stored token, or None when there is no entry."""

        async def set(self, profile: str, token: str) -> None:
            """Store ``token`` for ``profile``, replacing any previous entry."""

        async def delete(self, profile: str) -> bool:
            """Remove the entry; False when there was none (which is fine)."""


class _Keyring:
    """What every scope of one :class:`KeyringTokens` shares: the backend, and whether it
    already failed (a keyring that hung once is not asked again in this run)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.broken: str | None = None
        self.backend: Any = None


class KeyringTokens:
    """The OS keyring (``service``, user = keyring user), bounded and lazy."""

    def __init__(
        self, timeout: float = KEYRING_TIMEOUT_S, service: str = SERVICE, *, _shared: Any = None
    ) -> None:
        self.service = service
        self._shared: _Keyring = _shared if _shared is not None else _Keyring(timeout)

    def scoped(self, service: str) -> KeyringTokens:
        """See :meth:`TokenStore.scoped`."""
        if service == self.service:
            return self
        return KeyringTokens(service=service, _shared=self._shared)

    @property
    def backend_name(self) -> str | None:
        """The backend that answers (or failed to), once a call has looked for one: the
        keyring library's name of it (``SecretService Keyring``), the first of a chain."""
        backend = self._shared.backend
        chained = getattr(backend, "backends", None)
        if chained:
            backend = chained[0]
        name = getattr(backend, "name", None)
        return clean(name) if isinstance(name, str) else None

    async def get(self, profile: str) -> str | None:
        """See :meth:`TokenStore.get`."""
        service = self.service
        value: str | None = await self._call(lambda kr: kr.get_password(service, profile))
        return value

    async def set(self, profile: str, token: str) -> None:
        """See :meth:`TokenStore.set`."""
        service = self.service
        await self._call(lambda kr: kr.set_password(service, profile, token))

    async def delete(self, profile: str) -> bool:
        """See :meth:`TokenStore.delete`."""
        service = self.service

        def delete(kr: Any) -> bool:
            from keyring.errors import PasswordDeleteError

            try:
                kr.delete_password(service, profile)
            except PasswordDeleteError:
                return False
            return True

        deleted: bool = await self._call(delete)
        return deleted

    async def _call(self, operation: Callable[[Any], Any]) -> Any:
        shared = self._shared
        if shared.broken is not None:
            raise KeyringUnavailable(shared.broken)

        def run() -> Any:
            if shared.backend is None:
                shared.backend = _usable_backend()
            return operation(shared.backend)

        try:
            if _event_loop_running():
                return await _in_thread_async(run, shared.timeout)
            return _in_thread(run, shared.timeout)
        except TimeoutError:
            shared.broken = f"the keyring did not answer within {shared.timeout:g} s"
            raise KeyringUnavailable(shared.broken, maybe_done=True) from None
        except KeyringUnavailable as exc:
            shared.broken = exc.message
        except Exception as exc:  # keyring backends raise anything from D-Bus to OSError
            shared.broken = f"the keyring failed ({type(exc).__name__}: {_first_line(exc)})"
        raise KeyringUnavailable(shared.broken)


def _event_loop_running() -> bool:
    """Whether this thread runs an asyncio loop (offline commands run without one)."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and asyncio.events._get_running_loop() is not None


def _in_thread(call: Callable[[], Any], timeout: float) -> Any:
    """``call()`` in a daemon thread, given up on (TimeoutError) after ``timeout`` seconds."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed over to the caller's thread
            outcome["error"] = exc

    import threading

    worker = threading.Thread(target=target, name=THREAD_NAME, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


async def _in_thread_async(call: Callable[[], Any], seconds: float) -> Any:
    """``call()`` in a daemon thread, awaited on the running loop for ``seconds``.

    Not ``anyio.to_thread`` or the loop's executor: their worker threads are not daemons and
    ``asyncio.run`` joins the executor at exit, so one call stuck in D-Bus would keep ``bp``
    from ever exiting (``eval "$(bp env)"`` would hang the user's shell).
    """
    import asyncio
    import contextlib
    import threading

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def target() -> None:
        try:
            value, error = call(), None
        except BaseException as exc:  # handed over to the loop's thread
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=target, name=THREAD_NAME, daemon=True).start()
    return await asyncio.wait_for(future, seconds)


def _usable_backend() -> Any:
    """The active keyring backend, or KeyringUnavailable when it cannot store anything."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    chained = getattr(backend, "backends", None)
    if isinstance(backend, fail.Keyring) or chained == [] or backend.priority <= 0:
        raise KeyringUnavailable("no usable keyring backend on this system")
    return backend


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no message"


class InMemoryTokens:
    """A :class:`TokenStore` in a dict, for tests; ``broken`` makes every call unavailable.

    Scopes share ``entries`` unless ``namespaced``: most tests look at one home only.
    """

    def __init__(
        self, broken: str | None = None, *, namespaced: bool = False, service: str = SERVICE
    ) -> None:
        self.entries: dict[str, str] = {}
        self.broken = broken
        self.service = service
        self._namespaced = namespaced
        self._scopes: dict[str, InMemoryTokens] = {service: self}

    def scoped(self, service: str) -> InMemoryTokens:
        """See :meth:`TokenStore.scoped`."""
        if not self._namespaced:
            return self
        if service not in self._scopes:
            scope = InMemoryTokens(self.broken, service=service)
            scope._scopes = self._scopes
            self._scopes[service] = scope
        return self._scopes[service]

    async def get(self, profile: str) -> str | None:
        """See :meth:`TokenStore.get`."""
        self._check()
        return self.entries.get(profile)

    async def set(self, profile: str, token: str) -> None:
        """See :meth:`TokenStore.set`."""
        self._check()
        self.entries[profile] = token

    async def delete(self, profile: str) -> bool:
        """See :meth:`TokenStore.delete`."""
        self._check()
        return self.entries.pop(profile, None) is not None

    def _check(self) -> None:
        if self.broken is not None:
            raise KeyringUnavailable(self.broken)


def mask(token: str) -> str:
    """``bp_pat_…cdef``: enough to recognise a token, never enough to use it."""
    prefix = "bp_pat_" if token.startswith("bp_pat_") else ""
    tail = token[-4:] if len(token) >= 12 else ""
    return f"{prefix}…{tail}"


def mask_tokens_in(text: str) -> str:
    """``text`` (a token command, say) with every token-like word in it masked."""
    import re

    return re.sub(r"bp_(?:pat|bak|iak)_[A-Za-z0-9_-]+", lambda m: mask(m.group(0)), text)


async def read_token(
    store: TokenStore,
    name: str,
    profile: Profile,
    warn: Callable[[str], None],
    run: Runner | None = None,
) -> tuple[str | None, Storage | None]:
    """The token of profile ``name`` and where it was found; (None, None) when it is missing.

    A profile whose token comes from a command (``tokenCommand``) gets it from ``run``, which
    raises :class:`~bpshell.token_command.TokenCommandError` when the command fails; without
    ``run`` (callers that only compare tokens, or must not start a program) it is
    ``(None, "command")``.
    """
    if profile.tokenCommand is not None:
        return (await run(name, profile.tokenCommand) if run else None), "command"
    user = profile.keyring_user(name)
    if user is None:
        return profile.token, "file"
    try:
        token = await store.get(user)
    except KeyringUnavailable as exc:
        where = f'the token of profile "{name}" from the keyring'
        warn(clean(f"warning: cannot read {where}: {exc.message}"))
        return None, None
    return (token, "keyring") if token else (None, None)


def clear_command(service: str, user: str) -> str:
    """The command that removes one keyring entry by hand."""
    return f"secret-tool clear service {shell_word(service)} username {shell_word(user)}"
