"""What the shell shows around the input line: the prompt and the bottom toolbar.

Pure functions of the session's in-memory state, so rendering never waits on anything. Every
value is passed through :func:`bpshell.render.clean` (a profile or workspace name cannot
smuggle escape sequences onto the screen) and reasons through :func:`bpshell.cli.redact`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bpshell.cli import redact
from bpshell.render import clean, workspace_label

SEPARATOR = " │ "
MAX_REASON = 80
MIN_CUT = 8  # a part cut shorter than this says nothing


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


def toolbar_text(
    view: View,
    auth: Auth,
    sandbox: bool = False,
    *,
    notice: str | None = None,
    width: int | None = None,
) -> str:
    """``profile NAME │ workspace NAME (ID) │ URL │ [NOTICE │] ✓ authenticated as EMAIL``.

    In ``width`` columns: the status (✓/✗) stays, then the notice, then as many of the other
    parts as fit whole, from the first (a status wider than the window is cut at its end).
    """
    parts = ["SANDBOX"] if sandbox else []
    if view.profile is None and view.problem is None:
        parts.append("not logged in (run: login)")
    else:
        parts.append(f"profile {clean(view.profile or '(none)')}{view.mark}")
        if view.workspace_id:
            parts.append(f"workspace {workspace_label(view.workspace_name, view.workspace_id)}")
    if view.api_url:
        parts.append(clean(view.api_url))
    shown_notice = [clean(notice)] if notice else []
    failed = f"✗ {_reason(view.problem)}" if view.problem is not None else None
    status = failed or auth_text(auth)
    full = SEPARATOR.join([*parts, *shown_notice, *([status] if status else [])])
    if width is None or _width(full) <= width:
        return full
    short = failed or auth_text(auth, short=True)
    return _fit(parts, shown_notice[0] if shown_notice else None, short, width)


def auth_text(auth: Auth, *, short: bool = False) -> str:
    """``checking…``, ``✓ authenticated as EMAIL`` (``short``: ``✓ EMAIL``) or ``✗ reason``."""
    if auth.state == "checking":
        return "checking…"
    if auth.state == "ok":
        return f"✓ {'' if short else 'authenticated as '}{clean(auth.detail)}"
    if auth.state == "failed":
        return f"✗ {_reason(auth.detail)}"
    return ""


def _fit(parts: list[str], notice: str | None, status: str, width: int) -> str:
    """The toolbar in ``width`` columns; see :func:`toolbar_text`."""
    if status and _width(status) >= width:
        return _cut(status, width)
    kept = [status] if status else []
    room = width - _width(status) - (len(SEPARATOR) if status else 0)
    if notice is not None and room >= MIN_CUT:
        kept.insert(0, _cut(notice, room))
        room -= _width(kept[0]) + len(SEPARATOR)
    head: list[str] = []
    for part in parts:
        if _width(part) > room:
            break
        head.append(part)
        room -= _width(part) + len(SEPARATOR)
    if not head and not kept:
        return _cut(parts[0], width)
    return SEPARATOR.join([*head, *kept])


def _cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ending with ``…`` when cut."""
    if _width(text) <= width:
        return text
    shown = ""
    for char in text:
        if _width(shown + char) > width - 1:
            break
        shown += char
    return shown + "…"


def _width(text: str) -> int:
    """Terminal columns of ``text`` (a CJK character takes two)."""
    from prompt_toolkit.utils import get_cwidth

    return get_cwidth(text)


def _reason(text: str) -> str:
    shown = clean(redact(text))
    return shown if len(shown) <= MAX_REASON else shown[: MAX_REASON - 1] + "…"
