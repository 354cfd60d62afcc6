"""The shell's live state against the sandbox: view, auth check, workspace cache, switches."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import anyio
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from bpshell import config
from bpshell import session as session_module
from bpshell.cache import cache_path, write_workspaces
from bpshell.commands import GlobalOptions
from bpshell.env import Sandboxed
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from bpshell.session import Session, peek
from bpshell.toolbar import Auth, View, prompt_text, toolbar_text
from tests.conftest import Bp, closed_port_url, seed
from tests.shell_helpers import log_in_two, run_bp, shell_env, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def running(bp: Bp, opts: GlobalOptions | None = None) -> AsyncIterator[Session]:
    env, _, _ = shell_env(bp)
    session = Session(env, opts or GlobalOptions())
    async with anyio.create_task_group() as group:
        await group.start(session.run)
        yield session
        group.cancel_scope.cancel()
    await env.aclose()


def offered(session: Session, line: str = "login --workspaceId ") -> set[str]:
    event = CompleteEvent(completion_requested=True)
    return {c.text for c in session.completer.get_completions(Document(line), event)}


async def test_view_and_auth_check_of_the_active_profile(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    async with running(bp) as session:
        assert prompt_text(session.view) == "bp default:acme › "
        await until(lambda: session.auth.state == "ok")
        assert session.auth == Auth("ok", "alice@example.com")
        assert toolbar_text(session.view, session.auth) == (
            f"profile default │ workspace acme (ws_acme) │ {sandbox.url} │ "
            "✓ authenticated as alice@example.com"
        )


async def test_not_logged_in(bp: Bp) -> None:
    async with running(bp) as session:
        assert prompt_text(session.view) == "bp › "
        assert session.auth == Auth()
        assert toolbar_text(session.view, session.auth, sandbox=True) == (
            "SANDBOX │ not logged in (run: login) │ https://api.botpress.cloud"
        )
        assert offered(session) == set()


async def test_workspaces_are_fetched_at_start_and_cached_0600(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    async with running(bp) as session:
        await until(lambda: "ws_globex" in offered(session))
        assert len(offered(session)) == 47
        path = cache_path(bp.home, "default")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = json.loads(path.read_text())
        assert (data["profile"], data["apiUrl"], len(data["workspaces"])) == (
            "default",
            sandbox.url,
            47,
        )
        write_workspaces(bp.home, "bob", sandbox.url, [("ws_cached", "from disk")])
        assert offered(session, "login -p bob --workspaceId ") == set()  # asked for, in memory next
        await until(lambda: offered(session, "login -p bob --workspaceId ") == {"ws_cached"})
    assert sandbox.stats.requests["listWorkspaces"] == 3  # bob's fresh cache: no fetch


async def test_a_switch_never_shows_the_previous_profiles_workspaces(
    bp: Bp, sandbox: Sandbox
) -> None:
    await log_in_two(bp, sandbox)
    async with running(bp) as session:
        await until(lambda: "ws_acme" in offered(session))
        assert (await run_bp(bp, "profiles", "use", "bob")).code == 0
        await session.reload()
        assert offered(session) == set()
        assert session.auth.state == "checking"
        assert prompt_text(session.view) == "bp bob:initech › "
        await until(lambda: offered(session) == {"ws_initech"})
        await until(lambda: session.auth == Auth("ok", "bob@example.com"))


async def test_a_change_by_another_process_is_picked_up_while_idle(
    bp: Bp, sandbox: Sandbox
) -> None:
    await log_in_two(bp, sandbox)
    async with running(bp) as session:
        changed: list[bool] = []
        session.on_change = lambda: changed.append(True)
        assert (await run_bp(bp, "profiles", "use", "bob")).code == 0
        await until(lambda: session.view.profile == "bob")
        assert changed


async def test_a_fresh_disk_cache_is_used_without_the_network(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    write_workspaces(bp.home, "default", sandbox.url, [("ws_cached", "from disk")])
    sandbox.reset()
    async with running(bp) as session:
        await until(lambda: offered(session) == {"ws_cached"})
        await until(lambda: session.auth.state == "ok")
    assert "listWorkspaces" not in sandbox.stats.requests


async def test_a_cache_of_another_api_url_is_ignored(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    write_workspaces(bp.home, "default", "https://api.botpress.cloud", [("ws_other", "other")])
    async with running(bp) as session:
        await until(lambda: "ws_acme" in offered(session))
        assert "ws_other" not in offered(session)


async def test_completion_never_waits_on_a_slow_api(bp: Bp, fresh_sandbox: Sandbox) -> None:
    await log_in_two(bp, fresh_sandbox)
    stale = time.time() - 3600
    write_workspaces(bp.home, "default", fresh_sandbox.url, [("ws_old", "stale but shown")])
    os.utime(cache_path(bp.home, "default"), (stale, stale))
    path = cache_path(bp.home, "default")
    data = json.loads(path.read_text())
    data["fetchedAt"] = stale
    path.write_text(json.dumps(data))
    fresh_sandbox.set_latency(5000)
    async with running(bp) as session:
        await until(lambda: offered(session) == {"ws_old"}, within=2)
        started = time.monotonic()
        assert offered(session) == {"ws_old"}
        assert time.monotonic() - started < 0.5
        assert session.auth.state == "checking"


async def test_an_unreachable_api_is_a_state_not_a_crash(bp: Bp) -> None:
    url = closed_port_url()
    seed(bp, {"version": 1, "activeProfile": "default", "profiles": {
        "default": {"apiUrl": url, "workspaceId": "ws_acme", "token": "bp_pat_x000000000000"},
    }})  # fmt: skip
    async with running(bp) as session:
        await until(lambda: session.auth.state == "failed")
        assert session.auth.detail.startswith(f"cannot reach {url}")
        assert "bp_pat_x" not in toolbar_text(session.view, session.auth)
        assert offered(session) == set()


async def test_a_broken_config_file_is_shown_not_raised(bp: Bp) -> None:
    bp.home.mkdir(parents=True)
    bp.config_path.write_text("{not json")
    async with running(bp) as session:
        assert session.view.problem is not None
        assert toolbar_text(session.view, session.auth).startswith("profile (none) │ ")
        assert "✗" in toolbar_text(session.view, session.auth)


async def test_names_are_cleaned_in_prompt_and_toolbar(bp: Bp, sandbox: Sandbox) -> None:
    seed(bp, {"version": 1, "activeProfile": "default", "profiles": {
        "default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme",
                    "workspaceName": "evil\x1b[2J", "token": "bp_pat_x000000000000"},
    }})  # fmt: skip
    async with running(bp) as session:
        assert prompt_text(session.view) == "bp default:evil\\x1b[2J › "
        assert "\x1b" not in toolbar_text(session.view, session.auth)


async def test_a_login_in_the_shell_fetches_once_and_ignores_the_old_cache(
    bp: Bp, sandbox: Sandbox
) -> None:
    await log_in_two(bp, sandbox)
    async with running(bp) as session:
        await until(lambda: "ws_acme" in offered(session))
        write_workspaces(bp.home, "bob", sandbox.url, [("ws_from_an_old_token", "old")])
        sandbox.reset()
        assert (
            await run_bp(bp, "login", "-p", "bob", "--workspaceId", "ws_initech", "-y")
        ).code == 0
        await session.after_command(("login",), 0)
        assert offered(session) == set()
        await until(lambda: offered(session) == {"ws_initech"})
        await until(lambda: session.auth == Auth("ok", "bob@example.com"))
        await anyio.sleep(0.2)
    assert sandbox.stats.requests["listWorkspaces"] == 1


@pytest.mark.parametrize(
    ("environ", "opts"),
    [
        ({}, GlobalOptions()),
        ({"BP_WORKSPACE_ID": "ws_other"}, GlobalOptions()),
        ({"BP_API_URL": "https://api.example.com/"}, GlobalOptions()),
        ({}, GlobalOptions(profile="bob", profile_source="flag")),
    ],
)
async def test_the_first_frame_peek_agrees_with_the_real_view(
    bp: Bp, sandbox: Sandbox, environ: dict[str, str], opts: GlobalOptions
) -> None:
    await log_in_two(bp, sandbox)
    env, _, _ = shell_env(bp)
    env.environ = environ
    quick, profiles = peek(bp.config_path, environ, opts.profile)
    session = Session(env, opts)
    async with anyio.create_task_group() as group:
        await group.start(session.run)
        real = session.view
        group.cancel_scope.cancel()
    assert replace(quick, fingerprint="") == replace(real, fingerprint="", source=None)
    assert sorted(profiles) == ["bob", "default"]
    assert session_module.DEFAULT_API_URL == config.DEFAULT_API_URL


async def test_the_first_frame_peek_of_no_or_a_broken_file(bp: Bp) -> None:
    assert peek(bp.config_path, {}, None) == (View(), {})
    bp.home.mkdir(parents=True)
    bp.config_path.write_text('{"profiles": {"x": []}}')
    assert peek(bp.config_path, {}, "x") == (View("x"), {})


async def test_a_login_elsewhere_with_a_keyring_token_drops_the_old_workspaces(
    bp: Bp, sandbox: Sandbox
) -> None:
    """Another process logs the shell's profile in again, to another account, its token in
    the keyring (config.json holds no token to compare): the old account's workspaces go."""
    await log_in_two(bp, sandbox)
    async with running(bp) as session:
        await until(lambda: "ws_globex" in offered(session))
        again = await run_bp(
            bp,
            "login", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", "ws_initech",
            "-y", stdin=BOB_TOKEN,
        )  # fmt: skip
        assert again.code == 0, again.err
        await session.reload()
        assert "ws_globex" not in offered(session)
        await until(lambda: offered(session) == {"ws_initech"})


async def test_workspaces_of_bp_token_never_fill_a_profiles_cache(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    path = cache_path(bp.home, "default")
    assert not path.exists()
    listed = await run_bp(bp, "workspaces", "list", env={"BP_TOKEN": BOB_TOKEN})
    assert (listed.code, listed.out.split()[-2:]) == (0, ["ws_initech", "initech"])
    assert not path.exists()
    assert (await run_bp(bp, "workspaces", "list")).code == 0
    before = path.read_bytes()
    assert (await run_bp(bp, "workspaces", "list", env={"BP_TOKEN": BOB_TOKEN})).code == 0
    assert path.read_bytes() == before


async def test_pat_ids_are_offered_from_memory_with_their_notes(bp: Bp, sandbox: Sandbox) -> None:
    """``tokens revoke <Tab>``: the token's PATs, fetched with its workspaces in the
    background (never on a keystroke), their notes beside them; another profile's never."""
    await log_in_two(bp, sandbox)
    alice = sandbox.world.pat(ALICE_TOKEN)
    async with running(bp) as session:
        await until(lambda: offered(session, "tokens revoke ") == {alice.id})
        (shown,) = session.completer.get_completions(
            Document("tokens revoke "), CompleteEvent(completion_requested=True)
        )
        assert shown.display_meta_text == alice.note
        assert offered(session, "tokens rotate --revoke-old ") == {alice.id}
        before = sandbox.stats.total
        for _ in range(20):
            offered(session, "tokens revoke ")
        assert sandbox.stats.total == before
        assert (await run_bp(bp, "profiles", "use", "bob")).code == 0
        await session.reload()
        assert alice.id not in offered(session, "tokens revoke ")
        bob = sandbox.world.pat(BOB_TOKEN)
        await until(lambda: offered(session, "tokens revoke ") == {bob.id})


async def test_in_the_sandbox_the_default_api_url_is_the_sandboxs(bp: Bp) -> None:
    """Not logged in inside ``bp shell --sandbox``: the toolbar and ``--apiUrl`` completion
    name the sandbox, not the real Botpress Cloud."""
    env, _, _ = shell_env(bp)
    env.sandbox = Sandboxed("http://127.0.0.1:9", ())
    session = Session(env, GlobalOptions(), sandbox=True)
    async with anyio.create_task_group() as group:
        await group.start(session.run)
        assert toolbar_text(session.view, session.auth, sandbox=True) == (
            "SANDBOX │ not logged in (run: login) │ http://127.0.0.1:9"
        )
        assert offered(session, "login --apiUrl ") == {"http://127.0.0.1:9"}
        group.cancel_scope.cancel()
    await env.aclose()


async def test_tab_on_a_profile_with_nothing_cached_fetches_it_once_and_says_so(
    bp: Bp, sandbox: Sandbox
) -> None:
    """``login -p bob --workspaceId <Tab>``: bob is not the active profile and nothing is
    cached for it: the toolbar says it is being fetched (one fetch, however many Tabs), and
    the next Tab offers them."""
    await log_in_two(bp, sandbox)
    line = "login -p bob --workspaceId "
    async with running(bp) as session:
        await until(lambda: "ws_acme" in offered(session))
        await until(lambda: offered(session, "tokens revoke "))
        notices: list[str | None] = []
        session.on_change = lambda: notices.append(session.notice)
        before = sandbox.stats.requests["listWorkspaces"]
        sandbox.set_latency(300)
        assert offered(session, line) == set()
        await until(lambda: session.notice == "fetching workspaces of bob…")
        while session.notice is not None:  # Tabs while the answer is on its way
            assert offered(session, line) == set()
            await anyio.sleep(0.02)
        assert offered(session, line) == {"ws_initech"}
        assert notices[-1] is None
    assert sandbox.stats.requests["listWorkspaces"] == before + 1
    assert json.loads(cache_path(bp.home, "bob").read_text())["workspaces"] == [
        {"id": "ws_initech", "name": "initech"}
    ]


async def test_a_fetch_that_cannot_be_done_says_why(bp: Bp, sandbox: Sandbox) -> None:
    await log_in_two(bp, sandbox)
    config_data = bp.config(raw=True)
    config_data["profiles"]["gone"] = {"apiUrl": sandbox.url, "workspaceId": "ws_x"}
    seed(bp, config_data)
    async with running(bp) as session:
        await until(lambda: "ws_acme" in offered(session))
        assert offered(session, "login -p gone --workspaceId ") == set()
        await until(lambda: session.notice is not None and "fetching" not in session.notice)
        assert session.notice == "cannot fetch workspaces of gone: no token stored for it"


async def test_workspaces_fetched_for_a_token_replaced_meanwhile_are_thrown_away(
    bp: Bp, sandbox: Sandbox
) -> None:
    """The fetch at start is on its way when the profile gets another token (a login
    elsewhere): what it brings back is the old token's, so it is never offered."""
    await log_in_two(bp, sandbox, insecure=True)
    sandbox.set_latency(400)
    offers: list[set[str]] = []
    async with running(bp) as session:
        session.on_change = lambda: offers.append(offered(session))
        await until(lambda: sandbox.stats.requests.get("listWorkspaces", 0) > 0)
        changed = bp.config(raw=True)
        changed["profiles"]["default"].update(token=BOB_TOKEN, workspaceId="ws_initech")
        seed(bp, changed)
        await session.reload()
        sandbox.set_latency(0)
        await until(lambda: offered(session) == {"ws_initech"})
    assert all(offer <= {"ws_initech"} for offer in offers), offers


async def test_the_credentials_are_checked_again_while_idle_never_during_a_command(
    bp: Bp, fresh_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every RECHECK_S (minutes; shortened here) the check is done again, keeping ✓ on
    screen until its answer (no ``checking…`` flash), and never while a command runs."""
    monkeypatch.setattr(session_module, "RECHECK_S", 0.3)
    monkeypatch.setattr(session_module, "POLL_S", 0.05)
    await log_in_two(bp, fresh_sandbox)
    async with running(bp) as session:
        await until(lambda: session.auth.state == "ok")
        states: list[str] = []
        session.on_change = lambda: states.append(session.auth.state)
        await until(lambda: fresh_sandbox.stats.requests["getAccount"] >= 2)  # a recheck
        with session.command_running():
            fresh_sandbox.world.revoke_token(ALICE_TOKEN)
            await until(lambda: not session.checking)
            checks = fresh_sandbox.stats.requests["getAccount"]
            await anyio.sleep(1.0)  # three periods and more
            assert fresh_sandbox.stats.requests["getAccount"] == checks
        await until(lambda: session.auth == Auth("failed", "the token is invalid or expired"))
    assert "checking" not in states
