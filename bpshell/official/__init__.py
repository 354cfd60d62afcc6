"""Living beside the official Botpress CLI (``@botpress/cli``, Node.js), without copying tokens.

- **Import.** Its ``profiles.json`` and ``global.cache.json`` (in the same botpress home as
  config.json) become bpshell profiles, tokens in the keyring where one works. The first
  command run without a config.json does it once and says so; ``bp profiles import`` does it
  on demand. Its files are only read, never changed.
- **``bp env`` / ``bp exec``.** The credentials in force as ``BP_TOKEN``, ``BP_WORKSPACE_ID``
  and ``BP_API_URL``: printed for ``eval``, or set in a child's environment. The 0.8 line of
  the official CLI reads the token only from ``global.cache.json`` in its home, so ``exec``
  also gives the child a private home (0700, the file 0600) that is removed when it exits.
- **Delegation.** Official commands bpshell does not implement (``deploy``, ``bots``, …) run
  the official CLI with the same variables and home; :func:`find_official_cli` never picks
  bpshell itself, and the ``BPSHELL_DELEGATING`` mark stops any loop back into bpshell.

- **In the shell.** ``bp shell`` hands the same commands over (``in_shell``), and completes
  the official CLI's commands and flags, read from its own help once per installed version
  (``helptext`` parses it, ``catalog`` runs it and keeps the cache, ``completion`` reads a line).

A token never goes into a child's argv, and is never printed except by ``bp env``.

``files`` is the import, ``child`` runs ``env``/``exec`` and any child with credentials,
``delegation`` finds the official CLI and hands commands over. Import from those modules:
this package imports nothing, so the one that is needed is the only one loaded. What it holds
is what every run may check with a ``stat`` before it loads one of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from pathlib import Path

PROFILES_FILE = "profiles.json"
CACHE_FILE = "global.cache.json"
OFFICIAL_FILES = (PROFILES_FILE, CACHE_FILE)
PRIVATE_HOMES = ".exec"  # the private homes of ``bp exec`` runs, in a botpress home


def official_files(home: Path) -> list[Path]:
    """The official CLI's files present in ``home`` (cheap: one ``stat`` each)."""
    return [home / name for name in OFFICIAL_FILES if os.path.isfile(home / name)]


def sweep_left_homes(home: Path, debug: Callable[[str], None]) -> None:
    """Remove the private homes left in ``home`` by ``bp exec`` runs killed with SIGKILL (each
    holds a token): a single ``stat`` when there are none, so offline commands stay fast."""
    if not os.path.lexists(home / PRIVATE_HOMES):
        return
    from bpshell.official.homes import sweep_private_homes

    for path in sweep_private_homes(home):
        debug(f"debug: removed {path}, left by a bp exec that was killed")
