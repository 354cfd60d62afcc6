"""``bp logout``: what it removes (keyring entry, file token, profile), and what it says."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from bpshell.tokens import InMemoryTokens
from tests.conftest import ROOT, Bp, KeyringView, process_env, seed

URL = "https://api.botpress.cloud"
BP_TOKEN_NOTE = (
    "note: BP_TOKEN is set in this environment, so commands still use that token; "
    "bp cannot log it out. Run: unset BP_TOKEN\n"
)


def entries(bp: Bp) -> KeyringView:
    return KeyringView(bp)


def two_profiles(bp: Bp) -> None:
    """``default`` (active, token in the keyring) and ``ci`` (token in the file)."""
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {
                "default": {"apiUrl": URL, "workspaceId": "ws_acme", "workspaceName": "acme"},
                "ci": {"apiUrl": URL, "workspaceId": "ws_initech", "token": BOB_TOKEN},
            },
        },
        {"default": ALICE_TOKEN, "unrelated": "bp_pat_unrelated"},
    )


DEFAULT_LINE = (
    'Logged out of profile "default", workspace acme (ws_acme): '
    "removed its token from the keyring, "
    "its workspace ID and API URL\n"
)
CI_LINE = (
    'Logged out of profile "ci", workspace ws_initech: removed its token from config.json, '
    "its workspace ID and API URL\n"
)
CI_LEFT = {"ci": {"apiUrl": URL, "workspaceId": "ws_initech", "token": BOB_TOKEN}}
DEFAULT_LEFT = {"default": {"apiUrl": URL, "workspaceId": "ws_acme", "workspaceName": "acme"}}


@pytest.mark.parametrize(
    ("words", "out", "active", "profiles", "keyring"),
    [
        pytest.param(
            ("logout",),
            DEFAULT_LINE,
            None,
            CI_LEFT,
            {"unrelated": "bp_pat_unrelated"},
            id="active-profile",
        ),
        pytest.param(
            ("logout", "-p", "ci"),
            CI_LINE,
            "default",
            DEFAULT_LEFT,
            {"default": ALICE_TOKEN, "unrelated": "bp_pat_unrelated"},
            id="named-profile-after",
        ),
        pytest.param(
            ("--profile", "ci", "logout"),
            CI_LINE,
            "default",
            DEFAULT_LEFT,
            {"default": ALICE_TOKEN, "unrelated": "bp_pat_unrelated"},
            id="named-profile-before",
        ),
        pytest.param(
            ("logout", "-p", "default"),
            DEFAULT_LINE,
            None,
            CI_LEFT,
            {"unrelated": "bp_pat_unrelated"},
            id="named-active-profile",
        ),
        pytest.param(
            ("logout", "--all", "-y"),
            DEFAULT_LINE + CI_LINE,
            None,
            {},
            {"unrelated": "bp_pat_unrelated"},
            id="all",
        ),
    ],
)
def test_logout_removes_every_copy_of_the_token(
    bp: Bp,
    words: tuple[str, ...],
    out: str,
    active: str | None,
    profiles: dict[str, Any],
    keyring: dict[str, str],
) -> None:
    two_profiles(bp)
    result = bp(*words)
    # The active profile went and another is left: none is active, and the user is told.
    err = "No active profile; choose one: bp profiles use ci\n" if profiles == CI_LEFT else ""
    assert (result.code, result.out, result.err) == (0, out, err)
    assert bp.config() == {"version": 1, "activeProfile": active, "profiles": profiles}
    assert entries(bp) == keyring


def test_logout_json(bp: Bp) -> None:
    two_profiles(bp)
    result = bp("logout", "--all", "--json", "-y")
    assert (result.code, result.err) == (0, "")
    assert result.json() == {
        "removed": [
            {
                "profile": "default",
                "workspaceId": "ws_acme",
                "tokenStorage": "keyring",
                "tokenRemoved": True,
            },
            {
                "profile": "ci",
                "workspaceId": "ws_initech",
                "tokenStorage": "file",
                "tokenRemoved": True,
            },
        ],
        "left": [],
    }


@pytest.mark.parametrize(
    ("config", "words"),
    [
        pytest.param(None, ("logout",), id="no-config"),
        pytest.param(None, ("logout", "--all"), id="no-config-all"),
        pytest.param(None, ("logout", "-p", "prod"), id="no-config-named"),
        pytest.param(
            {"version": 1, "activeProfile": None, "profiles": {}}, ("logout",), id="empty-config"
        ),
        pytest.param(
            {
                "version": 1,
                "activeProfile": "gone",
                "profiles": {"other": {"apiUrl": URL, "workspaceId": "ws_acme"}},
            },
            ("logout",),
            id="active-profile-missing",
        ),
        pytest.param(
            {
                "version": 1,
                "activeProfile": None,
                "profiles": {"other": {"apiUrl": URL, "workspaceId": "ws_acme"}},
            },
            ("logout", "-p", "prod"),
            id="unknown-named",
        ),
    ],
)
def test_nothing_to_remove_is_a_quiet_success(
    bp: Bp, config: dict[str, Any] | None, words: tuple[str, ...]
) -> None:
    before = seed(bp, config) if config is not None else None
    result = bp(*words)
    assert (result.code, result.out, result.err) == (0, "", "Not logged in; nothing to remove.\n")
    if before is None:
        assert not bp.home.exists()
    else:
        assert bp.config()["profiles"] == config["profiles"]  # type: ignore[index]


def test_logout_with_bp_token_set_points_at_the_variable(bp: Bp) -> None:
    two_profiles(bp)
    result = bp("logout", env={"BP_TOKEN": ALICE_TOKEN})
    assert (result.code, result.out) == (0, DEFAULT_LINE)
    assert result.err == "No active profile; choose one: bp profiles use ci\n" + BP_TOKEN_NOTE
    assert entries(bp) == {"unrelated": "bp_pat_unrelated"}


def test_logout_with_only_bp_token_set(bp: Bp) -> None:
    result = bp("logout", env={"BP_TOKEN": ALICE_TOKEN})
    assert (result.code, result.out, result.err) == (0, "", BP_TOKEN_NOTE)


def test_logout_when_the_keyring_fails_says_so_and_exits_1(home: Path) -> None:
    bp = Bp(home, tokens=InMemoryTokens(broken="the keyring did not answer within 3 s"))
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {"default": {"apiUrl": URL, "workspaceId": "ws_acme"}},
        },
    )
    result = bp("logout")
    assert (result.code, result.out) == (
        1,
        'Logged out of profile "default", workspace ws_acme: removed its workspace ID and API URL; '
        "its token is still in the keyring\n",
    )
    assert result.err == (
        'warning: the token of profile "default" is still in the keyring '
        "(the keyring did not answer within 3 s); bp removes it at the next login or logout "
        "once the keyring answers, or remove it now with: "
        "secret-tool clear service botpress-cli username default\n"
    )
    # What a retry needs stays in the file: the next logout, keyring back, removes the token.
    assert bp.config() == {
        "version": 1,
        "activeProfile": None,
        "profiles": {},
        "staleKeyringEntries": ["default"],
    }
    bp.tokens.broken = None  # type: ignore[attr-defined]
    bp.tokens.entries["default"] = ALICE_TOKEN  # type: ignore[attr-defined]
    again = bp("logout")
    assert (again.code, again.out, again.err) == (0, "", "Not logged in; nothing to remove.\n")
    assert bp.tokens.entries == {}  # type: ignore[attr-defined]
    assert bp.config() == {"version": 1, "activeProfile": None, "profiles": {}}


def test_logout_then_active_says_not_logged_in(bp: Bp) -> None:
    two_profiles(bp)
    assert bp("logout", "--all", "-y").code == 0
    result = bp("profiles", "active")
    assert (result.code, result.out, result.err) == (1, "", "Not logged in. Run: bp login\n")


def test_logout_removes_the_keyring_token_a_file_fallback_login_left(
    home: Path, sandbox: Sandbox
) -> None:
    """The keyring was down at the second login (its token went to the file); it is back
    at logout, which removes both copies."""
    store = InMemoryTokens()
    bp = Bp(home, tokens=store)
    login = ("login", "--token", "-", "--apiUrl", sandbox.url, "-y")
    assert bp(*login, "--workspaceId", "ws_acme", stdin=ALICE_TOKEN).code == 0
    store.broken = "the keyring did not answer within 3 s"
    assert bp(*login, "--workspaceId", "ws_initech", stdin=BOB_TOKEN).code == 0
    assert list(store.entries.values()) == [ALICE_TOKEN]
    store.broken = None
    result = bp("logout")
    assert (result.code, result.err) == (0, "")
    assert store.entries == {}
    assert bp.config() == {"version": 1, "activeProfile": None, "profiles": {}}


def test_logout_points_at_the_official_clis_plain_text_copy(bp: Bp) -> None:
    two_profiles(bp)
    cache = {"apiUrl": URL, "token": ALICE_TOKEN, "workspaceId": "ws_acme"}
    (bp.home / "global.cache.json").write_text(json.dumps(cache))
    result = bp("logout")
    assert result.code == 0
    assert result.err == (
        f"note: {bp.home / 'global.cache.json'} (the official Botpress CLI's file) still holds "
        'the token of profile "default" in plain text; delete its "token" field there, or log '
        "out with the official CLI too\n"
        "No active profile; choose one: bp profiles use ci\n"
    )


def test_logout_all_asks_on_a_terminal_and_refuses_without_one(bp: Bp) -> None:
    two_profiles(bp)
    before = bp.config_bytes()
    declined = bp("logout", "--all", interactive=True, answers=[False])
    assert (declined.code, declined.out, declined.err) == (1, "Nothing was removed.\n", "")
    refused = bp("logout", "--all")
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == (
        "No terminal to ask: Log out of 2 profiles (ci, default)? Pass -y to answer yes\n"
    )
    assert bp.config_bytes() == before
    agreed = bp("logout", "--all", interactive=True, answers=[True])
    assert agreed.code == 0
    assert bp.config()["profiles"] == {}


@pytest.mark.parametrize(
    ("names", "listed"),
    [
        (["awol", "bob", "default", "zed"], "4 profiles (awol, bob, default, zed)"),
        (["awol", "bob", "default", "yan", "zed"], "5 profiles (awol, bob, default, …)"),
    ],
)
def test_logout_all_names_up_to_four_profiles(bp: Bp, names: list[str], listed: str) -> None:
    """A fourth name fits where "…" would; past four, the first three stand for them all."""
    profiles = {n: {"apiUrl": URL, "workspaceId": "ws_acme", "token": ALICE_TOKEN} for n in names}
    seed(bp, {"version": 1, "activeProfile": "default", "profiles": profiles})
    refused = bp("logout", "--all")
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == f"No terminal to ask: Log out of {listed}? Pass -y to answer yes\n"


def test_logout_all_asks_in_a_real_terminal(bp: Bp) -> None:
    """On a pty the question is asked (the run without a network wait still gets a loop for
    the prompt), a no keeps every profile, and a yes removes them."""
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {
                "default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": ALICE_TOKEN},
                "ci": {"apiUrl": URL, "workspaceId": "ws_initech", "token": BOB_TOKEN},
            },
        },
    )
    before = bp.config_bytes()
    for answer, status in (("n", 1), ("y", 0)):
        child = pexpect.spawn(
            sys.executable, ["-m", "bpshell", "logout", "--all"],
            env=process_env(bp.home, {"TERM": "dumb", "PROMPT_TOOLKIT_NO_CPR": "1"}),
            cwd=str(ROOT), encoding="utf-8", timeout=30, dimensions=(30, 120),
        )  # fmt: skip
        try:
            child.expect_exact("Log out of 2 profiles (ci, default)? [y/N] ")
            child.send(f"{answer}\r")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == status, child.before
        if answer == "n":
            assert "Nothing was removed." in (child.before or "")
            assert bp.config_bytes() == before
    assert bp.config()["profiles"] == {}
