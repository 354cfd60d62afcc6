"""Running one token command (:mod:`bpshell.token_command`) as a child process.

* stdin is bp's only when it is a terminal, so a command never swallows input piped to bp
  (``bp exec``'s child's, ``bp shell < script``'s lines); stdout goes to a pipe of bp's own,
  read up to a bound; stderr is bp's, so a prompt or an error of the secret manager reaches
  the user as it is.
* It runs in a process group of its own, killed as a whole when the run ends early (a
  timeout, too much output, an interruption), so a child of the command cannot keep it
  alive. On a terminal bp is the foreground job of, the group is made the terminal's
  foreground group while it runs: it may ask for a passphrase on ``/dev/tty``, and Ctrl-C
  goes to it.
* Where bp's stderr is no file (the shell's background checks, which run beside the
  prompt), it runs in a session of its own, without the terminal, its stderr kept and
  written to bp's stream after: such a run never takes the keyboard from the prompt.

The pipes are bp's own, read on the event loop, and not asyncio's: asyncio's ``wait()``
waits for its pipes to close, which a child that outlives the command would prevent.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from bpshell.env import isatty
from bpshell.render import clean

if TYPE_CHECKING:
    from bpshell.env import Env

MAX_STDERR = 64 * 1024  # kept of a background run's stderr, which has no file to go to


class NotRunnable(Exception):
    """The program was not found, or may not be run; ``why`` says which."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class TimedOut(Exception):
    """The command did not finish in time; its group was killed."""


class TooMuch(Exception):
    """The command printed more than allowed; its group was killed."""


def attached(env: Env) -> bool:
    """Whether a command run for ``env`` gets the terminal (bp's stderr is a file)."""
    return _fd(env.stderr) is not None


async def run(argv: list[str], env: Env, seconds: float, max_output: int) -> tuple[bytes, int]:
    """(stdout, exit status, negative for a signal) of ``argv``, within ``seconds``."""
    import asyncio
    import subprocess

    for stream in (env.stdout, env.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    err_fd = _fd(env.stderr)
    attached = err_fd is not None
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe() if not attached else (None, None)
    placement: dict[str, Any] = {"process_group": 0} if attached else {"start_new_session": True}
    try:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=_stdin(env) if attached else subprocess.DEVNULL,
                stdout=out_write,
                stderr=err_fd if err_fd is not None else err_write,
                env=dict(env.environ),
                **placement,
            )
        except FileNotFoundError:
            raise NotRunnable("was not found") from None
        except OSError as exc:
            raise NotRunnable(f"cannot be run ({exc.strerror})") from None
        finally:
            os.close(out_write)
            if err_write is not None:
                os.close(err_write)
        try:
            with _foreground(process.pid) if attached else contextlib.nullcontext():
                async with asyncio.timeout(seconds):
                    output, errors = await _read(out_read, err_read, max_output)
                    returncode: int = await process.wait()
        except TimeoutError:
            await _stop(process)
            raise TimedOut from None
        except BaseException:
            await _stop(process)
            raise
    finally:
        for fd in (out_read, err_read):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
    if errors:
        env.stderr.write(clean(errors.decode("utf-8", "replace").rstrip("\n")) + "\n")
    if attached and returncode == -signal.SIGINT and isatty(env.stderr):
        env.stderr.write("\n")  # after the ^C the terminal echoed: what bp says starts a line
    return output, returncode


def _fd(stream: IO[str]) -> int | None:
    """The file descriptor behind ``stream``, when it has one."""
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _stdin(env: Env) -> int:
    """bp's stdin when it is a terminal (the command may ask there), else ``/dev/null``."""
    import subprocess

    fd = _fd(env.stdin)
    try:
        if fd is not None and env.stdin.isatty():
            return fd
    except (OSError, ValueError):
        pass
    return subprocess.DEVNULL


async def _read(out_fd: int, err_fd: int | None, max_output: int) -> tuple[bytes, bytes]:
    """Everything written to ``out_fd`` (at most ``max_output`` bytes, else
    :class:`TooMuch`) and to ``err_fd`` (the first :data:`MAX_STDERR`), until both close."""
    import asyncio

    loop = asyncio.get_running_loop()
    buffers = {out_fd: bytearray()}
    if err_fd is not None:
        buffers[err_fd] = bytearray()
    open_fds = set(buffers)
    for fd in open_fds:
        os.set_blocking(fd, False)
    while open_fds:
        ready: asyncio.Future[None] = loop.create_future()

        def wake(future: asyncio.Future[None] = ready) -> None:
            if not future.done():
                future.set_result(None)

        for fd in open_fds:
            loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            for fd in open_fds:
                loop.remove_reader(fd)
        for fd in sorted(open_fds):
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                open_fds.discard(fd)
                continue
            if fd == out_fd or len(buffers[fd]) < MAX_STDERR:
                buffers[fd] += chunk
            if fd == out_fd and len(buffers[fd]) > max_output:
                raise TooMuch
    errors = bytes(buffers[err_fd][:MAX_STDERR]) if err_fd is not None else b""
    return bytes(buffers[out_fd]), errors


async def _stop(process: Any) -> None:
    """Kill the command's process group, and reap the command (a cancellation cannot stop
    this: the shell's Ctrl-C keeps cancelling its scope)."""
    import anyio

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
        await process.wait()


@contextlib.contextmanager
def _foreground(pgid: int) -> Iterator[None]:
    """The terminal's foreground given to process group ``pgid`` while the block runs, when
    bp has a terminal and is its foreground job; taken back after (SIGTTOU is held back
    meanwhile: bp is then a background job asking for its terminal back)."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    handed = False
    try:
        try:
            if os.tcgetpgrp(tty) == os.getpgrp():
                os.tcsetpgrp(tty, pgid)
                handed = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGCONT)  # stopped if it read before the hand-over
        except OSError:
            pass
        yield
    finally:
        if handed:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
            try:
                with contextlib.suppress(OSError):
                    os.tcsetpgrp(tty, os.getpgrp())
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(tty)
