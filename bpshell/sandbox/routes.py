"""The admin API operations the sandbox serves, by method and path template.

Templates and operation ids are the OpenAPI document's (``tests/openapi/admin.json``).  A path
that fits no template is answered 404 ``ResourceNotFound``; a path that fits one with another
method 405 ``MethodNotFound`` with ``Allow``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote


@dataclass(frozen=True)
class Route:
    """One operation: ``GET /v1/admin/workspaces/{id}`` is ``getWorkspace``."""

    method: str
    template: str
    operation: str


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/admin/account/me", "getAccount"),
    Route("GET", "/v1/admin/account/pats", "listPersonalAccessTokens"),
    Route("POST", "/v1/admin/account/pats", "createPersonalAccessToken"),
    Route("DELETE", "/v1/admin/account/pats/{id}", "deletePersonalAccessToken"),
    Route("GET", "/v1/admin/workspaces", "listWorkspaces"),
    Route("GET", "/v1/admin/workspaces/{id}", "getWorkspace"),
    Route("GET", "/v1/admin/workspace-members", "listWorkspaceMembers"),
    Route("GET", "/v1/admin/workspace-members/me", "getWorkspaceMember"),
    Route("GET", "/v1/admin/bots", "listBots"),
)
OPERATIONS: tuple[str, ...] = tuple(route.operation for route in ROUTES)
LIST_OPERATIONS = frozenset({"listWorkspaces", "listBots", "listWorkspaceMembers"})


@dataclass(frozen=True)
class Match:
    """Where a request goes: ``route`` None with ``allowed`` empty is 404, with methods 405."""

    route: Route | None
    params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()

    @property
    def operation(self) -> str | None:
        """The operation id, None when the request is answered 404 or 405."""
        return self.route.operation if self.route is not None else None


def match(method: str, path: str) -> Match:
    """Route ``method path`` (``path`` without the query)."""
    fits = [
        (route, params) for route in ROUTES if (params := _fit(route.template, path)) is not None
    ]
    for route, params in fits:
        if route.method == method:
            return Match(route, params)
    return Match(None, allowed=tuple(dict.fromkeys(route.method for route, _ in fits)))


def _fit(template: str, path: str) -> dict[str, str] | None:
    expected, given = template.split("/"), path.split("/")
    if len(expected) != len(given):
        return None
    params: dict[str, str] = {}
    for want, got in zip(expected, given, strict=True):
        if want.startswith("{") and want.endswith("}"):
            if not got:
                return None
            params[want[1:-1]] = unquote(got)
        elif want != got:
            return None
    return params
