"""``bp workspaces list``, and fetching a token's workspaces into the per-profile cache.

The command and the shell's background refresh share :func:`fetch_workspaces`: every page of
``listWorkspaces``, written to the cache of the profile whose token was used (never when the
token came from ``BP_TOKEN``: those workspaces are not the profile's).
"""

from __future__ import annotations

from typing import Any

import anyio

from bpshell.cache import write_workspaces
from bpshell.commands import GlobalOptions
from bpshell.env import Env
from bpshell.errors import NotLoggedInError
from bpshell.profiles import Resolved, resolve
from bpshell.render import Result, clean, table

PROFILE_TOKENS = ("keyring", "file", "command")


async def fetch_workspaces(env: Env, resolved: Resolved) -> list[tuple[str, str]]:
    """(ID, name) of every workspace the resolved token can use, cached when it is a profile's."""
    if resolved.token is None:
        raise _no_token(resolved)
    found = await env.api(resolved.api_url, resolved.token).list_workspaces()
    pairs = [(workspace.id, workspace.name) for workspace in found]
    if resolved.profile is not None and resolved.token_source in PROFILE_TOKENS:
        await anyio.to_thread.run_sync(
            write_workspaces, env.home, resolved.profile, resolved.api_url, pairs
        )
    return pairs


def _no_token(resolved: Resolved) -> NotLoggedInError:
    if resolved.profile is None:
        return NotLoggedInError("Not logged in", "Run: bp login")
    return NotLoggedInError(
        f'no token found for profile "{clean(resolved.profile)}"',
        f"Run: bp login -p {resolved.profile}",
    )


async def run_list(options: Any, opts: GlobalOptions, env: Env) -> Result:
    """The workspaces the active token can use, the active one marked."""
    resolved = await resolve(opts, env)
    pairs = await fetch_workspaces(env, resolved)
    active = resolved.workspace_id
    rows = [{"id": wid, "name": name, "active": wid == active} for wid, name in pairs]
    if not rows:
        env.err("This token cannot use any workspace.")
        return Result(rows, "")
    cells = [["*" if wid == active else "", wid, name] for wid, name in pairs]
    return Result(rows, table(["", "ID", "NAME"], cells))
