"""Offline commands against ``python -c pass``: how much does ``bp`` cost before any work?

Targets (issue 15, judged on the regular install): ``--version``, ``--help`` and the completion
entry point (``bp __complete``, what the bash/zsh/fish scripts run on every Tab) within 2.5x of
a bare interpreter; ``profiles use/list/get`` and ``logout`` of a file-stored token within 4x.
Each row's floor is ``python -c "import …"`` of the standard modules that path cannot avoid:
``re`` for every one (pip's console-script wrapper imports it before bpshell), ``json`` for
completion (it reads config.json and the workspace cache through ``os.path``), and ``json``
and ``pathlib`` for the commands that load the config store.

config.json is written by bpshell's own store (``harness.write_config``), so bp trusts the
bytes its lock file vouches for and skips the validator; one row (information) reads a
hand-written file, which bp validates. The commands, the baseline and the floors take turns
(``Bench.together``), and every run starts from the same home.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import (
    Bench,
    BenchError,
    Job,
    Row,
    base,
    hand_written_config,
    info,
    judged,
    ratio,
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
    """One offline command: its words, the ratio it must stay under, its floor's modules."""

    label: str
    words: tuple[str, ...]
    limit: float
    floor: str  # the modules of its floor, python -c "import <floor>"
    completion: bool = False


WRAPPER = "re"  # pip's console script: import re, sys; from bpshell.cli import main
PEEK = "re, json"  # and what completion's read of config.json and the cache needs
READER = "re, json, pathlib"  # and what the config store needs
FLOORS = (WRAPPER, PEEK, READER)
BY_HAND = "bp profiles list (hand-written config.json)"
BIG = "bp __complete login --workspaceId '' (10,000 cached)"
BIG_WORDS = ("__complete", "login", "--workspaceId", "")
COMMANDS: tuple[Offline, ...] = (
    Offline("bp --version", ("--version",), 2.5, WRAPPER),
    Offline("bp --help", ("--help",), 2.5, WRAPPER),
    Offline(
        "bp __complete profiles use ''",
        ("__complete", "profiles", "use", ""),
        2.5,
        PEEK,
        completion=True,
    ),
    Offline(
        "bp __complete login --workspaceId ''",
        ("__complete", "login", "--workspaceId", ""),
        2.5,
        PEEK,
        completion=True,
    ),
    Offline("bp profiles use prod", ("profiles", "use", "prod"), 4.0, READER),
    Offline("bp profiles list", ("profiles", "list"), 4.0, READER),
    Offline("bp profiles get", ("profiles", "get"), 4.0, READER),
    Offline("bp logout (file token)", ("logout",), 4.0, READER),
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


def offline_home(
    bench: Bench, workspaces: int = 47, *, by_hand: bool = False
) -> tuple[Path, Callable[[], None]]:
    """A home with :func:`offline_config` (written by bpshell's store, or ``by_hand``) and a
    workspace cache; and a function resetting it."""
    home = bench.home("offline-by-hand" if by_hand else "offline")
    write_workspace_cache(home, "default", API_URL, synthetic_workspaces(workspaces))
    writer = hand_written_config if by_hand else write_config

    def reset() -> None:
        writer(home, offline_config())

    reset()
    return home, reset


def _complete_check(done: subprocess.CompletedProcess[str]) -> str | None:
    return None if done.stdout.strip() else "printed no candidates"


def run(bench: Bench) -> list[Row]:
    """Every command, its baseline and its floors taking turns (:meth:`Bench.together`)."""
    home, reset = offline_home(bench)
    env = bench.env(home)
    by_hand, _ = offline_home(bench, by_hand=True)
    big, _ = offline_home(bench, workspaces=10_000)
    jobs = {
        "pass": Job((bench.python, "-c", "pass"), env),
        "-S": Job((bench.python, "-S", "-c", "pass"), env),
        **{modules: Job((bench.python, "-c", f"import {modules}"), env) for modules in FLOORS},
    }
    for command in COMMANDS:  # each from the same home (profiles use and logout change it)
        check = _complete_check if command.completion else None
        jobs[command.label] = Job((*bench.bp, *command.words), env, "", reset, check)
    jobs[BY_HAND] = Job((*bench.bp, "profiles", "list"), bench.env(by_hand))
    jobs[BIG] = Job((*bench.bp, *BIG_WORDS), bench.env(big), check=_complete_check)
    times, broken = bench.together(jobs)
    for name, why in broken.items():
        completion = name == BIG or any(c.completion for c in COMMANDS if c.label == name)
        if not completion:
            raise BenchError(why)
    baseline = times["pass"]
    rows = [
        base(NAME, "python -c pass", baseline, "same interpreter and environment"),
        info(
            NAME,
            "python -S -c pass",
            times["-S"],
            baseline=baseline,
            note="no site: what this interpreter's site-packages and .pth hooks cost",
        ),
    ]
    floors = {modules: ratio(times[modules], baseline) for modules in FLOORS}
    rows.extend(
        info(NAME, f'floor: python -c "import {modules}"', times[modules], baseline=baseline)
        for modules in FLOORS
    )
    for command in COMMANDS:
        if command.label in broken:
            rows.append(unavailable(NAME, command.label, f"bp __complete: {broken[command.label]}"))
            continue
        rows.append(
            judged(
                NAME,
                command.label,
                times[command.label],
                limit=command.limit,
                target=f"<= {command.limit:g}x",
                baseline=baseline,
                floor=floors[command.floor],
            )
        )
    rows.append(
        info(
            NAME,
            BY_HAND,
            times[BY_HAND],
            baseline=baseline,
            floor=floors[READER],
            note="a file the lock does not vouch for (edited by hand, another program): validated",
        )
    )
    if BIG in broken:
        rows.append(unavailable(NAME, BIG, broken[BIG]))
    else:
        rows.append(
            info(
                NAME,
                BIG,
                times[BIG],
                baseline=baseline,
                floor=floors[PEEK],
                note="the cache is read on every Tab",
            )
        )
    return rows
