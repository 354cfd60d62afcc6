"""Botpress Cloud admin API calls over one ``httpx.AsyncClient``.

Library errors are translated here: commands see only :mod:`bpshell.errors` types. GETs are
retried a bounded number of times on 429 (honouring ``Retry-After``) and 5xx; every call has an
overall deadline, and so has a whole page walk; redirects are never followed, so a token is
never sent to another host.

What a server says is checked before anyone can store, cache, show or complete it: an answer
is read up to :data:`MAX_ANSWER_BYTES` decoded (a gzip bomb or an endless body is a
:class:`BadResponseError`, not the machine's memory), listed workspaces whose IDs fail
bpshell's own rule are left out, and names lose control and bidi characters and are capped at
:data:`MAX_NAME_CHARS` where they enter, in the answer models.
"""

from __future__ import annotations

import random
import socket
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, NamedTuple, TypeVar

import anyio
import httpx

from bpshell.answers import (
    ACCOUNT,
    BOTS,
    ERROR,
    MEMBER,
    NEW_PAT,
    NOTHING,
    PATS,
    WORKSPACE,
    WORKSPACES,
    Account,
    Bot,
    ErrorBody,
    Member,
    NewPat,
    Pat,
    Shape,
    Workspace,
    checked_pat_id,
)
from bpshell.config import (
    app_url,
    check_not_token,
    check_token,
    check_workspace_id,
    printable,
    tokens_page,
)
from bpshell.errors import (
    ApiError,
    ApiTimeoutError,
    AuthError,
    BadResponseError,
    BpError,
    ForbiddenError,
    NetworkError,
    NotFoundError,
    PaymentRequiredError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    UsageError,
)
from bpshell.network import Transport
from bpshell.ratelimit import Notices, Pacer, header_seconds, quiet, reset_seconds

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 30.0
RETRIES = 2
MAX_RETRY_WAIT_S = 10.0
RATE_LIMITED_TRIES = 6  # a 429 that says how long to wait is worth waiting for, a few times
MAX_PACING_S = 300.0  # the longest a request is held back for the limiter's window
MAX_PAGES = 200
MAX_ANSWER_BYTES = 8 << 20  # decoded; real answers are a few KiB
USER_AGENT = "bpshell"
# Only what _Body decodes, with its bound; httpx would announce br/zstd once they are installed.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}

# Roles that may not deploy bots (the docs' role table: viewers read, billing pays).
CANNOT_DEPLOY = frozenset({"viewer", "billing"})

T = TypeVar("T")


class _HttpClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that carries the run's debug callback to its API clients, and
    what the rate limiter said of each token (one :class:`Pacer` per token and API URL)."""

    def __init__(self, debug: Callable[[str], None] | None, **options: Any) -> None:
        super().__init__(**options)
        self.debug = debug
        self.pacers: dict[tuple[str, str], Pacer] = {}


def new_http_client(
    debug: Callable[[str], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The one HTTP client of a run (or a shell session), so connections are reused.

    ``transport`` is a :class:`bpshell.network.Transport` built from the run's environment
    (proxies, trust), or a test's; without one, requests go straight, trusting the system's
    CAs. ``debug`` gets a line per request (naming the proxy when the environment sets one),
    and one per answer bpshell did not take as it came.
    """
    hooks: dict[str, list[Callable[..., Any]]] = {}
    if debug is not None:
        log = debug

        async def on_request(request: httpx.Request) -> None:
            request.extensions["bpshell_started"] = time.monotonic()

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            took = (time.monotonic() - request.extensions["bpshell_started"]) * 1000
            auth = "Bearer [redacted]" if "authorization" in request.headers else "none"
            route = request.extensions.get("bpshell_route")
            via = f" {route}" if route else ""
            log(
                f"debug: {request.method} {request.url} (authorization: {auth}){via} "
                f"-> {response.status_code} in {took:.0f} ms"
            )

        hooks["request"] = [on_request]
        hooks["response"] = [on_response]
    return _HttpClient(
        debug,
        timeout=httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        follow_redirects=False,
        headers={
            "user-agent": USER_AGENT,
            "accept": "application/json",
            "accept-encoding": ACCEPT_ENCODING,
        },
        event_hooks=hooks,
        trust_env=False,  # .netrc stays unread; network.Transport reads the proxy variables
        transport=transport if transport is not None else Transport({}, debug),
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
        notices: Notices | None = None,
        on_unauthorized: Callable[[AuthError], None] | None = None,
    ) -> None:
        self.api_url = api_url
        self._on_unauthorized = on_unauthorized
        self._http = http
        self._token = token
        self._timeout = timeout
        self._retries = retries
        self._debug = http.debug if isinstance(http, _HttpClient) else None
        self._notices = notices or Notices(quiet)
        pacers = http.pacers if isinstance(http, _HttpClient) else {}
        self._pacer = pacers.setdefault((api_url, token), Pacer())

    async def get_account(self) -> Account:
        """``getAccount``: who the token belongs to."""
        return await self._get("/v1/admin/account/me", ACCOUNT)

    async def get_membership(self, workspace_id: str) -> Member:
        """``getWorkspaceMember`` (``/me``): the caller's role in the workspace."""
        check_workspace_id(workspace_id)
        return await self._get(
            "/v1/admin/workspace-members/me", MEMBER, headers={"x-workspace-id": workspace_id}
        )

    async def get_workspace(self, workspace_id: str) -> Workspace:
        """``getWorkspace``; 403/404 name the workspace, and so does an answer about another."""
        check_workspace_id(workspace_id)  # it is a path segment: no "..", "?", "#" or escapes
        try:
            found = await self._get(f"/v1/admin/workspaces/{workspace_id}", WORKSPACE)
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
            try:
                check_not_token(found.id)
                other = f"workspace {printable(found.id)}"
            except UsageError:  # a token: not to be shown, even escaped
                other = "a workspace whose ID looks like a token"
            raise BadResponseError(
                f"{self.api_url} answered about {other} when asked about {workspace_id}",
                "check the API URL; the server does not behave like Botpress Cloud",
            )
        return found

    async def list_workspaces(self) -> list[Workspace]:
        """``listWorkspaces``, every page: at most :data:`MAX_PAGES`, all within one deadline
        of the client's timeout (a server that keeps paging would otherwise hold a command
        for a timeout per page). Workspaces whose IDs fail bpshell's rule are left out."""
        found: list[Workspace] = []
        pages = 0
        try:
            with anyio.fail_after(self._timeout):
                next_token: str | None = None
                while pages < MAX_PAGES:
                    params = {"nextToken": next_token} if next_token else None
                    page = await self._get("/v1/admin/workspaces", WORKSPACES, params=params)
                    pages += 1
                    found.extend(self._checked(page.items))
                    next_token = page.next_token
                    if not next_token:
                        return found
        except TimeoutError:
            if pages == 0:
                raise self._timed_out() from None
            raise ApiTimeoutError(
                f"{self.api_url} kept sending pages of workspaces for {self._timeout:g} s "
                f"({pages} pages, {len(found)} workspaces read), so bpshell stopped",
                "try again later; if it happens again, check the API URL",
            ) from None
        raise BadResponseError(
            f"{self.api_url} kept paginating workspaces past {MAX_PAGES} pages",
            "check the API URL; the server does not behave like Botpress Cloud",
        )

    def _checked(self, workspaces: list[Workspace]) -> Iterator[Workspace]:
        """The workspaces whose IDs bpshell would accept from a user; the rest are noted."""
        for workspace in workspaces:
            try:
                check_workspace_id(workspace.id)
            except UsageError as exc:  # its message never shows a token-like ID
                if self._debug is not None:
                    self._debug(
                        f"debug: {self.api_url} listed a workspace bpshell left out ({exc.message})"
                    )
                continue
            yield workspace

    async def list_bots(self, workspace_id: str) -> list[Bot]:
        """``listBots`` of a workspace, first page."""
        check_workspace_id(workspace_id)
        page = await self._get("/v1/admin/bots", BOTS, headers={"x-workspace-id": workspace_id})
        return page.items

    async def list_pats(self) -> list[Pat]:
        """``listPersonalAccessTokens``: the account's PATs, oldest first (never a value)."""
        return await self._get("/v1/admin/account/pats", PATS)

    async def create_pat(self, note: str) -> NewPat:
        """``createPersonalAccessToken``: a new PAT of the token's account, with its value,
        which no later answer carries. A timeout or a broken connection may come after the
        server made it: the caller cannot know, and says so."""
        return await self._write("POST", "/v1/admin/account/pats", NEW_PAT, {"note": note})

    async def delete_pat(self, pat_id: str) -> None:
        """``deletePersonalAccessToken``: that token answers 401 from then on; an unknown id
        (or another account's) is a :class:`NotFoundError`."""
        try:
            checked_pat_id(pat_id)  # a path segment: no "..", "?", "#", "/" or escapes
        except ValueError as exc:
            raise UsageError(f"invalid token ID {printable(pat_id)}", str(exc)) from None
        await self._write("DELETE", f"/v1/admin/account/pats/{pat_id}", NOTHING)

    async def _write(
        self, method: str, path: str, shape: Shape[T], body: dict[str, str] | None = None
    ) -> T:
        with self._notices.busy():  # a spinner line while it lasts, on a terminal
            return await self._write_now(method, path, shape, body)

    async def _write_now(
        self, method: str, path: str, shape: Shape[T], body: dict[str, str] | None
    ) -> T:
        """A request that changes something. Only a 429 is retried: the limiter refused it
        before anything was done, whereas after a 5xx or a timeout the change may be made,
        and a second POST would mint a second token whose value is lost."""
        check_token(self._token)
        url = self.api_url + path
        headers = {"authorization": f"Bearer {self._token}"}
        try:
            with anyio.fail_after(self._timeout):
                for attempt in range(self._retries + 1):
                    request = self._http.build_request(method, url, json=body, headers=headers)
                    with _translated(self.api_url):
                        response = await self._http.send(request, stream=True)
                    try:
                        limited = response.status_code == 429
                        wait = _retry_wait(response, attempt, self._timeout) if limited else None
                        if wait is None or attempt == self._retries:
                            return self._decode(await _read(response, self.api_url), shape)
                    finally:
                        await response.aclose()
                    await anyio.sleep(wait)
        except TimeoutError:
            raise self._timed_out() from None
        raise AssertionError("unreachable")

    async def _get(
        self,
        path: str,
        shape: Shape[T],
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> T:
        with self._notices.busy():  # a spinner line while it lasts, on a terminal
            return await self._get_now(path, shape, params, headers)

    async def _get_now(
        self,
        path: str,
        shape: Shape[T],
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
    ) -> T:
        # A token from config.json or BP_TOKEN is not checked on the way in; one that is not
        # a valid header value would end up in an httpx error message, or crash the encoder.
        check_token(self._token)
        url = self.api_url + path
        request_headers = {"authorization": f"Bearer {self._token}", **(headers or {})}
        # Held back while the limiter's window is used up: that wait is the limiter's, not
        # the server's, so it is bounded apart from the answer's timeout.
        if not await self._pacer.slot(time.monotonic() + MAX_PACING_S, self._say_paced):
            raise self._limited(self._pacer.reset_at - time.monotonic())
        answer: _Answer | None = None
        try:
            with anyio.fail_after(self._timeout):
                answer = await self._send_with_retries(
                    url, params, request_headers, time.monotonic() + self._timeout
                )
        except TimeoutError:
            raise self._timed_out() from None
        finally:
            self._pacer.answered(None if answer is None else answer.headers)
        return self._decode(answer, shape)

    def _decode(self, answer: _Answer, shape: Shape[T]) -> T:
        """The answer as ``shape`` says; a 401 is told to ``on_unauthorized`` first."""
        try:
            return _decode(answer, shape, self.api_url)
        except AuthError as exc:
            if self._on_unauthorized is not None:
                self._on_unauthorized(exc)
            raise

    def _say_paced(self, seconds: float) -> None:
        self._notices.wait(f"{self.api_url} is rate limiting requests", seconds)

    def _limited(self, seconds: float) -> RateLimitedError:
        return RateLimitedError(
            f"{self.api_url} is rate limiting requests; try again in {max(seconds, 0):.0f} s",
            None,
            status=429,
            api_type="RateLimited",
        )

    def _timed_out(self) -> ApiTimeoutError:
        return ApiTimeoutError(
            f"{self.api_url} did not answer within {self._timeout:g} s",
            "check your network or try again later",
        )

    async def _send_with_retries(
        self, url: str, params: dict[str, str] | None, headers: dict[str, str], deadline: float
    ) -> _Answer:
        attempt = 0
        while True:
            request = self._http.build_request("GET", url, params=params, headers=headers)
            with _translated(self.api_url):
                response = await self._http.send(request, stream=True)
            limited = response.status_code == 429
            try:
                wait = _retry_wait(response, attempt, deadline - time.monotonic())
                tries = RATE_LIMITED_TRIES if limited else self._retries + 1
                if wait is None or attempt + 1 >= tries:
                    return await _read(response, self.api_url)
            finally:
                await response.aclose()
            attempt += 1
            if limited:
                # Back in the queue of this token's requests: many sent at once, before the
                # limiter's first answer, must not all come back together at the reset.
                self._pacer.answered(response.headers)
                self._pacer.hold(wait)
                if not await self._pacer.slot(deadline, self._say_paced):
                    raise self._limited(self._pacer.reset_at - time.monotonic())
            else:
                await anyio.sleep(wait)


class Reached(NamedTuple):
    """How an API answered a request without credentials (see :func:`reach`)."""

    status: int
    date: str | None  # the answer's Date header, as sent
    sent_at: float  # time.time() when the request left and when its answer came
    answered_at: float


async def reach(http: httpx.AsyncClient, api_url: str) -> Reached:
    """One ``GET /v1/admin/account/me`` with no token (the API answers 401): whether the API
    can be reached from here, through the proxy and the TLS trust in force, and its clock.
    Raises :class:`NetworkError` (or :class:`ApiTimeoutError`) when it cannot; the caller
    bounds the time."""
    sent_at = time.time()
    with _translated(api_url):
        request = http.build_request("GET", api_url + "/v1/admin/account/me")
        response = await http.send(request, stream=True)
        await response.aclose()  # the body is not read: only that an answer came, and when
    return Reached(response.status_code, response.headers.get("date"), sent_at, time.time())


class _Answer(NamedTuple):
    """An answer with its body read (within the bounds) and its connection released."""

    status: int
    headers: httpx.Headers
    body: bytes


async def _read(response: httpx.Response, api_url: str) -> _Answer:
    """The body of a streamed answer, decoded, refused past :data:`MAX_ANSWER_BYTES`.

    httpx's own decoders inflate each network chunk whole (64 KiB of gzip can be 64 MiB,
    and ``gzip, gzip`` a thousand times more), so the bytes are inflated here, never more
    than one byte past the cap at a time.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise _too_big(api_url, response.status_code)  # refused before a byte is read
    if response.is_stream_consumed:
        # A transport handed back an answer built in memory (httpx.MockTransport does): its
        # content is already decoded, so only its size is left to check.
        if len(response.content) > MAX_ANSWER_BYTES:
            raise _too_big(api_url, response.status_code)
        return _Answer(response.status_code, response.headers, response.content)
    body = _Body(response, api_url)
    with _translated(api_url):
        async for raw in response.aiter_raw():
            body.feed(raw)
    return _Answer(response.status_code, response.headers, body.finish())


class _Body:
    """The decoded bytes of one answer, never more than :data:`MAX_ANSWER_BYTES` + 1."""

    def __init__(self, response: httpx.Response, api_url: str) -> None:
        self._api_url = api_url
        self._status = response.status_code
        self._data = bytearray()
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in (*_WBITS, "", "identity"):
            raise BadResponseError(
                f"{api_url} answered with content encoding {printable(encoding)}, "
                "which bpshell does not read",
                "check the API URL; the server does not behave like Botpress Cloud",
                status=self._status,
            )
        wbits = _WBITS.get(encoding)
        self._inflater = None if wbits is None else zlib.decompressobj(wbits)

    def feed(self, raw: bytes) -> None:
        """Add the next bytes off the wire."""
        if self._inflater is None:
            self._add(raw)
            return
        room = MAX_ANSWER_BYTES - len(self._data) + 1
        try:
            self._add(self._inflater.decompress(raw, room))
        except zlib.error:
            raise self._broken() from None
        if self._inflater.unconsumed_tail:  # it stopped at the room it had: past the cap
            raise _too_big(self._api_url, self._status)

    def finish(self) -> bytes:
        """The whole body, once the wire has no more."""
        if self._inflater is not None:
            try:
                self._add(self._inflater.flush())
            except zlib.error:
                raise self._broken() from None
        return bytes(self._data)

    def _add(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > MAX_ANSWER_BYTES:
            raise _too_big(self._api_url, self._status)

    def _broken(self) -> BadResponseError:
        return BadResponseError(
            f"{self._api_url} sent a compressed answer that does not decompress",
            "check the API URL; the server does not behave like Botpress Cloud",
            status=self._status,
        )


def _too_big(api_url: str, status: int) -> BadResponseError:
    return BadResponseError(
        f"{api_url} sent more than {MAX_ANSWER_BYTES >> 20} MiB in one answer, "
        "so bpshell stopped reading it",
        "check the API URL; the server does not behave like Botpress Cloud",
        status=status,
    )


@contextmanager
def _translated(api_url: str) -> Iterator[None]:
    """httpx's errors, while sending or reading, as bpshell's."""
    try:
        yield
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


def _retry_wait(response: httpx.Response, attempt: int, left: float) -> float | None:
    """Seconds to wait before trying again; None when the answer is final: not a 429 or a
    5xx, or the wait asked for (``Retry-After``, or the limiter's ``RateLimit-Reset``) is
    longer than the time ``left`` to the deadline or than :data:`MAX_RETRY_WAIT_S`."""
    status = response.status_code
    if status != 429 and status < 500:
        return None
    # RateLimit-Reset is on every answer; it says when to retry a 429 only.
    headers = response.headers
    asked = reset_seconds(headers) if status == 429 else header_seconds(headers, "retry-after")
    if asked is not None:
        asked = max(asked, 0.05) if status == 429 else asked
        return asked if asked <= min(left, MAX_RETRY_WAIT_S) else None
    backoff: float = min(MAX_RETRY_WAIT_S, 0.25 * 2.0**attempt)
    return backoff * (0.5 + random.random() / 2)  # noqa: S311


def _decode(response: _Answer, shape: Shape[T], api_url: str) -> T:
    status = response.status
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
    from pydantic_core import ValidationError

    try:
        return shape.parse(response.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadResponseError(
            f"unexpected answer from {api_url} ({where}: {first['msg']})",
            "check the API URL; the server does not behave like Botpress Cloud",
            status=status,
        ) from None


# The error types of the admin API (botpress-admin-api.json) that call for their own words;
# the others keep the class of their status. The type decides, not only the status: a 403
# QuotaExceeded is not "forbidden", and only a 401 calls for a new token.
_BY_TYPE: dict[str, tuple[type[ApiError], str, str | None]] = {
    "Unauthorized": (AuthError, "the token is invalid or expired", None),
    "Forbidden": (
        ForbiddenError,
        "permission denied ({detail})",
        "your role in this workspace may not do this; ask one of its administrators",
    ),
    "QuotaExceeded": (
        QuotaExceededError,
        "the workspace is over a quota ({detail})",
        "quotas are soft limits: see the workspace's usage and plan at {app}",
    ),
    "LimitExceeded": (
        QuotaExceededError,
        "the workspace reached a limit ({detail})",
        "see the workspace's usage and plan at {app}",
    ),
    "PaymentRequired": (
        PaymentRequiredError,
        "a payment is required ({detail})",
        "check the workspace's billing at {app}",
    ),
    "ResourceNotFound": (NotFoundError, "not found ({detail})", None),
    "ResourceGone": (NotFoundError, "no longer exists ({detail})", None),
    "RateLimited": (RateLimitedError, "{api} is rate limiting requests{wait}", None),
    "MethodNotFound": (
        BadResponseError,
        "{api} does not know this operation ({detail})",
        "check the API URL; the server does not behave like Botpress Cloud",
    ),
    "OperationTimeout": (ServerError, "{api} timed out ({code} {detail})", "try again later"),
    "Internal": (ServerError, "{api} failed ({code} {detail})", "try again later"),
    "Unknown": (ServerError, "{api} failed ({code} {detail})", "try again later"),
}
_BY_STATUS: dict[int, str] = {
    401: "Unauthorized",
    402: "PaymentRequired",
    403: "Forbidden",
    404: "ResourceNotFound",
    410: "ResourceGone",
    429: "RateLimited",
}


def _error_for(response: _Answer, api_url: str) -> ApiError:
    status = response.status
    from pydantic_core import ValidationError

    try:
        body = ERROR.parse(response.body)
    except ValidationError:
        body = ErrorBody(type=f"HTTP {status}", message="")
    text = body.message or body.description
    detail = f"{body.type}: {text}" if text else body.type
    detail = "".join(ch if ch.isprintable() else "?" for ch in detail)[:200]
    known = body.type if body.type in _BY_TYPE else _BY_STATUS.get(status)
    if known is None or (known in ("Internal", "Unknown") and status < 500):
        known = "Unknown" if status >= 500 else None
    if known is None:
        return ApiError(
            f"{api_url} refused the request ({status} {detail})",
            None,
            status=status,
            api_type=body.type,
        )
    kind, message, hint = _BY_TYPE[known]
    after = response.headers.get("retry-after") or response.headers.get("ratelimit-reset")
    words = {
        "detail": detail,
        "api": api_url,
        "code": str(status),
        "app": app_url(api_url),
        "wait": f"; try again in {after} s" if after else "; try again later",
    }
    if kind is AuthError:
        hint = f"make a new one at {tokens_page(api_url)} and run: bp login"
    return kind(
        message.format(**words),
        hint.format(**words) if hint else None,
        status=status,
        api_type=body.type,
    )


Status = Literal[
    "ok",
    "invalid",
    "forbidden",
    "quota_exceeded",
    "payment_required",
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
    "quota_exceeded": "quota_exceeded",
    "payment_required": "payment_required",
    "not_found": "not_found",
    "rate_limited": "rate_limited",
    "server_error": "server_error",
    "timeout": "timeout",
    "unreachable": "unreachable",
    "usage": "invalid",  # credentials no request could carry (a malformed token or ID)
}


class Verification(NamedTuple):
    """What the API said of one set of credentials. A value, never raised."""

    status: Status
    account: Account | None = None
    workspace: Workspace | None = None
    error: BpError | None = None
    seconds: float = 0.0
    role: str | None = None  # None: not known (the membership could not be read)

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

    @property
    def error_type(self) -> str | None:
        """The API's own name of the error (``QuotaExceeded``...), when it gave one."""
        return self.error.api_type if isinstance(self.error, ApiError) else None


def status_of(error: BpError) -> Status:
    """The verification status an API error (or malformed credentials) stands for."""
    return _STATUS_OF_KIND.get(error.kind, "bad_response")


async def verify(
    client: ApiClient, workspace_id: str, *, role: bool = False, account: bool = True
) -> Verification:
    """Check the token and the workspace in one round trip of wall time (both at once), and
    with ``role`` the caller's membership too, in the same round trip.

    Without ``account`` only the workspace is asked for: its answer alone says whether the
    token is valid (401) and may use the workspace (403, 404), so a check that shows no
    account (``profiles list --verify``) sends one request, not two: half the connections,
    TLS handshakes and rate-limit budget of a 40-profile check.
    """
    started = time.monotonic()
    results: dict[str, Any] = {"account": None}

    async def fetch(key: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            results[key] = await call()
        except BpError as exc:
            results[key] = exc

    async with anyio.create_task_group() as group:
        if account:
            group.start_soon(fetch, "account", client.get_account)
        group.start_soon(fetch, "workspace", lambda: client.get_workspace(workspace_id))
        if role:
            group.start_soon(fetch, "member", lambda: client.get_membership(workspace_id))
    elapsed = time.monotonic() - started
    who, workspace = results["account"], results["workspace"]
    member = results.get("member")
    errors = [item for item in (who, workspace) if isinstance(item, BpError)]
    if not errors:
        # What the login can do is a detail: a membership that cannot be read is no failure.
        found = member.role if isinstance(member, Member) else None
        return Verification("ok", who, workspace, seconds=elapsed, role=found)
    error = errors[0]
    return Verification(
        status_of(error),
        who if isinstance(who, Account) else None,
        workspace if isinstance(workspace, Workspace) else None,
        error,
        elapsed,
    )
