"""The benchmark suite runs: one quick scenario end to end, and its importtime parser.

No timing is asserted (machines here are noisy); only that the suite produces its table and
its JSON with a verdict for every row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from scenarios.imports import Imported, parse_importtime, summarize  # noqa: E402

REPORT = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 | site
import time:       300 |        300 |     _typing
import time:      1000 |       1300 |   typing
import time:       200 |       1500 | bpshell.cli
import time:      4000 |       4000 |   httpx
"""


def test_quick_config_store_prints_its_table_and_json(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "config_store",
         "--json", str(results)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: a target missed on this machine
    assert "[config_store]" in done.stdout
    rows = json.loads(results.read_text())["rows"]
    assert {row["scenario"] for row in rows} == {"config_store"}
    assert [row["name"] for row in rows] == [
        "load 1,000 profiles",
        "update 1,000 profiles, CPU time",
        "update 1,000 profiles, wall (with fsync)",
        "update 1,000 profiles, wall (fsync stubbed)",
    ]
    assert {row["verdict"] for row in rows} <= {"PASS", "FAIL", "info"}
    assert all(row["samples"] for row in rows)


def test_unknown_scenario_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "nope"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown scenario nope" in done.stderr


def test_parse_importtime() -> None:
    assert parse_importtime(REPORT) == [
        Imported("site", 0, 100, 100),
        Imported("_typing", 2, 300, 300),
        Imported("typing", 1, 1000, 1300),
        Imported("bpshell.cli", 0, 200, 1500),
        Imported("httpx", 1, 4000, 4000),
    ]


def test_summarize_names_what_a_command_must_not_load() -> None:
    row = summarize("bp --version", parse_importtime(REPORT), {"site"}, ("httpx", "pydantic"))
    assert row.verdict == "FAIL"
    assert row.samples == (0.0055,)
    assert row.note == (
        "LOADS httpx; +4 modules: httpx 4.0, typing 1.0, _typing 0.3, bpshell 0.2"
        " (ms, importtime's own figures)"
    )
    assert row.target == "no httpx/pydantic"
