"""``bp env`` and ``bp exec``: the credentials in force, printed for ``eval`` or handed to a child.

A child gets ``BP_TOKEN``, ``BP_WORKSPACE_ID`` and ``BP_API_URL`` in its environment, never in
its argv, and (for the 0.8 line of the official CLI, which reads the token only from
``global.cache.json``) a private botpress home: 0700, the file 0600, removed when it exits.

Private homes are :mod:`bpshell.official.homes`' job.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from bpshell.commands import EnvOptions, ExecOptions, GlobalOptions
from bpshell.env import Env
from bpshell.errors import BpError, ExitStatus, NotLoggedInError
from bpshell.render import Result, clean


class CommandNotFound(BpError):
    """Raised when ``bp exec`` cannot find the command to run (exit 127, as in a shell)."""

    exit_status = cast(ExitStatus, 127)
    kind = "command_not_found"


class CommandNotExecutable(BpError):
    """Raised when ``bp exec`` finds the command but may not run it (exit 126)."""

    exit_status = cast(ExitStatus, 126)
    kind = "command_not_executable"


@dataclass(frozen=True)
class Credentials:
    """What a child needs to act as the user: token, workspace and API URL."""

    token: str = field(repr=False)
    workspace_id: str
    api_url: str
    profile: str | None = None

    def variables(self) -> dict[str, str]:
        """``BP_TOKEN``, ``BP_WORKSPACE_ID`` and ``BP_API_URL``."""
        return {
            "BP_TOKEN": self.token,
            "BP_WORKSPACE_ID": self.workspace_id,
            "BP_API_URL": self.api_url,
        }


async def credentials(opts: GlobalOptions, env: Env) -> Credentials:
    """The credentials in force (see :func:`bpshell.profiles.resolve`), all three checked."""
    from bpshell.config import check_token, check_workspace_id
    from bpshell.profiles import resolve

    resolved = await resolve(opts, env)
    if resolved.token is None and resolved.profile is None:
        raise NotLoggedInError("Not logged in", "Run: bp login")
    if resolved.token is None:
        name = clean(resolved.profile or "")
        raise NotLoggedInError(f'no token found for profile "{name}"', f"Run: bp login -p {name}")
    if resolved.workspace_id is None:
        raise NotLoggedInError("no workspace ID", "set BP_WORKSPACE_ID or run: bp login")
    return Credentials(
        check_token(resolved.token),
        check_workspace_id(resolved.workspace_id),
        resolved.api_url,
        resolved.profile,
    )


def _sh(name: str, value: str) -> str:
    return f"export {name}={shlex.quote(value)}"


def _fish(name: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"set -gx {name} '{escaped}'"


# PowerShell ends a single-quoted string at any of these, and reads each one doubled as itself.
_POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"


def _powershell(name: str, value: str) -> str:
    # Nothing else is special between single quotes, but a line break would split the line
    # that `| Invoke-Expression` runs, and other controls (or a lone surrogate) have no place
    # in a script: refused, without showing the value, which may be the token.
    if any(_unquotable(char) for char in value):
        raise BpError(
            f"cannot write {name} for PowerShell: its value holds a control character "
            "or a line break",
            "use bp exec -- COMMAND, or bp env --json",
        )
    quoted = "".join(char * 2 if char in _POWERSHELL_QUOTES else char for char in value)
    return f"$env:{name} = '{quoted}'"


def _unquotable(char: str) -> bool:
    code = ord(char)
    controls = code < 0x20 or 0x7F <= code <= 0x9F
    return controls or code in (0x2028, 0x2029) or 0xD800 <= code < 0xE000


_SETTERS: Mapping[str, tuple[Callable[[str, str], str], str]] = {
    "sh": (_sh, 'eval "$(bp env)"'),
    "fish": (_fish, "bp env --shell fish | source"),
    "powershell": (_powershell, "bp env --shell powershell | Invoke-Expression"),
}


async def run_env(options: EnvOptions, opts: GlobalOptions, env: Env) -> Result:
    """``bp env``: the credentials in force as variable settings for ``eval``."""
    found = await credentials(opts, env)
    variables = found.variables()
    setter, usage = _SETTERS[options.shell]
    if env.stdout.isatty():
        env.err(f"note: this output holds your token; load it with: {usage}")
    return Result(variables, "\n".join(setter(k, v) for k, v in variables.items()))


async def run_exec(options: ExecOptions, opts: GlobalOptions, env: Env) -> Result:
    """``bp exec -- CMD ARGS…``: run CMD with the credentials in force; its exit status."""
    from bpshell.official.delegation import explicit_credentials

    found = await credentials(opts, env)
    variables = found.variables()
    # The 0.8 official CLI lets BP_* variables beat its own flags: what the child's command
    # line says explicitly must be what the variables say.
    variables.update(explicit_credentials(options.command))
    if options.env_only:
        _refuse_a_mix(env, variables)
    status = await run_child(
        list(options.command), variables, env, private_home=not options.env_only
    )
    # What the child printed is the output, with --json too: nothing is added to it.
    return Result(None, "", cast(ExitStatus, status))


def _refuse_a_mix(env: Env, variables: Mapping[str, str]) -> None:
    """With ``--env-only`` the child keeps the real home, where the official CLI's 0.8 line
    reads its token from ``global.cache.json`` and takes the workspace and API URL from the
    variables: another login there would be sent to this API URL, with this workspace."""
    import json

    from bpshell.env import default_home
    from bpshell.official import CACHE_FILE

    path = default_home(env.environ) / CACHE_FILE  # the home the child will read
    try:
        with open(path, "rb") as handle:
            cache = json.loads(handle.read(1 << 20))
    except (OSError, ValueError, RecursionError):
        return
    token = cache.get("token") if isinstance(cache, dict) else None
    if not token or token == variables["BP_TOKEN"]:
        return
    raise BpError(
        f"with --env-only, the official Botpress CLI would use the other login in {path} "
        "(its 0.8 line reads the token only there) with these BP_WORKSPACE_ID and BP_API_URL",
        "leave out --env-only (the command then gets a private home with these credentials)",
    )


async def run_child(
    argv: Sequence[str],
    variables: Mapping[str, str],
    env: Env,
    *,
    private_home: bool,
    extra: Mapping[str, str] | None = None,
) -> int:
    """Run ``argv`` with ``variables`` (and a private home holding them) in its environment.

    Returns the exit status (128 + N when killed by signal N). The private home is removed
    when the child exits, whatever happened.
    """
    child_env = {k: v for k, v in env.environ.items() if k != "BP_PROFILE"}
    child_env.update(variables)
    child_env.update(extra or {})
    from bpshell.official.homes import PrivateHome

    private: PrivateHome | None = None
    try:
        if private_home and variables:
            private = PrivateHome.make(env, variables)
            child_env["BP_BOTPRESS_HOME"] = private.home
        return await _spawn(list(argv), child_env, env)
    finally:
        if private is not None:
            private.remove()


async def _spawn(argv: list[str], child_env: dict[str, str], env: Env) -> int:
    import asyncio

    streams = _Streams(env)
    with _SignalRelay() as relay:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=child_env,
                stdin=streams.stdin,
                stdout=streams.stdout,
                stderr=streams.stderr,
            )
        except FileNotFoundError:
            raise CommandNotFound(f"command not found: {clean(argv[0])}") from None
        except PermissionError:
            raise CommandNotExecutable(f"permission denied: {clean(argv[0])}") from None
        except OSError as exc:
            raise CommandNotExecutable(f"cannot run {clean(argv[0])}: {exc.strerror}") from None
        relay.attach(process)
        try:
            if streams.captured:
                out, err = await process.communicate(streams.input)
                streams.copy_back(out, err)
            else:
                await process.wait()
        except BaseException:  # cancelled (the shell's Ctrl-C): stop the child before cleaning up
            await _stop(process)
            raise
    code = process.returncode
    assert code is not None
    return 128 - code if code < 0 else code


async def _stop(process: Any, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the child has exited."""
    import asyncio
    import signal

    for signum in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(process.wait()), grace)


class _Streams:
    """The child's stdin/stdout/stderr: this run's own file descriptors, or pipes copied
    to and from this run's streams when they have none (in-process runs, tests)."""

    def __init__(self, env: Env) -> None:
        import subprocess

        env.stdout.flush()
        env.stderr.flush()
        out, err, inp = _fd(env.stdout), _fd(env.stderr), _fd(env.stdin)
        self._env = env
        self.captured = out is None or err is None
        self.stdout = out if out is not None else subprocess.PIPE
        self.stderr = err if err is not None else subprocess.PIPE
        self.input: bytes | None = None
        self.stdin = inp if inp is not None else subprocess.DEVNULL
        if inp is None and self.captured:
            self.stdin = subprocess.PIPE
            self.input = env.stdin.read().encode()

    def copy_back(self, out: bytes | None, err: bytes | None) -> None:
        """Write what the child printed to this run's streams."""
        if out:
            self._env.stdout.write(out.decode("utf-8", "replace"))
        if err:
            self._env.stderr.write(err.decode("utf-8", "replace"))


def _fd(stream: IO[str]) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


class _SignalRelay:
    """While a child runs: Ctrl-C is the child's business (the terminal sends it SIGINT too),
    SIGTERM and SIGHUP sent to us are passed on, so that we always outlive the child and
    remove its private home. Signals that come before the child exists are passed on as
    soon as it does. Only the main thread can set handlers; elsewhere this does nothing."""

    RELAYED = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self._process: Any = None
        self._pending: list[int] = []
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _SignalRelay:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for name in self.RELAYED:
                signum = getattr(signal, name)
                self._saved[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for signum, previous in self._saved.items():
            signal.signal(signum, previous)

    def attach(self, process: Any) -> None:
        """Start relaying to ``process``, first the signals that came before it."""
        self._process = process
        for signum in self._pending:
            self._send(signum)

    def _on_signal(self, signum: int, frame: object) -> None:
        import signal

        if self._process is None:
            self._pending.append(signum)
        elif signum != signal.SIGINT:
            self._send(signum)

    def _send(self, signum: int) -> None:
        # Not Popen.send_signal: it polls, and a poll that reaps the child leaves asyncio's
        # watcher without its exit status.
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._process.pid, signum)
