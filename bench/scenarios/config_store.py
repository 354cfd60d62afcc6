"""The config store over 1,000 profiles: read, and read-modify-write (a ``profiles use``).

Measured in-process (``probe.py config_store``), so the figure is the store's own work and not
the interpreter's start. Target (issue): read and rewrite in under 10 ms of its own work,
judged on the CPU time of ``update`` (lock, load, validate, serialise, write); the wall time
also waits for the disk (fsync of the file and its folder) and is shown beside it.
"""

from __future__ import annotations

from harness import Bench, Row, info, judged

NAME = "config_store"
LIMIT_S = 0.010


def run(bench: Bench) -> list[Row]:
    repeats = 20 if bench.quick else 60
    found = bench.probe("config_store", str(repeats))
    size = f"{found['bytes'] / 1024:.0f} KiB config.json"
    hot = "; ".join(found["profile"])
    return [
        info(NAME, "load 1,000 profiles", found["load"], note=size),
        judged(
            NAME,
            "update 1,000 profiles, CPU time",
            found["update_cpu"],
            limit=LIMIT_S,
            target="< 10 ms",
            note=f"own time per update by function, cProfile (inflated): {hot}",
        ),
        info(NAME, "update 1,000 profiles, wall (with fsync)", found["update"]),
        info(NAME, "update 1,000 profiles, wall (fsync stubbed)", found["update_no_fsync"]),
    ]
