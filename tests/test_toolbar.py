"""The prompt and the bottom toolbar as text: what each state shows, and what a narrow
window keeps (the ✓/✗ status first)."""

from __future__ import annotations

import pytest

from bpshell.toolbar import Auth, View, toolbar_text

URL = "http://127.0.0.1:8080"
VIEW = View("default", "ws_acme", "acme", URL)
OK = Auth("ok", "alice@example.com")
REJECTED = Auth("failed", "the token is invalid or expired")


def test_a_wide_window_shows_everything() -> None:
    assert toolbar_text(VIEW, OK, width=200) == (
        f"profile default │ workspace acme (ws_acme) │ {URL} │ ✓ authenticated as alice@example.com"
    )
    assert toolbar_text(VIEW, OK) == toolbar_text(VIEW, OK, width=200)


@pytest.mark.parametrize(
    ("width", "auth", "expected"),
    [
        (90, OK, f"profile default │ workspace acme (ws_acme) │ {URL} │ ✓ alice@example.com"),
        (70, OK, "profile default │ workspace acme (ws_acme) │ ✓ alice@example.com"),
        (40, OK, "profile default │ ✓ alice@example.com"),
        (30, OK, "✓ alice@example.com"),
        (19, OK, "✓ alice@example.com"),
        (10, OK, "✓ alice@e…"),
        (40, REJECTED, "✗ the token is invalid or expired"),
        (60, REJECTED, "profile default │ ✗ the token is invalid or expired"),
        (20, REJECTED, "✗ the token is inva…"),
        (40, Auth("checking"), "profile default │ checking…"),
    ],
)
def test_a_narrow_window_keeps_the_status(width: int, auth: Auth, expected: str) -> None:
    shown = toolbar_text(VIEW, auth, width=width)
    assert shown == expected
    assert len(shown) <= width


def test_wide_characters_count_twice() -> None:
    view = View("默认", "ws_acme", "工作区", URL)
    shown = toolbar_text(view, OK, width=40)
    assert shown == "profile 默认 │ ✓ alice@example.com"


def test_a_notice_stays_before_the_rest_is_cut() -> None:
    notice = "fetching workspaces of prod…"
    assert toolbar_text(VIEW, OK, notice=notice, width=200) == (
        f"profile default │ workspace acme (ws_acme) │ {URL} │ {notice} │ "
        "✓ authenticated as alice@example.com"
    )
    assert toolbar_text(VIEW, OK, notice=notice, width=70) == (
        f"profile default │ {notice} │ ✓ alice@example.com"
    )
    assert toolbar_text(VIEW, OK, notice=notice, width=50) == f"{notice} │ ✓ alice@example.com"
    assert toolbar_text(VIEW, OK, notice=notice, width=40) == (
        "fetching workspac… │ ✓ alice@example.com"
    )


def test_not_logged_in_in_a_narrow_window() -> None:
    assert toolbar_text(View(), Auth(), width=30) == "not logged in (run: login)"
    assert toolbar_text(View(), Auth(), sandbox=True, width=40) == (
        "SANDBOX │ not logged in (run: login)"
    )
    assert toolbar_text(View(), Auth(), width=20) == "not logged in (run:…"


def test_a_workspace_without_a_name_is_its_bare_id() -> None:
    """``workspace ws_acme``, not ``workspace (ws_acme)`` with nothing before the brackets."""
    view = View("default", "ws_acme", None, URL)
    assert toolbar_text(view, OK, width=200) == (
        f"profile default │ workspace ws_acme │ {URL} │ ✓ authenticated as alice@example.com"
    )
