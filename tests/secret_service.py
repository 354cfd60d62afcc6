"""A real Secret Service (gnome-keyring-daemon) on a private D-Bus session bus.

Used by tests that exercise the ``keyring`` library's SecretService backend
without touching the user's real keyring, a desktop session, systemd, X, or a
prompt.  Works as root, on a fresh machine, with no stdin.

How it is started (see :func:`start_secret_service`):

1. ``dbus-daemon --nofork --config-file=<tmp>/bus.conf --print-address=<fd>``
   with a minimal session config of our own: it listens on a unix socket in a
   private ``XDG_RUNTIME_DIR`` and has **no** ``<servicedir>``, so the bus can
   never auto-activate anything (no stray daemons).  We wait for the address
   it prints on a pipe.
2. ``gnome-keyring-daemon --foreground --unlock --components=secrets`` with
   ``DBUS_SESSION_BUS_ADDRESS``/``XDG_RUNTIME_DIR``/``XDG_DATA_HOME``/``HOME``
   all pointing into the temp dir, fed a password on stdin (then EOF).  With
   ``--unlock`` it creates ``$XDG_DATA_HOME/keyrings/login.keyring``, unlocks
   it, and points the ``default`` alias at it, so ``keyring.set_password``
   never prompts.
3. We poll the bus (jeepney, in-process) until ``org.freedesktop.secrets`` is
   owned and the ``default`` alias resolves to an unlocked collection; if the
   alias were unset we set it to the login collection ourselves.

Everything is bounded by timeouts; on failure a ``RuntimeError`` carries both
daemons' stderr.  :meth:`SecretService.stop` kills both process groups.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jeepney.io.blocking import DBusConnection

SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
FAIL_BACKEND = "keyring.backends.fail.Keyring"

#: Environment overrides for the "no usable keyring" fallback tests: keyring
#: resolves to ``keyring.backends.fail.Keyring``, whose get/set/delete raise
#: ``keyring.errors.NoKeyringError`` (a RuntimeError subclass).  The bus
#: address is blanked too, so nothing can reach a real Secret Service.
NO_KEYRING_ENV: dict[str, str] = {
    "PYTHON_KEYRING_BACKEND": FAIL_BACKEND,
    "DBUS_SESSION_BUS_ADDRESS": "",
}

LOGIN_PASSWORD = "bpshell-test-login"  # only protects a throwaway keyring in a temp dir

_BINARIES = ("dbus-daemon", "gnome-keyring-daemon")
_SECRETS_BUS_NAME = "org.freedesktop.secrets"
_SECRETS_PATH = "/org/freedesktop/secrets"
_SECRETS_IFACE = "org.freedesktop.Secret.Service"
_COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
_LOGIN_COLLECTION = "/org/freedesktop/secrets/collection/login"
_MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def secret_service_available() -> bool:
    """True when the binaries needed by :func:`start_secret_service` exist."""
    if not all(shutil.which(b) for b in _BINARIES):
        return False
    try:
        import jeepney  # noqa: F401
        import secretstorage  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class SecretService:
    """A running private bus + gnome-keyring-daemon.  Use :meth:`stop` when done."""

    env: dict[str, str]
    root: Path
    bus_address: str
    start_seconds: float = 0.0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)
    _logs: dict[str, Path] = field(default_factory=dict, repr=False)
    _cleanup_dirs: list[Path] = field(default_factory=list, repr=False)
    _saved: dict[str, str | None] | None = field(default=None, repr=False)

    # -- environment -----------------------------------------------------------------
    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: ``os.environ``) with :attr:`env` layered on top."""
        merged = dict(os.environ if base is None else base)
        merged.update(self.env)
        return merged

    def apply(self) -> None:
        """Set :attr:`env` in ``os.environ`` (remembering old values for :meth:`restore`)."""
        if self._saved is None:
            self._saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)

    def restore(self) -> None:
        """Undo :meth:`apply`."""
        if self._saved is None:
            return
        for key, old in self._saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved = None

    @contextlib.contextmanager
    def applied(self) -> Iterator[SecretService]:
        self.apply()
        try:
            yield self
        finally:
            self.restore()

    # -- lifecycle -------------------------------------------------------------------
    def logs(self) -> str:
        parts = []
        for name, path in self._logs.items():
            try:
                text = path.read_text(errors="replace").strip()
            except OSError:
                text = "<unreadable>"
            parts.append(f"--- {name} stderr ---\n{text or '<empty>'}")
        return "\n".join(parts)

    def alive(self) -> bool:
        return bool(self._procs) and all(p.poll() is None for p in self._procs)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """gnome-keyring-daemon stopped (SIGSTOP) for the block: the bus still takes calls,
        and nothing ever answers them, as with a Secret Service hung in a desktop session."""
        keyring_daemon = self._procs[-1]
        os.killpg(keyring_daemon.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(keyring_daemon.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Terminate both daemons (whole process groups) and wait for them."""
        self.restore()
        for proc in reversed(self._procs):  # keyring first, then the bus
            _kill_group(proc)
        self._procs.clear()
        for d in self._cleanup_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self._cleanup_dirs.clear()

    def __enter__(self) -> SecretService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kill_group(proc: subprocess.Popen[bytes], timeout: float = 3.0) -> None:
    if proc.poll() is None:
        # Started with start_new_session=True, so pgid == pid and the group is ours alone.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    else:
        # The leader is gone; sweep any stragglers left in its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _read_line(fd: int, deadline: float) -> str:
    """Read one ``\\n``-terminated line from a pipe fd, bounded by ``deadline``."""
    import select

    buf = b""
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out waiting for dbus-daemon to print its address")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise EOFError("dbus-daemon closed its address pipe without printing")
        buf += chunk
    return buf.split(b"\n", 1)[0].decode()


def _wait_for_default_collection(address: str, deadline: float, ss: SecretService) -> None:
    """Poll until the service is on the bus and ``default`` is an unlocked collection."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    service = DBusAddress(_SECRETS_PATH, bus_name=_SECRETS_BUS_NAME, interface=_SECRETS_IFACE)
    last_error = "service never appeared on the bus"
    with open_dbus_connection(bus=address) as conn:
        while time.monotonic() < deadline:
            dead = [f"{p.args[0]} (exit {p.returncode})" for p in ss._procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"exited during startup: {', '.join(dead)}")
            timeout = max(0.1, min(2.0, deadline - time.monotonic()))
            reply = conn.send_and_get_reply(
                message_bus.NameHasOwner(_SECRETS_BUS_NAME), timeout=timeout
            )
            if not reply.body[0]:
                time.sleep(0.02)
                continue
            (path,) = conn.send_and_get_reply(
                new_method_call(service, "ReadAlias", "s", ("default",)), timeout=timeout
            ).body
            if path == "/":
                # No default collection yet: point it at the login collection if it exists.
                last_error = "default alias unset"
                login = _collection_exists(conn, _LOGIN_COLLECTION, timeout)
                if login:
                    conn.send_and_get_reply(
                        new_method_call(service, "SetAlias", "so", ("default", _LOGIN_COLLECTION)),
                        timeout=timeout,
                    )
                time.sleep(0.02)
                continue
            locked = _get_property(conn, path, "Locked", timeout)
            if locked is False:
                return
            last_error = f"default collection {path} is locked"
            time.sleep(0.02)
    raise TimeoutError(f"Secret Service not ready: {last_error}")


def _get_property(conn: DBusConnection, path: str, name: str, timeout: float) -> object:
    from jeepney import DBusAddress, MessageType, Properties

    addr = DBusAddress(path, bus_name=_SECRETS_BUS_NAME, interface=_COLLECTION_IFACE)
    reply = conn.send_and_get_reply(Properties(addr).get(name), timeout=timeout)
    if reply.header.message_type == MessageType.error:
        return None
    return reply.body[0][1]


def _collection_exists(conn: DBusConnection, path: str, timeout: float) -> bool:
    from jeepney import DBusAddress, MessageType, Properties

    addr = DBusAddress(_SECRETS_PATH, bus_name=_SECRETS_BUS_NAME, interface=_SECRETS_IFACE)
    reply = conn.send_and_get_reply(Properties(addr).get("Collections"), timeout=timeout)
    if reply.header.message_type == MessageType.error:
        return False
    return path in reply.body[0][1]


def start_secret_service(tmpdir: Path, *, timeout: float = 10.0) -> SecretService:
    """Start a private dbus-daemon and an unlocked gnome-keyring "login" collection.

    All state lives under ``tmpdir``.  Returns once the ``default`` collection
    is unlocked.  Raises ``RuntimeError`` (with the daemons' stderr) on failure;
    nothing is left running in that case.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout
    root = Path(tmpdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    runtime = root / "run"
    cleanup: list[Path] = []
    if len(str(runtime / "bus")) > _MAX_UNIX_PATH:
        runtime = Path(tempfile.mkdtemp(prefix="bpss-"))
        cleanup.append(runtime)
    data, home, config = root / "data", root / "home", root / "config"
    for d in (runtime, data, home, config):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o700)
    socket = runtime / "bus"
    with contextlib.suppress(FileNotFoundError):
        socket.unlink()
    bus_conf = root / "bus.conf"
    bus_conf.write_text(_BUS_CONFIG.format(socket=socket))

    base_env = {
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(data),
        "XDG_CONFIG_HOME": str(config),  # keyring's keyringrc.cfg is looked up here
        "HOME": str(home),
    }
    daemon_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DBUS_", "GNOME_KEYRING", "XDG_", "DISPLAY", "WAYLAND"))
    }
    daemon_env.update(base_env)
    daemon_env["LC_ALL"] = "C"

    ss = SecretService(env={}, root=root, bus_address="", _cleanup_dirs=cleanup)
    ss._logs = {"dbus-daemon": root / "dbus-daemon.log", "gnome-keyring-daemon": root / "gk.log"}

    try:
        r, w = os.pipe()
        try:
            with open(ss._logs["dbus-daemon"], "wb") as err:
                bus = subprocess.Popen(
                    [
                        "dbus-daemon",
                        "--nofork",
                        "--nopidfile",
                        f"--config-file={bus_conf}",
                        f"--print-address={w}",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    pass_fds=(w,),
                    env=daemon_env,
                    start_new_session=True,
                )
            ss._procs.append(bus)
            os.close(w)
            w = -1
            address = _read_line(r, deadline).strip()
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        if not address:
            raise RuntimeError("dbus-daemon printed an empty address")
        ss.bus_address = address
        daemon_env["DBUS_SESSION_BUS_ADDRESS"] = address

        with open(ss._logs["gnome-keyring-daemon"], "wb") as err:
            gk = subprocess.Popen(
                [
                    "gnome-keyring-daemon",
                    "--foreground",
                    "--unlock",
                    "--components=secrets",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=daemon_env,
                start_new_session=True,
            )
        ss._procs.append(gk)
        assert gk.stdin is not None
        gk.stdin.write(LOGIN_PASSWORD.encode())
        gk.stdin.close()  # EOF ends the password

        _wait_for_default_collection(address, deadline, ss)
    except BaseException as exc:
        logs = ss.logs()
        ss.stop()
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise RuntimeError(
            f"could not start a private Secret Service in {root}: "
            f"{type(exc).__name__}: {exc}\n{logs}"
        ) from exc

    ss.env = {
        **base_env,
        "DBUS_SESSION_BUS_ADDRESS": address,
        # Explicit, so a stray PYTHON_KEYRING_BACKEND or keyringrc can't pick another backend.
        # (Auto-detection picks SecretService here too; see test_secret_service.py.)
        "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND,
    }
    control = runtime / "keyring" / "control"
    if control.exists():
        ss.env["GNOME_KEYRING_CONTROL"] = str(control.parent)
    ss.start_seconds = time.monotonic() - t0
    return ss
