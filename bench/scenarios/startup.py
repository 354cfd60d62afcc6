"""Offline commands against ``python -c pass``: how much does ``bp`` cost before any work?

Targets (issue): ``--version``, ``--help`` and the completion entry point (``bp __complete``,
what the bash/zsh/fish scripts run on every Tab) within 2x of a bare interpreter;
``profiles use/list/get`` and ``logout`` of a file-stored token within 3x.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import (
    Bench,
    BenchError,
    Row,
    base,
    info,
    judged,
    synthetic_workspaces,
    unavailable,
    write_config,
    write_workspace_cache,
)

NAME = "startup"
API_URL = "https://api.botpress.cloud"
PROFILES = ("default", "prod", "staging")


@dataclass(frozen=True)
class Offline:
    """One offline command: its words, the ratio it must stay under, what to reset first."""

    label: str
    words: tuple[str, ...]
    limit: float
    reset: bool = False
    completion: bool = False


COMMANDS: tuple[Offline, ...] = (
    Offline("bp --version", ("--version",), 2.0),
    Offline("bp --help", ("--help",), 2.0),
    Offline(
        "bp __complete profiles use ''", ("__complete", "profiles", "use", ""), 2.0, completion=True
    ),
    Offline(
        "bp __complete login --workspaceId ''",
        ("__complete", "login", "--workspaceId", ""),
        2.0,
        completion=True,
    ),
    Offline("bp profiles use prod", ("profiles", "use", "prod"), 3.0, reset=True),
    Offline("bp profiles list", ("profiles", "list"), 3.0),
    Offline("bp profiles get", ("profiles", "get"), 3.0),
    Offline("bp logout (file token)", ("logout",), 3.0, reset=True),
)


def offline_config() -> dict[str, object]:
    """Three profiles with file-stored tokens; ``default`` is active."""
    profiles = {
        name: {
            "apiUrl": API_URL,
            "workspaceId": f"ws_{name}",
            "workspaceName": name.title(),
            "token": f"bp_pat_{name}{'0' * (38 - len(name))}",
        }
        for name in PROFILES
    }
    return {"version": 1, "activeProfile": "default", "profiles": profiles}


def offline_home(bench: Bench, workspaces: int = 47) -> tuple[Path, Callable[[], None]]:
    """A home with :func:`offline_config` and a workspace cache; and a function resetting it."""
    home = bench.home("offline")
    write_workspace_cache(home, "default", API_URL, synthetic_workspaces(workspaces))

    def reset() -> None:
        write_config(home, offline_config())

    reset()
    return home, reset


def _complete_check(done: subprocess.CompletedProcess[str]) -> str | None:
    return None if done.stdout.strip() else "printed no candidates"


def run(bench: Bench) -> list[Row]:
    home, reset = offline_home(bench)
    env = bench.env(home)
    baseline = bench.timed([bench.python, "-c", "pass"], env)
    rows = [base(NAME, "python -c pass", baseline, "same interpreter and environment")]
    bare = bench.timed([bench.python, "-S", "-c", "pass"], env)
    rows.append(
        info(
            NAME,
            "python -S -c pass",
            bare,
            baseline=baseline,
            note="no site: what this interpreter's site-packages and .pth hooks cost",
        )
    )
    for command in COMMANDS:
        prepare = reset if command.reset else None
        check = _complete_check if command.completion else None
        try:
            samples = bench.timed([*bench.bp, *command.words], env, prepare=prepare, check=check)
        except BenchError as exc:
            if not command.completion:
                raise
            rows.append(unavailable(NAME, command.label, f"bp __complete: {exc}"))
            continue
        rows.append(
            judged(
                NAME,
                command.label,
                samples,
                limit=command.limit,
                target=f"<= {command.limit:g}x",
                baseline=baseline,
            )
        )
    rows.append(_big_cache(bench, baseline))
    return rows


def _big_cache(bench: Bench, baseline: list[float]) -> Row:
    label = "bp __complete login --workspaceId '' (10,000 cached)"
    home, _ = offline_home(bench, workspaces=10_000)
    words = ("__complete", "login", "--workspaceId", "")
    try:
        samples = bench.timed([*bench.bp, *words], bench.env(home), check=_complete_check)
    except BenchError as exc:
        return unavailable(NAME, label, str(exc))
    return info(NAME, label, samples, baseline=baseline, note="the cache is read on every Tab")
