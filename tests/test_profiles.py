"""``bp profiles list|ls|active|use|get|rm|rename`` against the sandbox over loopback."""

from __future__ import annotations

from typing import Any

import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, EXPIRED_TOKEN, Sandbox
from tests.conftest import Bp, KeyringView, Outcome, closed_port_url, seed

TOKENS = (ALICE_TOKEN, BOB_TOKEN, EXPIRED_TOKEN)


def entries(bp: Bp) -> KeyringView:
    return KeyringView(bp)


def profile(url: str, workspace: str, name: str | None = None, **more: str) -> dict[str, str]:
    named = {"workspaceName": name} if name else {}
    return {"apiUrl": url, "workspaceId": workspace, **named, **more}


def three(bp: Bp, url: str, active: str | None = "default") -> bytes:
    """``default`` (alice, acme), ``prod`` (bob, initech), ``ci`` (alice, token in the file)."""
    return seed(
        bp,
        {
            "version": 1,
            "activeProfile": active,
            "profiles": {
                "default": profile(url, "ws_acme", "acme"),
                "prod": profile(url, "ws_initech", "initech"),
                "ci": profile(url, "ws_globex", token=ALICE_TOKEN),
            },
        },
        {"default": ALICE_TOKEN, "prod": BOB_TOKEN},
    )


def no_token_in(result: Outcome) -> None:
    for token in TOKENS:
        assert token not in result.out
        assert token not in result.err


# --- profiles list ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "words", [("profiles", "list"), ("profiles", "ls"), ("profiles", "ls", "-v")]
)
def test_list_table(bp: Bp, sandbox: Sandbox, words: tuple[str, ...]) -> None:
    three(bp, sandbox.url)
    result = bp(*words)
    url = sandbox.url
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "   NAME     WORKSPACE             API URL\n"
        f"   ci       ws_globex             {url}\n"
        f"*  default  acme (ws_acme)        {url}\n"
        f"   prod     initech (ws_initech)  {url}\n"
    )
    no_token_in(result)
    assert sandbox.stats.total == 0


@pytest.mark.parametrize("words", [("profiles", "list", "--json"), ("--json", "profiles", "ls")])
def test_list_json(bp: Bp, sandbox: Sandbox, words: tuple[str, ...]) -> None:
    three(bp, sandbox.url, active="prod")
    result = bp(*words)
    assert (result.code, result.err) == (0, "")
    row = {"apiUrl": sandbox.url, "tokenStorage": "keyring"}
    assert result.json() == [
        {
            "name": "ci",
            "workspaceId": "ws_globex",
            "workspaceName": None,
            **row,
            "active": False,
            "tokenStorage": "file",
            "inUse": False,
        },
        {
            "name": "default",
            "workspaceId": "ws_acme",
            "workspaceName": "acme",
            **row,
            "active": False,
            "inUse": False,
        },
        {
            "name": "prod",
            "workspaceId": "ws_initech",
            "workspaceName": "initech",
            **row,
            "active": True,
            "inUse": True,
        },
    ]
    no_token_in(result)


@pytest.mark.parametrize(
    ("words", "out"),
    [
        (("profiles", "list"), ""),
        (("profiles", "list", "--verify"), ""),
        (("profiles", "list", "--json"), "[]\n"),
    ],
)
def test_list_with_no_profiles(bp: Bp, words: tuple[str, ...], out: str) -> None:
    result = bp(*words)
    assert (result.code, result.out, result.err) == (0, out, "No profiles. Log in with: bp login\n")
    assert not bp.home.exists()


def test_list_display_token(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    del entries(bp)["prod"]
    result = bp("profiles", "list", "--displayToken")
    url = sandbox.url
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"   NAME     WORKSPACE             API URL{' ' * (len(url) - 5)}TOKEN\n"
        f"   ci       ws_globex             {url}  {ALICE_TOKEN}\n"
        f"*  default  acme (ws_acme)        {url}  {ALICE_TOKEN}\n"
        f"   prod     initech (ws_initech)  {url}  (missing)\n"
    )
    as_json = bp("profiles", "list", "--display-token", "--json").json()
    assert [row["token"] for row in as_json] == [ALICE_TOKEN, ALICE_TOKEN, None]


def test_list_verify_all_good(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    result = bp("profiles", "list", "--verify")
    url = sandbox.url
    pad = " " * (len(url) - 5)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"   NAME     WORKSPACE             API URL{pad}AUTHENTICATED\n"
        f"   ci       ws_globex             {url}  yes\n"
        f"*  default  acme (ws_acme)        {url}  yes\n"
        f"   prod     initech (ws_initech)  {url}  yes\n"
    )
    no_token_in(result)
    assert sandbox.stats.requests == {"getWorkspace": 3}


def test_list_verify_classifies_each_failure(
    bp: Bp, sandbox: Sandbox, fresh_sandbox: Sandbox
) -> None:
    with Sandbox() as failing:
        failing.set_fault("*", "status", status=500, retry_after=0)
        fresh_sandbox.set_latency(10_000)
        dead = closed_port_url()
        seed(
            bp,
            {
                "version": 1,
                "activeProfile": "ok",
                "profiles": {
                    "ok": profile(sandbox.url, "ws_acme", "acme"),
                    "expired": profile(sandbox.url, "ws_acme", "acme"),
                    "forbidden": profile(sandbox.url, "ws_acme", "acme"),
                    "gone": profile(sandbox.url, "ws_gone"),
                    "broken": profile(failing.url, "ws_acme", "acme"),
                    "slow": profile(fresh_sandbox.url, "ws_acme", "acme"),
                    "dead": profile(dead, "ws_acme", "acme"),
                    "tokenless": profile(sandbox.url, "ws_acme", "acme"),
                },
            },
            {
                "ok": ALICE_TOKEN,
                "expired": EXPIRED_TOKEN,
                "forbidden": BOB_TOKEN,
                "gone": ALICE_TOKEN,
                "broken": ALICE_TOKEN,
                "slow": ALICE_TOKEN,
                "dead": ALICE_TOKEN,
            },
        )
        result = bp("profiles", "list", "--verify", "--timeout", "1", "--json")
        failing_url = failing.url
    assert (result.code, result.err) == (1, "")
    checks = {
        row["name"]: (row["authenticated"], row["status"], row["error"]) for row in result.json()
    }
    assert checks == {
        "ok": (True, "ok", None),
        "expired": (False, "invalid", "the token is invalid or expired"),
        "forbidden": (False, "forbidden", "permission denied for workspace ws_acme"),
        "gone": (
            False,
            "not_found",
            "workspace ws_gone was not found or is not accessible with this token",
        ),
        "broken": (
            False,
            "server_error",
            f"{failing_url} failed (500 Internal: Injected fault: status 500)",
        ),
        "slow": (False, "timeout", f"{fresh_sandbox.url} did not answer within 1 s"),
        "dead": (False, "unreachable", f"cannot reach {dead} (connection refused)"),
        "tokenless": (False, "unreachable", "no token found"),
    }
    no_token_in(result)


def test_list_verify_text_says_no_for_rejected_and_unknown_for_unanswered(
    bp: Bp, sandbox: Sandbox
) -> None:
    dead = closed_port_url()
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": None,
            "profiles": {
                "a": profile(sandbox.url, "ws_acme", "acme"),
                "b": profile(sandbox.url, "ws_acme", "acme"),
                "c": profile(dead, "ws_acme", "acme"),
            },
        },
        {"a": ALICE_TOKEN, "b": EXPIRED_TOKEN, "c": ALICE_TOKEN},
    )
    result = bp("profiles", "list", "--verify")
    # What to do about the token the API refused; c's row says why it could not tell.
    assert (result.code, result.err) == (
        1,
        "hint: b: log in again with a new token: bp login -p b\n",
    )
    width = max(len(sandbox.url), len(dead))
    assert result.out == (
        f"  NAME  WORKSPACE       {'API URL'.ljust(width)}  AUTHENTICATED\n"
        f"  a     acme (ws_acme)  {sandbox.url.ljust(width)}  yes\n"
        f"  b     acme (ws_acme)  {sandbox.url.ljust(width)}  "
        "no (the token is invalid or expired)\n"
        f"  c     acme (ws_acme)  {dead.ljust(width)}  "
        f"unknown (cannot reach {dead} (connection refused))\n"
    )


def seed_alike(bp: Bp, sandbox: Sandbox, names: list[str]) -> None:
    """Profiles ``names``, all alice's on ws_acme, none active."""
    profiles = {name: profile(sandbox.url, "ws_acme", "acme") for name in names}
    seed(
        bp,
        {"version": 1, "activeProfile": None, "profiles": profiles},
        dict.fromkeys(names, ALICE_TOKEN),
    )


def test_list_verify_checks_profiles_at_the_same_time(bp: Bp, sandbox: Sandbox) -> None:
    names = [f"p{index:02d}" for index in range(12)]
    seed_alike(bp, sandbox, names)
    sandbox.set_latency(300)
    result = bp("profiles", "list", "--verify", "--json")
    assert (result.code, result.err) == (0, "")
    assert [row["authenticated"] for row in result.json()] == [True] * 12
    # The workspace's answer alone says whether the token is valid and may use it.
    assert sandbox.stats.requests == {"getWorkspace": 12}
    assert sandbox.stats.max_in_flight > 2


def test_list_verify_respects_concurrency(bp: Bp, fresh_sandbox: Sandbox) -> None:
    sandbox = fresh_sandbox  # of its own: an earlier test's slow requests would count
    names = [f"p{index}" for index in range(3)]
    seed_alike(bp, sandbox, names)
    sandbox.set_latency(150)
    result = bp("profiles", "list", "--verify", "--concurrency", "2")
    assert result.code == 0, result.err
    assert sandbox.stats.max_in_flight == 2  # two profiles at a time, one request each


@pytest.mark.parametrize(
    "words",
    [
        ("profiles", "list"),
        ("profiles", "list", "--json"),
        ("profiles", "list", "--verify", "-v"),
        ("profiles", "list", "--verify", "--json"),
        ("profiles", "active", "-v"),
        ("profiles", "active", "--json"),
        ("profiles", "get"),
        ("profiles", "get", "ci", "--json"),
        ("profiles", "use", "prod"),
        ("login", "--workspaceId", "ws_globex", "-v"),
        ("logout", "--all", "--json", "-y"),
    ],
)
def test_tokens_never_appear_without_display_token(
    bp: Bp, sandbox: Sandbox, words: tuple[str, ...]
) -> None:
    three(bp, sandbox.url)
    result = bp(*words)
    assert result.code == 0, result.err
    no_token_in(result)


# --- profiles active --------------------------------------------------------------------


def test_active_four_lines(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    result = bp("profiles", "active")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"Workspace: acme (ws_acme)\nAPI URL: {sandbox.url}\nAuthenticated: Yes\nRole: owner\n"
        "Profile: default\n"
    )
    assert sandbox.stats.requests == {"getAccount": 1, "getWorkspace": 1, "getWorkspaceMember": 1}


def test_active_json(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    result = bp("profiles", "active", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json() == {
        "profile": "default",
        "profileFile": None,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "apiUrl": sandbox.url,
        "account": "alice@example.com",
        "authenticated": True,
        "role": "owner",
        "status": "ok",
        "tokenCreatedAt": None,
        "tokenAgeDays": None,
        "error": None,
        "errorType": None,
        "sources": {
            "profile": "active",
            "workspaceId": "profile",
            "apiUrl": "profile",
            "token": "keyring",
        },
    }


def test_active_with_a_rejected_token(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    entries(bp)["default"] = EXPIRED_TOKEN
    result = bp("profiles", "active")
    assert (result.code, result.err) == (1, "hint: log in again with a new token: bp login\n")
    assert result.out == (
        f"Workspace: acme (ws_acme)\nAPI URL: {sandbox.url}\n"
        "Authenticated: No (the token is invalid or expired)\nProfile: default\n"
    )
    data = bp("profiles", "active", "--json").json()
    assert (data["authenticated"], data["status"], data["error"]) == (
        False,
        "invalid",
        "the token is invalid or expired",
    )


def test_active_when_the_api_cannot_be_reached(bp: Bp) -> None:
    dead = closed_port_url()
    three(bp, dead)
    result = bp("profiles", "active")
    assert (result.code, result.err) == (1, "hint: check the API URL and your network\n")
    assert result.out == (
        f"Workspace: acme (ws_acme)\nAPI URL: {dead}\n"
        f"Authenticated: Unknown (cannot reach {dead} (connection refused))\nProfile: default\n"
    )
    data = bp("profiles", "active", "--json").json()
    assert (data["authenticated"], data["status"], data["account"]) == (False, "unreachable", None)


def test_active_shows_where_bp_variables_took_over(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, closed_port_url())
    environ = {"BP_TOKEN": BOB_TOKEN, "BP_WORKSPACE_ID": "ws_initech", "BP_API_URL": sandbox.url}
    result = bp("profiles", "active", env=environ)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Workspace: initech (ws_initech) (from BP_WORKSPACE_ID)\n"
        f"API URL: {sandbox.url} (from BP_API_URL)\n"
        "Authenticated: Yes\n"
        "Role: owner\n"
        "Profile: default\n"
        "Token: bp_pat_…0002 (from BP_TOKEN)\n"
    )
    sources = bp("profiles", "active", "--json", env=environ).json()["sources"]
    assert sources == {
        "profile": "active",
        "workspaceId": "BP_WORKSPACE_ID",
        "apiUrl": "BP_API_URL",
        "token": "BP_TOKEN",
    }


def test_active_from_bp_variables_alone(bp: Bp, sandbox: Sandbox) -> None:
    environ = {"BP_TOKEN": ALICE_TOKEN, "BP_WORKSPACE_ID": "ws_globex", "BP_API_URL": sandbox.url}
    result = bp("profiles", "active", env=environ)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Workspace: Globex Corp (ws_globex) (from BP_WORKSPACE_ID)\n"
        f"API URL: {sandbox.url} (from BP_API_URL)\n"
        "Authenticated: Yes\n"
        "Role: administrator\n"
        "Profile: (none)\n"
        "Token: bp_pat_…0001 (from BP_TOKEN)\n"
    )
    assert not bp.home.exists()


@pytest.mark.parametrize(
    ("words", "environ", "line"),
    [
        (("profiles", "active", "-p", "prod"), {}, "Profile: prod"),
        (("-p", "prod", "profiles", "active"), {}, "Profile: prod"),
        (("profiles", "active", "--profile=prod"), {}, "Profile: prod"),
        (("profiles", "active"), {"BP_PROFILE": "prod"}, "Profile: prod (from BP_PROFILE)"),
    ],
)
def test_active_of_a_named_profile_does_not_switch(
    bp: Bp, sandbox: Sandbox, words: tuple[str, ...], environ: dict[str, str], line: str
) -> None:
    before = three(bp, sandbox.url)
    result = bp(*words, env=environ)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"Workspace: initech (ws_initech)\nAPI URL: {sandbox.url}\nAuthenticated: Yes\n"
        f"Role: owner\n{line}\n"
    )
    assert bp.config_bytes() == before


@pytest.mark.parametrize(
    ("config", "environ"),
    [
        pytest.param(None, {}, id="no-config"),
        pytest.param({"version": 1, "activeProfile": None, "profiles": {}}, {}, id="empty"),
        pytest.param(
            {"version": 1, "activeProfile": None, "profiles": {"a": profile("https://x", "ws_a")}},
            {},
            id="no-active-profile",
        ),
        pytest.param(None, {"BP_API_URL": "http://127.0.0.1:9"}, id="only-BP_API_URL"),
    ],
)
def test_active_when_not_logged_in(
    bp: Bp, sandbox: Sandbox, config: dict[str, Any] | None, environ: dict[str, str]
) -> None:
    if config is not None:
        seed(bp, config)
    result = bp("profiles", "active", env=environ)
    assert (result.code, result.out, result.err) == (1, "", "Not logged in. Run: bp login\n")
    json_result = bp("profiles", "active", "--json", env=environ)
    assert (json_result.code, json_result.out) == (1, "")
    assert json_result.err == (
        '{"error": {"type": "not_logged_in", "message": "Not logged in", '
        '"hint": "Run: bp login"}}\n'
    )
    assert sandbox.stats.total == 0


def test_active_display_token(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    result = bp("profiles", "active", "--displayToken")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"Workspace: acme (ws_acme)\nAPI URL: {sandbox.url}\nAuthenticated: Yes\nRole: owner\n"
        f"Profile: default\nToken: {ALICE_TOKEN} (from keyring)\n"
    )


# --- profiles use -----------------------------------------------------------------------


def test_use_switches_offline(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, closed_port_url())
    result = bp("profiles", "use", "prod")
    assert (result.code, result.out, result.err) == (
        0,
        'Active profile is now "prod", workspace initech (ws_initech)\n',
        "",
    )
    assert bp.config()["activeProfile"] == "prod"
    assert bp.config()["profiles"]["prod"] == profile(
        bp.config()["profiles"]["prod"]["apiUrl"], "ws_initech", "initech"
    )


@pytest.mark.parametrize(
    ("seeded", "words", "err"),
    [
        pytest.param(
            True,
            ("profiles", "use", "staging"),
            'Unknown profile "staging". Known profiles: ci, default, prod. '
            "Create it with: bp login -p staging\n",
            id="unknown",
        ),
        pytest.param(
            False,
            ("profiles", "use", "staging"),
            'Unknown profile "staging". Known profiles: none. '
            "Create it with: bp login -p staging\n",
            id="unknown-without-config",
        ),
        pytest.param(
            True,
            ("profiles", "use", "bad name"),
            'Unknown profile "bad name". Known profiles: ci, default, prod\n',
            id="unknown-and-invalid",
        ),
    ],
)
def test_use_of_an_unknown_profile(
    bp: Bp, sandbox: Sandbox, seeded: bool, words: tuple[str, ...], err: str
) -> None:
    before = three(bp, sandbox.url) if seeded else None
    result = bp(*words)
    assert (result.code, result.out, result.err) == (1, "", err)
    assert bp.config_bytes() == before


@pytest.mark.parametrize("extra", [(), ("-y",)])
def test_use_without_a_name_when_not_interactive(
    bp: Bp, sandbox: Sandbox, extra: tuple[str, ...]
) -> None:
    before = three(bp, sandbox.url)
    result = bp("profiles", "use", *extra, interactive=bool(extra))
    assert (result.code, result.out) == (2, "")
    assert result.err == "No profile name given. Known profiles: ci, default, prod\n"
    assert bp.config_bytes() == before


def test_use_picker_when_interactive(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    offered: list[tuple[str, str]] = []

    def pick(choices: list[tuple[str, str]]) -> str:
        offered.extend(choices)
        return "ci"

    result = bp("profiles", "use", interactive=True, answers=[pick])
    assert (result.code, result.out, result.err) == (
        0,
        'Active profile is now "ci", workspace ws_globex\n',
        "",
    )
    assert offered == [
        ("ci", "ws_globex"),
        ("default", "acme (ws_acme)"),
        ("prod", "initech (ws_initech)"),
    ]
    assert bp.config()["activeProfile"] == "ci"


def test_use_json(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    result = bp("profiles", "use", "prod", "--json")
    assert result.json() == {
        "profile": "prod",
        "workspaceId": "ws_initech",
        "workspaceName": "initech",
        "apiUrl": sandbox.url,
        "scope": "global",
    }


# --- profiles get -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "out"),
    [
        pytest.param(
            ("profiles", "get"),
            "Profile: default (active)\nWorkspace: acme (ws_acme)\nAPI URL: {url}\n"
            "Token: bp_pat_…0001 (keyring)\n",
            id="active",
        ),
        pytest.param(
            ("profiles", "get", "prod"),
            "Profile: prod\nWorkspace: initech (ws_initech)\nAPI URL: {url}\n"
            "Token: bp_pat_…0002 (keyring)\n",
            id="named",
        ),
        pytest.param(
            ("-p", "prod", "profiles", "get"),
            "Profile: prod\nWorkspace: initech (ws_initech)\nAPI URL: {url}\n"
            "Token: bp_pat_…0002 (keyring)\n",
            id="global-p",
        ),
        pytest.param(
            ("profiles", "get", "ci"),
            "Profile: ci\nWorkspace: ws_globex\nAPI URL: {url}\nToken: bp_pat_…0001 (file)\n",
            id="file-token",
        ),
        pytest.param(
            ("profiles", "get", "prod", "--displayToken"),
            "Profile: prod\nWorkspace: initech (ws_initech)\nAPI URL: {url}\n"
            f"Token: {BOB_TOKEN} (keyring)\n",
            id="display-token",
        ),
    ],
)
def test_get(bp: Bp, sandbox: Sandbox, words: tuple[str, ...], out: str) -> None:
    three(bp, sandbox.url)
    result = bp(*words)
    assert (result.code, result.out, result.err) == (0, out.format(url=sandbox.url), "")
    assert sandbox.stats.total == 0


def test_get_json_and_missing_token(bp: Bp, sandbox: Sandbox) -> None:
    three(bp, sandbox.url)
    del entries(bp)["prod"]
    result = bp("profiles", "get", "prod", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json() == {
        "name": "prod",
        "workspaceId": "ws_initech",
        "workspaceName": "initech",
        "apiUrl": sandbox.url,
        "active": False,
        "tokenStorage": None,
        "token": None,
        "tokenCommand": None,
    }
    text = bp("profiles", "get", "prod")
    assert text.out.splitlines()[-1] == "Token: (missing)"


@pytest.mark.parametrize(
    ("active", "words", "code", "err"),
    [
        (
            "default",
            ("profiles", "get", "nope"),
            1,
            'Unknown profile "nope". Known profiles: ci, default, prod. '
            "Create it with: bp login -p nope\n",
        ),
        (None, ("profiles", "get"), 1, "No active profile. Name one: bp profiles get NAME\n"),
        ("default", ("profiles", "get", "a", "b"), 2, ""),
    ],
)
def test_get_errors(
    bp: Bp, sandbox: Sandbox, active: str | None, words: tuple[str, ...], code: int, err: str
) -> None:
    three(bp, sandbox.url, active=active)
    result = bp(*words)
    assert (result.code, result.out) == (code, "")
    assert result.err == (
        err or "'bp profiles get' takes at most 1 argument, got b. Run: bp profiles get --help\n"
    )


# --- profiles rm ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "active", "keyring"),
    [
        ("default", None, {"prod": BOB_TOKEN}),
        ("prod", "default", {"default": ALICE_TOKEN}),
        ("ci", "default", {"default": ALICE_TOKEN, "prod": BOB_TOKEN}),
    ],
)
def test_rm_removes_the_profile_and_its_keyring_entry(
    bp: Bp, sandbox: Sandbox, name: str, active: str | None, keyring: dict[str, str]
) -> None:
    three(bp, sandbox.url)
    before = bp.config()["profiles"]
    result = bp("profiles", "rm", name, "-y")
    assert (result.code, result.out, result.err) == (
        0,
        f'Removed profile "{name}" and its token\n',
        "No active profile; choose one: bp profiles use ci|prod\n" if active is None else "",
    )
    del before[name]
    assert bp.config() == {"version": 1, "activeProfile": active, "profiles": before}
    assert entries(bp) == keyring


@pytest.mark.parametrize(("answer", "code"), [(False, 1), (True, 0)])
def test_rm_asks_on_a_terminal(bp: Bp, sandbox: Sandbox, answer: bool, code: int) -> None:
    before = three(bp, sandbox.url)
    result = bp("profiles", "rm", "prod", interactive=True, answers=[answer])
    assert result.code == code
    if answer:
        assert "prod" not in bp.config()["profiles"]
        assert "prod" not in entries(bp)
    else:
        assert (result.out, result.err) == ("Nothing was removed.\n", "")
        assert bp.config_bytes() == before
        assert entries(bp)["prod"] == BOB_TOKEN


@pytest.mark.parametrize(
    ("words", "code", "err"),
    [
        (
            ("profiles", "rm", "nope"),
            1,
            'Unknown profile "nope". Known profiles: ci, default, prod. '
            "Create it with: bp login -p nope\n",
        ),
        (("profiles", "rm"), 2, "'bp profiles rm' needs NAME. Usage: bp profiles rm NAME\n"),
    ],
)
def test_rm_errors(bp: Bp, sandbox: Sandbox, words: tuple[str, ...], code: int, err: str) -> None:
    before = three(bp, sandbox.url)
    result = bp(*words)
    assert (result.code, result.out, result.err) == (code, "", err)
    assert bp.config_bytes() == before


# --- profiles rename --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "active", "keyring"),
    [
        ("default", "main", "main", {"main": ALICE_TOKEN, "prod": BOB_TOKEN}),
        ("prod", "production", "default", {"default": ALICE_TOKEN, "production": BOB_TOKEN}),
        ("ci", "ci.v2", "default", {"default": ALICE_TOKEN, "prod": BOB_TOKEN}),
    ],
)
def test_rename_moves_the_keyring_entry_and_the_active_mark(
    bp: Bp, sandbox: Sandbox, old: str, new: str, active: str, keyring: dict[str, str]
) -> None:
    three(bp, sandbox.url)
    profiles = bp.config()["profiles"]
    result = bp("profiles", "rename", old, new)
    assert (result.code, result.out, result.err) == (
        0,
        f'Renamed profile "{old}" to "{new}"\n',
        "",
    )
    profiles[new] = profiles.pop(old)
    assert bp.config() == {"version": 1, "activeProfile": active, "profiles": profiles}
    assert entries(bp) == keyring


@pytest.mark.parametrize(
    ("words", "code", "err"),
    [
        pytest.param(
            ("profiles", "rename", "default", "prod"),
            1,
            'A profile named "prod" already exists. Remove it first: bp profiles rm prod\n',
            id="new-exists",
        ),
        pytest.param(
            ("profiles", "rename", "nope", "other"),
            1,
            'Unknown profile "nope". Known profiles: ci, default, prod. '
            "Create it with: bp login -p nope\n",
            id="old-unknown",
        ),
        pytest.param(
            ("profiles", "rename", "default", "my profile"),
            2,
            'Invalid profile name "my profile". Use 1-64 letters, digits, ".", "_" or "-"\n',
            id="new-invalid",
        ),
        pytest.param(
            ("profiles", "rename", "default", "a\x1b]0;x\x07"),
            2,
            'Invalid profile name "a\\x1b]0;x\\x07". Use 1-64 letters, digits, ".", "_" or "-"\n',
            id="new-with-escapes",
        ),
        pytest.param(
            ("profiles", "rename", "default"),
            2,
            "'bp profiles rename' needs NEW. Usage: bp profiles rename OLD NEW\n",
            id="new-missing",
        ),
    ],
)
def test_rename_errors_change_nothing(
    bp: Bp, sandbox: Sandbox, words: tuple[str, ...], code: int, err: str
) -> None:
    before = three(bp, sandbox.url)
    keyring = dict(entries(bp))
    result = bp(*words)
    assert (result.code, result.out, result.err) == (code, "", err)
    assert bp.config_bytes() == before
    assert entries(bp) == keyring


def test_rename_to_the_same_name_changes_nothing(bp: Bp, sandbox: Sandbox) -> None:
    before = three(bp, sandbox.url)
    result = bp("profiles", "rename", "prod", "prod")
    assert (result.code, result.out, result.err) == (
        0,
        'Profile "prod" already has that name\n',
        "",
    )
    assert bp.config_bytes() == before
    assert entries(bp) == {"default": ALICE_TOKEN, "prod": BOB_TOKEN}


def test_rm_without_a_terminal_or_y_removes_nothing(bp: Bp, sandbox: Sandbox) -> None:
    """``bp profiles rm X </dev/null`` used to take the missing answer as a yes."""
    before = three(bp, sandbox.url)
    result = bp("profiles", "rm", "prod")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        'No terminal to ask: Remove profile "prod", workspace initech (ws_initech), and '
        "its token? Pass -y to answer yes\n"
    )
    assert bp.config_bytes() == before


@pytest.mark.parametrize(
    ("words", "env", "hint"),
    [
        (("-p", "prod"), {}, "log in again with a new token: bp login -p prod"),
        ((), {"BP_PROFILE": "prod"}, "log in again with a new token: bp login -p prod"),
        ((), {"BP_TOKEN": EXPIRED_TOKEN},
         "BP_TOKEN holds a token the API refused: set a valid one, or unset BP_TOKEN"),
    ],
    ids=["flag", "BP_PROFILE", "BP_TOKEN"],
)  # fmt: skip
def test_active_says_how_to_fix_a_rejected_token_of_the_profile_in_force(
    bp: Bp, sandbox: Sandbox, words: tuple[str, ...], env: dict[str, str], hint: str
) -> None:
    """Only a 401 asks for a new token, for the profile or variable that gave it."""
    three(bp, sandbox.url)
    entries(bp)["prod"] = EXPIRED_TOKEN
    result = bp(*words, "profiles", "active", env=env)
    assert (result.code, result.err) == (1, f"hint: {hint}\n")
    assert bp(*words, "profiles", "active", "--json", env=env).err == ""
