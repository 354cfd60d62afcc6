"""The admin API operations over a :class:`~bpshell.sandbox.world.World`.

Each operation checks, in order: authentication (401 ``Unauthorized``), then for the
workspace-scoped ones the ``x-workspace-id`` header (400 ``InvalidPayload`` if missing),
workspace lookup (404 ``ResourceNotFound``) and membership (403 ``Forbidden``).  Lists page
with ``meta.nextToken`` (an opaque offset); ``pageSize`` sets the page length, else the
sandbox's page size.  ``listBots`` filters by ``dev`` (only dev bots when ``true``, else only
the others) and by tags (``tags[KEY]=VALUE`` or ``tags.KEY=VALUE``), and sorts by
``sortField``/``sortDirection``.  Personal Access Tokens: listed without their values, made
with ``{"note"}`` (the value is in that answer only), deleted by id (401 from then on).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from bpshell.sandbox.replies import ApiError, Reply, api_error_reply, json_reply
from bpshell.sandbox.world import Account, Workspace, World

_Query = Mapping[str, list[str]]


@dataclass(frozen=True)
class Call:
    """One request for an operation, as the operations see it (header names lower case)."""

    operation: str
    params: Mapping[str, str]
    query: _Query
    headers: Mapping[str, str]
    body: bytes
    page_size: int
    endless: bool = False


class Operations:
    """Answers :class:`Call` values from ``world`` (served live: changes show at once)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._page_nonce = 0
        self._handlers: Mapping[str, Callable[[Call], tuple[int, dict[str, Any]]]] = {
            "getAccount": self._get_account,
            "listPersonalAccessTokens": self._list_pats,
            "createPersonalAccessToken": self._create_pat,
            "deletePersonalAccessToken": self._delete_pat,
            "listWorkspaces": self._list_workspaces,
            "getWorkspace": self._get_workspace,
            "listWorkspaceMembers": self._list_members,
            "getWorkspaceMember": self._get_member,
            "listBots": self._list_bots,
        }

    def answer(self, call: Call) -> Reply:
        """The answer to ``call``: the operation's body, or an error body."""
        try:
            status, payload = self._handlers[call.operation](call)
        except ApiError as error:
            return api_error_reply(error)
        return json_reply(status, payload)

    # --- account and PATs -------------------------------------------------------------

    def _get_account(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        return 200, {"account": account.to_api()}

    def _list_pats(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        return 200, {"pats": [pat.to_api() for pat in self.world.pats_of(account.id)]}

    def _create_pat(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        body = _json_object(call.body)
        note = body.get("note")
        if not isinstance(note, str) or set(body) != {"note"}:
            raise ApiError(400, "InvalidPayload", 'The body must be {"note": "<text>"}')
        pat, value = self.world.create_pat(account.id, note, _now())
        return 200, {"pat": {**pat.to_api(), "value": value}}

    def _delete_pat(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        pat_id = call.params.get("id", "")
        if not self.world.delete_pat(account.id, pat_id):
            raise ApiError(404, "ResourceNotFound", f"Personal access token {pat_id} not found")
        return 200, {}

    # --- workspaces and members -------------------------------------------------------

    def _list_workspaces(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        handle = _query_value(call.query, "handle")
        with self.world.lock:
            items = [
                ws.to_api()
                for ws in self.world.workspaces_of(account.id)
                if handle is None or ws.handle == handle
            ]
        page, meta = self._paginate(items, call)
        return 200, {"workspaces": page, "meta": meta}

    def _get_workspace(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        with self.world.lock:
            return 200, self._member_workspace(account, call.params.get("id", "")).to_api()

    def _list_members(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        with self.world.lock:
            workspace = self._header_workspace(account, call.headers)
            items = [
                member.to_api(self.world.accounts[member.account_id])
                for member in workspace.members.values()
            ]
        page, meta = self._paginate(items, call)
        return 200, {"members": page, "meta": meta}

    def _get_member(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        with self.world.lock:
            member = self._header_workspace(account, call.headers).members[account.id]
            return 200, member.to_api(account)

    # --- bots -------------------------------------------------------------------------

    def _list_bots(self, call: Call) -> tuple[int, dict[str, Any]]:
        account = self._authenticate(call.headers)
        sort_field = _query_value(call.query, "sortField")
        direction = _query_value(call.query, "sortDirection")
        if sort_field not in (None, "createdAt", "updatedAt"):
            raise ApiError(400, "InvalidQuery", "sortField must be createdAt or updatedAt")
        if direction not in (None, "asc", "desc"):
            raise ApiError(400, "InvalidQuery", "sortDirection must be asc or desc")
        dev = _query_bool(call.query, "dev")
        tags = _query_tags(call.query)
        with self.world.lock:
            bots = [
                bot.to_api()
                for bot in self._header_workspace(account, call.headers).bots
                if bot.dev == dev and all(bot.tags.get(k) == v for k, v in tags.items())
            ]
        if sort_field is not None or direction is not None:
            bots.sort(
                key=lambda bot: str(bot[sort_field or "createdAt"]), reverse=direction == "desc"
            )
        page, meta = self._paginate(bots, call)
        return 200, {"bots": page, "meta": meta}

    # --- shared checks ----------------------------------------------------------------

    def _authenticate(self, headers: Mapping[str, str]) -> Account:
        header = headers.get("authorization")
        if header is None:
            raise ApiError(401, "Unauthorized", "The Authorization header is missing")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Unauthorized", "The Authorization header must be 'Bearer <token>'")
        with self.world.lock:
            if token in self.world.invalid_tokens:
                raise ApiError(401, "Unauthorized", "The token has expired or was revoked")
            account_id = self.world.tokens.get(token)
            account = self.world.accounts.get(account_id) if account_id is not None else None
        if account is None:
            raise ApiError(401, "Unauthorized", "The token is invalid")
        return account

    def _member_workspace(self, account: Account, workspace_id: str) -> Workspace:
        workspace = self.world.workspaces.get(workspace_id)
        if workspace is None:
            raise ApiError(404, "ResourceNotFound", f"Workspace {workspace_id} not found")
        if account.id not in workspace.members:
            raise ApiError(403, "Forbidden", f"You do not have access to workspace {workspace_id}")
        return workspace

    def _header_workspace(self, account: Account, headers: Mapping[str, str]) -> Workspace:
        workspace_id = headers.get("x-workspace-id", "").strip()
        if not workspace_id:
            raise ApiError(400, "InvalidPayload", "The x-workspace-id header is required")
        return self._member_workspace(account, workspace_id)

    def _paginate(
        self, items: list[dict[str, Any]], call: Call
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        offset = _decode_page_token(_query_value(call.query, "nextToken"))
        size = _query_page_size(call.query, call.page_size)
        page = items[offset : offset + size]
        more = offset + size < len(items)
        if not (more or call.endless):
            return page, {}
        return page, {"nextToken": self._page_token(offset + size, call.endless)}

    def _page_token(self, offset: int, endless: bool) -> str:
        with self._lock:
            if endless:
                self._page_nonce += 1
            nonce = self._page_nonce if endless else 0
        raw = f"{offset}:{nonce}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "InvalidPayload", "The body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "InvalidPayload", "The body must be a JSON object")
    return cast(dict[str, Any], value)


def _query_value(query: _Query, name: str) -> str | None:
    values = query.get(name)
    if not values or not values[-1]:
        return None
    return values[-1]


def _query_bool(query: _Query, name: str) -> bool:
    value = _query_value(query, name)
    if value not in (None, "true", "false"):
        raise ApiError(400, "InvalidQuery", f"{name} must be true or false")
    return value == "true"


def _query_page_size(query: _Query, default: int) -> int:
    value = _query_value(query, "pageSize")
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ApiError(400, "InvalidQuery", "pageSize must be an integer >= 1")
    return int(value)


def _query_tags(query: _Query) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key, values in query.items():
        if key.startswith("tags[") and key.endswith("]"):
            tags[key[5:-1]] = values[-1]
        elif key.startswith("tags."):
            tags[key[5:]] = values[-1]
    return tags


def _decode_page_token(token: str | None) -> int:
    if token is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, _, _nonce = raw.partition(":")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(400, "InvalidQuery", "nextToken is not valid") from None
    if offset < 0:
        raise ApiError(400, "InvalidQuery", "nextToken is not valid")
    return offset
