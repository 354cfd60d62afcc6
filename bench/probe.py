"""In-process measurements, each run by ``run.py`` in a fresh interpreter: ``probe.py NAME [N]``.

Prints one JSON object on stdout. Exit 3 (with the reason on stdout) when what it measures
does not exist in this checkout yet.

``config_store N``  ConfigStore.load and .update of a 1,000-profile config.json, N times each.
``completer N``     the shell's completer over 10,000 workspaces, per keystroke, N times each.
``structures``      resident memory of the shell's completion data with 10,000 workspaces.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import file_profiles, synthetic_workspaces, write_config

API_URL = "https://api.botpress.cloud"
PROFILES = 1000
WORKSPACES = 10_000
MISSING = 3


def missing(reason: str) -> None:
    print(reason)
    sys.exit(MISSING)


def config_store(repeats: int) -> dict[str, Any]:
    from bpshell.config import ConfigFile, ConfigStore

    home = Path(tempfile.mkdtemp(prefix="bpbench-config-"))
    pairs = [(f"bp_pat_{index:038d}", f"wkspace_{index:026d}") for index in range(PROFILES)]
    write_config(home, file_profiles(pairs, API_URL))
    store = ConfigStore(home, lambda message: None)
    names = sorted(store.load().profiles)

    def switch(config: ConfigFile) -> None:
        config.activeProfile = names[1] if config.activeProfile == names[0] else names[0]

    store.update(switch)  # warm: the first update rewrites the file in bp's own format
    loads, updates, cpu = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        store.load()
        loads.append(time.perf_counter() - started)
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        store.update(switch)
        updates.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    fsync, os.fsync = os.fsync, lambda fd: None  # the disk's work, not the store's
    no_fsync = []
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            store.update(switch)
            no_fsync.append(time.perf_counter() - started)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(20):
            store.update(switch)
        profile.disable()
    finally:
        os.fsync = fsync
    return {
        "bytes": (home / "config.json").stat().st_size,
        "load": loads,
        "update": updates,
        "update_cpu": cpu,
        "update_no_fsync": no_fsync,
        "profile": _hotspots(profile, 20),
    }


def _hotspots(profile: cProfile.Profile, calls: int, top: int = 5) -> list[str]:
    """The functions with the most own time, per call of the profiled operation."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, line, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}" if line else filename
        rows.append((own / calls, f"{function} ({where})"))
    rows.sort(reverse=True)
    return [f"{name} {seconds * 1000:.2f} ms" for seconds, name in rows[:top]]


def completer(repeats: int) -> dict[str, Any]:
    try:
        from prompt_toolkit.completion import CompleteEvent
        from prompt_toolkit.document import Document

        from bpshell.completion import CompletionData, SearchIndex, ShellCompleter
    except ImportError as exc:
        missing(f"bpshell.completion: {exc}")
    pairs = synthetic_workspaces(WORKSPACES)
    builds = []
    for _ in range(max(3, repeats // 4)):
        started = time.perf_counter()
        index = SearchIndex(pairs)
        builds.append(time.perf_counter() - started)
    key = ("default", API_URL)
    try:
        data = CompletionData(
            profiles=SearchIndex([("default", "acme")]),
            profile_urls={"default": API_URL},
            active=key,
            workspaces={key: index},
            api_urls=(API_URL,),
        )
        shell_completer = ShellCompleter(data)
    except TypeError as exc:
        missing(f"bpshell.completion changed its API: {exc}")
    target_id, target_name = pairs[WORKSPACES // 2]
    typed = {
        "id": target_id,
        "name": target_name.split()[1],  # one word: a space would start the next argument
        "miss": "zq9!xv",
    }
    keystrokes: dict[str, list[list[float]]] = {}
    counts: dict[str, list[int]] = {}
    event = CompleteEvent(completion_requested=True)
    for kind, text in typed.items():
        keystrokes[kind], counts[kind] = [], []
        for length in range(1, len(text) + 1):
            line = "login --workspaceId " + text[:length]
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                found = list(shell_completer.get_completions(Document(line, len(line)), event))
                times.append(time.perf_counter() - started)
            keystrokes[kind].append(times)
            counts[kind].append(len(found))
    if counts["id"][-1] < 1:
        missing("the completer offered nothing for a cached workspace ID")
    return {"build": builds, "keystrokes": keystrokes, "counts": counts, "typed": typed}


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def structures() -> dict[str, Any]:
    start = _rss()
    try:
        import prompt_toolkit  # noqa: F401

        from bpshell.completion import SearchIndex
    except ImportError as exc:
        missing(f"bpshell.completion: {exc}")
    imported = _rss()
    index = SearchIndex(synthetic_workspaces(WORKSPACES))
    built = _rss()
    assert len(index) == WORKSPACES
    return {"start": start, "imported": imported, "built": built}


def main(argv: list[str]) -> None:
    name, rest = argv[0], [int(word) for word in argv[1:]]
    probes: dict[str, Callable[..., dict[str, Any]]] = {
        "config_store": config_store,
        "completer": completer,
        "structures": structures,
    }
    print(json.dumps(probes[name](*rest)))


if __name__ == "__main__":
    main(sys.argv[1:])
