"""config.json: the validated model of the shared config file, and its locked, atomic store.

Every change is a read-modify-write under an inter-process ``flock`` on ``config.json.lock``,
written to a temporary file that is fsync-ed and renamed over the old one, so concurrent
``bp`` processes and shells never lose each other's updates and a killed process leaves the
old or the new file, never a broken one. Library errors (OSError, ValidationError) become
:class:`ConfigError` or :class:`StorageError` here.

Whoever can change config.json can point the token at their server, so, as ssh does with
``~/.ssh``, the file and the home holding it are used only when they belong to this user (or
to root) and no one else can write them; otherwise every command, reads included, stops with
the ``chmod``/``chown`` that fixes it. It costs one ``stat`` of the home and one ``fstat`` of
the opened file. A FIFO, a socket or a device in place of config.json or its lock is refused
at once: files are opened with ``O_NONBLOCK`` and checked to be regular before use. Files
bpshell did not make are repaired only where it is safe, and a failed repair never fails a
read: a config.json others can read is made 0600 through the descriptor that was checked (a
warning on a read-only mount, where it cannot be); a 0755 home, as the official CLI makes it,
is made 0700 only by a write, with a note.

config.json may be a symlink (a dotfiles checkout, a mounted secret): it is read through the
link, and the folder of its target must be trusted like the home. Reads never change what
the link points to, not even its permissions (they warn instead). Writes go through the link
as ``sed -i --follow-symlinks`` does: the temporary file is made beside the target and renamed
over it, so the link stays a link and its target gets the new content, 0600. The lock, which
bpshell alone makes, must not be a symlink.

A write never makes a file reads would refuse: the text is at most :data:`MAX_CONFIG_BYTES`,
or the old file is kept. A file that is too large or corrupt is never overwritten; the error
gives the ``mv`` that moves it away.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from bpshell.atomic import replace_file
from bpshell.errors import ConfigError, StorageError, UsageError
from bpshell.render import shell_word

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from pydantic_core import SchemaValidator

DEFAULT_API_URL = "https://api.botpress.cloud"
DEFAULT_APP_URL = "https://app.botpress.cloud"
DEFAULT_PROFILE = "default"
CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 16 * 1024 * 1024
LOCK_TIMEOUT_S = 10.0
ELSEWHERE = "set BP_BOTPRESS_HOME or --botpressHome to a folder"  # a home that is no folder

_PROFILE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_WORKSPACE_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,4096}")

if TYPE_CHECKING:
    T = TypeVar("T")


@functools.cache
def _validator() -> SchemaValidator:
    """The validator of the whole file, on pydantic's core engine, built when first needed.

    ``pydantic_core`` is imported here and not at the top: with its ``core_schema`` it costs
    about 4x a bare interpreter start (``-X importtime``), which offline commands such as
    ``bp profiles use`` would pay on every run although the file they read is, nearly always,
    the one bpshell wrote itself (see :meth:`ConfigStore.load`).
    """
    from pydantic_core import SchemaValidator
    from pydantic_core import core_schema as cs

    text = cs.str_schema(strict=True)
    optional = cs.nullable_schema(text)
    profile = cs.typed_dict_schema(
        {
            "apiUrl": cs.typed_dict_field(text),
            "workspaceId": cs.typed_dict_field(text),
            "workspaceName": cs.typed_dict_field(optional, required=False),
            "token": cs.typed_dict_field(optional, required=False),
            "tokenKey": cs.typed_dict_field(optional, required=False),
            "accountId": cs.typed_dict_field(optional, required=False),
            "tokenId": cs.typed_dict_field(optional, required=False),
            "tokenCreatedAt": cs.typed_dict_field(optional, required=False),
            "tokenCommand": cs.typed_dict_field(optional, required=False),
        },
        extra_behavior="allow",
    )
    whole = cs.typed_dict_schema(
        {
            "version": cs.typed_dict_field(cs.literal_schema([1]), required=False),
            "activeProfile": cs.typed_dict_field(optional, required=False),
            "profiles": cs.typed_dict_field(cs.dict_schema(text, profile), required=False),
        },
        extra_behavior="allow",
    )
    return SchemaValidator(whole)


_PROFILE_KEYS = (
    "apiUrl",
    "workspaceId",
    "workspaceName",
    "token",
    "tokenKey",
    "accountId",
    "tokenId",
    "tokenCreatedAt",
    "tokenCommand",
)


class Profile:
    """One named set of credentials. ``token`` is set only when the token lives in the file;
    otherwise it is in the keyring under ``tokenKey`` (or, for logins made before bpshell
    versioned its entries, under the profile's name).

    ``accountId`` is the account the token belongs to, as the API said at login (so that
    logging in again to the same account asks nothing). ``tokenId`` and ``tokenCreatedAt``
    are the API's id and creation time of the token, known when bpshell created it (``bp
    tokens create --save-as``, ``bp tokens rotate``): the API never says which PAT a pasted
    token is, and rotating or revoking needs the id. ``tokenCommand``, when set, is the
    command that prints the token (a secret manager's, :mod:`bpshell.token_command`): the
    token itself is then stored nowhere. ``extra`` holds the keys bpshell does not know; they
    survive a rewrite.
    """

    __slots__ = (
        "accountId",
        "apiUrl",
        "extra",
        "token",
        "tokenCommand",
        "tokenCreatedAt",
        "tokenId",
        "tokenKey",
        "workspaceId",
        "workspaceName",
    )

    def __init__(
        self,
        apiUrl: str,
        workspaceId: str,
        workspaceName: str | None = None,
        token: str | None = None,
        tokenKey: str | None = None,
        accountId: str | None = None,
        tokenId: str | None = None,
        tokenCreatedAt: str | None = None,
        tokenCommand: str | None = None,
        **extra: Any,
    ) -> None:
        self.apiUrl = apiUrl
        self.workspaceId = workspaceId
        self.workspaceName = workspaceName
        self.token = token
        self.tokenKey = tokenKey
        self.accountId = accountId
        self.tokenId = tokenId
        self.tokenCreatedAt = tokenCreatedAt
        self.tokenCommand = tokenCommand
        self.extra = extra

    def keyring_user(self, name: str) -> str | None:
        """The keyring user holding this profile's token; None when the token is in the file
        or comes from a command."""
        if self.token is not None or self.tokenCommand is not None:
            return None
        return self.tokenKey or name

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """A profile from a validated ``dict``."""
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, optional keys left out when unset."""
        data: dict[str, Any] = {"apiUrl": self.apiUrl, "workspaceId": self.workspaceId}
        if self.workspaceName is not None:
            data["workspaceName"] = self.workspaceName
        if self.token is not None:
            data["token"] = self.token
        if self.tokenKey is not None:
            data["tokenKey"] = self.tokenKey
        if self.accountId is not None:
            data["accountId"] = self.accountId
        if self.tokenId is not None:
            data["tokenId"] = self.tokenId
        if self.tokenCreatedAt is not None:
            data["tokenCreatedAt"] = self.tokenCreatedAt
        if self.tokenCommand is not None:
            data["tokenCommand"] = self.tokenCommand
        data.update((k, v) for k, v in self.extra.items() if k not in _PROFILE_KEYS)
        return data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.to_dict().items() if k != "token"}
        return f"Profile({shown!r}, token={'set' if self.token else None})"


class ConfigFile:
    """The whole of config.json. Unknown keys, here and in profiles, survive a rewrite."""

    __slots__ = ("activeProfile", "extra", "profiles", "version")

    def __init__(
        self,
        activeProfile: str | None = None,
        profiles: dict[str, Profile] | None = None,
        version: int = 1,
        **extra: Any,
    ) -> None:
        self.version = version
        self.activeProfile = activeProfile
        self.profiles: dict[str, Profile] = profiles if profiles is not None else {}
        self.extra = extra

    @classmethod
    def from_json(cls, raw: bytes | str) -> ConfigFile:
        """Parse and validate; raises pydantic_core.ValidationError."""
        return cls._build(_validator().validate_json(raw))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfigFile:
        """Validate a ``dict``; raises pydantic_core.ValidationError."""
        return cls._build(_validator().validate_python(data))

    @classmethod
    def _build(cls, data: dict[str, Any]) -> ConfigFile:
        profiles = {name: Profile.from_dict(p) for name, p in data.pop("profiles", {}).items()}
        return cls(profiles=profiles, **data)

    def active(self) -> str | None:
        """The active profile's name, or None when it is unset or names a missing profile."""
        name = self.activeProfile
        return name if name is not None and name in self.profiles else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object."""
        data: dict[str, Any] = {
            "version": self.version,
            "activeProfile": self.activeProfile,
            "profiles": {name: p.to_dict() for name, p in self.profiles.items()},
        }
        data.update((k, v) for k, v in self.extra.items() if k not in data)
        return data

    def to_json(self) -> str:
        """The file's text."""
        return _dumps(self.to_dict())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigFile) and self.to_dict() == other.to_dict()


def _dumps(data: Any) -> str:
    """The file's text. The standard library's indenting encoder is pure Python: beyond a few
    dozen profiles pydantic_core's (the same bytes, a test checks) is faster than its import."""
    if len(data.get("profiles", ())) > _FAST_ENCODER_FROM:
        from pydantic_core import to_json

        return to_json(data, indent=2).decode("utf-8") + "\n"
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


_FAST_ENCODER_FROM = 64


def app_url(api_url: str) -> str:
    """The web app beside an API URL: ``https://api.X`` -> ``https://app.X``."""
    scheme, _, rest = api_url.partition("://")
    if rest.startswith("api."):
        return f"{scheme}://app.{rest[4:].split('/')[0]}"
    return DEFAULT_APP_URL


def tokens_page(api_url: str) -> str:
    """Where a user makes a new Personal Access Token for ``api_url``."""
    return f"{app_url(api_url)}/profile/tokens"


def check_profile_name(name: str) -> str:
    """Return ``name`` if it is a valid profile name, else raise :class:`UsageError`."""
    if not _PROFILE_RE.fullmatch(name):
        raise UsageError(
            f"invalid profile name {printable(name)}",
            'use 1-64 letters, digits, ".", "_" or "-"',
        )
    return name


# Prefixes of Botpress tokens: Personal Access Tokens, bot and integration access keys.
_TOKEN_LIKE = re.compile(r"bp_(?:pat|bak|iak)_")
_TOKEN_AS_WORKSPACE_HINT = (
    "pass the token with --token - or BP_TOKEN, and the workspace ID with --workspaceId"
)


def check_not_token(value: str | None, where: str = "") -> None:
    """Raise :class:`UsageError` when a workspace ID looks like a token (``bp_pat_…``).

    Such a value is a token pasted in the wrong place: it must not be sent in a URL, logged
    by ``-v``, printed or handed on, so the error does not show it either. ``where`` names
    the source for the message (``BP_WORKSPACE_ID``, ``profile "ci"``).
    """
    if value is not None and _TOKEN_LIKE.search(value):
        source = f" from {where}" if where else ""
        raise UsageError(
            f"the workspace ID{source} looks like a token, so it was not used",
            _TOKEN_AS_WORKSPACE_HINT,
        )


def check_workspace_id(value: str) -> str:
    """Return ``value`` if it is a valid workspace ID, else raise :class:`UsageError`."""
    check_not_token(value)  # first: the message below shows the value
    if not _WORKSPACE_RE.fullmatch(value):
        raise UsageError(
            f"invalid workspace ID {printable(value)}",
            'a workspace ID has only letters, digits, "_" and "-" (e.g. ws_abc123)',
        )
    return value


def check_token(value: str) -> str:
    """Return ``value`` if it looks like a token (printable ASCII, no spaces, <= 4 KiB)."""
    if not _TOKEN_RE.fullmatch(value):
        raise UsageError(
            "invalid token: a token is 1-4096 printable ASCII characters without spaces",
            f"copy it again from {tokens_page(DEFAULT_API_URL)}",
        )
    return value


def check_api_url(value: str) -> str:
    """Return ``value`` normalised if it is an https URL (or http on loopback only)."""
    hint = "use an https URL such as https://api.botpress.cloud (http only for localhost)"
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise UsageError(f"invalid API URL {printable(value)}", hint) from None
    if not host or not port_ok or parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(f"invalid API URL {printable(value)}", hint)
    if parts.scheme == "http" and not _is_loopback(host):
        raise UsageError(
            f"refusing plain http to {printable(host)}: a token must not cross a network in clear",
            hint,
        )
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"invalid API URL {printable(value)}", hint)
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def printable(value: str, limit: int = 80) -> str:
    """``value`` quoted, with control and escape characters shown as escapes, cut to ``limit``."""
    shown = value if len(value) <= limit else value[:limit] + "…"
    escaped = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in shown
    )
    return f'"{escaped}"'


class Transaction:
    """config.json under its lock: ``config`` as it was read, saved (atomically) on demand."""

    def __init__(self, store: ConfigStore, config: ConfigFile) -> None:
        self.config = config
        self._store = store
        self._saved = config.to_json()

    def save(self) -> None:
        """Write ``config`` if it changed since it was read or last saved."""
        text = self.config.to_json()
        if text != self._saved:
            self._store._write(text)
            self._saved = text


class ConfigStore:
    """Reads and changes ``<home>/config.json``; safe across processes."""

    def __init__(self, home: Path, warn: Callable[[str], None]) -> None:
        self.home = home
        self.path = home / CONFIG_NAME
        self.lock_path = home / (CONFIG_NAME + ".lock")
        self._warn = warn
        self._lock_fd: int | None = None

    def exists(self) -> bool:
        """Whether config.json exists."""
        return self.path.exists()

    def load(self, *, repair: bool = True) -> ConfigFile:
        """The current file; an empty config when there is none. Never writes (but may make a
        file others can read 0600, see the module docstring; not with ``repair`` False, as
        ``bp doctor`` reads it). Raises :class:`ConfigError` when the file or the home is
        untrusted, not a regular file, unreadable or invalid."""
        try:
            home = os.stat(self.home)
            if not stat.S_ISDIR(home.st_mode):  # before its mode: no chmod would help
                raise self._not_a_folder()
            _check_trusted(self.home, home, "700")
            fd, target = _open_config(self.path)
        except FileNotFoundError:
            return ConfigFile()
        except OSError as exc:
            raise self._unreadable(exc) from None
        with open(fd, "rb") as handle:
            try:
                info = os.fstat(fd)
                self._check_file(info, target)
                if repair:
                    self._tighten(fd, info, target)
                raw = handle.read(MAX_CONFIG_BYTES + 1)
            except OSError as exc:
                raise self._unreadable(exc) from None
        return self._parse(raw)

    def _unreadable(self, exc: OSError) -> ConfigError:
        if exc.errno == errno.ENXIO:  # a socket: it cannot be opened at all
            with contextlib.suppress(OSError):
                return self._not_regular(self.path, os.stat(self.path).st_mode)
        if exc.errno == errno.ENOTDIR:  # a folder above the home is a file
            return self._not_a_folder()
        return ConfigError(f"cannot read {self.path}: {exc.strerror}", "check its permissions")

    def _not_a_folder(self) -> ConfigError:
        hint = ELSEWHERE
        for path in (self.home, *self.home.parents):
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue
            if not stat.S_ISDIR(mode):
                what = "a file" if stat.S_ISREG(mode) else _kind(mode)
                if path == self.home:
                    return ConfigError(f"the botpress home {path} is {what}, not a folder", hint)
                why = f"{path} is {what}"
                return ConfigError(f"the botpress home {self.home} cannot be a folder: {why}", hint)
        return ConfigError(f"the botpress home {self.home} is not a folder", hint)

    def _not_regular(self, shown: Path, mode: int) -> ConfigError:
        return ConfigError(
            f"refusing to use {shown}: it is {_kind(mode)}, not a regular file", self._move_away()
        )

    def _move_away(self) -> str:
        return f"move it away: mv {shell_word(self.path)} {shell_word(f'{self.path}.bad')}"

    def _check_file(self, info: os.stat_result, target: Path | None) -> None:
        shown = target or self.path
        if not stat.S_ISREG(info.st_mode):
            raise self._not_regular(shown, info.st_mode)
        _check_trusted(shown, info, "600")
        if target is not None:
            _check_trusted(target.parent, os.stat(target.parent), "700")

    def _parse(self, raw: bytes) -> ConfigFile:
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"{self.path} is larger than {MAX_CONFIG_BYTES // 2**20} MiB", self._move_away()
            )
        if self._vouched(raw):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                return ConfigFile._build(json.loads(raw))
        from pydantic_core import ValidationError

        try:
            return ConfigFile.from_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "top level"
            raise ConfigError(
                f"{self.path} is not a valid bpshell config ({where}: {first['msg']})",
                f"fix it or {self._move_away()} (bpshell does not overwrite it)",
            ) from None

    def _vouched(self, raw: bytes) -> bool:
        """Whether ``raw`` is exactly what bpshell last wrote here, as recorded in the lock file
        (which bpshell alone makes, in a home no one else can write): then it came from the
        typed model and needs no validator. Anything else (a hand edit, another program, an
        older bpshell) goes through pydantic_core; a stale or missing record only costs that."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | _NO_WAIT)
        except OSError:
            return False
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid not in (os.geteuid(), 0):
                return False
            return not info.st_mode & 0o022 and os.read(fd, 128) == _written(raw)
        except OSError:
            return False
        finally:
            os.close(fd)

    def _tighten(self, fd: int, info: os.stat_result, target: Path | None) -> None:
        """Make a file others can read 0600, through the descriptor that was checked: never a
        symlink's target (it may be any file of the user's), and never failing the read."""
        if not info.st_mode & 0o077:
            return
        if target is not None:
            self._warn(
                f"warning: {target}, where the symlink {self.path} points, is readable by other "
                "users; bpshell does not change permissions through a symlink. "
                f"Run: chmod 600 {shell_word(target)}"
            )
            return
        try:
            os.fchmod(fd, 0o600)
        except OSError as exc:
            self._warn(_cannot_tighten(self.path, exc))
        else:
            self._warn(
                f"warning: {self.path} was readable by other users; its permissions are now 0600"
            )

    def update(self, change: Callable[[ConfigFile], T]) -> T:
        """Apply ``change`` to the current config under the lock and save it if it changed."""
        with self.transaction() as transaction:
            result = change(transaction.config)
            transaction.save()
        return result

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """The current config under the lock, held until the block ends; nothing is written
        but what :meth:`Transaction.save` writes."""
        self._refuse_private_home()
        self._make_home()
        with self._locked():
            self._sweep()
            yield Transaction(self, self.load())

    def _refuse_private_home(self) -> None:
        from bpshell.official.homes import is_private_home

        if is_private_home(self.home):
            raise StorageError(
                f"{self.home} is the private home of a bp exec: its credentials come from "
                "the environment, and nothing written here would outlive the run",
                "change profiles outside bp exec",
            )

    def create(self) -> bool:
        """Write an empty config.json if there is none; whether it did.

        Used after the first-run import of the official CLI's files, so that it runs once
        even when nothing could be imported.
        """
        self._refuse_private_home()
        self._make_home()
        with self._locked():
            if self.path.exists():
                return False
            self._write(ConfigFile().to_json())
        return True

    def _sweep(self) -> None:
        """Remove temporary files of writers killed mid-write (under the lock, none is live)."""
        written = {self.path}
        with contextlib.suppress(OSError):
            written.add(self._destination())
        for path in written:
            prefix = f".{path.name}."  # .config.json.PID.HEX.tmp (bpshell.atomic)
            try:
                names = os.listdir(path.parent)
            except OSError:
                continue
            for name in names:
                middle = name[len(prefix) : -len(".tmp")]
                if name.startswith(prefix) and name.endswith(".tmp") and middle:
                    with contextlib.suppress(OSError):
                        (path.parent / name).unlink()

    def _make_home(self) -> None:
        """A new home is made 0700; an existing one must be trusted, and is made 0700 when
        others can read it (the official CLI makes it 0755)."""
        try:
            info: os.stat_result | None = os.stat(self.home)
        except OSError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            _check_trusted(self.home, info, "700")
            if info.st_mode & 0o077:
                self._tighten_home(info)
            return
        try:
            self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.home, 0o700)
        except OSError as exc:
            raise StorageError(
                f"cannot create {self.home}: {exc.strerror}", "choose another --botpressHome"
            ) from None

    def _tighten_home(self, info: os.stat_result) -> None:
        try:
            fd = os.open(self.home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                self._warn(_cannot_tighten(self.home, exc))
                return
            real = shell_word(os.path.realpath(self.home))
            self._warn(
                f"warning: {self.home} is readable by other users; bpshell does not change "
                f"permissions through a symlink. Run: chmod 700 {real}"
            )
            return
        try:
            os.fchmod(fd, 0o700)
        except OSError as exc:
            self._warn(_cannot_tighten(self.home, exc))
        else:
            self._warn(
                f"note: {self.home} was readable by other users (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); bpshell made it 0700, since it holds your "
                "credentials"
            )
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = self._open_lock()
        self._lock_fd = fd
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StorageError(
                            f"{self.path} is locked by another bp process",
                            "try again when it has finished",
                        ) from None
                    time.sleep(0.005)
            yield
        finally:
            self._lock_fd = None
            os.close(fd)

    def _open_lock(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | _NO_WAIT
        try:
            fd = os.open(self.lock_path, flags, 0o600)
        except OSError as exc:
            kind = _kind_at(self.lock_path) if exc.errno in (errno.ELOOP, errno.ENXIO) else None
            if kind is None:
                raise StorageError(
                    f"cannot lock {self.path}: {exc.strerror}",
                    f"check that {self.home} is writable; nothing was changed",
                ) from None
        else:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                return fd
            os.close(fd)
            kind = _kind(mode)
        raise StorageError(
            f"refusing to use {self.lock_path}: it is {kind}, not a regular file",
            f"remove it: rm {shell_word(self.lock_path)}",
        )

    def _destination(self) -> Path:
        """The file a write replaces: config.json, or the target of config.json's symlink
        (whose folder must be trusted: a new file is made there)."""
        if not stat.S_ISLNK(os.lstat(self.path).st_mode):
            return self.path
        target = Path(os.path.realpath(self.path))
        _check_trusted(target.parent, os.stat(target.parent), "700")
        return target

    def _write(self, text: str) -> None:
        data = text.encode("utf-8")
        if len(data) > MAX_CONFIG_BYTES:
            raise StorageError(
                f"refusing to write {self.path}: it would be larger than "
                f"{MAX_CONFIG_BYTES // 2**20} MiB, the most bpshell reads",
                "the previous file is unchanged",
            )
        try:
            destination = self._destination()
        except FileNotFoundError:
            destination = self.path
        except OSError as exc:
            raise StorageError(
                _write_failure(self.path, exc), "the previous file is unchanged"
            ) from None
        try:
            replace_file(destination, data, 0o600)
        except OSError as exc:
            raise StorageError(
                _write_failure(self.path, exc), "the previous file is unchanged"
            ) from None
        self._record(data)

    def _record(self, data: bytes) -> None:
        """Note in the lock file (held) which bytes config.json now holds: see :meth:`_vouched`.
        Written after the rename, so a crash between leaves a record that matches nothing."""
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._lock_fd, 0)
            os.pwrite(self._lock_fd, _written(data), 0)


def _written(data: bytes) -> bytes:
    """The lock file's record of a config.json bpshell wrote: its length and CRC-32."""
    import zlib

    return b"bpshell wrote config.json: %d bytes, crc32 %08x\n" % (len(data), zlib.crc32(data))


# An open of a FIFO or a device returns at once (and never makes it a controlling terminal).
_NO_WAIT = os.O_NONBLOCK | os.O_NOCTTY

_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symlink"),
)


def _kind(mode: int) -> str:
    """What a file that is not regular is, for a message."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _kind_at(path: Path) -> str | None:
    """What ``path`` itself is when it is not a regular file; None when it is one, or is gone."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _kind(mode)


def _open_config(path: Path) -> tuple[int, Path | None]:
    """config.json opened for reading without waiting, and its symlink's target, if it is one."""
    flags = os.O_RDONLY | os.O_CLOEXEC | _NO_WAIT
    try:
        return os.open(path, flags | os.O_NOFOLLOW), None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    target = Path(os.path.realpath(path))
    return os.open(path, flags), target


def _check_trusted(path: Path, info: os.stat_result, private: str) -> None:
    """Raise :class:`ConfigError` unless ``path`` belongs to this user or root (ssh's rule:
    root can read the token anyway) and no one else can write it."""
    me = os.geteuid()
    if info.st_uid not in (me, 0):
        sudo = "" if me == 0 else "sudo "
        why = f"it belongs to {user_name(info.st_uid)}"
        fix = f"{sudo}chown {user_name(me, bare=True)} {shell_word(path)}"
    elif info.st_mode & 0o022:
        why = f"other users can change it (mode {stat.S_IMODE(info.st_mode):04o})"
        fix = f"chmod {private} {shell_word(path)}"
    else:
        return
    raise ConfigError(
        f"refusing to use {path}: {why}, and whoever can change it can send your token to "
        "their server",
        f"if you trust its content, run: {fix}",
    )


def user_name(uid: int, bare: bool = False) -> str:
    """``user NAME`` (``NAME`` when ``bare``) of a uid, for messages; ``uid N`` if unknown."""
    import pwd

    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid) if bare else f"uid {uid}"
    return name if bare else f"user {name}"


def _cannot_tighten(path: Path, exc: OSError) -> str:
    return (
        f"warning: {path} is readable by other users, and bpshell cannot make it private: "
        f"{exc.strerror}"
    )


def _write_failure(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return f"cannot write {path}: the disk is full"
    if exc.errno == errno.EROFS:
        return f"cannot write {path}: the file system is read-only"
    return f"cannot write {path}: {exc.strerror}"
