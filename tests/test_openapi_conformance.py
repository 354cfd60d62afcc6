"""The sandbox speaks the admin API of the OpenAPI document (``tests/openapi/``).

The suite-wide check is the session fixture ``sandbox_answers_conform`` (``conftest.py``):
every answer of every sandbox of a test process is logged and checked when the session ends.
Here: the document is the one the sandbox routes by, a tour of every operation and fault
passes the check, the check itself catches each kind of wrong answer, and the suite-wide log
really receives the answers of this process's sandboxes.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bpshell.sandbox import (
    ALICE_TOKEN,
    BOB_TOKEN,
    DANA_TOKEN,
    HOOLI_WORKSPACE_ID,
    Sandbox,
)
from bpshell.sandbox.answers import ANSWER_LOG_ENV
from bpshell.sandbox.routes import ROUTES
from tests.conformance import Document, check_log, check_records, load_document, load_errors


@pytest.fixture(scope="module")
def document() -> Document:
    return Document(load_document(), load_errors())


def test_the_document_is_the_api_the_sandbox_routes() -> None:
    raw = load_document()
    assert (raw["openapi"], raw["info"]["version"]) == ("3.0.0", "1.70.2")
    documented = {
        (method.upper(), template, spec["operationId"])
        for template, item in raw["paths"].items()
        for method, spec in item.items()
    }
    assert documented == {(r.method, r.template, r.operation) for r in ROUTES}


# --- a tour of everything the sandbox answers ---------------------------------------------


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    log = tmp_path / "answers.jsonl"
    with Sandbox(answer_log=str(log), seed=3) as server:
        yield server, log


def raw_request(url: str, data: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def tour(sandbox: Sandbox) -> list[int]:
    """Every operation with successes and errors, every fault, the limiter; the statuses."""
    url, statuses = sandbox.url, []

    def call(method: str, path: str, token: str | None = ALICE_TOKEN, **options: Any) -> None:
        headers = dict(options.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = httpx.request(method, url + path, headers=headers, timeout=5, **options)
        except httpx.TransportError:
            statuses.append(0)
        else:
            statuses.append(response.status_code)

    acme, hooli = {"x-workspace-id": "ws_acme"}, {"x-workspace-id": HOOLI_WORKSPACE_ID}
    call("GET", "/v1/admin/account/me")
    call("GET", "/v1/admin/account/me", token="bp_pat_unknown")
    call("GET", "/v1/admin/account/me", token=None)
    call("GET", "/v1/admin/workspaces", params={"pageSize": "3"})
    call("GET", "/v1/admin/workspaces", params={"nextToken": "!!"})
    call("GET", "/v1/admin/workspaces/ws_acme")
    call("GET", "/v1/admin/workspaces/ws_acme", token=BOB_TOKEN)
    call("GET", "/v1/admin/workspaces/ws_nope")
    call("GET", "/v1/admin/workspace-members", headers=acme)
    call("GET", "/v1/admin/workspace-members")
    call("GET", "/v1/admin/workspace-members/me", headers=acme)
    call("GET", "/v1/admin/workspace-members/me", token=DANA_TOKEN, headers=hooli)
    call("GET", "/v1/admin/bots", headers=acme, params={"tags[team]": "acme"})
    call("GET", "/v1/admin/bots", token=DANA_TOKEN, headers=hooli, params={"dev": "true"})
    call("GET", "/v1/admin/bots", headers=acme, params={"sortField": "name"})
    call("GET", "/v1/admin/account/pats")
    call("POST", "/v1/admin/account/pats", json={"note": "tour"})
    call("POST", "/v1/admin/account/pats", json={"note": 3})
    pat_id = sandbox.world.pats_of(sandbox.world.tokens[ALICE_TOKEN])[-1].id
    call("DELETE", f"/v1/admin/account/pats/{pat_id}")
    call("DELETE", f"/v1/admin/account/pats/{pat_id}")
    call("GET", "/v1/admin/nothing")
    call("PUT", "/v1/admin/account/pats")
    for kind, params in [
        ("status", {"status": 503, "error_type": "Unknown", "retry_after": 0}),
        ("status", {"status": 204}),
        ("malformed_json", {}),
        ("wrong_content_type", {}),
        ("schema_mismatch", {}),
        ("reset", {}),
        ("redirect", {"location": "http://127.0.0.1:9/"}),
    ]:
        sandbox.set_fault("getAccount", kind, times=1, **params)
        call("GET", "/v1/admin/account/me")
    sandbox.set_fault("*", "endless_pages", times=1)
    call("GET", "/v1/admin/workspace-members", headers=acme)
    sandbox.fail_rate = 1.0
    call("GET", "/v1/admin/bots", headers=acme)
    sandbox.fail_rate = 0.0
    sandbox.set_rate_limit(1, 60)
    call("GET", "/v1/admin/account/me", token=BOB_TOKEN)
    call("GET", "/v1/admin/account/me", token=BOB_TOKEN)
    sandbox.set_rate_limit(None)
    chunked = b"POST /v1/admin/account/pats HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    statuses.append(int(raw_request(url, chunked + b"\r\n0\r\n\r\n").split()[1]))
    bad_length = b"GET /v1/admin/account/me HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"
    statuses.append(int(raw_request(url, bad_length).split()[1]))
    return statuses


def test_a_tour_of_every_operation_and_fault_conforms(logged: tuple[Sandbox, Path]) -> None:
    sandbox, log = logged
    statuses = tour(sandbox)
    assert statuses == [
        *(200, 401, 401, 200, 400, 200, 403, 404),  # account, workspaces
        *(200, 400, 200, 200),  # members
        *(200, 200, 400),  # bots
        *(200, 200, 400, 200, 404),  # PATs
        *(404, 405),  # routes
        *(503, 204, 200, 200, 200, 0, 302),  # faults
        *(200, 500, 200, 429),  # endless pages, fail rate, limiter
        *(400, 400),  # refused bodies
    ]
    report = check_log(log)
    assert report.problems == {}, report.summary()
    assert report.answers == len(statuses)
    assert set(report.by_operation) == {route.operation for route in ROUTES} | {"-"}


# --- the check catches wrong answers ------------------------------------------------------

RATE = [["RateLimit-Limit", "100"], ["RateLimit-Remaining", "99"], ["RateLimit-Reset", "60"]]
BOT = {
    "id": "b" * 36,
    "createdAt": "2024-01-15T09:30:00.000Z",
    "updatedAt": "2024-01-15T09:30:00.000Z",
    "name": "support",
    "tags": {},
}
WORKSPACE = {
    "id": "ws_acme",
    "name": "acme",
    "ownerId": "o",
    "createdAt": "c",
    "updatedAt": "u",
    "botCount": 1,
    "billingVersion": "v4",
    "plan": "team",
    "blocked": False,
    "spendingLimit": 100,
    "activeTrialId": None,
}
MEMBER = {
    "id": "m",
    "userId": "6ff008c7-3708-5d04-83cb-da72c763ab06",
    "email": "a@example.com",
    "createdAt": "c",
    "role": "viewer",
}
ERROR = {"id": "err_1", "code": 404, "type": "ResourceNotFound", "message": "gone"}


def record(
    path: str,
    body: object,
    *,
    status: int = 200,
    operation: str | None = None,
    method: str = "GET",
    headers: list[list[str]] | None = None,
    fault: str | None = None,
) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "method": method,
        "path": path,
        "operation": operation,
        "status": status,
        "contentType": "application/json",
        "headers": RATE if headers is None else headers,
        "fault": fault,
        "sha256": str(hash(text)),
        "body": text,
    }


GOOD = [
    record("/v1/admin/bots", {"bots": [BOT], "meta": {}}, operation="listBots"),
    record("/v1/admin/bots", {"bots": [{**BOT, "type": "adk"}], "meta": {}}, operation="listBots"),
    record("/v1/admin/workspaces/ws_acme", WORKSPACE, operation="getWorkspace"),
    record("/v1/admin/workspace-members/me", MEMBER, operation="getWorkspaceMember"),
    record("/v1/admin/account/pats/x", {}, operation="deletePersonalAccessToken", method="DELETE"),
    record("/v1/admin/nope", ERROR, status=404),
    record(
        "/v1/admin/account/pats",
        {**ERROR, "code": 405, "type": "MethodNotFound"},
        status=405,
        method="PUT",
        headers=[*RATE, ["Allow", "GET, POST"]],
    ),
    record(
        "/v1/admin/account/me",
        {"type": "RateLimited", "description": "The request has been rate-limited.", "status": 429},
        status=429,
        operation="getAccount",
        headers=[RATE[0], ["RateLimit-Remaining", "0"], RATE[2]],
    ),
    record(
        "/v1/admin/account/me",
        {**ERROR, "code": 503, "type": "Whatever"},
        status=503,
        operation="getAccount",
        headers=[*RATE, ["Retry-After", "1"]],
        fault="status",
    ),
]
BAD = {
    "short bot id": (
        record("/v1/admin/bots", {"bots": [{**BOT, "id": "b1"}], "meta": {}}, operation="listBots"),
        "listBots: ['bots'][0]['id']: 'b1' is too short",
    ),
    "not a date-time": (
        record(
            "/v1/admin/bots",
            {"bots": [{**BOT, "createdAt": "yesterday"}], "meta": {}},
            operation="listBots",
        ),
        "listBots: ['bots'][0]['createdAt']: 'yesterday' is not a 'date-time'",
    ),
    "missing nullable field": (
        record(
            "/v1/admin/workspaces/ws_acme",
            {k: v for k, v in WORKSPACE.items() if k != "activeTrialId"},
            operation="getWorkspace",
        ),
        "getWorkspace: body: 'activeTrialId' is a required property",
    ),
    "extra field": (
        record("/v1/admin/workspaces/ws_acme", {**WORKSPACE, "x": 1}, operation="getWorkspace"),
        "getWorkspace: body: Additional properties are not allowed ('x' was unexpected)",
    ),
    "user id not a uuid": (
        record(
            "/v1/admin/workspace-members/me",
            {**MEMBER, "userId": "acc_1"},
            operation="getWorkspaceMember",
        ),
        "getWorkspaceMember: ['userId']: 'acc_1' is not a 'uuid'",
    ),
    "unknown role": (
        record(
            "/v1/admin/workspace-members/me",
            {**MEMBER, "role": "guest"},
            operation="getWorkspaceMember",
        ),
        "getWorkspaceMember: ['role']: 'guest' is not one of ['viewer', 'billing', 'developer', "
        "'manager', 'administrator', 'owner']",
    ),
    "no RateLimit-Remaining": (
        record("/v1/admin/nope", ERROR, status=404, headers=[RATE[0], RATE[2]]),
        "no ratelimit-remaining header",
    ),
    "retry-after of no fault": (
        record("/v1/admin/nope", ERROR, status=404, headers=[*RATE, ["Retry-After", "1"]]),
        "a Retry-After header that no fault asked for",
    ),
    "error shape": (
        record("/v1/admin/nope", {"error": "gone"}, status=404),
        "error 404: keys ['error'], not id, code, type, message (metadata)",
    ),
    "type of another status": (
        record("/v1/admin/nope", {**ERROR, "type": "Forbidden"}, status=404),
        "error type Forbidden with status 404, not one the API gives it",
    ),
    "code not the status": (
        record("/v1/admin/nope", {**ERROR, "code": 400}, status=404),
        "error 404: code 400 is not the status",
    ),
    "404 for a documented path": (
        record("/v1/admin/account/pats", ERROR, status=404),
        "404 without an operation for a path of /v1/admin/account/pats",
    ),
    "405 with the wrong Allow": (
        record(
            "/v1/admin/account/pats",
            {**ERROR, "code": 405, "type": "MethodNotFound"},
            status=405,
            method="PUT",
            headers=[*RATE, ["Allow", "GET"]],
        ),
        "405 with Allow ['GET'], not the document's ['GET', 'POST']",
    ),
    "operation on the wrong route": (
        record("/v1/admin/bots", {"bots": [], "meta": {}}, operation="listBots", method="POST"),
        "listBots answered a request that is not GET /v1/admin/bots",
    ),
    "429 body of another shape": (
        record("/v1/admin/account/me", {"type": "RateLimited"}, status=429),
        "error 429: keys ['type'], not id, code, type, message (metadata)",
    ),
    "html label": (
        {**record("/v1/admin/nope", ERROR, status=404), "contentType": "text/html"},
        "a body labelled 'text/html', not application/json",
    ),
}


def test_good_answers_pass(document: Document) -> None:
    report = check_records(GOOD, document)
    assert report.problems == {}, report.summary()


@pytest.mark.parametrize("case", list(BAD))
def test_the_check_catches(document: Document, case: str) -> None:
    bad, problem = BAD[case]
    report = check_records([bad], document)
    assert list(report.problems) == [problem]


def test_nullable_means_null_is_allowed(document: Document) -> None:
    body = {**WORKSPACE, "activeTrialId": "trial_1"}
    good = record("/v1/admin/workspaces/ws_acme", body, operation="getWorkspace")
    wrong = record(
        "/v1/admin/workspaces/ws_acme", {**WORKSPACE, "activeTrialId": 3}, operation="getWorkspace"
    )
    assert check_records([good], document).problems == {}
    assert list(check_records([wrong], document).problems) == [
        "getWorkspace: ['activeTrialId']: 3 is not of type 'string', 'null'"
    ]


# --- the suite-wide check gets this process's answers -------------------------------------


def test_the_suite_wide_log_receives_every_sandbox_answer(
    sandbox_answers_conform: Path,
) -> None:
    assert os.environ[ANSWER_LOG_ENV] == str(sandbox_answers_conform)
    probe = f"/v1/admin/conformance-probe-{os.getpid()}"
    with Sandbox() as server:  # no answer_log given: it follows the environment
        assert httpx.get(server.url + probe).status_code == 404
    lines = sandbox_answers_conform.read_text().splitlines()
    mine = [json.loads(line) for line in lines if probe in line]
    assert [(r["path"], r["status"], r["operation"]) for r in mine] == [(probe, 404, None)]
