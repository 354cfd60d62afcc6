"""Run the bpshell benchmark suite and print one table (see bench/README.md).

Each scenario measures its own baseline in the same run (``python -c pass``, the 1-profile
verification, ``import prompt_toolkit``…) and judges ratios against the issue's targets. Exit
status: 0 every target met, 1 a target missed or a scenario broke, 2 bad arguments.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the bench's own bpshell

import installs
from harness import ROOT, Bench, BenchError, Row, Unavailable, unavailable
from scenarios import SCENARIOS
from scenarios.official import find_official

RESULTS = ROOT / "bench" / "results" / "last.json"
HEADERS = ("scenario", "median", "min", "max", "ratio", "floor", "target", "result", "")
# What the editable install repeats, for information: the scenarios timing bp's start.
EDITABLE_PASS = ("startup", "official")
JUDGED = ("regular", "current")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    only = [name for item in args.only for name in item.split(",") if name]
    unknown = [name for name in only if name not in SCENARIOS]
    if unknown:
        print(
            f"run.py: unknown scenario {unknown[0]}; choose from {', '.join(SCENARIOS)}",
            file=sys.stderr,
        )
        return 2
    repeats = args.repeat or (3 if args.quick else 7)
    kinds: tuple[str, ...] = (args.install,)
    if args.install == "both":
        wanted = [name for name in EDITABLE_PASS if not only or name in only]
        kinds = ("regular", "editable") if wanted else ("regular",)
    try:
        found = [installs.get(kind) for kind in kinds]
    except (installs.InstallError, OSError) as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 1
    first = Bench(
        repeats=repeats, quick=args.quick, official=find_official(args.official), install=found[0]
    )
    started = time.perf_counter()
    rows: list[Row] = []
    try:
        for index, install in enumerate(found):
            bench = first if index == 0 else first.share(install)
            names = [n for n in SCENARIOS if (not only or n in only)]
            if index:
                names = [n for n in names if n in EDITABLE_PASS]
            rows.extend(_pass(bench, names))
            first.sandbox_of(bench)
    finally:
        first.close()
    took = time.perf_counter() - started
    print(machine(first, found, repeats, took))
    print(table(rows))
    _save(Path(args.json) if args.json else RESULTS, rows, first, found, repeats, took)
    return 1 if any(row.verdict in ("FAIL", "ERROR") for row in rows) else 0


def _pass(bench: Bench, names: Sequence[str]) -> list[Row]:
    """The scenarios ``names`` on one install; its rows information only unless it is judged."""
    kind = bench.install.kind
    rows: list[Row] = []
    for name in names:
        label = name if kind in JUDGED else f"{name} ({kind})"
        print(f"bench: {label}…", end="", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        got = _guarded(name, SCENARIOS[name], bench)
        rows.extend(got if kind in JUDGED else [row.demoted(label) for row in got])
        print(f" {time.perf_counter() - begun:.0f} s", file=sys.stderr, flush=True)
    return rows


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 timed runs, fewer variants")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help=f"run only these (repeat or comma-separate): {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--repeat", type=int, metavar="N", help="timed runs per command (7)")
    parser.add_argument(
        "--official",
        metavar="PATH",
        help="the official CLI's bp (default: $BP_OFFICIAL_CLI, then node_modules/.bin/bp "
        "in /tmp/bench-npm, .ci/node, the repository, ~/.cache/bpshell-bench)",
    )
    parser.add_argument(
        "--install",
        choices=("both", *installs.KINDS),
        default="both",
        help="which install of bpshell runs: regular (pip install ., judged), editable (pip "
        "install -e, information only), both (default: regular, then the start-up scenarios "
        f"on the editable one), current (this interpreter, PYTHONPATH={ROOT}); venvs are "
        f"built in {installs.CACHE}",
    )
    parser.add_argument("--json", metavar="FILE", help=f"write results here (default {RESULTS})")
    return parser


def _guarded(name: str, scenario: object, bench: Bench) -> list[Row]:
    try:
        return scenario(bench)  # type: ignore[operator, no-any-return]
    except Unavailable as exc:
        return [unavailable(name, name, str(exc))]
    except BenchError as exc:
        return [Row(name, name, "", (), None, "", "ERROR", str(exc))]
    except Exception as exc:  # a broken scenario must not hide the others' figures
        where = traceback.extract_tb(exc.__traceback__)[-1]
        note = f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
        return [Row(name, name, "", (), None, "", "ERROR", note)]


def _value(row: Row, value: float | None) -> str:
    if value is None:
        return "-"
    if row.unit == "ms":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.1f} s"
    if row.unit == "MB":
        return f"{value / 2**20:.1f} MB"
    return f"{value:g}{(' ' + row.unit) if row.unit else ''}"


def table(rows: Sequence[Row]) -> str:
    """The results as an aligned text table; notes as numbered footnotes under it."""
    lines: list[list[str]] = [list(HEADERS)]
    notes: list[str] = []
    scenario = None
    for row in rows:
        if row.scenario != scenario:
            scenario = row.scenario
            lines.append([f"[{scenario}]", "", "", "", "", "", "", "", ""])
        mark = ""
        if row.note:
            notes.append(row.note)
            mark = f"({len(notes)})"
        samples = row.samples
        lines.append(
            [
                "  " + row.name,
                _value(row, row.median),
                _value(row, min(samples)) if len(samples) > 1 else "",
                _value(row, max(samples)) if len(samples) > 1 else "",
                f"{row.ratio:.2f}x" if row.ratio is not None else "",
                f"{row.floor:.2f}x" if row.floor is not None else "",
                row.target,
                row.verdict,
                mark,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    right = {1, 2, 3, 4, 5}
    out = []
    for line in lines:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    out.append("")
    out.extend(f"({index}) {note}" for index, note in enumerate(notes, 1))
    return "\n".join(out)


def machine(bench: Bench, found: Sequence[installs.Install], repeats: int, took: float) -> str:
    """One paragraph on where and how the figures were taken."""
    cpu = "unknown CPU"
    with_cpu = Path("/proc/cpuinfo")
    if with_cpu.exists():
        for line in with_cpu.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    if Path("/proc/meminfo").exists():
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.1f} GiB RAM"
    node = _node_version() if bench.official else None
    official = (
        f"official CLI: {' '.join(bench.official)} (node {node})"
        if bench.official
        else ("official CLI: not found")
    )
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"Machine: {cpu}, {os.cpu_count()} cores{memory}; {platform.platform()}; "
        f"load average {load} (1/5/15 min, at the end)",
        f"Python {platform.python_version()} ({installs.base_python()}); {official}",
    ]
    for install in found:
        judged = "judged" if install.kind in JUDGED else "information only"
        lines.append(f"Install {install.describe()}: {' '.join(install.bp)} [{judged}]")
    lines.append(
        f"{repeats} timed runs per command after 1 warm-up; .pyc caching on "
        f"(PYTHONDONTWRITEBYTECODE unset for the runs); suite took {took:.0f} s; "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    return "\n".join(lines) + "\n"


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "?"
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def _save(
    path: Path,
    rows: Sequence[Row],
    bench: Bench,
    found: Sequence[installs.Install],
    repeats: int,
    took: float,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "machine": machine(bench, found, repeats, took),
        "installs": [
            {"kind": i.kind, "python": i.python, "bp": list(i.bp), "folder": str(i.folder or "")}
            for i in found
        ],
        "repeats": repeats,
        "rows": [row.to_json() for row in rows],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"results written to {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
