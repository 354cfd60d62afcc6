"""What every scenario uses: result rows, timed subprocess runs, clean environments, a pty.

A :class:`Bench` is handed to each scenario. It knows the interpreter and the ``bp`` script
under test, builds a clean child environment (no ``BP_*`` variables, the failing keyring
backend, bytecode caching on), runs a command several times after one warm-up run, and keeps
one sandbox whose latency each scenario sets. Scenarios return :class:`Row` values; only
``run.py`` prints them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import tempfile
import termios
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import installs
from installs import Install

if TYPE_CHECKING:
    from bpshell.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
FAIL_KEYRING = "keyring.backends.fail.Keyring"
CPR_REQUEST = b"\x1b[6n"


class Unavailable(Exception):
    """A scenario (or one row of it) cannot run here: a feature or a tool is missing."""


class BenchError(Exception):
    """A command under test failed, so its timing means nothing."""


Check = Callable[[subprocess.CompletedProcess[str]], str | None]


class Job(NamedTuple):
    """One command to time: ``prepare`` runs (untimed) before each run, ``check`` returns a
    complaint about a finished run, or None."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    stdin: str = ""
    prepare: Callable[[], object] | None = None
    check: Check | None = None


def _run_once(job: Job) -> float:
    """Wall seconds of one run of ``job``; :class:`BenchError` when it failed."""
    if job.prepare is not None:
        job.prepare()
    started = time.perf_counter()
    done = subprocess.run(
        list(job.argv), input=job.stdin, capture_output=True, text=True, env=dict(job.env),
        timeout=120,
    )  # fmt: skip
    took = time.perf_counter() - started
    problem = job.check(done) if job.check is not None else None
    if problem is None and done.returncode != 0:
        problem = f"exit {done.returncode}"
    if problem is not None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        shown = " ".join(word if "\n" not in word else "<script>" for word in job.argv[-4:])
        raise BenchError(f"{shown}: {problem}: {' | '.join(tail)}")
    return took


@dataclass(frozen=True)
class Row:
    """One line of the table.

    ``verdict`` is ``PASS``/``FAIL`` for a row with a target, ``base`` for a baseline, ``info``
    for a figure without a target and ``n/a`` for a row that could not run (``note`` says why).
    ``samples`` are seconds for unit ``ms``, bytes for ``MB`` and plain numbers otherwise.
    """

    scenario: str
    name: str
    unit: str = "ms"
    samples: tuple[float, ...] = ()
    ratio: float | None = None
    target: str = ""
    verdict: str = "info"
    note: str = ""
    floor: float | None = None  # the same ratio for the least a program on that path does

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "name": self.name,
            "unit": self.unit,
            "samples": list(self.samples),
            "median": self.median,
            "ratio": self.ratio,
            "target": self.target,
            "verdict": self.verdict,
            "note": self.note,
            "floor": self.floor,
        }

    def demoted(self, scenario: str) -> Row:
        """This row as information only, under another scenario name (the editable pass)."""
        verdict = self.verdict if self.verdict in ("base", "n/a", "ERROR") else "info"
        target = self.target if verdict == "base" else ""
        return Row(scenario, self.name, self.unit, self.samples, self.ratio, target, verdict,
                   self.note, self.floor)  # fmt: skip


def unavailable(scenario: str, name: str, reason: str) -> Row:
    """A row saying that ``name`` could not be measured, and why."""
    return Row(scenario, name, unit="", target="", verdict="n/a", note=f"not available: {reason}")


def judged(
    scenario: str,
    name: str,
    samples: Sequence[float],
    *,
    limit: float,
    target: str,
    baseline: Sequence[float] | None = None,
    unit: str = "ms",
    value: float | None = None,
    at_least: bool = False,
    note: str = "",
    floor: float | None = None,
) -> Row:
    """A row with a target: PASS when ``value`` (default: the ratio of medians to the
    baseline, or the median itself without a baseline) is at most ``limit`` (``at_least``:
    at least ``limit``). ``floor``: the same ratio for the least a program must do there."""
    median = statistics.median(samples)
    ratio = median / statistics.median(baseline) if baseline else None
    checked = value if value is not None else (ratio if ratio is not None else median)
    return Row(
        scenario,
        name,
        unit,
        tuple(samples),
        ratio,
        target,
        "PASS" if (checked >= limit if at_least else checked <= limit) else "FAIL",
        note,
        floor,
    )


def base(scenario: str, name: str, samples: Sequence[float], note: str = "") -> Row:
    """A baseline row."""
    return Row(scenario, name, "ms", tuple(samples), None, "baseline", "base", note)


def info(
    scenario: str,
    name: str,
    samples: Sequence[float],
    *,
    unit: str = "ms",
    baseline: Sequence[float] | None = None,
    note: str = "",
    floor: float | None = None,
) -> Row:
    """A figure without a target (with its ratio to ``baseline`` when given)."""
    ratio = statistics.median(samples) / statistics.median(baseline) if baseline else None
    return Row(scenario, name, unit, tuple(samples), ratio, "", "info", note, floor)


def ratio(samples: Sequence[float], baseline: Sequence[float]) -> float:
    """The ratio of the medians."""
    return statistics.median(samples) / statistics.median(baseline)


@dataclass
class Bench:
    """The shared state of one run of the suite, for one install of bpshell (``installs.py``).

    The sandbox is shared by the passes over several installs (``share``)."""

    repeats: int
    quick: bool
    official: list[str] | None
    install: Install = field(default_factory=lambda: installs.get("current"))
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bpbench-")))
    _sandbox: Sandbox | None = None
    _homes: int = 0
    _worlds: int = 0

    @property
    def python(self) -> str:
        """The install's interpreter (``python -c pass`` and the floors run with it)."""
        return self.install.python

    @property
    def bp(self) -> list[str]:
        """The install's ``bp`` console script (never a pyenv shim: it alone adds ~80 ms)."""
        return list(self.install.bp)

    def share(self, install: Install) -> Bench:
        """A bench for another install, with this one's sandbox, accounts and work folder."""
        other = Bench(self.repeats, self.quick, self.official, install, self.work)
        other._sandbox, other._homes, other._worlds = self._sandbox, self._homes, self._worlds
        return other

    def floor(self, imports: str, env: Mapping[str, str]) -> list[float]:
        """Timings of ``python -c "import …"`` with the install's interpreter: the least a
        program that needs those modules pays to start."""
        return self.timed([self.python, "-c", f"import {imports}"], env)

    def env(
        self, home: Path | None = None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """A clean child environment: no BP_* variables, no real keyring, .pyc files written."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BP_")
            and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONPATH")
        }
        env.update(self.install.env)  # PYTHONPATH for the "current" install only
        env["PYTHON_KEYRING_BACKEND"] = FAIL_KEYRING
        env["BP_BOTPRESS_HOME"] = str(home if home is not None else self.work / "no-home")
        env.update(extra or {})
        return env

    def home(self, label: str) -> Path:
        """A new empty botpress home (0700) under the run's work folder."""
        self._homes += 1
        path = self.work / f"home-{self._homes:03d}-{label}"
        path.mkdir(mode=0o700, parents=True)
        return path

    def sandbox(self, latency_ms: float = 0) -> Sandbox:
        """The run's sandbox (started on first use), with this latency and fresh stats."""
        if self._sandbox is None:
            from bpshell.sandbox import Sandbox

            self._sandbox = Sandbox(page_size=100).start()
        self._sandbox.set_latency(latency_ms)
        self._sandbox.reset()
        return self._sandbox

    def accounts(self, count: int) -> list[tuple[str, str]]:
        """``count`` new (token, workspace ID) pairs the sandbox accepts, one account each."""
        self._worlds += 1
        return self.sandbox().world.generate(count, prefix=f"b{self._worlds}")

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None
        shutil.rmtree(self.work, ignore_errors=True)

    def sandbox_of(self, other: Bench) -> None:
        """Take back the sandbox (and counters) a :meth:`share` bench may have started."""
        self._sandbox = self._sandbox or other._sandbox
        self._homes, self._worlds = max(self._homes, other._homes), max(self._worlds, other._worlds)

    def timed(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        stdin: str = "",
        prepare: Callable[[], object] | None = None,
        check: Check | None = None,
        repeats: int | None = None,
        warm_up: bool = True,
    ) -> list[float]:
        """Wall seconds of ``repeats`` runs of ``argv`` after one untimed warm-up run (unless
        the same program has just been run: ``warm_up=False``).

        ``prepare`` runs (untimed) before each run; ``check`` returns a complaint about a
        finished run, or None. A failed run raises :class:`BenchError`.
        """
        times: list[float] = []
        for index in range(int(not warm_up), (repeats or self.repeats) + 1):
            took = _run_once(Job(tuple(argv), env, stdin, prepare, check))
            if index:
                times.append(took)
        return times

    def together(self, jobs: Mapping[str, Job]) -> tuple[dict[str, list[float]], dict[str, str]]:
        """Wall seconds of each job, the jobs taking turns: one run of each per round, one
        untimed round first, then :attr:`repeats` rounds. A load that comes and goes on a shared
        machine then falls on a command and on its baseline alike, so their ratio keeps.

        Returns the timings and, for a job whose run failed, why (it is not run again)."""
        times: dict[str, list[float]] = {name: [] for name in jobs}
        broken: dict[str, str] = {}
        for round_ in range(self.repeats + 1):
            for name, job in jobs.items():
                if name in broken:
                    continue
                try:
                    took = _run_once(job)
                except BenchError as exc:
                    broken[name] = str(exc)
                    continue
                if round_:
                    times[name].append(took)
        return {name: found for name, found in times.items() if name not in broken}, broken

    def probe(self, name: str, *args: str) -> Any:
        """Run ``probe.py NAME ARGS`` (in-process measurements) in a fresh interpreter."""
        argv = [self.python, str(ROOT / "bench" / "probe.py"), name, *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=300)
        if done.returncode == 3:
            raise Unavailable(done.stdout.strip() or done.stderr.strip().splitlines()[-1])
        if done.returncode != 0:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            raise BenchError(f"probe {name} failed: {tail}")
        return json.loads(done.stdout)


def write_config(home: Path, config: Mapping[str, Any]) -> None:
    """config.json written by bpshell's own store, so its lock file vouches for the bytes
    (``ConfigStore._record``) and bp skips the validator for them, as after any bp command.

    The store is the checkout's (the bench's ``sys.path``, or the install's in ``probe.py``):
    the regular install is built from this same source (its hash is the venv's name), so the
    bytes and the record are those the measured ``bp`` writes."""
    from bpshell.config import ConfigFile, ConfigStore

    with ConfigStore(home, _no_warning).transaction() as transaction:
        transaction.config = ConfigFile.from_dict(dict(config))
        transaction.save()


def _no_warning(message: str) -> None:
    raise BenchError(f"the config store warned: {message}")


def hand_written_config(home: Path, config: Mapping[str, Any]) -> None:
    """config.json (0600) written as a person or another program would: the lock file does not
    vouch for it, so bp validates it."""
    path = home / "config.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    with contextlib.suppress(FileNotFoundError):
        (home / "config.json.lock").unlink()


def file_profiles(
    pairs: Sequence[tuple[str, str]], api_url: str, *, names: Sequence[str] | None = None
) -> dict[str, Any]:
    """A config with one file-stored-token profile per (token, workspace) pair; first active."""
    names = names or [f"p{index:04d}" for index in range(len(pairs))]
    profiles = {
        name: {
            "apiUrl": api_url,
            "workspaceId": workspace,
            "workspaceName": f"Workspace {workspace}",
            "token": token,
        }
        for name, (token, workspace) in zip(names, pairs, strict=True)
    }
    return {"version": 1, "activeProfile": names[0] if names else None, "profiles": profiles}


def synthetic_workspaces(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` (id, name) pairs shaped like Botpress Cloud's: ULID-like IDs, word names."""
    import random

    rng = random.Random(seed)
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    words = [
        "acme",
        "support",
        "sales",
        "globex",
        "initech",
        "team",
        "bots",
        "prod",
        "staging",
        "lab",
        "north",
        "south",
        "retail",
        "bank",
        "health",
        "travel",
        "ops",
        "growth",
    ]
    pairs = []
    for index in range(count):
        ulid = "01H" + "".join(rng.choice(alphabet) for _ in range(23))
        name = f"{rng.choice(words).title()} {rng.choice(words)} {index:05d}"
        pairs.append((f"wkspace_{ulid}", name))
    return pairs


def write_workspace_cache(
    home: Path, profile: str, api_url: str, pairs: Sequence[tuple[str, str]]
) -> None:
    """The per-profile workspace cache file, fresh, written by bpshell itself."""
    from bpshell.cache import write_workspaces

    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_workspaces(home, profile, api_url, list(pairs))


class Terminal:
    """A child process on a pseudo-terminal, with everything it printed and when.

    Cursor position requests are answered (prompt_toolkit draws its bottom toolbar only when it
    knows how many rows are left below the cursor).
    """

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], rows: int = 40, cols: int = 120
    ):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.output = b""

    def expect(self, needle: bytes, timeout: float = 15.0, after: int = 0) -> float:
        """Seconds since start when ``needle`` first appeared past offset ``after``."""
        deadline = time.perf_counter() + timeout
        while needle not in self.output[after:]:
            left = deadline - time.perf_counter()
            if left <= 0 or not self._read(left):
                tail = self.output[-300:].decode("utf-8", "replace")
                raise Unavailable(f"{needle!r} not seen on the terminal; it showed: {tail!r}")
        return time.perf_counter() - self.started

    def finish(self, timeout: float = 30.0) -> float:
        """Seconds since start when the child closed the terminal (read to the end)."""
        deadline = time.perf_counter() + timeout
        while self._read(max(0.0, deadline - time.perf_counter())):
            if time.perf_counter() > deadline:
                raise Unavailable("the command did not finish on the terminal")
        return time.perf_counter() - self.started

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.output += chunk
        for _ in range(chunk.count(CPR_REQUEST)):  # answer as a terminal would: row 1, col 1
            os.write(self.master, b"\x1b[1;1R")
        return bool(chunk)

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def rss_bytes(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the child, in bytes."""
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
        return fields["VmRSS"], fields["VmHWM"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send("\x04")
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


@contextlib.contextmanager
def terminal(argv: Sequence[str], env: Mapping[str, str]) -> Iterator[Terminal]:
    """A :class:`Terminal` that is closed (Ctrl-D, then killed) at the end."""
    term = Terminal(argv, env)
    try:
        yield term
    finally:
        term.close()
