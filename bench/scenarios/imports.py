"""What the offline commands import, by ``python -X importtime`` (one run after a warm-up).

A path fails when it loads httpx, keyring, anyio, prompt_toolkit or pydantic (config.json is
written by bpshell's store, so its lock vouches for the bytes and no validator is needed). One
more row (information) reads a hand-written config.json, which pydantic_core validates. The
figure is the import time ``bp`` adds to a bare interpreter as importtime reports it (its own
bookkeeping inflates it); the note names the costliest imports and what of pydantic and
asyncio was loaded.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness import Bench, BenchError, Row

from scenarios.startup import COMMANDS, offline_home

NAME = "imports"
FORBIDDEN = ("httpx", "keyring", "anyio", "prompt_toolkit")
OFFLINE_FORBIDDEN = (*FORBIDDEN, "pydantic", "pydantic_core")
SHORT = {"prompt_toolkit": "ptk", "pydantic_core": "pydantic"}


@dataclass(frozen=True)
class Imported:
    """One module of an importtime report: its depth, own and cumulative microseconds."""

    name: str
    depth: int
    own_us: int
    cumulative_us: int


def parse_importtime(text: str) -> list[Imported]:
    """The modules of a ``-X importtime`` report, in the order it lists them."""
    found: list[Imported] = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        head, cumulative, raw = line.split("|", 2)
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        own = int(head.split(":")[1])
        found.append(Imported(raw.strip(), depth, own, int(cumulative)))
    return found


def importtime(
    bench: Bench, words: Sequence[str], env: dict[str, str], prepare: Callable[[], None]
) -> list[Imported]:
    """The importtime report of one run of ``bp WORDS`` (after an untimed warm-up run);
    ``prepare`` runs before each."""
    script = bench.bp
    head = [bench.python, "-X", "importtime"]
    argv = [*head, *script[1:], *words] if script[0] == bench.python else [*head, *script, *words]
    for _ in range(2):
        prepare()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    if done.returncode != 0 and words[:1] != ("__complete",):
        raise BenchError(f"{' '.join(words)}: exit {done.returncode}")
    return parse_importtime(done.stderr)


def _top(name: str) -> str:
    return name.split(".")[0]


def summarize(
    label: str, modules: list[Imported], startup: set[str], forbidden: Sequence[str]
) -> Row:
    """Compare a command's imports with a bare interpreter's: time added, costliest packages."""
    added = [m for m in modules if m.name not in startup]
    by_package: dict[str, int] = {}
    for module in added:
        by_package[_top(module.name)] = by_package.get(_top(module.name), 0) + module.own_us
    total_s = sum(by_package.values()) / 1e6
    bad = sorted(set(by_package) & set(forbidden))
    costly = sorted(by_package.items(), key=lambda item: -item[1])[:5]
    parts = [f"+{len(added)} modules: " + ", ".join(f"{n} {us / 1000:.1f}" for n, us in costly)]
    pydantic = [m for m in added if _top(m.name) in ("pydantic", "pydantic_core")]
    if pydantic:
        plugin = any(m.name == "pydantic.plugin._loader" for m in pydantic)
        parts.append(
            f"pydantic {len(pydantic)} modules"
            + (" incl. plugin entry-point scan" if plugin else "")
        )
    if bad:
        parts.insert(0, "LOADS " + ", ".join(bad))
    shown = dict.fromkeys(SHORT.get(name, name) for name in forbidden)
    return Row(
        NAME,
        f"imports: {label}",
        "ms",
        (total_s,),
        None,
        "no " + "/".join(shown),
        "FAIL" if bad else "PASS",
        "; ".join(parts) + " (ms, importtime's own figures)",
    )


def run(bench: Bench) -> list[Row]:
    home, reset = offline_home(bench)
    env = bench.env(home)
    startup = {m.name for m in importtime_bare(bench, env)}
    rows = []
    for command in COMMANDS:
        modules = importtime(bench, command.words, env, reset)
        rows.append(summarize(command.label, modules, startup, OFFLINE_FORBIDDEN))
    by_hand, rewrite = offline_home(bench, by_hand=True)
    modules = importtime(bench, ("profiles", "list"), bench.env(by_hand), rewrite)
    row = summarize("bp profiles list (hand-written)", modules, startup, FORBIDDEN)
    rows.append(row.demoted(NAME) if row.verdict == "PASS" else row)
    return rows


def importtime_bare(bench: Bench, env: dict[str, str]) -> list[Imported]:
    done = subprocess.run(
        [bench.python, "-X", "importtime", "-c", "pass"], capture_output=True, text=True, env=env
    )
    return parse_importtime(done.stderr)
