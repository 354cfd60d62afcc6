"""The lines that name a world's tokens, as ``python -m bpshell.sandbox`` and
``bp shell --sandbox`` print them: each valid token with its account and the workspaces it
reaches, then each refused one. They are fake, made for the sandbox only."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TextIO

from bpshell.sandbox.world import DEMO_TOKENS, World

SHOWN_WORKSPACES = 5


def token_lines(world: World) -> list[str]:
    """``  alice (alice@example.com): bp_pat_… -> ws_acme, …`` for each token of ``world``."""
    labels = {token: label for label, token in DEMO_TOKENS.items()}
    lines: list[str] = []
    with world.lock:
        for token, account_id in world.tokens.items():
            account = world.accounts[account_id]
            ids = [ws.id for ws in world.workspaces_of(account_id)]
            shown = ", ".join(ids[:SHOWN_WORKSPACES])
            if len(ids) > SHOWN_WORKSPACES:
                shown += f", ... ({len(ids)} workspaces)"
            who = f"{labels[token]} ({account.email})" if token in labels else account.email
            lines.append(f"  {who}: {token} -> {shown or 'no workspaces'}")
        for token in sorted(world.invalid_tokens):
            lines.append(f"  {labels.get(token, 'invalid')}: {token} -> 401 (expired/revoked)")
    return lines


def for_screen(lines: Iterable[str], stream: TextIO) -> list[str]:
    """``lines`` wrapped to the width of ``stream`` when it is a terminal, else as they are
    (a script reading the banner gets each token on its own line)."""
    try:
        width = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return list(lines)
    return wrapped(lines, width)


def wrapped(lines: Iterable[str], width: int) -> list[str]:
    """``lines`` wrapped at spaces to ``width`` columns, each continuation indented two more
    than its line; a word wider than that (a token, a path) is kept whole, never cut."""
    import textwrap

    out: list[str] = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
        out.extend(
            textwrap.wrap(
                line,
                width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [line]
        )
    return out
