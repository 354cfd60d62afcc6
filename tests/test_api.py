"""bpshell.api alone, over ``httpx.MockTransport``: retries, deadlines, redirects, pagination
bounds, and how every library error becomes one of bpshell's."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from bpshell import api
from bpshell.answers import Workspace
from bpshell.api import ApiClient, verify
from bpshell.config import app_url, tokens_page
from bpshell.errors import (
    ApiError,
    ApiTimeoutError,
    AuthError,
    BadResponseError,
    ForbiddenError,
    NetworkError,
    NotFoundError,
    PaymentRequiredError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
)

URL = "https://api.example.test"
TOKEN = "bp_pat_unit0000000000000000000000000000000"
ACCOUNT = {"account": {"id": "acc_1", "email": "dev@example.com"}}
WORKSPACE = {"id": "ws_1", "name": "one"}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler answering from a script; records every request."""

    def __init__(self, *answers: httpx.Response | Handler | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def reply(status: int, body: Any = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, kind: str, message: str, **headers: str) -> httpx.Response:
    body = {"id": "err_1", "code": status, "type": kind, "message": message}
    return reply(status, body, **headers)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits are recorded instead of slept."""
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(anyio, "sleep", fake_sleep)
    return waited


def call(recorder: Recorder, method: str, *args: Any, **client: Any) -> Any:
    async def main() -> Any:
        async with api.new_http_client(transport=httpx.MockTransport(recorder)) as http:
            return await getattr(ApiClient(http, URL, TOKEN, **client), method)(*args)

    return anyio.run(main)


def raised(recorder: Recorder, method: str, *args: Any, **client: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(recorder, method, *args, **client)
    return caught.value


# --- requests ----------------------------------------------------------------------------


def test_requests_carry_the_token_and_json_headers() -> None:
    recorder = Recorder(reply(200, ACCOUNT))
    account = call(recorder, "get_account")
    assert (account.id, account.email) == ("acc_1", "dev@example.com")
    (request,) = recorder.requests
    assert (request.method, str(request.url)) == ("GET", f"{URL}/v1/admin/account/me")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == "bpshell"


def test_list_bots_sends_the_workspace_header() -> None:
    bots = {"bots": [{"id": "b" * 28, "name": "support"}], "meta": {}}
    recorder = Recorder(reply(200, bots))
    assert [b.name for b in call(recorder, "list_bots", "ws_1")] == ["support"]
    assert recorder.requests[0].headers["x-workspace-id"] == "ws_1"


# --- retries -----------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_says(sleeps: list[float]) -> None:
    recorder = Recorder(
        error(429, "RateLimited", "slow down", **{"retry-after": "2"}), reply(200, ACCOUNT)
    )
    assert call(recorder, "get_account").email == "dev@example.com"
    assert sleeps == [pytest.approx(2.0, abs=0.05)]  # until the moment asked
    assert len(recorder.requests) == 2


def test_persistent_429_gives_up_after_the_retries(sleeps: list[float]) -> None:
    recorder = Recorder(error(429, "RateLimited", "slow down", **{"retry-after": "1"}))
    exc = raised(recorder, "get_account")
    assert isinstance(exc, RateLimitedError)
    assert (exc.message, exc.status) == (f"{URL} is rate limiting requests; try again in 1 s", 429)
    assert sleeps == [pytest.approx(1.0, abs=0.05)] * (api.RATE_LIMITED_TRIES - 1)
    assert len(recorder.requests) == api.RATE_LIMITED_TRIES


def test_429_asking_for_too_long_a_wait_is_not_retried(sleeps: list[float]) -> None:
    recorder = Recorder(error(429, "RateLimited", "later", **{"retry-after": "3600"}))
    exc = raised(recorder, "get_account")
    assert exc.message == f"{URL} is rate limiting requests; try again in 3600 s"
    assert (sleeps, len(recorder.requests)) == ([], 1)


def test_5xx_backs_off_then_succeeds(sleeps: list[float]) -> None:
    recorder = Recorder(
        error(502, "Unknown", "bad gateway"), error(500, "Internal", "x"), reply(200, ACCOUNT)
    )
    assert call(recorder, "get_account").id == "acc_1"
    assert len(sleeps) == 2
    assert 0.125 <= sleeps[0] <= 0.25 and 0.25 <= sleeps[1] <= 0.5


def test_persistent_5xx_is_a_server_error(sleeps: list[float]) -> None:
    recorder = Recorder(error(503, "Unavailable", "maintenance"))
    exc = raised(recorder, "get_account")
    assert isinstance(exc, ServerError)
    assert (exc.message, exc.hint, exc.status, exc.api_type) == (
        f"{URL} failed (503 Unavailable: maintenance)",
        "try again later",
        503,
        "Unavailable",
    )
    assert len(recorder.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_4xx_is_never_retried(sleeps: list[float], status: int) -> None:
    recorder = Recorder(error(status, "X", "no"))
    raised(recorder, "get_account")
    assert (len(recorder.requests), sleeps) == (1, [])


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kind", "message", "hint"),
    [
        (
            error(401, "Unauthorized", "The token is invalid"),
            AuthError,
            "the token is invalid or expired",
            "make a new one at https://app.example.test/profile/tokens and run: bp login",
        ),
        (
            error(403, "Forbidden", "You do not have access"),
            ForbiddenError,
            "permission denied (Forbidden: You do not have access)",
            "your role in this workspace may not do this; ask one of its administrators",
        ),
        (
            error(403, "QuotaExceeded", "Too many bots"),
            QuotaExceededError,
            "the workspace is over a quota (QuotaExceeded: Too many bots)",
            "quotas are soft limits: see the workspace's usage and plan at https://app.example.test",
        ),
        (
            error(413, "LimitExceeded", "Too big"),
            QuotaExceededError,
            "the workspace reached a limit (LimitExceeded: Too big)",
            "see the workspace's usage and plan at https://app.example.test",
        ),
        (
            error(402, "PaymentRequired", "Card declined"),
            PaymentRequiredError,
            "a payment is required (PaymentRequired: Card declined)",
            "check the workspace's billing at https://app.example.test",
        ),
        (
            error(410, "ResourceGone", "deleted"),
            NotFoundError,
            "no longer exists (ResourceGone: deleted)",
            None,
        ),
        (
            error(405, "MethodNotFound", "no such method"),
            BadResponseError,
            f"{URL} does not know this operation (MethodNotFound: no such method)",
            "check the API URL; the server does not behave like Botpress Cloud",
        ),
        (
            error(504, "OperationTimeout", "slow"),
            ServerError,
            f"{URL} timed out (504 OperationTimeout: slow)",
            "try again later",
        ),
        (
            error(400, "Unknown", "odd"),
            ApiError,
            f"{URL} refused the request (400 Unknown: odd)",
            None,
        ),
        (
            httpx.Response(
                429,
                json={
                    "type": "RateLimited",
                    "description": "The request has been rate-limited.",
                    "status": 429,
                },
            ),
            RateLimitedError,
            f"{URL} is rate limiting requests; try again later",
            None,
        ),
        (
            error(404, "ResourceNotFound", "nope"),
            NotFoundError,
            "not found (ResourceNotFound: nope)",
            None,
        ),
        (
            error(418, "Teapot", "short and stout"),
            ApiError,
            f"{URL} refused the request (418 Teapot: short and stout)",
            None,
        ),
        (
            httpx.Response(400, text="<html>"),
            ApiError,
            f"{URL} refused the request (400 HTTP 400)",
            None,
        ),
        (
            error(400, "Bad\x1b[31m", "line\nbreak"),
            ApiError,
            f"{URL} refused the request (400 Bad?[31m: line?break)",
            None,
        ),
        (
            httpx.Response(200, text="<html>", headers={"content-type": "text/html"}),
            BadResponseError,
            f"{URL} answered with text/html, not JSON",
            "check the API URL",
        ),
        (
            httpx.Response(
                200, content=b'{"account": {', headers={"content-type": "application/json"}
            ),
            BadResponseError,
            f"unexpected answer from {URL} (body: Invalid JSON: EOF while parsing an object "
            "at line 1 column 13)",
            "check the API URL; the server does not behave like Botpress Cloud",
        ),
        (
            reply(200, {"account": {"id": 5}}),
            BadResponseError,
            f"unexpected answer from {URL} (account.id: Input should be a valid string)",
            "check the API URL; the server does not behave like Botpress Cloud",
        ),
        (
            reply(302, location="https://elsewhere.test/v1/admin/account/me"),
            BadResponseError,
            f"{URL} redirected to https://elsewhere.test/v1/admin/account/me; "
            "bpshell does not follow redirects with a token",
            "check the API URL",
        ),
        (
            httpx.ConnectError("boom"),
            NetworkError,
            f"cannot reach {URL} (boom)",
            "check the API URL and your network",
        ),
        (
            httpx.ReadTimeout("slow"),
            ApiTimeoutError,
            f"{URL} did not answer in time",
            "check your network or try again later",
        ),
        (
            httpx.ReadError("", request=httpx.Request("GET", URL)),
            NetworkError,
            f"the connection to {URL} broke (ReadError)",
            "try again",
        ),
        (
            httpx.RemoteProtocolError("peer closed"),
            NetworkError,
            f"the connection to {URL} broke (peer closed)",
            "try again",
        ),
    ],
)
def test_answers_become_bpshell_errors(
    answer: httpx.Response | Exception, kind: type[ApiError], message: str, hint: str | None
) -> None:
    exc = raised(Recorder(answer), "get_account")
    assert type(exc) is kind
    assert (exc.message, exc.hint) == (message, hint)


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "unknown host"),
        (OSError("Network is unreachable"), "Network is unreachable"),
    ],
)
def test_network_errors_name_the_cause(cause: BaseException, reason: str) -> None:
    """httpx chains the OS error implicitly (``__context__``), two links down."""
    inner = OSError("All connection attempts failed")
    inner.__context__ = cause
    outer = httpx.ConnectError("All connection attempts failed")
    outer.__context__ = inner
    exc = raised(Recorder(outer), "get_account")
    assert exc.message == f"cannot reach {URL} ({reason})"


def test_get_workspace_names_the_workspace_on_403_and_404() -> None:
    forbidden = raised(Recorder(error(403, "Forbidden", "x")), "get_workspace", "ws_9")
    assert (type(forbidden), forbidden.message) == (
        ForbiddenError,
        "permission denied for workspace ws_9",
    )
    missing = raised(Recorder(error(404, "ResourceNotFound", "x")), "get_workspace", "ws_9")
    assert (type(missing), missing.message) == (
        NotFoundError,
        "workspace ws_9 was not found or is not accessible with this token",
    )


def test_overall_deadline_covers_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return reply(200, ACCOUNT)

    async def main() -> None:
        async with api.new_http_client(transport=httpx.MockTransport(slow)) as http:
            await ApiClient(http, URL, TOKEN, timeout=0.05).get_account()

    with pytest.raises(ApiTimeoutError) as caught:
        anyio.run(main)
    assert (caught.value.message, caught.value.hint) == (
        f"{URL} did not answer within 0.05 s",
        "check your network or try again later",
    )


# --- pagination --------------------------------------------------------------------------


def _pages(count: int) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("nextToken", "0"))
        more = {"nextToken": str(page + 1)} if page + 1 < count else {}
        items = [{"id": f"ws_{page}", "name": f"page {page}"}]
        return reply(200, {"workspaces": items, "meta": more})

    return answer


def test_list_workspaces_follows_every_page() -> None:
    recorder = Recorder(_pages(3))
    found = call(recorder, "list_workspaces")
    assert found == [Workspace(id=f"ws_{i}", name=f"page {i}") for i in range(3)]
    assert [r.url.params.get("nextToken") for r in recorder.requests] == [None, "1", "2"]


def test_endless_pagination_stops_at_the_bound() -> None:
    recorder = Recorder(_pages(10**9))
    exc = raised(recorder, "list_workspaces")
    assert type(exc) is BadResponseError
    assert exc.message == f"{URL} kept paginating workspaces past {api.MAX_PAGES} pages"
    assert len(recorder.requests) == api.MAX_PAGES


# --- verify ------------------------------------------------------------------------------


def _routes(account: httpx.Response, workspace: httpx.Response) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        return account if request.url.path.endswith("/me") else workspace

    return answer


@pytest.mark.parametrize(
    ("account", "workspace", "status", "reason"),
    [
        (reply(200, ACCOUNT), reply(200, WORKSPACE), "ok", None),
        (
            error(401, "Unauthorized", "x"),
            error(401, "Unauthorized", "x"),
            "invalid",
            "the token is invalid or expired",
        ),
        (
            reply(200, ACCOUNT),
            error(403, "Forbidden", "x"),
            "forbidden",
            "permission denied for workspace ws_1",
        ),
        (
            reply(200, ACCOUNT),
            error(404, "ResourceNotFound", "x"),
            "not_found",
            "workspace ws_1 was not found or is not accessible with this token",
        ),
        (
            reply(200, {"nope": 1}),
            reply(200, WORKSPACE),
            "bad_response",
            f"unexpected answer from {URL} (account: Field required)",
        ),
    ],
)
def test_verify_returns_a_value(
    account: httpx.Response, workspace: httpx.Response, status: str, reason: str | None
) -> None:
    async def main() -> Any:
        transport = httpx.MockTransport(_routes(account, workspace))
        async with api.new_http_client(transport=transport) as http:
            return await verify(ApiClient(http, URL, TOKEN, retries=0), "ws_1")

    result = anyio.run(main)
    assert (result.status, result.reason, result.ok) == (status, reason, status == "ok")
    if result.ok:
        assert (result.account.email, result.workspace.name) == ("dev@example.com", "one")


def test_verify_asks_for_account_and_workspace_at_the_same_time() -> None:
    in_flight = 0
    peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.05)
        in_flight -= 1
        return reply(200, ACCOUNT if request.url.path.endswith("/me") else WORKSPACE)

    async def main() -> Any:
        async with api.new_http_client(transport=httpx.MockTransport(answer)) as http:
            return await verify(ApiClient(http, URL, TOKEN), "ws_1")

    assert anyio.run(main).ok
    assert peak == 2


# --- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "app", "page"),
    [
        (
            "https://api.botpress.cloud",
            "https://app.botpress.cloud",
            "https://app.botpress.cloud/profile/tokens",
        ),
        (
            "https://api.botpress.dev",
            "https://app.botpress.dev",
            "https://app.botpress.dev/profile/tokens",
        ),
        (
            "http://127.0.0.1:8080",
            "https://app.botpress.cloud",
            "https://app.botpress.cloud/profile/tokens",
        ),
    ],
)
def test_app_and_token_page_urls(api_url: str, app: str, page: str) -> None:
    assert (app_url(api_url), tokens_page(api_url)) == (app, page)


def test_verbose_log_redacts_the_token() -> None:
    lines: list[str] = []

    async def main() -> None:
        transport = httpx.MockTransport(Recorder(reply(200, ACCOUNT)))
        async with api.new_http_client(lines.append, transport) as http:
            await ApiClient(http, URL, TOKEN).get_account()

    anyio.run(main)
    (line,) = lines
    assert line.startswith(
        f"debug: GET {URL}/v1/admin/account/me (authorization: Bearer [redacted]) -> 200 in "
    )
    assert TOKEN not in json.dumps(lines)
