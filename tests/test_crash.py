"""Writers killed mid-write, a full disk and a read-only home: config.json is never lost.

The kill test forks writers from a warmed-up helper process (so a kill costs a fork, not a
Python start-up): each writer loops on ``ConfigStore.update``, alternating small and big
files, and is killed with SIGKILL after a random delay. After every kill the file must be
exactly one of the versions written so far, never older than the last one seen, and the next
``bp profiles use`` must get the lock at once (the flock died with the writer) and sweep the
writer's temporary file.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpshell.config import ConfigFile, Profile
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, process_env
from tests.mounts import mount, read_only

KILLS = 120
BUDGET_S = 12.0
MAX_DELAY_S = 0.03
PROMPTLY_S = 2.0
SIZES = (10, 5_000, 300_000, 1_500_000)

# Runs in the helper: "go" forks a writer and prints its pid; once the test has killed it,
# the helper reaps it and prints its wait status.
ZYGOTE = """
import os, sys
from pathlib import Path
from bpshell.config import ConfigStore
from tests.test_crash import next_version

store = ConfigStore(Path(sys.argv[1]), lambda _: None)
print("ready", flush=True)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            while True:
                store.update(next_version)
        finally:
            os._exit(3)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(status, flush=True)
"""


def version_of(seq: int) -> ConfigFile:
    """Version ``seq`` of the file: small or big (up to 1.5 MB) by turns."""
    pad = "x" * SIZES[seq % len(SIZES)]
    profile = Profile(apiUrl="https://api.botpress.cloud", workspaceId="ws_acme", seq=seq, pad=pad)
    return ConfigFile(activeProfile="p", profiles={"p": profile})


def next_version(config: ConfigFile) -> None:
    """The writers' change: the version after the current one."""
    extra = config.profiles["p"].extra
    fresh = version_of(int(extra["seq"]) + 1)
    config.activeProfile, config.profiles = fresh.activeProfile, fresh.profiles


def seq_of(data: bytes) -> int:
    extra = ConfigFile.from_json(data).profiles["p"].extra
    return int(extra["seq"])


def leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def zygote(bp: Bp) -> Iterator[subprocess.Popen[str]]:
    bp.home.mkdir(mode=0o700, parents=True)
    bp.config_path.write_text(version_of(0).to_json())
    bp.config_path.chmod(0o600)
    helper = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(bp.home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=process_env(bp.home),
        cwd=ROOT,
    )
    assert helper.stdout is not None and helper.stdout.readline() == "ready\n"
    try:
        yield helper
    finally:
        helper.kill()
        helper.wait(timeout=10)


def test_sigkill_at_random_points_of_a_write_never_breaks_the_file(
    bp: Bp, zygote: subprocess.Popen[str]
) -> None:
    assert zygote.stdin is not None and zygote.stdout is not None
    rng = random.Random(os.getpid())
    started = time.monotonic()
    last = 0
    kills = mid_write = advanced = 0
    while kills < KILLS and time.monotonic() - started < BUDGET_S:
        zygote.stdin.write("go\n")
        zygote.stdin.flush()
        pid = int(zygote.stdout.readline())
        time.sleep(rng.uniform(0, MAX_DELAY_S))  # the random point of the kill
        os.kill(pid, signal.SIGKILL)
        status = int(zygote.stdout.readline())  # reaped: the writer is gone
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        kills += 1

        data = bp.config_path.read_bytes()
        seq = seq_of(data)
        assert data == version_of(seq).to_json().encode(), f"partial file after kill {kills}"
        assert seq >= last, "an older version came back"
        advanced += seq > last
        last = seq
        mid_write += bool(leftovers(bp.home))

        use_started = time.monotonic()
        result = bp("profiles", "use", "p")
        assert (result.code, result.err) == (0, "")
        assert time.monotonic() - use_started < PROMPTLY_S, "a dead writer's lock blocked"
        assert leftovers(bp.home) == []
        assert bp.config_path.read_bytes() == data

    print(
        f"\ncrash: {kills} SIGKILLs in {time.monotonic() - started:.1f} s; "
        f"{mid_write} left a temporary file (killed mid-write), {advanced} after a new version "
        f"was in place ({last} versions written); the file was always whole"
    )
    assert kills >= 30
    assert sorted(p.name for p in bp.home.iterdir()) == ["config.json", "config.json.lock"]


def test_killed_bp_processes_leave_the_old_or_the_new_file(
    bp: Bp, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Real ``bp login`` runs killed at random points: the old file or the new one."""
    token_file = tmp_path / "token"
    token_file.write_text(ALICE_TOKEN)
    first = bp(
        "login", "-p", "old", "--token", "-", "--apiUrl", sandbox.url,
        "--workspaceId", "ws_initech", "-y", "--insecure-storage", stdin=BOB_TOKEN,
    )  # fmt: skip
    assert first.code == 0, first.err
    old = bp.config_bytes()
    rng = random.Random(os.getpid())
    outcomes = {"old": 0, "new": 0}
    for index in range(6):
        with token_file.open() as stdin:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "bpshell", "login", "-p", f"new{index}"),
                    *("--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme"),
                    *("-y", "--insecure-storage"),
                ],
                stdin=stdin,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=process_env(bp.home),
                cwd=ROOT,
            )
        time.sleep(rng.uniform(0.05, 0.4))
        process.kill()
        process.wait(timeout=10)
        config = ConfigFile.from_json(bp.config_path.read_bytes())
        new = f"new{index}" in config.profiles
        outcomes["new" if new else "old"] += 1
        if new:
            assert config.activeProfile == f"new{index}"
            assert config.profiles[f"new{index}"].token == ALICE_TOKEN
        result = bp("profiles", "use", "old")
        assert (result.code, result.err) == (0, "")
        assert leftovers(bp.home) == []
        if not new:
            assert bp.config_bytes() == old
        old = bp.config_bytes()
    old_count, new_count = outcomes["old"], outcomes["new"]
    print(f"\ncrash: 6 bp logins killed: {old_count} left the old file, {new_count} the new")


# --- a full disk and a read-only home ---------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (mount needs root and CAP_SYS_ADMIN; skipped without them)."""
    where = tmp_path / "disk"
    where.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = mount("-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _fill(disk: Path) -> None:
    with open(disk / "filler", "wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)


def login(bp: Bp, sandbox: Sandbox, name: str) -> tuple[int, str, str]:
    result = bp(
        "login", "-p", name, "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme",
        "-y", "--insecure-storage", stdin=ALICE_TOKEN,
    )  # fmt: skip
    return result.code, result.out, result.err


STORED = "warning: --insecure-storage: the token is stored in plain text in config.json (0600)\n"


def test_full_disk_keeps_the_old_file(small_disk: Path, sandbox: Sandbox) -> None:
    bp = Bp(small_disk / "botpress")
    assert login(bp, sandbox, "before")[0] == 0
    before = bp.config_bytes()
    _fill(small_disk)
    assert login(bp, sandbox, "after") == (
        1,
        "",
        STORED
        + f"Cannot write {bp.config_path}: the disk is full. The previous file is unchanged\n",
    )
    assert bp.config_bytes() == before
    assert leftovers(bp.home) == []
    assert bp("profiles", "list").code == 0
    (small_disk / "filler").unlink()
    assert login(bp, sandbox, "after")[0] == 0


@pytest.fixture
def read_only_home(bp: Bp, sandbox: Sandbox) -> Iterator[Path]:
    """The home after a login, bind-mounted read-only over itself (read-only even for root)."""
    assert login(bp, sandbox, "before")[0] == 0
    with read_only(bp.home):
        yield bp.home


def test_read_only_home_gives_a_clear_error_and_keeps_the_file(
    bp: Bp, sandbox: Sandbox, read_only_home: Path
) -> None:
    before = bp.config_bytes()
    code, out, err = login(bp, sandbox, "after")
    assert (code, out) == (1, "")
    assert err == STORED + (
        f"Cannot lock {bp.config_path}: Read-only file system. "
        f"Check that {bp.home} is writable; nothing was changed\n"
    )
    result = bp("profiles", "use", "before")
    assert (result.code, result.out) == (1, "")
    assert bp.config_bytes() == before
    listing = bp("profiles", "list")
    assert (listing.code, listing.err) == (0, "")
    assert "before" in listing.out
