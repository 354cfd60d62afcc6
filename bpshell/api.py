"""Botpress Cloud admin API calls over one ``httpx.AsyncClient``.

Library errors are translated here: commands see only :mod:`bpshell.errors` types. GETs are
retried a bounded number of times on 429 (honouring ``Retry-After``) and 5xx; every call has an
overall deadline; redirects are never followed, so a token is never sent to another host.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from bpshell.config import check_token, check_workspace_id, printable, tokens_page
from bpshell.errors import (
    ApiError,
    ApiTimeoutError,
    AuthError,
    BadResponseError,
    BpError,
    ForbiddenError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 30.0
RETRIES = 2
MAX_RETRY_WAIT_S = 10.0
MAX_PAGES = 200
USER_AGENT = "bpshell"

M = TypeVar("M", bound=BaseModel)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Account(_Lenient):
    """The account a token belongs to."""

    id: str
    email: str
    displayName: str | None = None


class _AccountAnswer(_Lenient):
    account: Account


class Workspace(_Lenient):
    """A workspace, as much of it as bpshell shows."""

    id: str
    name: str
    handle: str | None = None


class _Meta(_Lenient):
    nextToken: str | None = None


class _WorkspacePage(_Lenient):
    workspaces: list[Workspace]
    meta: _Meta


class Bot(_Lenient):
    """A bot of a workspace."""

    id: str
    name: str


class _BotPage(_Lenient):
    bots: list[Bot]
    meta: _Meta


def new_http_client(
    debug: Callable[[str], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The one HTTP client of a run (or a shell session); ``transport`` is for tests."""
    hooks: dict[str, list[Callable[..., Any]]] = {}
    if debug is not None:
        log = debug

        async def on_request(request: httpx.Request) -> None:
            request.extensions["bpshell_started"] = time.monotonic()

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            took = (time.monotonic() - request.extensions["bpshell_started"]) * 1000
            auth = "Bearer [redacted]" if "authorization" in request.headers else "none"
            log(
                f"debug: {request.method} {request.url} (authorization: {auth}) "
                f"-> {response.status_code} in {took:.0f} ms"
            )

        hooks["request"] = [on_request]
        hooks["response"] = [on_response]
    return httpx.AsyncClient(
        timeout=httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        follow_redirects=False,
        headers={"user-agent": USER_AGENT, "accept": "application/json"},
        event_hooks=hooks,
        trust_env=False,
        transport=transport,
    )


class ApiClient:
    """The admin API as seen by one token at one API URL."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_url: str,
        token: str,
        *,
        timeout: float = TOTAL_TIMEOUT_S,
        retries: int = RETRIES,
    ) -> None:
        self.api_url = api_url
        self._http = http
        self._token = token
        self._timeout = timeout
        self._retries = retries

    async def get_account(self) -> Account:
        """``getAccount``: who the token belongs to."""
        return (await self._get("/v1/admin/account/me", _AccountAnswer)).account

    async def get_workspace(self, workspace_id: str) -> Workspace:
        """``getWorkspace``; 403/404 name the workspace, and so does an answer about another."""
        check_workspace_id(workspace_id)  # it is a path segment: no "..", "?", "#" or escapes
        try:
            found = await self._get(f"/v1/admin/workspaces/{workspace_id}", Workspace)
        except ForbiddenError as exc:
            raise ForbiddenError(
                f"permission denied for workspace {workspace_id}",
                exc.hint,
                status=403,
                api_type=exc.api_type,
            ) from None
        except NotFoundError as exc:
            raise NotFoundError(
                f"workspace {workspace_id} was not found or is not accessible with this token",
                exc.hint,
                status=404,
                api_type=exc.api_type,
            ) from None
        if found.id != workspace_id:  # saving it would store an ID nobody checked
            raise BadResponseError(
                f"{self.api_url} answered about workspace {printable(found.id)} "
                f"when asked about {workspace_id}",
                "check the API URL; the server does not behave like Botpress Cloud",
            )
        return found

    async def list_workspaces(self) -> list[Workspace]:
        """``listWorkspaces``, every page (at most :data:`MAX_PAGES`)."""
        found: list[Workspace] = []
        next_token: str | None = None
        for _ in range(MAX_PAGES):
            params = {"nextToken": next_token} if next_token else None
            page = await self._get("/v1/admin/workspaces", _WorkspacePage, params=params)
            found.extend(page.workspaces)
            next_token = page.meta.nextToken
            if not next_token:
                return found
        raise BadResponseError(
            f"{self.api_url} kept paginating workspaces past {MAX_PAGES} pages",
            "check the API URL; the server does not behave like Botpress Cloud",
        )

    async def list_bots(self, workspace_id: str) -> list[Bot]:
        """``listBots`` of a workspace, first page."""
        check_workspace_id(workspace_id)
        page = await self._get("/v1/admin/bots", _BotPage, headers={"x-workspace-id": workspace_id})
        return page.bots

    async def _get(
        self,
        path: str,
        model: type[M],
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> M:
        # A token from config.json or BP_TOKEN is not checked on the way in; one that is not
        # a valid header value would end up in an httpx error message, or crash the encoder.
        check_token(self._token)
        url = self.api_url + path
        request_headers = {"authorization": f"Bearer {self._token}", **(headers or {})}
        try:
            with anyio.fail_after(self._timeout):
                response = await self._send_with_retries(url, params, request_headers)
        except TimeoutError:
            raise ApiTimeoutError(
                f"{self.api_url} did not answer within {self._timeout:g} s",
                "check your network or try again later",
            ) from None
        return _decode(response, model, self.api_url)

    async def _send_with_retries(
        self, url: str, params: dict[str, str] | None, headers: dict[str, str]
    ) -> httpx.Response:
        for attempt in range(self._retries + 1):
            response = await _send(
                self._http.get(url, params=params, headers=headers), self.api_url
            )
            retryable = response.status_code == 429 or response.status_code >= 500
            if not retryable or attempt == self._retries:
                return response
            wait = _retry_wait(response, attempt)
            if wait is None:
                return response
            await response.aclose()
            await anyio.sleep(wait)
        raise AssertionError("unreachable")


async def _send(request: Awaitable[httpx.Response], api_url: str) -> httpx.Response:
    try:
        return await request
    except httpx.TimeoutException:
        raise ApiTimeoutError(
            f"{api_url} did not answer in time", "check your network or try again later"
        ) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise NetworkError(
            f"the connection to {api_url} broke ({_network_reason(exc)})", "try again"
        ) from None
    except httpx.HTTPError as exc:
        raise NetworkError(
            f"cannot reach {api_url} ({_network_reason(exc)})",
            "check the API URL and your network",
        ) from None


def _network_reason(exc: httpx.HTTPError) -> str:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain and len(chain) < 10:
        chain.append(cause)  # httpcore and anyio chain implicitly: follow __context__ too
        cause = cause.__cause__ or cause.__context__
    texts = " ".join(str(item) for item in chain)
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return "connection refused"
    if any(isinstance(item, ConnectionResetError) for item in chain):
        return "connection reset"
    if any(isinstance(item, socket.gaierror) for item in chain) or (
        "Name or service not known" in texts or "nodename nor servname" in texts
    ):
        return "unknown host"
    text = str(chain[-1]) or str(exc)
    return text.splitlines()[0][:120] if text else type(exc).__name__


def _retry_wait(response: httpx.Response, attempt: int) -> float | None:
    """Seconds to wait before the next attempt; None when the server asks for too long."""
    header = response.headers.get("retry-after")
    if header is not None:
        try:
            asked = float(header)
        except ValueError:
            asked = 1.0
        return max(0.0, asked) if asked <= MAX_RETRY_WAIT_S else None
    backoff: float = min(MAX_RETRY_WAIT_S, 0.25 * 2.0**attempt)
    return backoff * (0.5 + random.random() / 2)  # noqa: S311


def _decode(response: httpx.Response, model: type[M], api_url: str) -> M:
    status = response.status_code
    if 300 <= status < 400:
        where = response.headers.get("location", "elsewhere")
        raise BadResponseError(
            f"{api_url} redirected to {where}; bpshell does not follow redirects with a token",
            "check the API URL",
            status=status,
        )
    if status >= 400:
        raise _error_for(response, api_url)
    if "json" not in response.headers.get("content-type", ""):
        raise BadResponseError(
            f"{api_url} answered with {response.headers.get('content-type', 'no content type')}, "
            "not JSON",
            "check the API URL",
            status=status,
        )
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadResponseError(
            f"unexpected answer from {api_url} ({where}: {first['msg']})",
            "check the API URL; the server does not behave like Botpress Cloud",
            status=status,
        ) from None


class _ErrorBody(_Lenient):
    type: str = "Unknown"
    message: str = ""


def _error_for(response: httpx.Response, api_url: str) -> ApiError:
    status = response.status_code
    try:
        body = _ErrorBody.model_validate_json(response.content)
    except ValidationError:
        body = _ErrorBody(type=f"HTTP {status}", message="")
    detail = f"{body.type}: {body.message}" if body.message else body.type
    detail = "".join(ch if ch.isprintable() else "?" for ch in detail)[:200]
    if status == 401:
        return AuthError(
            "the token is invalid or expired",
            f"make a new one at {tokens_page(api_url)} and run: bp login",
            status=status,
            api_type=body.type,
        )
    if status == 403:
        return ForbiddenError(
            f"permission denied ({detail})", None, status=status, api_type=body.type
        )
    if status == 404:
        return NotFoundError(f"not found ({detail})", None, status=status, api_type=body.type)
    if status == 429:
        after = response.headers.get("retry-after")
        wait = f"; try again in {after} s" if after else "; try again later"
        return RateLimitedError(
            f"{api_url} is rate limiting requests{wait}", None, status=status, api_type=body.type
        )
    if status >= 500:
        return ServerError(
            f"{api_url} failed ({status} {detail})",
            "try again later",
            status=status,
            api_type=body.type,
        )
    return ApiError(
        f"{api_url} refused the request ({status} {detail})",
        None,
        status=status,
        api_type=body.type,
    )


Status = Literal[
    "ok",
    "invalid",
    "forbidden",
    "not_found",
    "rate_limited",
    "server_error",
    "timeout",
    "unreachable",
    "bad_response",
]

_STATUS_OF_KIND: dict[str, Status] = {
    "unauthorized": "invalid",
    "forbidden": "forbidden",
    "not_found": "not_found",
    "rate_limited": "rate_limited",
    "server_error": "server_error",
    "timeout": "timeout",
    "unreachable": "unreachable",
    "usage": "invalid",  # credentials no request could carry (a malformed token or ID)
}


@dataclass(frozen=True)
class Verification:
    """What the API said of one set of credentials. A value, never raised."""

    status: Status
    account: Account | None = None
    workspace: Workspace | None = None
    error: BpError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """The token is valid and may use the workspace."""
        return self.status == "ok"

    @property
    def rejected(self) -> bool:
        """The API answered and said no (as opposed to: could not tell)."""
        return self.status in ("invalid", "forbidden", "not_found")

    @property
    def reason(self) -> str | None:
        """One line for the user, None when ok."""
        return None if self.error is None else self.error.message


def status_of(error: BpError) -> Status:
    """The verification status an API error (or malformed credentials) stands for."""
    return _STATUS_OF_KIND.get(error.kind, "bad_response")


async def verify(client: ApiClient, workspace_id: str) -> Verification:
    """Check the token and the workspace in one round trip of wall time (both at once)."""
    started = time.monotonic()
    results: dict[str, Any] = {}

    async def fetch(key: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            results[key] = await call()
        except BpError as exc:
            results[key] = exc

    async with anyio.create_task_group() as group:
        group.start_soon(fetch, "account", client.get_account)
        group.start_soon(fetch, "workspace", lambda: client.get_workspace(workspace_id))
    elapsed = time.monotonic() - started
    account, workspace = results["account"], results["workspace"]
    errors = [item for item in (account, workspace) if isinstance(item, BpError)]
    if not errors:
        return Verification("ok", account, workspace, seconds=elapsed)
    error = errors[0]
    return Verification(
        status_of(error),
        account if isinstance(account, Account) else None,
        workspace if isinstance(workspace, Workspace) else None,
        error,
        elapsed,
    )
