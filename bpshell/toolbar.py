"""What the shell shows around the input line: the prompt and the bottom toolbar.

Pure functions of the session's in-memory state, so rendering never waits on anything. Every
value is passed through :func:`bpshell.render.clean` (a profile or workspace name cannot
smuggle escape sequences onto the screen) and reasons through :func:`bpshell.cli.redact`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bpshell.cli import redact
from bpshell.render import clean

SEPARATOR = " │ "
MAX_REASON = 80


@dataclass(frozen=True)
class View:
    """The credentials commands would use now, without the token (read from config.json)."""

    profile: str | None = None
    workspace_id: str | None = None
    workspace_name: str | None = None
    api_url: str | None = None
    problem: str | None = None
    fingerprint: str = ""
    # Where the profile came from (bpshell.profiles.resolve): "session" when the shell is
    # pinned to it, "local" when a folder's .bp-profile named it.
    source: str | None = None

    @property
    def mark(self) -> str:
        """`` (pinned)``, `` (.bp-profile)``, or nothing (plain ASCII, for any terminal)."""
        return {"session": " (pinned)", "local": " (.bp-profile)"}.get(self.source or "", "")

    @property
    def key(self) -> tuple[str | None, str | None, str | None, str]:
        """Changes exactly when the credentials in force change (a switch)."""
        return (self.profile, self.api_url, self.workspace_id, self.fingerprint)


@dataclass(frozen=True)
class Auth:
    """The state of the background check of the credentials in force."""

    state: Literal["none", "checking", "ok", "failed"] = "none"
    detail: str = ""


def prompt_text(view: View) -> str:
    """``bp default:acme › ``, ``bp prod:acme (pinned) › `` in a pinned shell, or ``bp › ``
    when no profile is in force."""
    if view.profile is None:
        return "bp › "
    where = view.workspace_name or view.workspace_id
    suffix = f":{clean(where)}" if where else ""
    pinned = " (pinned)" if view.source == "session" else ""
    return f"bp {clean(view.profile)}{suffix}{pinned} › "


def toolbar_text(view: View, auth: Auth, sandbox: bool = False) -> str:
    """``profile NAME │ workspace NAME (ID) │ URL │ ✓ authenticated as EMAIL``."""
    parts = ["SANDBOX"] if sandbox else []
    if view.profile is None and view.problem is None:
        parts.append("not logged in (run: login)")
    else:
        parts.append(f"profile {clean(view.profile or '(none)')}{view.mark}")
        if view.workspace_id:
            name = f"{clean(view.workspace_name)} " if view.workspace_name else ""
            parts.append(f"workspace {name}({clean(view.workspace_id)})")
    if view.api_url:
        parts.append(clean(view.api_url))
    status = auth_text(auth) if view.problem is None else f"✗ {_reason(view.problem)}"
    return SEPARATOR.join([*parts, status] if status else parts)


def auth_text(auth: Auth) -> str:
    """``checking…``, ``✓ authenticated as EMAIL`` or ``✗ reason``."""
    if auth.state == "checking":
        return "checking…"
    if auth.state == "ok":
        return f"✓ authenticated as {clean(auth.detail)}"
    if auth.state == "failed":
        return f"✗ {_reason(auth.detail)}"
    return ""


def _reason(text: str) -> str:
    shown = clean(redact(text))
    return shown if len(shown) <= MAX_REASON else shown[: MAX_REASON - 1] + "…"
