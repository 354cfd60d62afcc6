"""Where tokens live: the OS keyring when a usable one answers in time, else config.json.

``keyring`` is imported only when a token is read or written, every call runs in a worker
thread bounded by a timeout (a locked or hung Secret Service must not freeze ``bp``), and a
keyring that is missing, failing or too slow is reported once as :class:`KeyringUnavailable`
so callers fall back to the file with a warning. ``InMemoryTokens`` is the test double.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol

from bpshell.errors import StorageError
from bpshell.render import clean  # names and keyring messages may hold escape sequences

SERVICE = "botpress-cli"
KEYRING_TIMEOUT_S = 3.0

Storage = Literal["keyring", "file"]


class KeyringUnavailable(StorageError):
    """Raised when no usable keyring backend exists, or it failed or timed out."""

    kind = "keyring_unavailable"


class TokenStore(Protocol):
    """Secret storage keyed by profile name."""

    async def get(self, profile: str) -> str | None:
        """The stored token, or None when there is no entry."""

    async def set(self, profile: str, token: str) -> None:
        """Store ``token`` for ``profile``, replacing any previous entry."""

    async def delete(self, profile: str) -> bool:
        """Remove the entry; False when there was none (which is fine)."""


class KeyringTokens:
    """The OS keyring (service ``botpress-cli``, user = profile name), bounded and lazy."""

    def __init__(self, timeout: float = KEYRING_TIMEOUT_S) -> None:
        self._timeout = timeout
        self._broken: str | None = None
        self._backend: Any = None

    async def get(self, profile: str) -> str | None:
        """See :meth:`TokenStore.get`."""
        value: str | None = await self._call(lambda kr: kr.get_password(SERVICE, profile))
        return value

    async def set(self, profile: str, token: str) -> None:
        """See :meth:`TokenStore.set`."""
        await self._call(lambda kr: kr.set_password(SERVICE, profile, token))

    async def delete(self, profile: str) -> bool:
        """See :meth:`TokenStore.delete`."""

        def delete(kr: Any) -> bool:
            from keyring.errors import PasswordDeleteError

            try:
                kr.delete_password(SERVICE, profile)
            except PasswordDeleteError:
                return False
            return True

        deleted: bool = await self._call(delete)
        return deleted

    async def _call(self, operation: Callable[[Any], Any]) -> Any:
        if self._broken is not None:
            raise KeyringUnavailable(self._broken)

        def run() -> Any:
            if self._backend is None:
                self._backend = _usable_backend()
            return operation(self._backend)

        try:
            if _event_loop_running():
                import anyio

                with anyio.fail_after(self._timeout):
                    return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
            return _in_thread(run, self._timeout)
        except TimeoutError:
            self._broken = f"the keyring did not answer within {self._timeout:g} s"
        except KeyringUnavailable as exc:
            self._broken = exc.message
        except Exception as exc:  # keyring backends raise anything from D-Bus to OSError
            self._broken = f"the keyring failed ({type(exc).__name__}: {_first_line(exc)})"
        raise KeyringUnavailable(self._broken)


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

    worker = threading.Thread(target=target, name="bpshell-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


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
    """A :class:`TokenStore` in a dict, for tests; ``broken`` makes every call unavailable."""

    def __init__(self, broken: str | None = None) -> None:
        self.entries: dict[str, str] = {}
        self.broken = broken

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


async def read_token(
    store: TokenStore, name: str, token_in_file: str | None, warn: Callable[[str], None]
) -> tuple[str | None, Storage | None]:
    """The token of profile ``name`` and where it was found; (None, None) when it is missing."""
    if token_in_file is not None:
        return token_in_file, "file"
    try:
        token = await store.get(name)
    except KeyringUnavailable as exc:
        where = f'the token of profile "{name}" from the keyring'
        warn(clean(f"warning: cannot read {where}: {exc.message}"))
        return None, None
    return (token, "keyring") if token else (None, None)


async def save_token(
    store: TokenStore, name: str, token: str, *, insecure: bool, warn: Callable[[str], None]
) -> Storage:
    """Put ``token`` in the keyring, or say where it must go instead ("file") and why."""
    if insecure:
        warn("warning: --insecure-storage: the token is stored in plain text in config.json (0600)")
        return "file"
    try:
        await store.set(name, token)
    except KeyringUnavailable as exc:
        warn(
            clean(
                f"warning: {exc.message}; the token is stored in plain text in config.json (0600)"
            )
        )
        return "file"
    return "keyring"


async def forget_token(store: TokenStore, name: str, warn: Callable[[str], None]) -> bool:
    """Delete the keyring entry of ``name`` (already gone is fine); False if the keyring failed."""
    try:
        await store.delete(name)
    except KeyringUnavailable as exc:
        warn(
            clean(
                f'warning: the token of profile "{name}" may still be in the keyring '
                f"({exc.message}); remove it with: secret-tool clear service {SERVICE} "
                f"username {name}"
            )
        )
        return False
    return True
