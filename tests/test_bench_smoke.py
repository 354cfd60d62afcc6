"""The benchmark suite runs: one quick scenario end to end, its importtime parser, when it
rebuilds the regular-install venv, and that the configs it writes are those bp writes.

No timing is asserted (machines here are noisy); only that the suite produces its table and
its JSON with a verdict for every row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import installs  # noqa: E402
from harness import hand_written_config, write_config  # noqa: E402
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
         "--install", "current", "--json", str(results)],
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


def _tree(tmp_path: Path) -> Path:
    """A copy of what pip installs from the checkout, plus what it does not."""
    root = tmp_path / "src"
    for relative in installs.installed_files(ROOT):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, root / relative)
    (root / "README.md").write_text("readme\n")
    return root


def test_the_regular_venv_is_named_after_what_pip_installs(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    files = installs.installed_files(root)
    assert Path("pyproject.toml") in files
    assert Path("bpshell/cli.py") in files
    assert Path("bpshell/py.typed") in files
    assert not [f for f in files if "__pycache__" in f.parts or f.suffix == ".pyc"]
    first = installs.source_hash(root)
    (root / "README.md").write_text("another readme\n")
    (root / "bpshell" / "__pycache__").mkdir(exist_ok=True)
    (root / "bpshell" / "__pycache__" / "cli.cpython-311.pyc").write_bytes(b"stale")
    assert installs.source_hash(root) == first  # neither is installed code
    cli = root / "bpshell" / "cli.py"
    cli.write_text(cli.read_text() + "\n# changed\n")
    changed = installs.source_hash(root)
    assert changed != first
    (root / "bpshell" / "new_module.py").write_text("")
    assert installs.source_hash(root) not in (first, changed)
    pyproject = root / "pyproject.toml"
    before = installs.source_hash(root)
    pyproject.write_text(pyproject.read_text() + "\n")
    assert installs.source_hash(root) != before


def _fake_venv(folder: Path, marker: str | None) -> None:
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    (folder / "bin" / "bp").write_text("#!/bin/sh\n")
    if marker is not None:
        (folder / installs.MARKER).write_text(marker + "\n")


def test_a_finished_venv_is_reused_and_a_half_built_one_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, cache = _tree(tmp_path), tmp_path / "cache"
    digest = installs.source_hash(root)
    builds: list[Path] = []

    def build(kind: str, folder: Path, digest: str, root: Path, log: bool) -> None:
        builds.append(folder)
        _fake_venv(folder, digest)

    monkeypatch.setattr(installs, "_build", build)
    _fake_venv(cache / f"regular-{digest}", digest)
    found = installs.get("regular", cache=cache, root=root)
    assert (found.folder, found.built, builds) == (cache / f"regular-{digest}", False, [])
    assert found.bp == (str(cache / f"regular-{digest}" / "bin" / "bp"),)

    (cache / f"regular-{digest}" / installs.MARKER).unlink()  # as if pip had been interrupted
    assert installs.get("regular", cache=cache, root=root).built
    assert builds == [cache / f"regular-{digest}"]

    (root / "bpshell" / "cli.py").write_text("# changed\n")
    changed = installs.get("regular", cache=cache, root=root)
    assert changed.built and changed.folder != cache / f"regular-{digest}"
    assert (cache / f"regular-{digest}").exists()  # used just now: kept


def test_regular_venvs_unused_for_days_are_stale(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for name in ("regular-old", "regular-recent", "regular-current", "editable-old"):
        _fake_venv(cache / name, "x")
    long_ago = time.time() - installs.KEEP_S - 60
    for name in ("regular-old", "regular-current", "editable-old"):
        os.utime(cache / name / installs.MARKER, (long_ago, long_ago))
    assert installs.stale(cache, keep=cache / "regular-current") == [cache / "regular-old"]


def _imports_of_profiles_list(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
    env.update(BP_BOTPRESS_HOME=str(home), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bpshell", "profiles", "list"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-500:]
    assert "prod" in done.stdout
    return done.stderr


CONFIG = {
    "version": 1,
    "activeProfile": "prod",
    "profiles": {
        "prod": {"apiUrl": "https://api.botpress.cloud", "workspaceId": "ws_1", "token": "t"}
    },
}


def test_the_bench_writes_config_json_as_bp_does(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, CONFIG)
    assert (home / "config.json").stat().st_mode & 0o777 == 0o600
    assert " pydantic_core" not in _imports_of_profiles_list(home)  # vouched for: not validated
    hand_written_config(home, CONFIG)
    assert " pydantic_core" in _imports_of_profiles_list(home)  # a hand-written file is
