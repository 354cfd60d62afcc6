"""Under ``CI=true`` a skipped test fails the run: no guarantee goes untested quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("ci", "status", "says"), [("true", 1, "skipped under CI=true"), ("", 0, "1 skipped")]
)
def test_a_skip_fails_only_under_ci(tmp_path: Path, ci: str, status: int, says: str) -> None:
    (tmp_path / "test_needs_a_tool.py").write_text(
        "import pytest\n\ndef test_needs_a_tool():\n    pytest.skip('the tool is not installed')\n"
    )
    words = ["-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "--rootdir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *words, str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == status, done.stdout + done.stderr
    assert says in done.stdout
