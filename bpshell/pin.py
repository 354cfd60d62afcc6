"""The profile one ``bp shell`` is pinned to, whatever the active profile becomes.

``bp shell -p NAME`` (or ``BP_PROFILE`` set when the shell starts) pins the shell; inside it
``profiles use --session NAME`` pins it to another profile and ``profiles use --session
--unset`` lets it follow the folder's ``.bp-profile`` and the active profile again. Every line
of a pinned shell runs as if given ``-p NAME`` (its own ``-p`` still wins), and config.json is
never written for it, so other terminals keep their profile. A switch of the active profile
made outside the shell is told once (``note: …``), then the shell stays quiet about it.

Memory only, and light: the script mode of the shell (no prompt_toolkit) pins too.
"""

from __future__ import annotations

from pathlib import Path

from bpshell.commands import GlobalOptions

SESSION = "session"  # GlobalOptions.profile_source of a pinned shell's profile


class ShellPin:
    """Which profile the shell is pinned to (None: not pinned), and what it saw of the
    active profile, to tell a switch made elsewhere once."""

    def __init__(self, name: str | None = None, by: str = "") -> None:
        self.name = name
        self.by = by
        self.busy = False  # a command of this shell is running: what changes is its doing
        self._seen: str | None = None
        self._looked = False
        self._told = False

    def set(self, name: str, by: str) -> None:
        """Pin the shell to ``name`` (``by``: how, for messages)."""
        self.name, self.by = name, by

    def clear(self) -> None:
        """Unpin the shell."""
        self.name, self.by = None, ""

    def apply(self, opts: GlobalOptions) -> GlobalOptions:
        """``opts`` of a line of this shell: the pinned profile, unless the line has ``-p``."""
        if self.name is None or opts.profile_source == "flag":
            return opts
        return opts._replace(profile=self.name, profile_source=SESSION, profile_file=None)

    def saw(self, active: str | None) -> None:
        """The active profile is ``active`` by this shell's doing (or at start): no news."""
        self._seen, self._looked = active, True

    def switched(self, active: str | None) -> str | None:
        """The note to show when the active profile became ``active`` outside this shell while
        it is pinned elsewhere; once per shell, None every other time."""
        if not self._looked or self.busy:
            if not self.busy:
                self.saw(active)
            return None
        if active == self._seen:
            return None
        self._seen = active
        if self.name is None or self._told or active is None or active == self.name:
            return None
        self._told = True
        return (
            f'note: the active profile is now "{active}" (switched outside this shell); this '
            f'shell stays on "{self.name}", as it is pinned. To follow: profiles use --session '
            f"{active}, or profiles use --session --unset"
        )


def active_in(home: Path) -> str | None:
    """The active profile of ``home``'s config.json, read as plain JSON (it may be anything:
    None then), for :meth:`ShellPin.switched`."""
    from bpshell.complete import peek_config

    data = peek_config(home / "config.json")
    name, profiles = data.get("activeProfile"), data.get("profiles")
    known = isinstance(profiles, dict) and name in profiles
    return name if isinstance(name, str) and known else None
