"""The pickers in a real terminal: login's workspace picker and ``profiles use``'s.

They show aligned columns (display widths: wide characters take two), say what an answer
may be, and a list longer than the screen shows what fits and filters the rest as one types.
"""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
from wcwidth import wcswidth

from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.shell_helpers import Terminal

HINT = "Type a number, or part of a name or ID (Tab completes)"


def test_the_workspace_picker_shows_what_fits_and_filters_the_rest(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """alice's token can use 47 workspaces; a 24-line terminal shows 12 and says so."""
    words = ("login", "--apiUrl", sandbox.url, "--insecure-storage")
    with Terminal(tmp_path / "home", *words, env={"BP_TOKEN": ALICE_TOKEN}) as term:
        term.child.expect_exact("Workspace:")
        lines = term.lines()
        first = lines.index("   1  acme         ws_acme")
        assert lines[first : first + 14] == [
            "   1  acme         ws_acme",
            "   2  Globex Corp  ws_globex",
            *(f"  {n + 2:>2}  Team {n:02}      ws_team{n:02}" for n in range(1, 11)),
            "  … 35 more: type part of a name or ID to filter them",
            HINT,
        ]
        assert "Team 45" not in term.screen.getvalue()

        term.child.send("team 4")
        term.child.expect_exact("Team 45")  # in the completion menu, beside its ID
        term.child.expect_exact("ws_team45")
        term.child.send("5\r")
        term.child.expect_exact("Logged in to workspace Team 45 (ws_team45) as alice@example.com")
        term.child.expect(pexpect.EOF)


def test_a_number_picks_a_row_even_one_not_shown(tmp_path: Path, sandbox: Sandbox) -> None:
    words = ("login", "--apiUrl", sandbox.url, "--insecure-storage")
    with Terminal(tmp_path / "home", *words, env={"BP_TOKEN": ALICE_TOKEN}, rows=16) as term:
        term.child.expect_exact("Workspace:")
        assert "  … 43 more: type part of a name or ID to filter them" in term.lines()
        term.child.send("47\r")
        term.child.expect_exact("Logged in to workspace Team 45 (ws_team45)")
        term.child.expect(pexpect.EOF)


def _seed(home: Path, url: str) -> None:
    home.mkdir(mode=0o700)
    profiles = {
        "default": ("ws_acme", "acme"),
        "prod-eu-west": ("ws_globex", "Globex Corp"),
        "tokyo": ("ws_tokyo", "東京チーム"),
    }
    config = {
        "version": 1,
        "activeProfile": "default",
        "profiles": {
            name: {"apiUrl": url, "workspaceId": wid, "workspaceName": wname, "token": "bp_pat_x"}
            for name, (wid, wname) in profiles.items()
        },
    }
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)


def test_the_profile_picker_aligns_wide_names(tmp_path: Path, sandbox: Sandbox) -> None:
    home = tmp_path / "home"
    _seed(home, sandbox.url)
    with Terminal(home, "profiles", "use") as term:
        term.child.expect_exact("Profile to use [default]:")
        lines = term.lines()
        first = next(i for i, line in enumerate(lines) if line.startswith("  1  default"))
        rows = lines[first : first + 3]
        assert rows == [
            "  1  default       acme         ws_acme    (current)",
            "  2  prod-eu-west  Globex Corp  ws_globex",
            "  3  tokyo         東京チーム   ws_tokyo",
        ]
        assert {wcswidth(row[: row.index("ws_")]) for row in rows} == {32}
        assert lines[first + 3] == HINT

        term.child.send("東京\r")
        term.child.expect_exact('Active profile is now "tokyo", workspace 東京チーム (ws_tokyo)')
        term.child.expect(pexpect.EOF)
