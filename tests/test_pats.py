"""``bp tokens list|create|rotate|revoke`` and ``logout --revoke``, over the sandbox.

Each test gets a fresh demo world (these tests revoke the demo tokens), restored after.
A rotation must leave the profile with a working token whatever stops it: real processes
are killed (SIGKILL) or interrupted (SIGINT) while the new token is being verified, and while
the old one is being deleted.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bpshell.config import Profile
from bpshell.env import Env
from bpshell.errors import BpError
from bpshell.pats import (
    TokensCreateOptions,
    revoke_before_logout,
    run_create,
    token_age_lines,
)
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox, World
from tests.conftest import ROOT, Bp, KeyringView, Outcome, ScriptedPrompter, process_env, seed

# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[World]:
    sandbox.world = World.demo()
    yield sandbox.world
    sandbox.world = World.demo()


def login(
    bp: Bp, sandbox: Sandbox, *extra: str, token: str = ALICE_TOKEN, workspace: str = "ws_acme"
) -> None:
    done = bp(
        "login", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId", workspace, *extra,
        stdin=token,
    )  # fmt: skip
    assert done.code == 0, done


def status_of(sandbox: Sandbox, token: str) -> int:
    """What the API answers ``token`` (200: it works; 401: revoked)."""
    answer = httpx.get(
        f"{sandbox.url}/v1/admin/account/me", headers={"authorization": f"Bearer {token}"}
    )
    return answer.status_code


def pat_ids(world: World, token: str = ALICE_TOKEN) -> list[str]:
    return [p.id for p in world.pats_of(world.tokens[token])]


def profile(bp: Bp, name: str = "default") -> dict[str, Any]:
    entry: dict[str, Any] = bp.config(raw=True)["profiles"][name]
    return entry


def stored_token(bp: Bp, name: str = "default") -> str:
    entry = profile(bp, name)
    return entry.get("token") or KeyringView(bp)[name]


def rotate_note(name: str = "default") -> str:
    return f"bp tokens rotate: profile {name} on {socket.gethostname()}, {datetime.now(UTC).date()}"


def no_token_shown(outcome: Outcome, *tokens: str) -> None:
    for token in tokens:
        assert token not in outcome.out and token not in outcome.err


# --- rotate --------------------------------------------------------------------------------


def test_rotate_revokes_the_old_token_and_changes_nothing_else(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    before = bp.config()["profiles"]["default"]
    old_id = world.pat(ALICE_TOKEN).id

    result = bp("tokens", "rotate", "--revoke-old", old_id)

    new_id = profile(bp)["tokenId"]
    new_token = stored_token(bp)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f'Profile "default" now uses a new token, {new_id} (in the keyring)\n'
        f"Revoked the old token, {old_id}\n"
    )
    (pat,) = world.pats_of(world.tokens[new_token])
    assert (pat.id, pat.note) == (new_id, rotate_note())
    after = bp.config()["profiles"]["default"]
    assert after == {**before, "tokenId": new_id, "tokenCreatedAt": pat.created_at}
    assert profile(bp)["accountId"] == world.tokens[new_token]
    assert len(KeyringView(bp)) == 1  # the old entry went with the old token
    assert (status_of(sandbox, ALICE_TOKEN), status_of(sandbox, new_token)) == (401, 200)
    assert bp("profiles", "active").code == 0
    no_token_shown(result, ALICE_TOKEN, new_token)

    # bpshell made this one: the next rotation needs no flag.
    again = bp("tokens", "rotate", "--json")
    newest = stored_token(bp)
    assert (again.code, again.err) == (0, "")
    assert again.json() == {
        "profile": "default",
        "tokenId": profile(bp)["tokenId"],
        "note": rotate_note(),
        "createdAt": profile(bp)["tokenCreatedAt"],
        "tokenStorage": "keyring",
        "profilesUpdated": ["default"],
        "oldTokenId": new_id,
        "oldToken": "revoked",
    }
    assert (status_of(sandbox, new_token), status_of(sandbox, newest)) == (401, 200)


def test_rotate_of_a_pasted_token_without_a_terminal_is_refused_before_anything(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    before = bp.config_bytes()
    sandbox.reset_stats()

    result = bp("tokens", "rotate")

    assert (result.code, result.out) == (2, "")
    assert result.err == (
        'The token of profile "default" was pasted at login, so bpshell does not know which of '
        "the account's tokens to revoke after the rotation. Pass --revoke-old ID (see bp tokens "
        "list -p default) or --keep-old\n"
    )
    assert bp.config_bytes() == before
    assert sandbox.stats.total == 0
    assert pat_ids(world) == [world.pat(ALICE_TOKEN).id]


def test_rotate_of_a_pasted_token_asks_which_one_to_revoke(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    laptop, _ = world.create_pat(world.tokens[ALICE_TOKEN], "laptop", "2024-02-01T00:00:00.000Z")
    old_id = world.pat(ALICE_TOKEN).id
    offered: list[list[str]] = []

    def pick(choices: list[tuple[str, str]]) -> str:
        offered.append([value for value, _ in choices])
        return old_id

    result = bp("tokens", "rotate", interactive=True, answers=[pick])

    assert result.code == 0, result
    assert result.err == (
        'Which of the account\'s tokens is the one profile "default" uses? It is revoked once '
        "the new one is stored.\n"
    )
    assert offered == [[old_id, laptop.id, "keep"]]
    assert status_of(sandbox, ALICE_TOKEN) == 401
    assert status_of(sandbox, stored_token(bp)) == 200


@pytest.mark.parametrize(
    ("words", "answers"),
    [(("--keep-old",), ()), ((), ("keep",))],
    ids=["keep-old", "chosen"],
)
def test_rotate_can_keep_the_old_token(
    bp: Bp, sandbox: Sandbox, world: World, words: tuple[str, ...], answers: tuple[str, ...]
) -> None:
    login(bp, sandbox)
    result = bp("tokens", "rotate", *words, interactive=bool(answers), answers=answers)
    assert result.code == 0, result
    why = "--keep-old" if words else "as chosen"
    assert result.out.splitlines()[-1] == (
        f"Kept the old token ({why}); revoke it later with: bp tokens revoke ID"
    )
    assert (status_of(sandbox, ALICE_TOKEN), status_of(sandbox, stored_token(bp))) == (200, 200)


def test_rotate_moves_every_profile_that_shares_the_token(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    done = bp(
        "login", "-p", "globex", "--token", "-", "--apiUrl", sandbox.url,
        "--workspaceId", "ws_globex", stdin=ALICE_TOKEN,
    )  # fmt: skip
    assert done.code == 0
    bp("profiles", "use", "default")
    login(bp, sandbox, "-p", "bob", token=BOB_TOKEN, workspace="ws_initech")
    bp("profiles", "use", "default")
    before = bp.config()["profiles"]

    result = bp("tokens", "rotate", "--revoke-old", world.pat(ALICE_TOKEN).id)

    assert (result.code, result.err) == (0, ""), result
    new_id = profile(bp)["tokenId"]
    assert result.out.splitlines()[1] == (
        'Profile "globex" used the same token: it uses the new one too'
    )
    after = bp.config()["profiles"]
    created = profile(bp)["tokenCreatedAt"]
    moved = {"tokenId": new_id, "tokenCreatedAt": created}
    assert after == {
        "default": {**before["default"], **moved},
        "globex": {**before["globex"], **moved},
        "bob": before["bob"],
    }
    assert stored_token(bp, "globex") == stored_token(bp) != ALICE_TOKEN
    assert status_of(sandbox, ALICE_TOKEN) == 401
    assert bp("-p", "globex", "profiles", "active").code == 0
    assert bp("-p", "bob", "profiles", "active").code == 0


def test_a_failed_deletion_keeps_the_new_token_and_names_the_retry(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    old_id = world.pat(ALICE_TOKEN).id
    sandbox.set_fault("deletePersonalAccessToken", "status", status=500, times=1)

    result = bp("tokens", "rotate", "--revoke-old", old_id)

    assert result.code == 1
    assert result.err == (
        f"warning: the old token {old_id} was not revoked ({sandbox.url} failed (500 Internal: "
        'Injected fault: status 500)); profile "default" uses the new one. Retry with: '
        f"bp tokens revoke {old_id}\n"
    )
    assert result.out.splitlines()[-1] == (
        f"The old token, {old_id}, still works (see the warning above)"
    )
    assert (status_of(sandbox, ALICE_TOKEN), status_of(sandbox, stored_token(bp))) == (200, 200)
    retry = bp("tokens", "revoke", old_id)
    assert (retry.code, retry.out, retry.err) == (0, f"Revoked token {old_id}\n", "")
    assert status_of(sandbox, ALICE_TOKEN) == 401


def test_a_new_token_that_fails_its_check_is_deleted_and_nothing_changes(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    before = bp.config_bytes()
    old_ids = pat_ids(world)
    sandbox.set_fault("getWorkspace", "status", status=403, error_type="Forbidden")

    result = bp("tokens", "rotate", "--keep-old")

    assert result.code == 1
    assert result.err.startswith("The new token ")
    assert result.err.endswith(" did not pass the check (permission denied for workspace "
                               "ws_acme). Nothing was changed; try again later\n")  # fmt: skip
    assert bp.config_bytes() == before
    assert pat_ids(world) == old_ids
    assert status_of(sandbox, ALICE_TOKEN) == 200


def test_a_failure_after_the_switch_keeps_the_new_token_it_stored(
    bp: Bp, sandbox: Sandbox, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bpshell import credentials
    from bpshell.errors import StorageError

    def fail(*args: object) -> None:
        raise StorageError("the disk is full")

    login(bp, sandbox)
    monkeypatch.setattr(credentials, "warn_left", fail)  # runs after config.json switched

    result = bp("tokens", "rotate", "--revoke-old", world.pat(ALICE_TOKEN).id)

    assert (result.code, result.out, result.err) == (1, "", "The disk is full\n")
    new_token = stored_token(bp)
    assert new_token != ALICE_TOKEN
    assert (status_of(sandbox, new_token), status_of(sandbox, ALICE_TOKEN)) == (200, 200)


def test_rotate_refuses_bp_token_and_contradictory_flags(bp: Bp, sandbox: Sandbox) -> None:
    login(bp, sandbox)
    both = bp("tokens", "rotate", "--keep-old", "--revoke-old", "x")
    assert (both.code, both.err) == (
        2,
        "--keep-old and --revoke-old contradict each other. Pass one of them\n",
    )
    env = bp("tokens", "rotate", env={"BP_TOKEN": ALICE_TOKEN})
    assert env.code == 2
    assert env.err.startswith("BP_TOKEN is set, so commands use it, not a profile's token")


def test_rotate_verbose_shows_no_token(bp: Bp, sandbox: Sandbox, world: World) -> None:
    login(bp, sandbox)
    result = bp("tokens", "rotate", "-v", "--revoke-old", world.pat(ALICE_TOKEN).id)
    assert result.code == 0
    operations = [line.split()[1] for line in result.err.splitlines()]
    # The listing that checks --revoke-old, the new token, its check, the old one's deletion.
    assert operations == ["GET", "POST", "GET", "GET", "DELETE"]
    no_token_shown(result, ALICE_TOKEN, stored_token(bp))


# --- create --------------------------------------------------------------------------------


def test_create_prints_the_value_once(bp: Bp, sandbox: Sandbox, world: World) -> None:
    login(bp, sandbox)
    before = bp.config_bytes()

    result = bp("tokens", "create", "--note", "deploys from CI")

    token = result.out.strip()
    assert (result.code, result.err, result.out) == (0, "", token + "\n")
    assert status_of(sandbox, token) == 200
    assert world.pat(token).note == "deploys from CI"
    assert bp.config_bytes() == before

    shaped = bp("tokens", "create", "--note", "ci", "--json")
    data = shaped.json()
    pat = world.pat(data["value"])
    assert data == {"id": pat.id, "note": "ci", "createdAt": pat.created_at, "value": data["value"]}


def test_create_on_a_terminal_says_the_value_is_not_shown_again(
    home: Path, sandbox: Sandbox, world: World
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    bp = Bp(home)
    login(bp, sandbox)
    out, err = Tty(), io.StringIO()
    env = Env(
        environ={}, home=home, interactive=True, tokens=bp.tokens,
        prompter=ScriptedPrompter([]), stdout_stream=out, stderr_stream=err,
    )  # fmt: skip
    from bpshell.commands import GlobalOptions

    async def run() -> Any:
        try:
            return await run_create(TokensCreateOptions(note="laptop"), GlobalOptions(), env)
        finally:
            await env.aclose()

    result = asyncio.run(run())
    pat = world.pat(result.text)
    assert err.getvalue() == (
        "This is the only time this token is shown: store it now. "
        f"Revoke it with: bp tokens revoke {pat.id}\n"
    )


def test_create_save_as_stores_a_verified_profile_and_shows_no_token(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    result = bp("tokens", "create", "--note", "ci", "--save-as", "ci", "--json")

    assert (result.code, result.err) == (0, "")
    token = stored_token(bp, "ci")
    pat = world.pat(token)
    assert result.json() == {
        "id": pat.id,
        "note": "ci",
        "createdAt": pat.created_at,
        "profile": "ci",
        "tokenStorage": "keyring",
    }
    assert bp.config()["profiles"]["ci"] == {
        "apiUrl": sandbox.url,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "tokenId": pat.id,
        "tokenCreatedAt": pat.created_at,
    }
    assert bp.config()["activeProfile"] == "default"  # a token for elsewhere: no switch
    assert bp("-p", "ci", "profiles", "active").code == 0
    no_token_shown(result, token, ALICE_TOKEN)

    text = bp("tokens", "create", "--note", "ci2", "--save-as", "ci2")
    pat2 = world.pat(stored_token(bp, "ci2"))
    assert text.out == (
        f'Created token {pat2.id} ("ci2") and saved it as profile "ci2" (token in the '
        "keyring); use it with: bp -p ci2 …\n"
    )


@pytest.mark.parametrize(
    ("words", "err"),
    [
        (
            ("tokens", "create"),
            "'bp tokens create' needs --note NOTE. Say what the token is for: bp tokens create "
            "--note 'deploys from CI'\n",
        ),
        (
            ("tokens", "create", "--note", "x", "--save-as", "default"),
            'A profile named "default" already exists. Choose another name, or remove it first: '
            "bp profiles rm default\n",
        ),
        (
            ("tokens", "create", "--note", f"old {ALICE_TOKEN}"),
            "The note looks like a token, so it was not sent. A note is a label, such as the "
            "machine or the job the token is for\n",
        ),
        (
            ("tokens", "revoke", ALICE_TOKEN),
            "ID looks like a token, not a token ID, so it was not used. A token never goes on "
            "the command line; find the ID with: bp tokens list\n",
        ),
        (
            ("tokens", "revoke", "../me"),
            'Invalid token ID ../me. A PAT id has only letters, digits, "_" and "-"\n',
        ),
        (
            ("tokens", "revoke"),
            'No token ID given, and bpshell does not know the ID of profile "default"\'s token '
            "(it was not created by bpshell). Name it: bp tokens revoke ID (see bp tokens "
            "list)\n",
        ),
    ],
    ids=["no-note", "profile-exists", "token-as-note", "token-as-id", "bad-id", "no-id"],
)
def test_refused_before_any_request(
    bp: Bp, sandbox: Sandbox, world: World, words: tuple[str, ...], err: str
) -> None:
    login(bp, sandbox)
    sandbox.reset_stats()
    result = bp(*words)
    assert (result.code, result.out, result.err) == (2, "", err)
    assert sandbox.stats.total == 0


# --- list ----------------------------------------------------------------------------------


def test_list_marks_the_token_in_force_and_the_profiles_that_store_each(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    assert bp("tokens", "create", "--note", "ci", "--save-as", "ci").code == 0
    alice = world.pat(ALICE_TOKEN)
    ci = world.pat(stored_token(bp, "ci"))
    now = datetime.now(UTC)
    alice_age = (now - datetime.fromisoformat(alice.created_at)).days

    result = bp("-p", "ci", "tokens", "list", "--json")

    assert (result.code, result.err) == (0, "")
    assert result.json() == [
        {
            "id": alice.id,
            "note": "demo",
            "createdAt": alice.created_at,
            "ageDays": alice_age,
            "current": False,
            "profiles": [],
        },
        {
            "id": ci.id,
            "note": "ci",
            "createdAt": ci.created_at,
            "ageDays": 0,
            "current": True,
            "profiles": ["ci"],
        },
    ]
    text = bp("-p", "ci", "tokens", "list")
    assert text.out.splitlines() == [
        "   ID                                    NOTE  CREATED     AGE        PROFILES",
        f"   {alice.id}  demo  2023-03-01  {alice_age} days".rstrip(),
        f"*  {ci.id}  ci    {ci.created_at[:10]}  today      ci",
    ]
    # The pasted token of "default": bpshell cannot tell which it is, and says so.
    pasted = bp("tokens", "list")
    assert pasted.err == (
        'note: bpshell does not know which of these profile "default" uses (its token was '
        "pasted at login); after bp tokens rotate it does\n"
    )


# --- revoke --------------------------------------------------------------------------------


def test_revoking_the_active_profiles_token_asks_then_says_it_no_longer_works(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    assert bp("tokens", "create", "--note", "ci", "--save-as", "ci").code == 0
    assert bp("profiles", "use", "ci").code == 0
    ci_id = profile(bp, "ci")["tokenId"]
    question = (
        f'Token {ci_id} is stored by profile "ci" (active), which will stop working. Revoke it?'
    )

    refused = bp("-p", "default", "tokens", "revoke", ci_id)
    assert (refused.code, refused.out) == (2, "")
    assert refused.err == f"No terminal to ask: {question} Pass -y to revoke it\n"
    declined = bp("tokens", "revoke", ci_id, interactive=True, answers=[False])
    assert (declined.code, declined.out) == (1, "Nothing was revoked.\n")
    assert status_of(sandbox, stored_token(bp, "ci")) == 200

    result = bp("tokens", "revoke", ci_id, interactive=True, answers=[True])

    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"Revoked token {ci_id}\n"
        'Profile "ci" no longer works: its token was revoked. Log in again with: bp login -p ci\n'
    )
    assert status_of(sandbox, stored_token(bp, "ci")) == 401
    assert status_of(sandbox, ALICE_TOKEN) == 200


def test_revoking_the_profiles_own_token_needs_no_id_and_no_question(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    assert bp("tokens", "create", "--note", "ci", "--save-as", "ci").code == 0
    ci_id = profile(bp, "ci")["tokenId"]
    result = bp("-p", "ci", "tokens", "revoke", "--json")
    assert (result.code, result.err) == (0, "")
    assert result.json() == {"revoked": ci_id, "profiles": ["ci"]}


def test_revoking_a_pasted_token_by_id_finds_out_its_profile_stopped_working(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    result = bp("tokens", "revoke", world.pat(ALICE_TOKEN).id)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[1] == (
        'Profile "default" no longer works: its token was revoked. Log in again with: '
        "bp login -p default"
    )


def test_revoking_an_unknown_id(bp: Bp, sandbox: Sandbox, world: World) -> None:
    login(bp, sandbox)
    result = bp("tokens", "revoke", "nope")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "Not found (ResourceNotFound: Personal access token nope not found). See the "
        "account's tokens: bp tokens list\n"
    )


# --- logout --revoke -----------------------------------------------------------------------


def make_env(bp: Bp, *, interactive: bool = False, answers: tuple[Any, ...] = ()) -> Env:
    return Env(
        environ={}, home=bp.home, interactive=interactive, tokens=bp.tokens,
        prompter=ScriptedPrompter(answers), stdout_stream=io.StringIO(),
        stderr_stream=io.StringIO(),
    )  # fmt: skip


def logout_revoke(bp: Bp, names: list[str], *, yes: bool = False) -> tuple[Any, str]:
    env = make_env(bp)

    async def run() -> Any:
        try:
            return await revoke_before_logout(env, names, yes=yes)
        finally:
            await env.aclose()

    try:
        outcome: Any = asyncio.run(run())
    except BpError as exc:
        outcome = exc
    assert isinstance(env.stderr, io.StringIO)
    return outcome, env.stderr.getvalue()


def test_logout_revoke_revokes_a_token_bpshell_made(bp: Bp, sandbox: Sandbox, world: World) -> None:
    login(bp, sandbox)
    assert bp("tokens", "create", "--note", "ci", "--save-as", "ci").code == 0
    ci_id, token = profile(bp, "ci")["tokenId"], stored_token(bp, "ci")

    outcome, err = logout_revoke(bp, ["ci"])

    assert outcome == {"ci": "revoked"}
    assert err == f'Revoked the token ({ci_id}) of profile "ci"\n'
    assert status_of(sandbox, token) == 401
    again, err = logout_revoke(bp, ["ci"])
    assert again == {"ci": "invalid"}  # its own token is refused now: nothing left to revoke


def test_logout_revoke_refuses_a_pasted_token_and_revokes_nothing(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    outcome, _ = logout_revoke(bp, ["default"])
    assert outcome.message == (
        'the token of profile "default" was pasted at login, so bpshell does not know which of '
        "the account's tokens to revoke"
    )
    assert status_of(sandbox, ALICE_TOKEN) == 200


def test_logout_revoke_asks_when_a_profile_left_behind_shares_the_token(
    bp: Bp, sandbox: Sandbox, world: World
) -> None:
    login(bp, sandbox)
    assert bp("tokens", "create", "--note", "ci", "--save-as", "ci").code == 0
    token = stored_token(bp, "ci")
    done = bp(
        "login", "-p", "ci2", "--token", "-", "--apiUrl", sandbox.url, "--workspaceId",
        "ws_globex", stdin=token,
    )  # fmt: skip
    assert done.code == 0
    outcome, _ = logout_revoke(bp, ["ci"])
    assert (outcome.message, outcome.hint) == (
        'no terminal to ask: The token is also stored by profile "ci2" (active), which will '
        "stop working. Revoke it?",
        "pass -y to revoke it, or log out without --revoke",
    )
    assert status_of(sandbox, token) == 200
    ci_id = profile(bp, "ci")["tokenId"]
    both, err = logout_revoke(bp, ["ci", "ci2"])
    # ci2 was pasted the same token: ci knows its id, and it is revoked once.
    assert both == {"ci": "revoked", "ci2": "revoked"}
    assert err == (
        f'Revoked the token ({ci_id}) of profile "ci"\n'
        f'Revoked the token ({ci_id}) of profile "ci2"\n'
    )
    assert status_of(sandbox, token) == 401
    assert [r.method for r in sandbox.stats.received].count("DELETE") == 1


# --- profiles active: the token's age -------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created", "lines"),
    [
        (None, []),
        ("not a date", []),
        ((NOW - timedelta(hours=3)).isoformat(), ["Token age: today"]),
        ("2025-05-31T00:00:00.000Z", ["Token age: 1 day"]),
        ("2025-05-20T12:00:00Z", ["Token age: 12 days"]),
        ("2025-03-03T12:00:00", ["Token age: 90 days"]),
        (
            "2025-02-24T09:30:00.000Z",
            [
                "Token age: 97 days",
                "hint: this token is 97 days old; rotate it with: bp tokens rotate",
            ],
        ),
        ("2030-01-01T00:00:00Z", ["Token age: today"]),  # a clock behind the server's
    ],
)
def test_token_age_lines(created: str | None, lines: list[str]) -> None:
    profile = Profile("https://api.botpress.cloud", "ws_1", tokenCreatedAt=created)
    assert token_age_lines(profile, NOW) == lines


def test_token_age_hint_names_the_profile_when_asked() -> None:
    profile = Profile("https://api.botpress.cloud", "ws_1", tokenCreatedAt="2025-01-01T00:00:00Z")
    assert token_age_lines(profile, NOW, "ci")[1].endswith("rotate it with: bp tokens rotate -p ci")


# --- interrupted rotations, in real processes -----------------------------------------------


def seeded_home(bp: Bp, sandbox: Sandbox, world: World) -> dict[str, Any]:
    """A profile whose token is in config.json (the child has no keyring) with its id."""
    entry = {
        "apiUrl": sandbox.url,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "token": ALICE_TOKEN,
        "accountId": world.tokens[ALICE_TOKEN],
        "tokenId": world.pat(ALICE_TOKEN).id,
    }
    seed(bp, {"version": 1, "activeProfile": "default", "profiles": {"default": entry}})
    return entry


def spawn(home: Path, *words: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bpshell", *words],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=process_env(home),
        cwd=ROOT,
    )


def wait_for(sandbox: Sandbox, operation: str, timeout: float = 30.0) -> None:
    """Until the sandbox has received ``operation`` (held there by a delay)."""
    deadline = time.monotonic() + timeout
    while sandbox.stats.requests.get(operation, 0) == 0:
        assert time.monotonic() < deadline, f"no {operation} within {timeout} s"
        time.sleep(0.02)


def stop(child: subprocess.Popen[str], signum: int) -> Outcome:
    child.send_signal(signum)
    out, err = child.communicate(timeout=30)
    return Outcome(child.returncode, out, err)


def works(bp: Bp) -> bool:
    return bp("profiles", "active").code == 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_before_the_new_token_is_stored_keeps_the_old_one(
    bp: Bp, sandbox: Sandbox, world: World, signum: int
) -> None:
    entry = seeded_home(bp, sandbox, world)
    before = bp.config_bytes()
    sandbox.set_fault("getWorkspace", "delay", seconds=5, times=1)  # the new token's check
    sandbox.reset_stats()
    child = spawn(bp.home, "tokens", "rotate")
    wait_for(sandbox, "getWorkspace")

    outcome = stop(child, signum)

    assert bp.config_bytes() == before
    assert status_of(sandbox, ALICE_TOKEN) == 200 and works(bp)
    if signum == signal.SIGINT:
        # Stopped cleanly: the new token, never stored, was deleted again.
        assert (outcome.code, outcome.out, outcome.err) == (130, "", "\nInterrupted.\n")
        assert pat_ids(world) == [entry["tokenId"]]
    else:
        assert outcome.code == -signal.SIGKILL
        # Killed: the new token is left on the server, named for where it came from.
        assert [p.note for p in world.pats_of(entry["accountId"])] == ["demo", rotate_note()]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_while_the_old_token_is_deleted_keeps_the_new_one(
    bp: Bp, sandbox: Sandbox, world: World, signum: int
) -> None:
    entry = seeded_home(bp, sandbox, world)
    sandbox.set_fault("deletePersonalAccessToken", "delay", seconds=1, times=1)
    sandbox.reset_stats()
    child = spawn(bp.home, "tokens", "rotate")
    wait_for(sandbox, "deletePersonalAccessToken")

    outcome = stop(child, signum)

    after = bp.config(raw=True)["profiles"]["default"]
    new_token = after["token"]
    assert new_token != ALICE_TOKEN
    assert after == {
        **entry,
        "token": new_token,
        "tokenId": world.pat(new_token).id,
        "tokenCreatedAt": world.pat(new_token).created_at,
    }
    assert status_of(sandbox, new_token) == 200 and works(bp)
    if signum == signal.SIGINT:
        assert outcome.code == 130
        assert outcome.err.endswith(
            f'Interrupted: profile "default" uses the new token; the old token '
            f"{entry['tokenId']} may still work. Revoke it with: bp tokens revoke "
            f"{entry['tokenId']}\n\nInterrupted.\n"
        )
    else:
        assert outcome.code == -signal.SIGKILL
    # The request was sent before the interruption: the server goes on with it.
    deadline = time.monotonic() + 10
    while status_of(sandbox, ALICE_TOKEN) != 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    no_token_shown(outcome, ALICE_TOKEN, new_token)


def test_a_whole_rotation_in_a_real_process(bp: Bp, sandbox: Sandbox, world: World) -> None:
    seeded_home(bp, sandbox, world)
    child = spawn(bp.home, "tokens", "rotate", "--json")
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    data = json.loads(out)
    assert data["oldToken"] == "revoked"
    assert status_of(sandbox, ALICE_TOKEN) == 401
    assert works(bp)
    # No keyring in the child: the token went to config.json, which the user is told.
    assert "stored in plain text in config.json (0600)" in err
    assert os.stat(bp.config_path).st_mode & 0o777 == 0o600
