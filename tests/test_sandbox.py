"""The sandbox server, exercised over real loopback sockets."""

from __future__ import annotations

import json
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
    DEMO_TOKENS,
    EXPIRED_TOKEN,
    Sandbox,
    World,
)

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
    assert DEMO_TOKENS == {"alice": ALICE_TOKEN, "bob": BOB_TOKEN, "expired": EXPIRED_TOKEN}
    world = World.demo()
    assert {ws.id for ws in world.workspaces_of(world.tokens[BOB_TOKEN])} == {"ws_initech"}
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
        rest = [process.stdout.readline() for _ in range(4)]
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
