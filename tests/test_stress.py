"""50 ``bp`` processes at once on one home: logins, switches, logouts, and shells doing the same.

Every process starts before any is waited for, against the sandbox with some latency so the
verifications overlap and the writes bunch up. Afterwards every profile that should be there
is, with the values its login gave, every profile logged out is gone, and the file validates.
The figures (operations run, updates lost) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bpshell.config import ConfigFile
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import ROOT, process_env

LOGINS = 20
SWITCHES = 10
LOGOUTS = 10
SHELLS = 10
BOUND_S = 60.0  # a hang detector, not a speed check (that is bench/'s)
SEEDED_URL = "https://api.botpress.cloud"


@dataclass(frozen=True)
class Job:
    """One process: its argv after ``bp``, what it reads on stdin, its extra environment,
    and how many operations it runs."""

    words: tuple[str, ...]
    stdin: str = ""
    env: tuple[tuple[str, str], ...] = ()
    ops: int = 1


def credentials(index: int) -> tuple[str, str]:
    return (ALICE_TOKEN, "ws_acme") if index % 2 else (BOB_TOKEN, "ws_initech")


def seed_home(home: Path) -> None:
    """``uNN`` (switch targets) and ``dNN`` (to be logged out); ``u00`` active."""
    profiles = {
        f"{kind}{index:02d}": {"apiUrl": SEEDED_URL, "workspaceId": f"ws_{kind}{index:02d}",
                               "token": f"bp_pat_{kind}{index:02d}"}
        for kind, count in (("u", SWITCHES), ("d", LOGOUTS))
        for index in range(count)
    }  # fmt: skip
    home.mkdir(mode=0o700)
    (home / "config.json").write_text(
        json.dumps({"version": 1, "activeProfile": "u00", "profiles": profiles})
    )
    (home / "config.json").chmod(0o600)


def jobs(url: str) -> list[Job]:
    found: list[Job] = []
    for index in range(LOGINS):
        token, workspace = credentials(index)
        found.append(
            Job(
                ("login", "-p", f"s{index:02d}", "--token", "-", "--apiUrl", url,
                 "--workspaceId", workspace, "-y", "--insecure-storage"),
                stdin=token,
            )
        )  # fmt: skip
    found += [Job(("profiles", "use", f"u{index:02d}")) for index in range(SWITCHES)]
    found += [Job(("logout", "-p", f"d{index:02d}")) for index in range(LOGOUTS)]
    for index in range(SHELLS):
        token, workspace = credentials(index)
        login = f"login --apiUrl {url} --workspaceId {workspace} -y --insecure-storage"
        script = (
            f"{login} -p h{index:02d}; profiles use h{index:02d}; {login} -p h{index:02d}-tmp; "
            f"logout -p h{index:02d}-tmp; profiles use u{index:02d}"
        )
        found.append(Job(("shell", "-c", script), env=(("BP_TOKEN", token),), ops=5))
    return found


def expected_profiles(url: str) -> dict[str, dict[str, str] | None]:
    """Every name whose fate is known: its profile, or None when it must be gone."""
    names = {"acme": "ws_acme", "initech": "ws_initech"}
    wanted: dict[str, dict[str, str] | None] = {}
    for prefix, count in (("s", LOGINS), ("h", SHELLS)):
        for index in range(count):
            token, workspace = credentials(index)
            name = next(n for n, w in names.items() if w == workspace)
            wanted[f"{prefix}{index:02d}"] = {
                "apiUrl": url, "workspaceId": workspace, "workspaceName": name, "token": token,
            }  # fmt: skip
    for index in range(SWITCHES):
        wanted[f"u{index:02d}"] = {
            "apiUrl": SEEDED_URL, "workspaceId": f"ws_u{index:02d}",
            "token": f"bp_pat_u{index:02d}",
        }  # fmt: skip
    wanted.update({f"d{index:02d}": None for index in range(LOGOUTS)})
    wanted.update({f"h{index:02d}-tmp": None for index in range(SHELLS)})
    return wanted


def test_fifty_processes_lose_nothing(tmp_path: Path, sandbox: Sandbox) -> None:
    home = tmp_path / "botpress"
    seed_home(home)
    sandbox.set_latency(50)
    planned = jobs(sandbox.url)
    assert len(planned) == 50
    started = time.monotonic()
    processes = [
        (
            job,
            subprocess.Popen(
                [sys.executable, "-m", "bpshell", *job.words],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=process_env(home, dict(job.env)),
                cwd=ROOT,
            ),
        )
        for job in planned
    ]
    failures = []
    for job, process in processes:
        remaining = max(1.0, BOUND_S - (time.monotonic() - started))
        _, err = process.communicate(job.stdin, timeout=remaining)
        if process.returncode != 0:
            failures.append((job.words, process.returncode, err))
    elapsed = time.monotonic() - started

    path = home / "config.json"
    config = ConfigFile.from_json(path.read_bytes())
    stored = json.loads(path.read_text())["profiles"]
    for profile in stored.values():
        profile.pop("accountId", None)  # the API's, noted at login
    lost = [
        name
        for name, profile in expected_profiles(sandbox.url).items()
        if stored.get(name) != profile
    ]
    ops = sum(job.ops for job in planned)
    print(
        f"\nstress: {len(planned)} processes ({SHELLS} of them shells), {ops} operations in "
        f"{elapsed:.1f} s; {len(failures)} failed, {len(lost)} updates lost"
    )
    assert failures == []
    assert lost == []
    assert config.activeProfile is None or config.activeProfile in config.profiles
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in home.iterdir()) == ["config.json", "config.json.lock"]
    assert elapsed < BOUND_S
