"""The checks of ``bp doctor`` that read local files and the environment only: the botpress
home and config.json (the trust rules of :mod:`bpshell.config`, read without repairs), the
``BP_*`` variables, the official CLI's plain-text tokens, and shell completion.

Each returns a :class:`Check`; none writes anything or touches the network.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bpshell.commands.table import GlobalOptions
from bpshell.config import CONFIG_NAME, ConfigFile
from bpshell.env import Env
from bpshell.errors import BpError
from bpshell.render import clean, shell_word

Status = Literal["ok", "warning", "failed", "skipped"]
MAX_RC_BYTES = 1 << 20


@dataclass(frozen=True)
class Check:
    """One line of ``bp doctor``: what was checked, how it went, and the fix to run."""

    check: str  # its kind: keyring, home, config, profile, api, ...
    status: Status
    title: str  # what the line starts with: "keyring", "profile prod (active)"
    message: str
    fix: str | None = None
    subject: str | None = None  # the profile, API URL, file or shell checked, if any
    data: dict[str, Any] = field(default_factory=dict)

    def lines(self, marks: Mapping[str, str]) -> list[str]:
        """The line, and the fix under it."""
        first = f"{marks[self.status]} {self.title}: {self.message}"
        return [first] if self.fix is None else [first, f"  fix: {self.fix}"]

    def to_json(self) -> dict[str, Any]:
        """Its ``--json`` object (docs/json.md)."""
        return {
            "check": self.check,
            "subject": self.subject,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "data": self.data,
        }


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


# --- the botpress home and config.json ----------------------------------------------------


def check_home(env: Env, opts: GlobalOptions) -> Check:
    """The home: this user's (or root's), and no one else's to write or read."""
    from bpshell.config import ELSEWHERE, _check_trusted

    home = env.home
    from_env = env.environ.get("BP_BOTPRESS_HOME")
    source = ""
    if opts.home:
        source = " (from BP_BOTPRESS_HOME)" if from_env == opts.home else " (from --botpressHome)"
    title = f"home {clean(str(home))}{source}"
    data: dict[str, Any] = {"path": str(home), "mode": None}
    try:
        info = os.stat(home)
    except FileNotFoundError:
        return Check("home", "ok", title, "not made yet; bp login makes it (0700)", data=data)
    except OSError as exc:
        return Check("home", "failed", title, f"cannot look at it: {exc.strerror}", data=data)
    data["mode"] = _mode(info)
    if not stat.S_ISDIR(info.st_mode):
        fix = (  # a file named as the home is the user's own, not a broken home
            ELSEWHERE
            if opts.home
            else f"move it away: mv {shell_word(home)} {shell_word(f'{home}.bad')}"
        )
        return Check("home", "failed", title, "it is not a folder", fix, data=data)
    try:
        _check_trusted(home, info, "700")
    except BpError as error:
        return Check("home", "failed", title, clean(error.message), error.hint, data=data)
    if info.st_mode & 0o077:
        message = (
            f"other users can look into it (mode {_mode(info)}); bp makes it 0700 when it "
            "next writes"
        )
        return Check("home", "warning", title, message, f"chmod 700 {shell_word(home)}", data=data)
    return Check("home", "ok", title, f"yours, mode {_mode(info)}", data=data)


def check_config(env: Env, home: Check) -> tuple[Check, ConfigFile | None]:
    """config.json, read as every command reads it (trusted, regular, valid) minus repairs;
    the file, or None when it cannot be used."""
    path = env.home / CONFIG_NAME
    title = CONFIG_NAME
    data: dict[str, Any] = {"path": str(path), "mode": None}
    if home.status == "failed":
        refused = "not checked: the home is refused"
        return Check("config", "skipped", title, refused, data=data), None
    if not os.path.lexists(path):
        return Check("config", "ok", title, "none yet; bp login writes it", data=data), ConfigFile()
    try:
        config = env.config.load(repair=False)
        info = os.stat(path)
    except BpError as error:
        return Check("config", "failed", title, clean(error.message), error.hint, data=data), None
    except OSError as exc:
        message = f"cannot look at {path}: {exc.strerror}"
        return Check("config", "failed", title, clean(message), data=data), None
    data["mode"] = _mode(info)
    real = Path(os.path.realpath(path))
    shown = f"{real} (where the symlink {path} points)" if real != path else str(path)
    count = len(config.profiles)
    held = f"{count} profile{'s' * (count != 1)}"
    if info.st_mode & 0o077:
        message = f"{shown} can be read by other users (mode {_mode(info)}); it holds {held}"
        return Check(
            "config", "warning", title, clean(message), f"chmod 600 {shell_word(real)}", data=data
        ), config
    return Check(
        "config", "ok", title, clean(f"yours, mode {_mode(info)}, {held}"), data=data
    ), config


# --- BP_* variables ---------------------------------------------------------------------------

OVERRIDES = {
    "BP_TOKEN": "the token",
    "BP_WORKSPACE_ID": "the workspace",
    "BP_API_URL": "the API URL",
    "BP_PROFILE": "the profile",
}
SETTINGS = {
    "BP_BOTPRESS_HOME": "the botpress home",
    "BP_CONFIRM": "-y",
    "BP_JSON": "--json",
    "BP_VERBOSE": "-v",
    "BP_OFFICIAL_CLI": "the official CLI",
}


def check_environment(environ: Mapping[str, str]) -> Check:
    """The ``BP_*`` variables set: those that take over from the stored values (named, never
    shown: one is a token), the settings, and names bp does not read (a typo)."""
    names = sorted(name for name, value in environ.items() if name.startswith("BP_") and value)
    overriding = [n for n in names if n in OVERRIDES]
    settings = [n for n in names if n in SETTINGS]
    unknown = [n for n in names if n not in OVERRIDES and n not in SETTINGS]
    data = {"variables": names}
    parts: list[str] = []
    if overriding:
        what = " and ".join(OVERRIDES[n] for n in overriding)
        parts.append(f"{', '.join(overriding)} set {what} for every command, over the profiles'")
    if settings:
        parts.append(f"{', '.join(settings)} set ({', '.join(SETTINGS[n] for n in settings)})")
    for name in unknown:
        near = difflib.get_close_matches(name, [*OVERRIDES, *SETTINGS], n=1)
        maybe = f" (did you mean {near[0]}?)" if near else ""
        parts.append(f"{clean(name)} is not a variable bp reads{maybe}")
    message = "; ".join(parts) if parts else "no BP_* variable is set"
    if unknown:
        fix = f"unset {' '.join(clean(n) for n in unknown)}"
        return Check("environment", "warning", "environment", message, fix, data=data)
    if overriding:
        fix = f"to use the stored values: unset {' '.join(overriding)}"
        return Check("environment", "warning", "environment", message, fix, data=data)
    return Check("environment", "ok", "environment", message, data=data)


# --- the official CLI's plain-text tokens -----------------------------------------------------


def check_official_files(home: Path, held: set[str]) -> list[Check]:
    """A line for each of the official CLI's files that holds a token in plain text (``held``:
    the tokens bpshell's profiles hold), or one saying there is none."""
    from bpshell.official import PROFILES_FILE
    from bpshell.official.files import plain_tokens, read_official

    importable = {(entry.source, entry.name) for entry in read_official(home).found}
    checks: list[Check] = []
    for path, entries in plain_tokens(home):
        names = [name for name, _ in entries]
        shown = ", ".join(f'"{clean(n)}"' for n in names)
        plural = "s" if len(names) != 1 else ""
        message = f"holds the token{plural} of profile{plural} {shown} in plain text"
        try:
            info = os.stat(path)
        except OSError:
            info = None
        if info is not None and info.st_mode & 0o044:
            message += f" (mode {_mode(info)})"
        movable = [n for n, t in entries if t in held or (path.name, n) in importable]
        if movable:
            fix = "move them into bpshell's store: bp profiles import --move"
        else:
            field_of = "each profile's" if path.name == PROFILES_FILE else "the"
            fix = f'remove {field_of} "token" field from {shell_word(path)}'
        data = {"path": str(path), "profiles": names}
        checks.append(
            Check(
                "official_files",
                "warning",
                f"official CLI file {clean(str(path))}",
                message,
                fix,
                str(path),
                data,
            )
        )
    if not checks:
        message = f"no plain-text token in the official CLI's files in {clean(str(home))}"
        checks.append(
            Check(
                "official_files",
                "ok",
                "official CLI files",
                message,
                data={"path": None, "profiles": []},
            )
        )
    return checks


# --- shell completion ---------------------------------------------------------------------------


def check_completion(environ: Mapping[str, str]) -> Check:
    """bpshell's completion script where completions/README.md says to put it, for the
    user's shell (``$SHELL``; all three when it is none of them)."""
    from bpshell.complete import SCRIPTS

    home = Path(environ.get("HOME") or Path.home())
    login_shell = Path(environ.get("SHELL", "")).name
    shells = [login_shell] if login_shell in SCRIPTS else list(SCRIPTS)
    found: list[Check] = []
    for shell in shells:
        check = _completion_of(shell, home, environ)
        if check is not None and check.status == "ok":
            return check
        if check is not None:
            found.append(check)
    if found:
        return found[0]
    if len(shells) == 1:
        shell = shells[0]
        message = f"not installed for {shell}"
        data = {"shell": shell, "path": None}
        return Check(
            "completion", "warning", "completion", message, _install(shell, home), shell, data
        )
    message = f"not installed for bash, zsh or fish (SHELL is {clean(login_shell or 'unset')})"
    fix = "see completions/README.md: bp completion bash|zsh|fish"
    return Check(
        "completion", "warning", "completion", message, fix, data={"shell": None, "path": None}
    )


def _tilde(path: Path, home: Path) -> str:
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def _install(shell: str, home: Path) -> str:
    if shell == "bash":
        return "echo 'source <(bp completion bash)' >> ~/.bashrc"
    if shell == "zsh":
        return (
            "mkdir -p ~/.zfunc && bp completion zsh > ~/.zfunc/_bp, "
            "and fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc"
        )
    folder = "~/.config/fish/completions"
    return f"mkdir -p {folder} && bp completion fish > {folder}/bp.fish"


def _places(shell: str, home: Path, environ: Mapping[str, str]) -> tuple[list[Path], list[Path]]:
    """Where ``shell`` finds a completion file for bp, and the start-up files that may load
    ``bp completion SHELL`` instead."""
    data = Path(environ.get("XDG_DATA_HOME") or home / ".local/share")
    config = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    if shell == "bash":
        files = [data / "bash-completion/completions/bp"] + [
            Path(p) / "bp"
            for p in (
                "/usr/share/bash-completion/completions",
                "/usr/local/share/bash-completion/completions",
                "/etc/bash_completion.d",
            )
        ]
        return files, [home / ".bashrc", home / ".bash_profile", home / ".profile"]
    if shell == "zsh":
        folders = [home / ".zfunc", *(Path(p) for p in environ.get("FPATH", "").split(":") if p)]
        folders += [Path(f"/usr{p}/share/zsh/site-functions") for p in ("/local", "")]
        zdot = Path(environ.get("ZDOTDIR") or home)
        return [f / "_bp" for f in folders], [zdot / ".zshrc"]
    files = [
        config / "fish/completions/bp.fish",
        data / "fish/vendor_completions.d/bp.fish",
        Path("/usr/share/fish/vendor_completions.d/bp.fish"),
    ]
    return files, [config / "fish/config.fish"]


def _completion_of(shell: str, home: Path, environ: Mapping[str, str]) -> Check | None:
    from bpshell.complete import script

    files, rcs = _places(shell, home, environ)
    ours = script(shell).rstrip()
    for path in files:
        text = _read(path)
        if text is None:
            continue
        data = {"shell": shell, "path": str(path)}
        shown = _tilde(path, home)
        if text.rstrip() == ours:
            return Check("completion", "ok", "completion", f"{shell}: {shown}", None, shell, data)
        what = "an older bpshell script" if "bpshell" in text else "not bpshell's script"
        fix = f"bp completion {shell} > {shell_word(path)}"
        return Check(
            "completion", "warning", "completion", f"{shell}: {shown} is {what}", fix, shell, data
        )
    for rc in rcs:
        text = _read(rc)
        if text is not None and f"bp completion {shell}" in text:
            message = f"{shell}: loaded by {_tilde(rc, home)} (bp completion {shell})"
            data = {"shell": shell, "path": str(rc)}
            return Check("completion", "ok", "completion", message, None, shell, data)
    return None


def read_regular(path: Path, limit: int = MAX_RC_BYTES) -> bytes | None:
    """The first ``limit`` bytes of ``path`` if it is a regular file; None otherwise (a FIFO
    in its place is never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    with open(fd, "rb") as handle:
        try:
            return handle.read(limit) if stat.S_ISREG(os.fstat(fd).st_mode) else None
        except OSError:
            return None


def _read(path: Path) -> str | None:
    raw = read_regular(path)
    return None if raw is None else raw.decode("utf-8", "replace")
