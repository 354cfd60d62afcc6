"""The installs of bpshell the bench measures, built by the bench itself in a cache folder.

- ``regular``: ``python -m venv`` + ``pip install <copy of the source>``, not editable, as
  pipx or ``pip install bpshell`` would do: bpshell's modules are files in the venv's
  site-packages, ``bp`` is the console script pip generates, and ``site`` runs no hook of a
  development install. Its folder is named after a hash of what pip installs (pyproject.toml
  and every file of the ``bpshell`` package, ``__pycache__`` aside) and of the interpreter, so
  a change to bpshell's source makes a new one; the issue's targets are judged on it.
- ``editable``: ``pip install -e`` of the checkout into a venv (setuptools' import hook, as a
  developer's ``pip install -e .`` makes it): the code is the checkout's, so it is rebuilt only
  when pyproject.toml changes. Shown for information.
- ``current``: no venv; the interpreter running the bench and the ``bp`` beside it, with
  ``PYTHONPATH`` pointing at the checkout (as the tests run it).

A venv is usable only when its ``.complete`` marker holds its hash: a build interrupted half
way is cleared and made again. Builds take an ``flock`` on ``<folder>.lock``, so two benches
started at once build it once. After a build, regular venvs of other hashes unused for
:data:`KEEP_S` are removed (every use touches the marker).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "bpshell-bench"
MARKER = ".complete"
KEEP_S = 2 * 24 * 3600
KINDS = ("regular", "editable", "current")
# What the build needs besides what it installs (pyproject.toml's readme); not hashed: it
# changes only the package's metadata.
BUILD_ONLY = ("README.md",)


class InstallError(Exception):
    """A venv could not be made (pip failed, no network to the index...)."""


class Install(NamedTuple):
    """One install of bpshell: its kind, interpreter, ``bp`` command and child environment."""

    kind: str
    python: str
    bp: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    folder: Path | None = None
    built: bool = False  # made by this run (or found ready)

    def describe(self) -> str:
        where = f"{self.folder} ({'built now' if self.built else 'cached'})" if self.folder else ""
        extra = " ".join(f"{k}={v}" for k, v in self.env)
        return " ".join(part for part in (self.kind, where, extra) if part)


def base_python() -> str:
    """The interpreter venvs are made from (the one under the bench's venv, if it runs in one)."""
    return str(Path(getattr(sys, "_base_executable", sys.executable)).resolve())


def installed_files(root: Path = ROOT) -> list[Path]:
    """What ``pip install .`` installs from ``root`` (relative paths, sorted): pyproject.toml and
    every file of the bpshell package but compiled caches."""
    package = root / "bpshell"
    files = [Path("pyproject.toml")]
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path.relative_to(root))
    return files


def source_hash(root: Path = ROOT) -> str:
    """A short hash of :func:`installed_files` (names and bytes) and of the interpreter."""
    digest = hashlib.sha256()
    digest.update(f"{base_python()} {sys.version}\0".encode())
    for relative in installed_files(root):
        digest.update(str(relative).encode() + b"\0")
        digest.update((root / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def editable_hash(root: Path = ROOT) -> str:
    """What an editable venv depends on: the checkout's place, pyproject.toml, the interpreter."""
    digest = hashlib.sha256()
    digest.update(f"{base_python()} {sys.version} {root.resolve()}\0".encode())
    digest.update((root / "pyproject.toml").read_bytes())
    return digest.hexdigest()[:16]


def is_ready(folder: Path, digest: str) -> bool:
    """Whether ``folder`` holds a finished venv of hash ``digest`` (its ``bp`` exists)."""
    marker = folder / MARKER
    try:
        ready = marker.read_text().strip() == digest and (folder / "bin" / "bp").exists()
    except OSError:
        return False
    if ready:
        with contextlib.suppress(OSError):
            os.utime(marker)
    return ready


def stale(cache: Path, keep: Path, now: float | None = None) -> list[Path]:
    """The regular venvs under ``cache`` other than ``keep`` unused for :data:`KEEP_S`."""
    now = time.time() if now is None else now
    found = []
    for folder in sorted(cache.glob("regular-*")):
        if folder == keep or not folder.is_dir():
            continue
        try:
            used = (folder / MARKER).stat().st_mtime
        except OSError:
            used = folder.stat().st_mtime
        if now - used > KEEP_S:
            found.append(folder)
    return found


def get(kind: str, cache: Path = CACHE, root: Path = ROOT, log: bool = True) -> Install:
    """The install of this ``kind`` (see the module docstring), built when needed."""
    if kind == "current":
        script = Path(sys.executable).parent / "bp"
        bp = (str(script),) if script.exists() else (sys.executable, "-m", "bpshell")
        return Install(kind, sys.executable, bp, (("PYTHONPATH", str(root)),))
    if kind == "regular":
        digest = source_hash(root)
    elif kind == "editable":
        digest = editable_hash(root)
    else:
        raise ValueError(kind)
    folder = cache / f"{kind}-{digest}"
    built = False
    if not is_ready(folder, digest):
        cache.mkdir(parents=True, exist_ok=True)
        with _locked(cache / f"{folder.name}.lock"):
            if not is_ready(folder, digest):
                _build(kind, folder, digest, root, log)
                built = True
        if kind == "regular":
            for old in stale(cache, folder):
                shutil.rmtree(old, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (cache / f"{old.name}.lock").unlink()
    python = folder / "bin" / "python"
    return Install(kind, str(python), (str(folder / "bin" / "bp"),), (), folder, built)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _pip_env() -> dict[str, str]:
    """The environment for venv and pip: bytecode written (pip compiles what it installs)."""
    dropped = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=_pip_env(), cwd=cwd)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING")]
        raise InstallError(f"{what} failed (exit {done.returncode}): {' | '.join(lines[-4:])}")


def _build(kind: str, folder: Path, digest: str, root: Path, log: bool) -> None:
    if log:
        print(f"bench: building the {kind} install in {folder}…", file=sys.stderr, flush=True)
    _run([base_python(), "-m", "venv", "--clear", str(folder)], f"python -m venv {folder}")
    python = str(folder / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet"]
    if kind == "editable":
        _run([*pip, "-e", str(root)], f"pip install -e {root}")
    else:
        # From a copy of what it installs, so that the build's own files (build/, egg-info)
        # land in a scratch folder and not in the checkout (nor race another bench's build).
        with tempfile.TemporaryDirectory(prefix="bpbench-src-") as scratch:
            source = Path(scratch) / "bpshell-src"
            for relative in [*installed_files(root), *map(Path, BUILD_ONLY)]:
                if not (root / relative).exists():
                    continue
                (source / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / relative, source / relative)
            _run([*pip, str(source)], f"pip install {root} (a copy)")
        # pip compiles what it installs; compile again in case this pip was told not to.
        site = next((folder / "lib").glob("python*/site-packages"))
        _run([python, "-m", "compileall", "-q", str(site / "bpshell")], "compileall")
    # Warm-up: the first run writes whatever .pyc is still missing, as a user's first run would.
    _run([str(folder / "bin" / "bp"), "--version"], f"{folder}/bin/bp --version")
    (folder / MARKER).write_text(digest + "\n")
