"""``bp login`` against the sandbox over loopback: every path, and failures that write nothing."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

import tests.conftest
from bpshell.env import Env
from bpshell.sandbox import (
    ALICE_TOKEN,
    BOB_TOKEN,
    DANA_TOKEN,
    EXPIRED_TOKEN,
    HOOLI_WORKSPACE_ID,
    UMBRELLA_WORKSPACE_ID,
    Sandbox,
)
from bpshell.tokens import InMemoryTokens
from tests.conftest import Bp, KeyringView, Outcome, closed_port_url, seed

TOKENS_PAGE = "https://app.botpress.cloud/profile/tokens"
HINT = (
    "hint: --token - (reads stdin) or BP_TOKEN keeps the token out of shell history "
    "and the process list\n"
)
ALICE_ACME = (
    'Logged in to workspace acme (ws_acme) as alice@example.com (owner) — profile "default"\n'
)


def login(bp: Bp, sandbox: Sandbox, *extra: str, token: str = ALICE_TOKEN, **kw: Any) -> Outcome:
    return bp("login", "--token", "-", "--apiUrl", sandbox.url, *extra, stdin=token, **kw)


def entries(bp: Bp) -> KeyringView:
    return KeyringView(bp)


def profile(url: str, workspace: str, name: str, **more: str) -> dict[str, str]:
    return {"apiUrl": url, "workspaceId": workspace, "workspaceName": name, **more}


def acme_default(url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "activeProfile": "default",
        "profiles": {"default": profile(url, "ws_acme", "acme")},
    }


@pytest.fixture
def short_api_timeout(monkeypatch: pytest.MonkeyPatch) -> float:
    """In-process runs give up on an API call after 0.3 s (``Env.api_timeout``)."""
    monkeypatch.setattr(tests.conftest, "Env", functools.partial(Env, api_timeout=0.3))
    return 0.3


# --- the ways of giving a token ---------------------------------------------------------


def test_login_with_token_on_stdin_saves_and_activates(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out, result.err) == (0, ALICE_ACME, "")
    assert bp.config() == acme_default(sandbox.url)
    assert entries(bp) == {"default": ALICE_TOKEN}


def test_login_verifies_token_and_workspace_at_the_same_time(
    bp: Bp, fresh_sandbox: Sandbox
) -> None:
    """Account, workspace and the caller's role: one round trip of wall time. (A sandbox of
    its own: slow requests of an earlier test on the shared one would count as in flight.)"""
    sandbox = fresh_sandbox
    sandbox.set_latency(300)
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    assert sandbox.stats.max_in_flight == 3


@pytest.mark.parametrize(
    ("words", "environ", "interactive", "err"),
    [
        pytest.param(("--token", ALICE_TOKEN), {}, True, HINT, id="argv-on-a-terminal"),
        pytest.param(("--token", ALICE_TOKEN), {}, False, HINT, id="argv-in-a-script"),
        pytest.param(("--token", ALICE_TOKEN, "-y"), {}, True, "", id="argv-with-y"),
        pytest.param(("--token", ALICE_TOKEN), {"CI": "true"}, False, "", id="argv-in-ci"),
        pytest.param(("--token", ALICE_TOKEN), {"BP_CONFIRM": "1"}, True, "", id="argv-confirm"),
        pytest.param((), {"BP_TOKEN": ALICE_TOKEN}, False, "", id="BP_TOKEN"),
        pytest.param((), {"BP_TOKEN": ALICE_TOKEN}, True, "", id="BP_TOKEN-on-a-terminal"),
    ],
)
def test_token_from_argv_or_environment(
    bp: Bp,
    sandbox: Sandbox,
    words: tuple[str, ...],
    environ: dict[str, str],
    interactive: bool,
    err: str,
) -> None:
    result = bp(
        "login",
        "--apiUrl",
        sandbox.url,
        "--workspaceId",
        "ws_acme",
        *words,
        env=environ,
        interactive=interactive,
    )
    assert (result.code, result.out, result.err) == (0, ALICE_ACME, err)
    assert bp.config() == acme_default(sandbox.url)
    assert entries(bp) == {"default": ALICE_TOKEN}


def test_login_json_result(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "--workspace-id", "ws_globex", "-y", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json() == {
        "profile": "default",
        "workspaceId": "ws_globex",
        "workspaceName": "Globex Corp",
        "apiUrl": sandbox.url,
        "account": "alice@example.com",
        "role": "administrator",
        "tokenStorage": "keyring",
    }


# --- precedence: flag > BP_* > profile ---------------------------------------------------


def test_flags_win_over_bp_variables(bp: Bp, sandbox: Sandbox) -> None:
    environ = {
        "BP_TOKEN": BOB_TOKEN,
        "BP_WORKSPACE_ID": "ws_initech",
        "BP_API_URL": closed_port_url(),
    }
    result = login(bp, sandbox, "--workspaceId", "ws_globex", "-y", env=environ)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Logged in to workspace Globex Corp (ws_globex) as "
        'alice@example.com (administrator) — profile "default"\n'
    )
    assert bp.config()["profiles"] == {"default": profile(sandbox.url, "ws_globex", "Globex Corp")}
    assert entries(bp) == {"default": ALICE_TOKEN}


def test_bp_variables_fill_every_missing_value(bp: Bp, sandbox: Sandbox) -> None:
    environ = {"BP_TOKEN": BOB_TOKEN, "BP_WORKSPACE_ID": "ws_initech", "BP_API_URL": sandbox.url}
    result = bp("login", "-p", "ci", env=environ)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        'Logged in to workspace initech (ws_initech) as bob@example.com (owner) — profile "ci"\n'
    )
    assert bp.config() == {
        "version": 1,
        "activeProfile": "ci",
        "profiles": {"ci": profile(sandbox.url, "ws_initech", "initech")},
    }
    assert entries(bp) == {"ci": BOB_TOKEN}


def test_bp_variables_win_over_the_stored_profile(bp: Bp, sandbox: Sandbox) -> None:
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {"default": profile(closed_port_url(), "ws_initech", "initech")},
        },
        {"default": BOB_TOKEN},
    )
    environ = {"BP_TOKEN": ALICE_TOKEN, "BP_WORKSPACE_ID": "ws_acme", "BP_API_URL": sandbox.url}
    result = bp("login", "-y", env=environ)
    assert (result.code, result.out) == (0, ALICE_ACME)
    assert result.err == (
        'note: profile "default" was on workspace initech (ws_initech); '
        "that login is replaced; to keep both, use another profile: bp login -p NAME\n"
    )
    assert bp.config() == acme_default(sandbox.url)
    assert entries(bp) == {"default": ALICE_TOKEN}


def test_relogin_with_new_workspace_reuses_stored_token(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    result = bp("login", "--workspaceId", "ws_globex")
    assert (result.code, result.err) == (
        0,
        'note: profile "default" was on workspace acme (ws_acme); '
        "that login is replaced; to keep both, use another profile: bp login -p NAME\n",
    )
    assert result.out == (
        "Logged in to workspace Globex Corp (ws_globex) as "
        'alice@example.com (administrator) — profile "default"\n'
    )
    assert bp.config()["profiles"]["default"] == profile(sandbox.url, "ws_globex", "Globex Corp")
    assert entries(bp) == {"default": ALICE_TOKEN}


def test_relogin_of_a_file_stored_token_reuses_it(bp: Bp, sandbox: Sandbox) -> None:
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {"default": profile(sandbox.url, "ws_acme", "acme", token=ALICE_TOKEN)},
        },
    )
    result = bp("login", "--workspaceId", "ws_globex", "--insecure-storage", "-y")
    assert result.code == 0, result.err
    assert bp.config()["profiles"]["default"] == profile(
        sandbox.url, "ws_globex", "Globex Corp", token=ALICE_TOKEN
    )


# --- profiles: -p NAME, and asking before overwriting --------------------------------------


def test_a_login_says_it_made_its_profile_active_when_none_was(bp: Bp, sandbox: Sandbox) -> None:
    """After the active profile was removed, ``login -p X`` still says that X is now active."""
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    assert login(bp, sandbox, "-p", "ci", "--workspaceId", "ws_acme", "-y").code == 0
    assert bp("profiles", "rm", "ci", "-y").code == 0
    result = login(bp, sandbox, "-p", "bob", "--workspaceId", "ws_initech", token=BOB_TOKEN)
    assert (result.code, result.err) == (0, 'Active profile is now "bob"\n')
    assert bp.config()["activeProfile"] == "bob"


def test_named_profile_is_written_and_made_active(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    result = login(bp, sandbox, "-p", "bob", "--workspaceId", "ws_initech", token=BOB_TOKEN)
    assert (result.code, result.err) == (
        0,
        'Active profile is now "bob" (was "default"); switch back with: bp profiles use default\n',
    )
    assert result.out == (
        'Logged in to workspace initech (ws_initech) as bob@example.com (owner) — profile "bob"\n'
    )
    assert bp.config() == {
        "version": 1,
        "activeProfile": "bob",
        "profiles": {
            "default": profile(sandbox.url, "ws_acme", "acme"),
            "bob": profile(sandbox.url, "ws_initech", "initech"),
        },
    }
    assert entries(bp) == {"default": ALICE_TOKEN, "bob": BOB_TOKEN}


def test_declined_overwrite_of_an_existing_profile_writes_nothing(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "-p", "prod", "--workspaceId", "ws_acme", "-y").code == 0
    assert login(bp, sandbox, "-p", "other", "--workspaceId", "ws_acme", "-y").code == 0
    before = bp.config_bytes()
    result = bp(
        "login", "-p", "prod", "--workspaceId", "ws_initech",
        interactive=True, answers=[False], env={"BP_TOKEN": BOB_TOKEN},
    )  # fmt: skip
    assert (result.code, result.out, result.err) == (
        1,
        "Login cancelled; nothing was changed.\n",
        "hint: to keep both logins, use another profile: bp login -p NAME\n",
    )
    assert bp.config_bytes() == before
    assert entries(bp) == {"prod": ALICE_TOKEN, "other": ALICE_TOKEN}


OTHER_ACCOUNT = (
    'Profile "prod" holds a login of another account, on '
    "workspace acme (ws_acme). Replace it with "
    "bob@example.com's?"
)


@pytest.mark.parametrize(
    ("extra", "interactive", "answers"),
    [
        pytest.param((), True, [True], id="confirmed"),
        pytest.param(("-y",), True, [], id="-y-never-asks"),
        pytest.param(("-y",), False, [], id="script-with-y"),
    ],
)
def test_overwrite_with_another_account(
    bp: Bp, sandbox: Sandbox, extra: tuple[str, ...], interactive: bool, answers: list[bool]
) -> None:
    assert login(bp, sandbox, "-p", "prod", "--workspaceId", "ws_acme", "-y").code == 0
    result = bp(
        "login", "-p", "prod", "--workspaceId", "ws_initech", *extra,
        interactive=interactive, answers=answers, env={"BP_TOKEN": BOB_TOKEN},
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == (
        'Logged in to workspace initech (ws_initech) as bob@example.com (owner) — profile "prod"\n'
    )
    assert bp.config()["profiles"] == {"prod": profile(sandbox.url, "ws_initech", "initech")}
    assert entries(bp) == {"prod": BOB_TOKEN}


def test_overwrite_with_another_account_without_a_terminal_is_refused(
    bp: Bp, sandbox: Sandbox
) -> None:
    """No terminal, no -y: the question is not taken as a yes (the seed's two-login recipe)."""
    assert login(bp, sandbox, "-p", "prod", "--workspaceId", "ws_acme", "-y").code == 0
    before = bp.config_bytes()
    result = login(bp, sandbox, "-p", "prod", "--workspaceId", "ws_initech", token=BOB_TOKEN)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"No terminal to ask: {OTHER_ACCOUNT} Pass -y to replace it, or -p NAME to keep both\n"
    )
    assert bp.config_bytes() == before
    assert entries(bp) == {"prod": ALICE_TOKEN}


@pytest.mark.parametrize("interactive", [True, False], ids=["terminal", "script"])
def test_a_login_of_the_same_account_asks_nothing(
    bp: Bp, sandbox: Sandbox, interactive: bool
) -> None:
    assert login(bp, sandbox, "-p", "prod", "--workspaceId", "ws_acme", "-y").code == 0
    result = bp(
        "login", "-p", "prod", "--workspaceId", "ws_globex",
        interactive=interactive, env={"BP_TOKEN": ALICE_TOKEN},
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == (
        "Logged in to workspace Globex Corp (ws_globex) as "
        'alice@example.com (administrator) — profile "prod"\n'
    )
    assert result.err.endswith(
        'note: profile "prod" was on workspace acme (ws_acme); '
        "that login is replaced; to keep both, use another profile: bp login -p NAME\n"
    )
    assert bp.config()["profiles"] == {"prod": profile(sandbox.url, "ws_globex", "Globex Corp")}


# --- interactive login -----------------------------------------------------------------


def test_interactive_login_asks_hidden_token_and_picks_workspace(bp: Bp, sandbox: Sandbox) -> None:
    result = bp(
        "login", "--apiUrl", sandbox.url, interactive=True, answers=[ALICE_TOKEN, "ws_globex"]
    )
    assert (result.code, result.err) == (0, f"Create a Personal Access Token at {TOKENS_PAGE}\n")
    assert result.out == (
        "Logged in to workspace Globex Corp (ws_globex) as "
        'alice@example.com (administrator) — profile "default"\n'
    )
    assert bp.browsed == [TOKENS_PAGE]
    assert bp.config()["profiles"]["default"] == profile(sandbox.url, "ws_globex", "Globex Corp")
    assert entries(bp) == {"default": ALICE_TOKEN}


def test_interactive_picker_is_offered_every_workspace_of_the_token(
    bp: Bp, sandbox: Sandbox
) -> None:
    offered: list[tuple[str, str]] = []

    def pick(choices: list[tuple[str, str]]) -> str:
        offered.extend(choices)
        return "ws_team45"

    result = bp("login", "--apiUrl", sandbox.url, interactive=True, answers=[ALICE_TOKEN, pick])
    assert result.code == 0, result.err
    assert len(offered) == 47
    assert offered[:3] == [
        ("ws_acme", "acme"),
        ("ws_globex", "Globex Corp"),
        ("ws_team01", "Team 01"),
    ]
    assert bp.config()["profiles"]["default"]["workspaceId"] == "ws_team45"


def test_interactive_login_without_browser_prints_the_token_page(bp: Bp, sandbox: Sandbox) -> None:
    result = bp(
        "login",
        "--apiUrl",
        sandbox.url,
        "--no-browser",
        interactive=True,
        answers=["not a token", BOB_TOKEN],
    )
    assert (result.code, result.out) == (
        0,
        "Logged in to workspace initech (ws_initech) as "
        'bob@example.com (owner) — profile "default"\n',
    )
    assert result.err == (
        f"Create a Personal Access Token at {TOKENS_PAGE}\n"
        "invalid token: a token is 1-4096 printable ASCII characters without spaces\n"
        "Using the token's only workspace, initech (ws_initech)\n"
    )
    assert bp.browsed == []


def test_interactive_relogin_keeps_the_stored_token_on_enter(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    result = bp("login", interactive=True, answers=["", "ws_globex"])
    assert (result.code, result.err) == (
        0,
        'note: profile "default" was on workspace acme (ws_acme); '
        "that login is replaced; to keep both, use another profile: bp login -p NAME\n",
    )
    assert bp.config()["profiles"]["default"]["workspaceId"] == "ws_globex"
    assert entries(bp) == {"default": ALICE_TOKEN}
    assert bp.browsed == []


# --- missing and invalid input: exit 2, nothing written, nothing sent ---------------------


def test_missing_token_when_not_interactive(bp: Bp, sandbox: Sandbox) -> None:
    result = bp("login", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "No token given. Pass --token - (reads stdin) or set BP_TOKEN; "
        f"make a token at {TOKENS_PAGE}\n"
    )
    assert bp.config_bytes() is None
    assert sandbox.stats.total == 0


@pytest.mark.parametrize(
    ("token", "err"),
    [
        (
            ALICE_TOKEN,
            "No workspace given. Pass --workspaceId ID; this token can use: acme (ws_acme), "
            "Globex Corp (ws_globex), Team 01 (ws_team01), Team 02 (ws_team02), "
            "Team 03 (ws_team03), Team 04 (ws_team04), Team 05 (ws_team05), "
            "Team 06 (ws_team06), Team 07 (ws_team07), Team 08 (ws_team08), … (47 in all)\n",
        ),
        (
            DANA_TOKEN,
            "No workspace given. Pass --workspaceId ID; this token can use: "
            f"Globex Corp (ws_globex), Hooli ({HOOLI_WORKSPACE_ID}), "
            f"Umbrella ({UMBRELLA_WORKSPACE_ID})\n",
        ),
    ],
)
def test_missing_workspace_when_not_interactive_lists_workspaces(
    bp: Bp, sandbox: Sandbox, token: str, err: str
) -> None:
    result = login(bp, sandbox, "-y", token=token)
    assert (result.code, result.out, result.err) == (2, "", err)
    assert bp.config_bytes() is None
    assert entries(bp) == {}


@pytest.mark.parametrize("flags", [(), ("-y",)])
def test_without_a_terminal_a_token_of_one_workspace_logs_in_to_it(
    bp: Bp, sandbox: Sandbox, flags: tuple[str, ...]
) -> None:
    result = login(bp, sandbox, *flags, token=BOB_TOKEN)
    assert (result.code, result.err) == (
        0,
        "Using the token's only workspace, initech (ws_initech)\n",
    )
    assert result.out == (
        "Logged in to workspace initech (ws_initech) as bob@example.com (owner) "
        '— profile "default"\n'
    )
    assert bp.config()["profiles"]["default"] == profile(sandbox.url, "ws_initech", "initech")


@pytest.mark.parametrize(
    ("words", "stdin", "interactive", "err"),
    [
        pytest.param(
            ("-p", "my profile", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Invalid profile name "my profile". Use 1-64 letters, digits, ".", "_" or "-"\n',
            id="profile-with-space",
        ),
        pytest.param(
            ("-p", "evil\x1b[31m", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Invalid profile name "evil\\x1b[31m". Use 1-64 letters, digits, ".", "_" or "-"\n',
            id="profile-with-escape",
        ),
        pytest.param(
            ("-p", "x" * 65, "--token", "-"),
            ALICE_TOKEN,
            False,
            f'Invalid profile name "{"x" * 65}". Use 1-64 letters, digits, ".", "_" or "-"\n',
            id="profile-too-long",
        ),
        pytest.param(
            ("--workspaceId", "ws/acme", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Invalid workspace ID "ws/acme". A workspace ID has only letters, digits, "_" '
            'and "-" (e.g. ws_abc123)\n',
            id="workspace-with-slash",
        ),
        pytest.param(
            ("--workspaceId", "../ws", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Invalid workspace ID "../ws". A workspace ID has only letters, digits, "_" '
            'and "-" (e.g. ws_abc123)\n',
            id="workspace-with-dots",
        ),
        pytest.param(
            ("--apiUrl", "http://example.com", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Refusing plain http to "example.com": a token must not cross a network in clear. '
            "Use an https URL such as https://api.botpress.cloud (http only for localhost)\n",
            id="plain-http-off-loopback",
        ),
        pytest.param(
            ("--apiUrl", "ftp://127.0.0.1", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Invalid API URL "ftp://127.0.0.1". '
            "Use an https URL such as https://api.botpress.cloud (http only for localhost)\n",
            id="not-http",
        ),
        pytest.param(
            ("--apiUrl", "https://user:pw@api.botpress.cloud", "--token", "-"),
            ALICE_TOKEN,
            False,
            'Invalid API URL "https://user:pw@api.botpress.cloud". '
            "Use an https URL such as https://api.botpress.cloud (http only for localhost)\n",
            id="credentials-in-url",
        ),
        pytest.param(
            ("--token", "-"),
            "bp_pat_abc def",
            False,
            "Invalid token: a token is 1-4096 printable ASCII characters without spaces. "
            f"Copy it again from {TOKENS_PAGE}\n",
            id="token-with-space",
        ),
        pytest.param(
            ("--token", "-"),
            "bp_pat_" + "a" * 4090,
            False,
            "Invalid token: a token is 1-4096 printable ASCII characters without spaces. "
            f"Copy it again from {TOKENS_PAGE}\n",
            id="token-over-4KiB",
        ),
        pytest.param(
            ("--token", "bp_pat_é"),
            "",
            False,
            HINT + "Invalid token: a token is 1-4096 printable ASCII characters without spaces. "
            f"Copy it again from {TOKENS_PAGE}\n",
            id="token-not-ascii",
        ),
        pytest.param(
            ("--token", "-"),
            "  \n",
            False,
            "--token -: stdin was empty. Pipe the token into bp login --token -\n",
            id="empty-stdin",
        ),
        pytest.param(
            ("--token", "-"),
            "",
            True,
            "--token - reads the token from stdin, but stdin is a terminal. "
            "Pipe it in (bp login --token - < file) or run bp login to be asked for it\n",
            id="stdin-is-a-terminal",
        ),
    ],
)
def test_invalid_input_is_refused_before_anything_happens(
    bp: Bp,
    sandbox: Sandbox,
    words: tuple[str, ...],
    stdin: str,
    interactive: bool,
    err: str,
) -> None:
    defaults = ("--apiUrl", sandbox.url, "--workspaceId", "ws_acme")
    result = bp("login", *defaults, *words, stdin=stdin, interactive=interactive)
    assert (result.code, result.out, result.err) == (2, "", err)
    assert bp.config_bytes() is None
    assert entries(bp) == {}
    assert sandbox.stats.total == 0


# --- where the token goes ----------------------------------------------------------------


def test_insecure_storage_puts_the_token_in_the_file(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "--insecure-storage", "-y")
    assert (result.code, result.out) == (0, ALICE_ACME)
    assert result.err == (
        "warning: --insecure-storage: the token is stored in plain text in config.json (0600)\n"
    )
    assert bp.config()["profiles"] == {
        "default": profile(sandbox.url, "ws_acme", "acme", token=ALICE_TOKEN)
    }
    assert entries(bp) == {}


def test_without_a_usable_keyring_the_token_falls_back_to_the_file(
    home: Path, sandbox: Sandbox
) -> None:
    bp = Bp(home, tokens=InMemoryTokens(broken="no usable keyring backend on this system"))
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out) == (0, ALICE_ACME)
    assert result.err == (
        "warning: no usable keyring backend on this system; "
        "the token is stored in plain text in config.json (0600)\n"
    )
    assert bp.config()["profiles"] == {
        "default": profile(sandbox.url, "ws_acme", "acme", token=ALICE_TOKEN)
    }


def test_moving_a_token_to_the_file_removes_its_keyring_entry(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y", "--insecureStorage").code == 0
    assert entries(bp) == {}
    assert bp.config()["profiles"]["default"]["token"] == ALICE_TOKEN
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    assert entries(bp) == {"default": ALICE_TOKEN}
    assert "token" not in bp.config()["profiles"]["default"]


def test_login_that_cannot_save_puts_the_previous_keyring_entry_back(
    bp: Bp, sandbox: Sandbox
) -> None:
    assert login(bp, sandbox, "--workspaceId", "ws_initech", "-y", token=BOB_TOKEN).code == 0
    before = bp.config_bytes()
    lock = bp.home / "config.json.lock"
    lock.unlink()
    lock.mkdir()  # the lock cannot be opened: as good as a read-only home, even for root
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Cannot lock {bp.config_path}: Is a directory. "
        f"Check that {bp.home} is writable; nothing was changed\n"
    )
    assert bp.config_bytes() == before
    assert entries(bp) == {"default": BOB_TOKEN}


# --- API failures: one line, exit 1, nothing written ------------------------------------


def _existing_login(bp: Bp, sandbox: Sandbox) -> tuple[bytes | None, dict[str, str]]:
    assert login(bp, sandbox, "-p", "before", "--workspaceId", "ws_acme", "-y").code == 0
    sandbox.reset_stats()
    return bp.config_bytes(), dict(entries(bp))


@pytest.mark.parametrize(
    ("token", "workspace", "err"),
    [
        (
            EXPIRED_TOKEN,
            "ws_acme",
            f"The token is invalid or expired. Make a new one at {TOKENS_PAGE} and run: "
            "bp login -p new\n",
        ),
        (
            "bp_pat_neverissued",
            "ws_acme",
            f"The token is invalid or expired. Make a new one at {TOKENS_PAGE} and run: "
            "bp login -p new\n",
        ),
        (
            BOB_TOKEN,
            "ws_acme",
            "Permission denied for workspace ws_acme. This token can use: initech (ws_initech)\n",
        ),
        (
            BOB_TOKEN,
            "ws_nope",
            "Workspace ws_nope was not found or is not accessible with this token. "
            "This token can use: initech (ws_initech)\n",
        ),
    ],
)
def test_rejected_login_writes_nothing(
    bp: Bp, sandbox: Sandbox, token: str, workspace: str, err: str
) -> None:
    before, keyring = _existing_login(bp, sandbox)
    result = login(bp, sandbox, "-p", "new", "--workspaceId", workspace, "-y", token=token)
    assert (result.code, result.out, result.err) == (1, "", err)
    assert bp.config_bytes() == before
    assert entries(bp) == keyring


def test_a_rejected_token_without_a_workspace_says_so(bp: Bp, sandbox: Sandbox) -> None:
    """Not "no workspace given": no workspace ID would make the token good."""
    result = login(bp, sandbox, "-y", token=EXPIRED_TOKEN)
    assert (result.code, result.out, result.err) == (
        1,
        "",
        f"The token is invalid or expired. Make a new one at {TOKENS_PAGE} and run: bp login\n",
    )
    assert bp.config_bytes() is None


FAILURES: list[Any] = [
    pytest.param(
        {"operation": "getAccount", "kind": "status", "status": 500},
        "{url} failed (500 Internal: Injected fault: status 500). Try again later\n",
        {"getAccount": 3, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="500-after-retries",
    ),
    pytest.param(
        {"operation": "*", "kind": "status", "status": 503, "retry_after": 0},
        "{url} failed (503 Unknown: Injected fault: status 503). Try again later\n",
        {"getAccount": 3, "getWorkspace": 3, "getWorkspaceMember": 3},
        id="503-after-retries",
    ),
    pytest.param(
        {"operation": "getWorkspace", "kind": "status", "status": 429, "retry_after": 0.1},
        "{url} is rate limiting requests; try again in 0.1 s\n",
        {"getAccount": 1, "getWorkspace": 6, "getWorkspaceMember": 1},  # RATE_LIMITED_TRIES
        id="429-persistent",
    ),
    pytest.param(
        {"operation": "getAccount", "kind": "status", "status": 429, "retry_after": 60},
        "{url} is rate limiting requests; try again in 60 s\n",
        {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="429-asks-too-long-a-wait",
    ),
    pytest.param(
        {"operation": "getAccount", "kind": "malformed_json"},
        "Unexpected answer from {url} (body: Invalid JSON: EOF while parsing a value at line 1 "
        "column 88). Check the API URL; the server does not behave like Botpress Cloud\n",
        {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="malformed-json",
    ),
    pytest.param(
        {"operation": "getWorkspace", "kind": "wrong_content_type"},
        "{url} answered with text/html; charset=utf-8, not JSON. Check the API URL\n",
        {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="wrong-content-type",
    ),
    pytest.param(
        {"operation": "getAccount", "kind": "schema_mismatch"},
        "Unexpected answer from {url} (account: Field required). "
        "Check the API URL; the server does not behave like Botpress Cloud\n",
        {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="schema-mismatch",
    ),
    pytest.param(
        {"operation": "getWorkspace", "kind": "schema_mismatch"},
        "Unexpected answer from {url} (id: Field required). "
        "Check the API URL; the server does not behave like Botpress Cloud\n",
        {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="schema-mismatch-workspace",
    ),
    pytest.param(
        {"operation": "getAccount", "kind": "reset"},
        "The connection to {url} broke (connection reset). Try again\n",
        {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1},
        id="connection-reset",
    ),
]


@pytest.mark.parametrize(("fault", "err", "requests"), FAILURES)
def test_api_failure_writes_nothing(
    bp: Bp, sandbox: Sandbox, fault: dict[str, Any], err: str, requests: dict[str, int]
) -> None:
    before, keyring = _existing_login(bp, sandbox)
    sandbox.set_fault(**fault)
    result = login(bp, sandbox, "-p", "new", "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out, result.err) == (1, "", err.format(url=sandbox.url))
    assert bp.config_bytes() == before
    assert entries(bp) == keyring
    assert sandbox.stats.requests == requests


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "status", "status": 500}, id="500"),
        pytest.param({"kind": "status", "status": 502, "retry_after": 0}, id="502"),
        pytest.param({"kind": "status", "status": 429, "retry_after": 0.2}, id="429-retry-after"),
    ],
)
def test_one_transient_failure_is_retried_and_login_succeeds(
    bp: Bp, sandbox: Sandbox, fault: dict[str, Any]
) -> None:
    sandbox.set_fault("getAccount", times=1, **fault)
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out, result.err) == (0, ALICE_ACME, "")
    assert bp.config() == acme_default(sandbox.url)
    assert sandbox.stats.requests == {"getAccount": 2, "getWorkspace": 1, "getWorkspaceMember": 1}
    statuses = [r.status for r in sandbox.stats.received if r.operation == "getAccount"]
    assert statuses == [fault["status"], 200]


def test_timeout_writes_nothing(
    bp: Bp, sandbox: Sandbox, fresh_sandbox: Sandbox, short_api_timeout: float
) -> None:
    before, keyring = _existing_login(bp, sandbox)
    fresh_sandbox.set_fault("getWorkspace", "delay", seconds=30)
    result = login(bp, fresh_sandbox, "-p", "new", "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"{fresh_sandbox.url} did not answer within 0.3 s. Check your network or try again later\n"
    )
    assert bp.config_bytes() == before
    assert entries(bp) == keyring


def test_unreachable_host_writes_nothing(bp: Bp, sandbox: Sandbox) -> None:
    before, keyring = _existing_login(bp, sandbox)
    url = closed_port_url()
    environ = {"BP_TOKEN": ALICE_TOKEN}
    result = bp("login", "-p", "new", "--apiUrl", url, "--workspaceId", "ws_acme", env=environ)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"Cannot reach {url} (connection refused). Check the API URL and your network\n"
    )
    assert bp.config_bytes() == before
    assert entries(bp) == keyring


def test_redirect_is_not_followed_and_the_token_never_leaves(
    bp: Bp, sandbox: Sandbox, fresh_sandbox: Sandbox
) -> None:
    before, keyring = _existing_login(bp, sandbox)
    sandbox.set_fault("*", "redirect", location=fresh_sandbox.url)
    result = login(bp, sandbox, "-p", "new", "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out) == (1, "")
    assert result.err in {
        f"{sandbox.url} redirected to {fresh_sandbox.url}{path}; bpshell does not follow "
        "redirects with a token. Check the API URL\n"
        for path in ("/v1/admin/account/me", "/v1/admin/workspaces/ws_acme")
    }
    assert fresh_sandbox.stats.total == 0
    assert not any(r.has_authorization for r in fresh_sandbox.stats.received)
    assert bp.config_bytes() == before
    assert entries(bp) == keyring


@pytest.mark.parametrize(
    ("interactive", "code", "err"),
    [
        pytest.param(False, 2, "No workspace given. Pass --workspaceId ID\n", id="script"),
        pytest.param(
            True,
            1,
            "{url} kept paginating workspaces past 200 pages. "
            "Check the API URL; the server does not behave like Botpress Cloud\n",
            id="terminal",
        ),
    ],
)
def test_endless_pagination_is_bounded(
    bp: Bp, sandbox: Sandbox, interactive: bool, code: int, err: str
) -> None:
    sandbox.set_fault("listWorkspaces", "endless_pages")
    result = bp(
        "login",
        "--apiUrl",
        sandbox.url,
        env={"BP_TOKEN": ALICE_TOKEN},
        interactive=interactive,
    )
    assert (result.code, result.out, result.err) == (code, "", err.format(url=sandbox.url))
    assert sandbox.stats.requests == {"listWorkspaces": 200}
    assert bp.config_bytes() is None


def test_failed_login_leaves_no_file_behind(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y", token=EXPIRED_TOKEN)
    assert result.code == 1
    assert not bp.home.exists()


def test_relogin_without_a_keyring_warns_that_the_old_entry_may_remain(
    home: Path, sandbox: Sandbox
) -> None:
    bp = Bp(home, tokens=InMemoryTokens(broken="no usable keyring backend on this system"))
    seed(bp, acme_default(sandbox.url))
    result = login(bp, sandbox, "--workspaceId", "ws_acme", "-y")
    assert (result.code, result.out) == (0, ALICE_ACME)
    assert result.err == (
        "warning: no usable keyring backend on this system; "
        "the token is stored in plain text in config.json (0600)\n"
        'warning: an old token of profile "default" is still in the keyring '
        "(no usable keyring backend on this system); bp removes it at the next login or logout "
        "once the keyring answers, or remove it now with: "
        "secret-tool clear service botpress-cli username default\n"
    )
    assert bp.config()["profiles"]["default"]["token"] == ALICE_TOKEN
    assert bp.config()["staleKeyringEntries"] == ["default"]


def test_bp_profile_names_the_profile_to_write_without_asking(bp: Bp, sandbox: Sandbox) -> None:
    assert login(bp, sandbox, "-p", "ci", "--workspaceId", "ws_acme", "-y").code == 0
    assert login(bp, sandbox, "-p", "other", "--workspaceId", "ws_acme", "-y").code == 0
    result = bp(
        "login",
        "--workspaceId",
        "ws_globex",
        interactive=True,
        env={"BP_PROFILE": "ci", "BP_TOKEN": ALICE_TOKEN, "BP_API_URL": sandbox.url},
    )
    assert (result.code, result.err) == (
        0,
        'note: profile "ci" was on workspace acme (ws_acme); '
        "that login is replaced; to keep both, use another profile: bp login -p NAME\n"
        'Active profile is now "ci" (was "other"); switch back with: bp profiles use other\n',
    )
    assert result.out == (
        "Logged in to workspace Globex Corp (ws_globex) as "
        'alice@example.com (administrator) — profile "ci"\n'
    )
    assert bp.config()["activeProfile"] == "ci"
    assert bp.config()["profiles"]["ci"]["workspaceId"] == "ws_globex"


def test_another_accounts_token_without_a_workspace_id_says_how_to_go_on(
    bp: Bp, sandbox: Sandbox
) -> None:
    """The workspace was the profile's (alice's): bob's token may not use it. Say so, and how
    to log in anyway (another workspace, or a profile of its own); nothing is written."""
    assert login(bp, sandbox, "--workspaceId", "ws_acme", "-y").code == 0
    before = bp.config_bytes()
    result = login(bp, sandbox, "-y", token=BOB_TOKEN)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        'Profile "default" holds a login of another account, on workspace acme (ws_acme), '
        "which this token cannot use. This token can use: initech (ws_initech); pass "
        "--workspaceId ID to replace that login, or -p NAME to keep both\n"
    )
    assert bp.config_bytes() == before


def test_a_rejected_token_names_the_profile_to_log_in_again(bp: Bp, sandbox: Sandbox) -> None:
    result = login(bp, sandbox, "-p", "t2", "--workspaceId", "ws_acme", "-y", token=EXPIRED_TOKEN)
    assert result.err == (
        f"The token is invalid or expired. Make a new one at {TOKENS_PAGE} and run: "
        "bp login -p t2\n"
    )
