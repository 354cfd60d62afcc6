"""The sandbox server, exercised over real loopback sockets."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bpshell.sandbox import (
    ALICE_TOKEN,
    BOB_TOKEN,
    DANA_TOKEN,
    DEMO_TOKENS,
    EXPIRED_TOKEN,
    HOOLI_WORKSPACE_ID,
    UMBRELLA_WORKSPACE_ID,
    RateLimit,
    Sandbox,
    World,
)
from bpshell.sandbox.ratelimit import RateLimiter

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE_REQUIRED = {
    "id",
    "name",
    "ownerId",
    "createdAt",
    "updatedAt",
    "botCount",
    "billingVersion",
    "plan",
    "blocked",
    "spendingLimit",
    "activeTrialId",
}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=1) as sb:
        yield sb


@pytest.fixture
def alice(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def bob(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {BOB_TOKEN}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def dana(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {DANA_TOKEN}"}
    with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5) as client:
        yield client


def assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"id", "code", "type", "message"}
    assert body["id"].startswith("err_") and len(body["id"]) > 4
    assert body["code"] == status
    assert body["type"] == error_type
    assert body["message"]


def list_all_workspace_pages(client: httpx.Client) -> list[dict[str, Any]]:
    pages = []
    params: dict[str, str] = {}
    while True:
        body = client.get("/v1/admin/workspaces", params=params).json()
        pages.append(body)
        if "nextToken" not in body["meta"]:
            return pages
        params = {"nextToken": body["meta"]["nextToken"]}


def test_get_account(alice: httpx.Client) -> None:
    response = alice.get("/v1/admin/account/me")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    account = response.json()["account"]
    assert account["email"] == "alice@example.com"
    assert account["displayName"] == "Alice"
    assert {"id", "email", "emailVerified", "createdAt"} <= set(account)


def test_list_workspaces_paginates_alice_in_three_pages(alice: httpx.Client) -> None:
    pages = list_all_workspace_pages(alice)
    assert [len(page["workspaces"]) for page in pages] == [20, 20, 7]
    assert pages[-1]["meta"] == {}
    ids = [ws["id"] for page in pages for ws in page["workspaces"]]
    assert ids[:3] == ["ws_acme", "ws_globex", "ws_team01"]
    assert ids[-1] == "ws_team45"
    assert len(set(ids)) == 47 and "ws_initech" not in ids
    assert all(set(ws) >= WORKSPACE_REQUIRED for page in pages for ws in page["workspaces"])


def test_list_workspaces_small_page_size_and_handle_filter(sandbox: Sandbox) -> None:
    sandbox.page_size = 50
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    body = httpx.get(f"{sandbox.url}/v1/admin/workspaces", headers=headers).json()
    assert len(body["workspaces"]) == 47 and body["meta"] == {}
    body = httpx.get(
        f"{sandbox.url}/v1/admin/workspaces", headers=headers, params={"handle": "globex"}
    ).json()
    assert [ws["name"] for ws in body["workspaces"]] == ["Globex Corp"]


def test_bad_next_token_is_invalid_query(alice: httpx.Client) -> None:
    response = alice.get("/v1/admin/workspaces", params={"nextToken": "!!!"})
    assert_error(response, 400, "InvalidQuery")


def test_bob_sees_only_initech(bob: httpx.Client) -> None:
    body = bob.get("/v1/admin/workspaces").json()
    assert [ws["id"] for ws in body["workspaces"]] == ["ws_initech"]
    assert body["meta"] == {}


def test_get_workspace(alice: httpx.Client, bob: httpx.Client) -> None:
    workspace = alice.get("/v1/admin/workspaces/ws_acme").json()
    assert set(workspace) >= WORKSPACE_REQUIRED
    assert workspace["name"] == "acme" and workspace["botCount"] == 3
    assert workspace["activeTrialId"] is None
    assert_error(bob.get("/v1/admin/workspaces/ws_acme"), 403, "Forbidden")
    assert_error(bob.get("/v1/admin/workspaces/ws_nope"), 404, "ResourceNotFound")


def test_get_workspace_member(alice: httpx.Client, bob: httpx.Client) -> None:
    path = "/v1/admin/workspace-members/me"
    member = alice.get(path, headers={"x-workspace-id": "ws_acme"}).json()
    assert member["role"] == "owner" and member["email"] == "alice@example.com"
    assert alice.get(path, headers={"x-workspace-id": "ws_team07"}).json()["role"] == "developer"
    assert_error(alice.get(path), 400, "InvalidPayload")
    assert_error(bob.get(path, headers={"x-workspace-id": "ws_acme"}), 403, "Forbidden")
    assert_error(bob.get(path, headers={"x-workspace-id": "ws_nope"}), 404, "ResourceNotFound")


def test_list_bots(alice: httpx.Client, bob: httpx.Client) -> None:
    body = alice.get("/v1/admin/bots", headers={"x-workspace-id": "ws_acme"}).json()
    assert body["meta"] == {} and len(body["bots"]) == 3
    for bot in body["bots"]:
        assert 28 <= len(bot["id"]) <= 36
        assert {"id", "createdAt", "updatedAt", "name", "tags"} <= set(bot)
    initech = bob.get("/v1/admin/bots", headers={"x-workspace-id": "ws_initech"}).json()
    assert len(initech["bots"]) == 2
    assert_error(alice.get("/v1/admin/bots"), 400, "InvalidPayload")
    assert_error(bob.get("/v1/admin/bots", headers={"x-workspace-id": "ws_acme"}), 403, "Forbidden")


def test_list_bots_paginates(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.page_size = 2
    first = alice.get("/v1/admin/bots", headers={"x-workspace-id": "ws_acme"}).json()
    assert len(first["bots"]) == 2
    second = alice.get(
        "/v1/admin/bots",
        headers={"x-workspace-id": "ws_acme"},
        params={"nextToken": first["meta"]["nextToken"]},
    ).json()
    assert len(second["bots"]) == 1 and second["meta"] == {}


@pytest.mark.parametrize(
    "authorization", [None, "Bearer bp_pat_unknown", f"Bearer {EXPIRED_TOKEN}", "Basic abc"]
)
def test_unauthorized(sandbox: Sandbox, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/v1/admin/account/me", "/v1/admin/workspaces", "/v1/admin/workspaces/ws_acme"):
        assert_error(httpx.get(sandbox.url + path, headers=headers), 401, "Unauthorized")
    response = httpx.get(
        sandbox.url + "/v1/admin/bots", headers={**headers, "x-workspace-id": "ws_acme"}
    )
    assert_error(response, 401, "Unauthorized")


def test_unknown_path_and_wrong_method(alice: httpx.Client) -> None:
    assert_error(alice.get("/v1/admin/nothing"), 404, "ResourceNotFound")
    response = alice.post("/v1/admin/account/me", json={})
    assert_error(response, 405, "MethodNotFound")
    assert response.headers["allow"] == "GET"


def test_status_fault_with_retry_after_and_times(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("getAccount", "status", status=429, retry_after=2, times=2)
    for _ in range(2):
        response = alice.get("/v1/admin/account/me")
        assert_error(response, 429, "RateLimited")
        assert response.headers["retry-after"] == "2"
    assert alice.get("/v1/admin/account/me").status_code == 200
    assert sandbox.faults == []


def test_status_fault_custom_type_and_scope(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("listWorkspaces", "status", status=503, error_type="Unknown", message="down")
    response = alice.get("/v1/admin/workspaces")
    assert_error(response, 503, "Unknown")
    assert response.json()["message"] == "down"
    assert alice.get("/v1/admin/account/me").status_code == 200


def test_delay_fault(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("*", "delay", seconds=0.2, times=1)
    started = time.monotonic()
    assert alice.get("/v1/admin/account/me").status_code == 200
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert alice.get("/v1/admin/account/me").status_code == 200
    assert time.monotonic() - started < 0.2


def test_reset_fault(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("getAccount", "reset", times=1)
    with pytest.raises(httpx.TransportError):
        alice.get("/v1/admin/account/me")
    assert alice.get("/v1/admin/account/me").status_code == 200
    assert sandbox.stats.received[0].fault == "reset"


def test_malformed_json_fault(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("getAccount", "malformed_json")
    response = alice.get("/v1/admin/account/me")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_wrong_content_type_fault(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("getAccount", "wrong_content_type")
    response = alice.get("/v1/admin/account/me")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.json()["account"]["email"] == "alice@example.com"


def test_schema_mismatch_fault(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("getWorkspace", "schema_mismatch")
    response = alice.get("/v1/admin/workspaces/ws_acme")
    assert response.status_code == 200 and response.json() == {"unexpected": True}


def test_endless_pages_fault(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_fault("*", "endless_pages")
    tokens = set()
    params: dict[str, str] = {}
    for _ in range(6):
        body = alice.get("/v1/admin/workspaces", params=params).json()
        tokens.add(body["meta"]["nextToken"])
        params = {"nextToken": body["meta"]["nextToken"]}
    assert len(tokens) == 6
    bots = alice.get("/v1/admin/bots", headers={"x-workspace-id": "ws_acme"}).json()
    assert "nextToken" in bots["meta"]
    assert alice.get("/v1/admin/account/me").status_code == 200


def test_redirect_fault_preserves_path(sandbox: Sandbox, alice: httpx.Client) -> None:
    with Sandbox() as other:
        sandbox.set_fault("getAccount", "redirect", location=other.url + "/", times=2)
        response = alice.get("/v1/admin/account/me?x=1")
        assert response.status_code == 302
        assert response.headers["location"] == other.url + "/v1/admin/account/me?x=1"
        followed = alice.get("/v1/admin/account/me", follow_redirects=True)
        assert str(followed.url) == other.url + "/v1/admin/account/me"
        assert other.stats.requests == {"getAccount": 1}
        assert alice.get("/v1/admin/account/me").status_code == 200


def test_set_fault_rejects_bad_input(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.set_fault("nope", "reset")
    with pytest.raises(ValueError):
        sandbox.set_fault("*", "explode")
    with pytest.raises(ValueError):
        sandbox.set_fault("*", "status")
    with pytest.raises(ValueError):
        sandbox.set_fault("*", "reset", seconds=1)
    with pytest.raises(ValueError):
        sandbox.set_fault("*", "redirect", location="/relative")
    with pytest.raises(ValueError):
        sandbox.set_fault("*", "reset", times=0)


def test_fail_rate(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.fail_rate = 1.0
    assert_error(alice.get("/v1/admin/account/me"), 500, "Internal")
    sandbox.fail_rate = 0.0
    assert alice.get("/v1/admin/account/me").status_code == 200


def test_fail_rate_is_repeatable_with_a_seed() -> None:
    def statuses() -> list[int]:
        with Sandbox(fail_rate=0.5, seed=42) as sb:
            headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
            with httpx.Client(base_url=sb.url, headers=headers) as client:
                return [client.get("/v1/admin/account/me").status_code for _ in range(20)]

    first = statuses()
    assert first == statuses()
    assert {200, 500} == set(first)


def test_control_endpoints(sandbox: Sandbox, alice: httpx.Client) -> None:
    control = httpx.Client(base_url=sandbox.url + "/__sandbox")
    created = control.post(
        "/faults",
        json={"operation": "getAccount", "kind": "status", "status": 429, "type": "RateLimited"},
    )
    assert created.status_code == 201
    assert created.json()["fault"]["error_type"] == "RateLimited"
    assert [f["kind"] for f in control.get("/faults").json()["faults"]] == ["status"]
    assert_error(alice.get("/v1/admin/account/me"), 429, "RateLimited")
    assert control.delete("/faults").json() == {"cleared": 1}
    assert alice.get("/v1/admin/account/me").status_code == 200

    assert control.post("/latency", json={"ms": 150}).json() == {"ms": 150}
    started = time.monotonic()
    alice.get("/v1/admin/account/me")
    assert time.monotonic() - started >= 0.15
    control.post("/latency", json={"ms": 0})
    assert control.post("/fail-rate", json={"rate": 0.25}).json() == {"rate": 0.25}
    assert sandbox.fail_rate == 0.25
    control.post("/fail-rate", json={"rate": 0})

    stats = control.get("/stats").json()
    assert stats["requests"] == {"getAccount": 3}
    assert stats["total"] == 3
    assert stats["received"][0]["has_authorization"] is True
    assert ALICE_TOKEN not in json.dumps(stats)

    control.post("/faults", json={"operation": "*", "kind": "reset"})
    assert control.post("/reset").json() == {"reset": True}
    assert sandbox.faults == [] and sandbox.stats.total == 0

    assert_error(control.post("/faults", json={"kind": "reset"}), 400, "InvalidPayload")
    assert_error(control.post("/faults", content=b"{not json"), 400, "InvalidPayload")
    assert_error(
        control.post("/faults", json={"operation": "*", "kind": "delay", "seconds": "x"}),
        400,
        "InvalidPayload",
    )
    assert_error(control.get("/nothing"), 404, "ResourceNotFound")
    assert_error(control.get("/reset"), 405, "MethodNotFound")
    assert sandbox.stats.total == 0
    control.close()


def test_stats_record_requests_without_tokens(sandbox: Sandbox, alice: httpx.Client) -> None:
    alice.get("/v1/admin/bots", headers={"x-workspace-id": "ws_acme"})
    httpx.get(sandbox.url + "/v1/admin/account/me")
    stats = sandbox.stats
    assert stats.requests == {"listBots": 1, "getAccount": 1}
    assert [(r.operation, r.has_authorization, r.status) for r in stats.received] == [
        ("listBots", True, 200),
        ("getAccount", False, 401),
    ]
    assert stats.received[0].workspace_id == "ws_acme"
    assert ALICE_TOKEN not in repr(stats)
    sandbox.reset_stats()
    assert sandbox.stats.total == 0 and sandbox.stats.received == ()


def test_requests_run_concurrently(sandbox: Sandbox) -> None:
    sandbox.latency_ms = 200
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    started = time.monotonic()
    with (
        httpx.Client(base_url=sandbox.url, headers=headers, timeout=5) as client,
        ThreadPoolExecutor(10) as pool,
    ):
        statuses = list(
            pool.map(lambda _: client.get("/v1/admin/account/me").status_code, range(10))
        )
    assert statuses == [200] * 10
    assert sandbox.stats.max_in_flight > 1
    assert time.monotonic() - started < 1.5


def test_fifty_concurrent_clients(sandbox: Sandbox) -> None:
    sandbox.latency_ms = 50
    headers = {"Authorization": f"Bearer {BOB_TOKEN}"}

    def one(_: int) -> int:
        with httpx.Client(base_url=sandbox.url, headers=headers, timeout=5) as client:
            return client.get("/v1/admin/workspaces").status_code

    with ThreadPoolExecutor(50) as pool:
        assert list(pool.map(one, range(50))) == [200] * 50
    assert sandbox.stats.requests == {"listWorkspaces": 50}


def test_stop_is_quick_with_slow_requests_pending() -> None:
    sandbox = Sandbox().start()
    sandbox.set_fault("*", "delay", seconds=30)
    errors: list[Exception] = []

    def slow() -> None:
        try:
            httpx.get(sandbox.url + "/v1/admin/account/me", timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=slow) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2
    while sandbox.stats.in_flight < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - started < 1
    for thread in threads:
        thread.join(2)
    assert len(errors) == 3
    assert not sandbox.running


def test_restart_and_live_world_changes() -> None:
    world = World()
    account = world.add_account("carl@example.com", "Carl")
    world.add_token("bp_pat_carl", account)
    sandbox = Sandbox(world)
    with sandbox:
        headers = {"Authorization": "Bearer bp_pat_carl"}
        assert httpx.get(sandbox.url + "/v1/admin/workspaces", headers=headers).json() == {
            "workspaces": [],
            "meta": {},
        }
        world.add_workspace("ws_new", "New", [account])
        body = httpx.get(sandbox.url + "/v1/admin/workspaces", headers=headers).json()
        assert [ws["id"] for ws in body["workspaces"]] == ["ws_new"]
        world.revoke_token("bp_pat_carl")
        response = httpx.get(sandbox.url + "/v1/admin/account/me", headers=headers)
        assert_error(response, 401, "Unauthorized")
    with sandbox:
        assert httpx.get(sandbox.url + "/v1/admin/account/me").status_code == 401


def test_world_round_trips_through_a_file(tmp_path: Path) -> None:
    world = World.demo()
    path = tmp_path / "world.json"
    path.write_text(world.to_json())
    loaded = World.from_file(path)
    assert loaded.to_json() == world.to_json()
    assert EXPIRED_TOKEN in loaded.invalid_tokens
    with pytest.raises(ValueError):
        World.from_json('{"version": 1, "workspaces": [{"id": "x"}]}')
    with pytest.raises(ValueError):
        World.from_json("[]")


def test_world_generate_for_benchmarks() -> None:
    world = World()
    pairs = world.generate(5, bots_per_workspace=2)
    assert len(pairs) == 5 and len({token for token, _ in pairs}) == 5
    with Sandbox(world) as sb:
        token, workspace_id = pairs[3]
        response = httpx.get(
            sb.url + "/v1/admin/bots",
            headers={"Authorization": f"Bearer {token}", "x-workspace-id": workspace_id},
        )
        assert len(response.json()["bots"]) == 2


def test_world_mutators_validate() -> None:
    world = World()
    account = world.add_account("a@example.com")
    with pytest.raises(ValueError):
        world.add_account("a@example.com")
    with pytest.raises(KeyError):
        world.add_token("t", "nobody")
    with pytest.raises(ValueError):
        world.add_workspace("ws_x", "x")
    world.add_workspace("ws_x", "x", [account])
    with pytest.raises(ValueError):
        world.add_workspace("ws_x", "x", [account])
    with pytest.raises(ValueError):
        world.add_bot("ws_x", "b", bot_id="short")


def test_demo_constants() -> None:
    assert DEMO_TOKENS == {
        "alice": ALICE_TOKEN,
        "bob": BOB_TOKEN,
        "dana": DANA_TOKEN,
        "expired": EXPIRED_TOKEN,
    }
    assert {len(token) for token in DEMO_TOKENS.values()} == {45}
    world = World.demo()
    assert {ws.id for ws in world.workspaces_of(world.tokens[BOB_TOKEN])} == {"ws_initech"}
    assert [ws.id for ws in world.workspaces_of(world.tokens[DANA_TOKEN])] == [
        "ws_globex",
        HOOLI_WORKSPACE_ID,
        UMBRELLA_WORKSPACE_ID,
    ]
    for workspace_id in ("ws_acme", "ws_globex", "ws_initech"):
        assert 2 <= world.workspaces[workspace_id].bot_count <= 3


def _module_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_module_main_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bpshell.sandbox", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_module_env(),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("Botpress sandbox listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1]
        rest = [process.stdout.readline() for _ in range(5)]  # header, 3 tokens, expired
        assert any(ALICE_TOKEN in line and "ws_acme" in line for line in rest)
        assert any(EXPIRED_TOKEN in line for line in rest)
        response = httpx.get(
            url + "/v1/admin/account/me", headers={"Authorization": f"Bearer {BOB_TOKEN}"}
        )
        assert response.json()["account"]["email"] == "bob@example.com"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    "args", [["--port", "abc"], ["--fail-rate", "2"], ["--page-size", "0"], ["--bogus"]]
)
def test_module_main_rejects_bad_arguments(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bpshell.sandbox", *args],
        capture_output=True,
        text=True,
        env=_module_env(),
        timeout=10,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr


# --- members and roles --------------------------------------------------------------------

MEMBER_KEYS = {"id", "userId", "email", "displayName", "createdAt", "role"}


@pytest.mark.parametrize(
    ("workspace_id", "role"),
    [("ws_globex", "manager"), (HOOLI_WORKSPACE_ID, "viewer"), (UMBRELLA_WORKSPACE_ID, "billing")],
)
def test_dana_has_a_role_per_workspace(dana: httpx.Client, workspace_id: str, role: str) -> None:
    response = dana.get("/v1/admin/workspace-members/me", headers={"x-workspace-id": workspace_id})
    assert response.status_code == 200
    member = response.json()
    assert set(member) == MEMBER_KEYS
    assert (member["email"], member["displayName"], member["role"]) == (
        "dana@example.com",
        "Dana",
        role,
    )


def test_dana_lists_uuid_workspaces(dana: httpx.Client) -> None:
    body = dana.get("/v1/admin/workspaces").json()
    assert [(ws["id"], ws["name"]) for ws in body["workspaces"]] == [
        ("ws_globex", "Globex Corp"),
        (HOOLI_WORKSPACE_ID, "Hooli"),
        (UMBRELLA_WORKSPACE_ID, "Umbrella"),
    ]
    assert body["meta"] == {}
    assert dana.get(f"/v1/admin/workspaces/{HOOLI_WORKSPACE_ID}").json()["botCount"] == 2


def test_list_workspace_members_paginates(alice: httpx.Client) -> None:
    path, headers = "/v1/admin/workspace-members", {"x-workspace-id": "ws_globex"}
    first = alice.get(path, headers=headers, params={"pageSize": "2"}).json()
    second = alice.get(
        path, headers=headers, params={"pageSize": "2", "nextToken": first["meta"]["nextToken"]}
    ).json()
    assert second["meta"] == {}
    members = first["members"] + second["members"]
    assert [(m["email"], m["role"]) for m in members] == [
        ("carol@example.com", "owner"),
        ("alice@example.com", "administrator"),
        ("dana@example.com", "manager"),
    ]
    assert all(set(m) == MEMBER_KEYS for m in members)
    everyone = alice.get(path, headers=headers).json()
    assert everyone["members"] == members and everyone["meta"] == {}


def test_list_workspace_members_refusals(alice: httpx.Client, bob: httpx.Client) -> None:
    path = "/v1/admin/workspace-members"
    assert_error(alice.get(path), 400, "InvalidPayload")
    assert_error(bob.get(path, headers={"x-workspace-id": "ws_acme"}), 403, "Forbidden")
    assert_error(bob.get(path, headers={"x-workspace-id": "ws_nope"}), 404, "ResourceNotFound")
    assert_error(httpx.get(str(alice.base_url) + path), 401, "Unauthorized")


# --- pageSize, dev bots, tags, bot types ---------------------------------------------------


def test_page_size_is_honoured(alice: httpx.Client) -> None:
    body = alice.get("/v1/admin/workspaces", params={"pageSize": "5"}).json()
    assert [ws["id"] for ws in body["workspaces"]] == [
        "ws_acme",
        "ws_globex",
        "ws_team01",
        "ws_team02",
        "ws_team03",
    ]
    rest = alice.get(
        "/v1/admin/workspaces", params={"pageSize": "100", "nextToken": body["meta"]["nextToken"]}
    ).json()
    assert len(rest["workspaces"]) == 42 and rest["meta"] == {}
    bots = alice.get(
        "/v1/admin/bots", headers={"x-workspace-id": "ws_acme"}, params={"pageSize": "1"}
    ).json()
    assert len(bots["bots"]) == 1 and "nextToken" in bots["meta"]
    for bad in ("0", "-1", "x", "²"):
        response = alice.get("/v1/admin/workspaces", params={"pageSize": bad})
        assert_error(response, 400, "InvalidQuery")


def bot_names(client: httpx.Client, workspace_id: str, **params: str) -> list[str]:
    response = client.get("/v1/admin/bots", headers={"x-workspace-id": workspace_id}, params=params)
    assert response.status_code == 200, response.text
    return [bot["name"] for bot in response.json()["bots"]]


def test_list_bots_dev_filter_and_types(dana: httpx.Client) -> None:
    assert bot_names(dana, HOOLI_WORKSPACE_ID) == ["nucleus"]
    assert bot_names(dana, HOOLI_WORKSPACE_ID, dev="false") == ["nucleus"]
    assert bot_names(dana, HOOLI_WORKSPACE_ID, dev="true") == ["nucleus-dev"]
    body = dana.get(
        "/v1/admin/bots", headers={"x-workspace-id": HOOLI_WORKSPACE_ID}, params={"dev": "true"}
    ).json()
    assert [bot["type"] for bot in body["bots"]] == ["adk"]
    response = dana.get(
        "/v1/admin/bots", headers={"x-workspace-id": HOOLI_WORKSPACE_ID}, params={"dev": "yes"}
    )
    assert_error(response, 400, "InvalidQuery")


def test_list_bots_tag_filters(alice: httpx.Client) -> None:
    everyone = ["support-bot", "sales-assistant", "onboarding"]
    assert bot_names(alice, "ws_acme", **{"tags[team]": "acme"}) == everyone
    assert bot_names(alice, "ws_acme", **{"tags.team": "acme"}) == everyone
    assert bot_names(alice, "ws_acme", **{"tags[team]": "other"}) == []
    assert bot_names(alice, "ws_acme", **{"tags.nope": "acme"}) == []
    body = alice.get("/v1/admin/bots", headers={"x-workspace-id": "ws_acme"}).json()
    assert {bot["type"] for bot in body["bots"]} == {"studio"}


# --- routes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/admin/account/pats/some-id", "DELETE"),
        ("PUT", "/v1/admin/account/pats", "GET, POST"),
        ("DELETE", "/v1/admin/workspace-members/me", "GET"),
        ("POST", "/v1/admin/workspace-members", "GET"),
        ("HEAD", "/v1/admin/bots", "GET"),
    ],
)
def test_a_route_answers_405_to_another_method(
    alice: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = alice.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert_error(response, 405, "MethodNotFound")


@pytest.mark.parametrize(
    "path",
    ["/v1/admin/nothing", "/v1/admin/workspaces/ws_acme/extra", "/v1/admin/account/pats/", "/"],
)
def test_a_path_of_no_route_answers_404(alice: httpx.Client, path: str) -> None:
    assert_error(alice.get(path), 404, "ResourceNotFound")
    assert_error(alice.post(path, json={}), 404, "ResourceNotFound")


# --- Personal Access Tokens --------------------------------------------------------------


def test_seed_tokens_are_listed_as_pats(alice: httpx.Client, bob: httpx.Client) -> None:
    world = World.demo()
    for client, token in ((alice, ALICE_TOKEN), (bob, BOB_TOKEN)):
        response = client.get("/v1/admin/account/pats")
        assert response.status_code == 200
        pat = world.pat(token)
        assert response.json() == {
            "pats": [{"id": pat.id, "createdAt": pat.created_at, "note": "demo"}]
        }
    assert ALICE_TOKEN not in alice.get("/v1/admin/account/pats").text


def test_pat_lifecycle(sandbox: Sandbox, alice: httpx.Client) -> None:
    created = alice.post("/v1/admin/account/pats", json={"note": "ci runner"})
    assert created.status_code == 200
    pat = created.json()["pat"]
    assert set(pat) == {"id", "createdAt", "note", "value"} and pat["note"] == "ci runner"
    value = pat["value"]
    assert value.startswith("bp_pat_") and len(value) == len(ALICE_TOKEN)
    listed = alice.get("/v1/admin/account/pats").json()["pats"]
    assert [p["note"] for p in listed] == ["demo", "ci runner"]
    assert listed[1] == {"id": pat["id"], "createdAt": pat["createdAt"], "note": "ci runner"}
    assert value not in json.dumps(listed)

    new = {"Authorization": f"Bearer {value}"}
    me = httpx.get(sandbox.url + "/v1/admin/account/me", headers=new).json()
    assert me["account"]["email"] == "alice@example.com"
    deleted = alice.delete(f"/v1/admin/account/pats/{pat['id']}")
    assert (deleted.status_code, deleted.json()) == (200, {})
    after = httpx.get(sandbox.url + "/v1/admin/account/me", headers=new)
    assert_error(after, 401, "Unauthorized")
    assert_error(alice.delete(f"/v1/admin/account/pats/{pat['id']}"), 404, "ResourceNotFound")
    assert [p["note"] for p in alice.get("/v1/admin/account/pats").json()["pats"]] == ["demo"]


def test_pats_of_others_and_bad_bodies(sandbox: Sandbox, alice: httpx.Client) -> None:
    bob_pat = sandbox.world.pat(BOB_TOKEN)
    assert_error(alice.delete(f"/v1/admin/account/pats/{bob_pat.id}"), 404, "ResourceNotFound")
    for body in (b"", b"{not json", b"[]", b'{"note": 1}', b'{"note": "x", "other": 1}', b"{}"):
        response = alice.post("/v1/admin/account/pats", content=body)
        assert_error(response, 400, "InvalidPayload")
    assert_error(
        httpx.post(sandbox.url + "/v1/admin/account/pats", json={"note": "x"}), 401, "Unauthorized"
    )
    assert len(sandbox.world.pats_of(sandbox.world.tokens[ALICE_TOKEN])) == 1


def test_world_file_keeps_pats_dev_bots_and_types(tmp_path: Path) -> None:
    world = World.demo()
    alice = world.tokens[ALICE_TOKEN]
    pat, value = world.create_pat(alice, "laptop", "2024-05-01T12:00:00.000Z")
    loaded = World.from_json(world.to_json())
    assert loaded.pat(value) == pat
    assert [(b.name, b.type, b.dev) for b in loaded.workspaces[HOOLI_WORKSPACE_ID].bots] == [
        ("nucleus", "studio", False),
        ("nucleus-dev", "adk", True),
    ]
    data = world.to_dict()
    data["pats"]["bp_pat_nobody"] = {"id": "x"}
    with pytest.raises(ValueError, match="pats"):
        World.from_dict(data)


# --- rate limits ------------------------------------------------------------------------


def rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(response.headers[name])
        for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
    )


def test_every_answer_carries_rate_limit_headers_when_off(
    sandbox: Sandbox, alice: httpx.Client
) -> None:
    assert sandbox.rate_limit is None
    started = time.monotonic()
    answers = [
        alice.get("/v1/admin/account/me"),
        alice.get("/v1/admin/nothing"),
        alice.post("/v1/admin/account/me"),
        alice.get("/v1/admin/workspaces/ws_nope"),
    ]
    took = time.monotonic() - started
    assert [response.status_code for response in answers] == [200, 404, 405, 404]
    assert [rate_headers(response)[:2] for response in answers] == [
        (10_000, 9_999),
        (10_000, 9_998),
        (10_000, 9_997),
        (10_000, 9_996),
    ]
    # Whole seconds until the first request leaves the 60 s window: 60, or less on a machine
    # so busy that the four requests took a second or more (this once failed in a full run).
    assert all(60 - math.ceil(took) <= rate_headers(r)[2] <= 60 for r in answers)
    assert rate_headers(answers[0])[2] == 60


def test_rate_limit_is_a_sliding_window_per_token(sandbox: Sandbox, alice: httpx.Client) -> None:
    sandbox.set_rate_limit(3, 30)
    assert sandbox.rate_limit == RateLimit(3, 30)
    answers = [alice.get("/v1/admin/account/me") for _ in range(3)]
    assert [(r.status_code, rate_headers(r)[:2]) for r in answers] == [
        (200, (3, 2)),
        (200, (3, 1)),
        (200, (3, 0)),
    ]
    limited = alice.get("/v1/admin/workspaces")
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/json"
    assert limited.json() == {
        "type": "RateLimited",
        "description": "The request has been rate-limited.",
        "status": 429,
    }
    assert "retry-after" not in limited.headers
    limit, remaining, reset = rate_headers(limited)
    assert (limit, remaining) == (3, 0) and 29 <= reset <= 30
    bob = httpx.get(
        sandbox.url + "/v1/admin/account/me", headers={"Authorization": f"Bearer {BOB_TOKEN}"}
    )
    assert bob.status_code == 200 and rate_headers(bob)[:2] == (3, 2)
    assert sandbox.stats.received[3].status == 429
    sandbox.reset()
    assert sandbox.rate_limit is None
    assert alice.get("/v1/admin/account/me").status_code == 200


def test_rate_limit_window_slides() -> None:
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limiter.configure(RateLimit(2, 10))
    assert limiter.take("t").remaining == 1
    now[0] = 103.0
    assert limiter.take("t").remaining == 0
    now[0] = 104.2
    refused = limiter.take("t")
    assert (refused.limited, refused.remaining, refused.reset_s) == (True, 0, 6)
    now[0] = 110.0  # the first request leaves the window: one slot, the next frees at 113
    allowed = limiter.take("t")
    assert (allowed.limited, allowed.remaining, allowed.reset_s) == (False, 0, 3)
    assert limiter.take("t").limited
    assert not limiter.take("other").limited
    with pytest.raises(ValueError):
        limiter.configure(RateLimit(0, 10))
    with pytest.raises(ValueError):
        limiter.configure(RateLimit(1, 0))


def test_rate_limit_control_endpoint(sandbox: Sandbox) -> None:
    control = httpx.Client(base_url=sandbox.url + "/__sandbox")
    assert control.get("/rate-limit").json() == {"limit": None}
    set_ = control.post("/rate-limit", json={"limit": 1, "window_s": 5})
    assert set_.json() == {"limit": 1, "window_s": 5}
    assert sandbox.rate_limit == RateLimit(1, 5)
    headers = {"Authorization": f"Bearer {ALICE_TOKEN}"}
    statuses = [
        httpx.get(sandbox.url + "/v1/admin/account/me", headers=headers).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 429]
    assert control.get("/stats").status_code == 200  # control endpoints are never limited
    assert control.post("/rate-limit", json={"limit": None}).json() == {"limit": None}
    for bad in ({"limit": 0}, {"limit": "3"}, {"limit": 2, "window_s": 0}, {"limit": True}):
        assert_error(control.post("/rate-limit", json=bad), 400, "InvalidPayload")
    control.close()
