"""``bp login`` against the sandbox over loopback: every path, and failures that write nothing."""

from __future__ import annotations

import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, EXPIRED_TOKEN, Sandbox
from tests.conftest import Bp


def login(bp: Bp, sandbox: Sandbox, *extra: str, token: str = ALICE_TOKEN, **kw: object):
    return bp("login", "--token", "-", "--apiUrl", sandbox.url, *extra, stdin=token, **kw)  # type: ignore[arg-type]


def test_login_with_token_on_stdin_saves_and_activates(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y")
    assert result.code == 0, result.err
    assert result.out == 'Logged in to workspace acme (ws_acme) as alice@example.com — profile "default"\n'
    assert bp.config() == {
        "version": 1,
        "activeProfile": "default",
        "profiles": {
            "default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "workspaceName": "acme"}
        },
    }
    assert bp.tokens.entries == {"default": ALICE_TOKEN}  # type: ignore[attr-defined]


def test_login_verifies_token_and_workspace_at_the_same_time(bp: Bp, sandbox: Sandbox) -> None:
    sandbox.set_latency(300)
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    assert sandbox.stats.max_in_flight == 2


@pytest.mark.parametrize(
    ("token", "workspace", "message"),
    [
        (EXPIRED_TOKEN, "ws_acme", "The token is invalid or expired. Make a new one at https://app.botpress.cloud/profile/tokens and run: bp login\n"),
        (BOB_TOKEN, "ws_acme", "Permission denied for workspace ws_acme. This token can use: initech (ws_initech)\n"),
        (BOB_TOKEN, "ws_nope", "Workspace ws_nope was not found or is not accessible with this token. This token can use: initech (ws_initech)\n"),
    ],
)
def test_rejected_login_writes_nothing(bp: Bp, sandbox: Sandbox, token: str, workspace: str, message: str) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    before = bp.config_bytes()
    result = login(bp, sandbox, "--workspaceId", workspace, "-y", token=token)
    assert (result.code, result.out, result.err) == (1, "", message)
    assert bp.config_bytes() == before
    assert bp.tokens.entries == {"default": ALICE_TOKEN}  # type: ignore[attr-defined]


def test_missing_workspace_when_not_interactive_lists_workspaces(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "-y", token=BOB_TOKEN)
    assert result.code == 2
    assert result.err == "No workspace given. Pass --workspaceId ID; this token can use: initech (ws_initech)\n"
    assert bp.config_bytes() is None


def test_relogin_with_new_workspace_reuses_stored_token(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    result = bp("login", "--workspaceId", "ws_globex", "-y")
    assert result.code == 0, result.err
    assert "Globex Corp (ws_globex)" in result.out
    assert bp.config()["profiles"]["default"]["workspaceId"] == "ws_globex"


def test_interactive_login_asks_hidden_token_and_picks_workspace(bp: Bp, sandbox: Sandbox) -> None:
    result = bp(
        "login", "--apiUrl", sandbox.url, interactive=True, answers=[ALICE_TOKEN, "ws_globex"]
    )
    assert result.code == 0, result.err
    assert bp.browsed == ["https://app.botpress.cloud/profile/tokens"]
    assert bp.config()["profiles"]["default"]["workspaceId"] == "ws_globex"
