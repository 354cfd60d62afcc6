"""Commands of the official CLI that bpshell does not implement, handed over to it.

It is found without running npm (:func:`find_official_cli`), never bpshell itself, and the
``BPSHELL_DELEGATING`` mark in its environment stops any loop back into bpshell.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bpshell.commands import GLOBAL_FLAGS, GlobalOptions, env_globals
from bpshell.env import Env
from bpshell.errors import NotLoggedInError, UsageError
from bpshell.official.child import credentials, run_child
from bpshell.render import clean

DELEGATING = "BPSHELL_DELEGATING"
INSTALL_HINT = (
    "install it with: npm install -g @botpress/cli (or in this project: npm install "
    "@botpress/cli), or set BP_OFFICIAL_CLI to its bp"
)
# Commands of @botpress/cli (0.8 and later) that bpshell hands over; login, logout and
# profiles are bpshell's own.
OFFICIAL_COMMANDS = frozenset(
    {"add", "bots", "build", "bundle", "chat", "deploy", "dev", "gen", "generate", "init"}
    | {"integrations", "interfaces", "lint", "plugins", "read", "serve"}
)
_CREDENTIAL_FLAGS = {
    "--apiUrl": "BP_API_URL",
    "--api-url": "BP_API_URL",
    "--workspaceId": "BP_WORKSPACE_ID",
    "--workspace-id": "BP_WORKSPACE_ID",
    "--token": "BP_TOKEN",
}
_BPSHELL_ONLY = ("profile", "home")


class OfficialCliMissing(UsageError):
    """Raised when a command of the official CLI is run and no official CLI can be found."""

    kind = "official_cli_missing"


@dataclass(frozen=True)
class Delegation:
    """An official command line: bpshell's globals and the words to hand over."""

    command: str
    globals: GlobalOptions
    words: tuple[str, ...]


def plan_delegation(words: Sequence[str], environ: Mapping[str, str]) -> Delegation | None:
    """The hand-over of ``words`` when they name an official CLI command, else None.

    As everywhere in bpshell, ``-p/--profile`` and ``--botpressHome`` may come before or
    after the command (up to ``--``); they pick the credentials and are not passed on. Every
    other word is passed on as typed.
    """
    opts = env_globals(environ)
    passed: list[str] = []
    command: str | None = None
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            passed.extend(words[index:])
            break
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        flag = next((f for f in GLOBAL_FLAGS if name in f.names), None)
        if flag is not None and flag.dest in _BPSHELL_ONLY:
            if not eq and index + 1 >= len(words):
                return None
            value = inline if eq else words[index + 1]
            index += 0 if eq else 1
            opts = _with(opts, flag.dest, value)
        else:
            if flag is not None and flag.dest == "json":
                opts = replace(opts, json=True)
            elif flag is not None and flag.dest == "verbose":
                opts = replace(opts, verbose=True)
            elif command is None and not word.startswith("-"):
                command = word
            passed.append(word)
        index += 1
    if command is None or command not in OFFICIAL_COMMANDS:
        return None
    return Delegation(command, opts, tuple(passed))


def _with(opts: GlobalOptions, dest: str, value: str) -> GlobalOptions:
    if dest == "profile":
        return replace(opts, profile=value, profile_source="flag")
    return replace(opts, home=value)


async def delegate(plan: Delegation, env: Env) -> int:
    """Run the official CLI with ``plan.words`` and the credentials in force; its status."""
    looping = env.environ.get(DELEGATING)
    if looping:
        raise OfficialCliMissing(
            f"'bp {plan.command}' is a command of the official Botpress CLI, but {looping} "
            "runs bpshell again",
            INSTALL_HINT,
        )
    cli = find_official_cli(env.environ, _cwd())
    if cli is None:
        raise OfficialCliMissing(
            f"'bp {plan.command}' is a command of the official Botpress CLI, "
            "which is not installed",
            INSTALL_HINT,
        )
    variables = await _delegated_variables(plan, env)
    return await run_child(
        [*cli, *plan.words],
        variables,
        env,
        private_home=bool(variables),
        extra={DELEGATING: cli[0]},
    )


async def _delegated_variables(plan: Delegation, env: Env) -> dict[str, str]:
    """The credentials in force, where flags given to the official command win (the 0.8
    CLI lets BP_* variables override its own flags, so they must agree)."""
    try:
        found = await credentials(plan.globals, env)
    except NotLoggedInError:
        if plan.globals.profile_source == "flag":
            raise
        return {}
    variables = found.variables()
    for name, value in _flag_values(plan.words).items():
        variables[name] = value
    return variables


def _flag_values(words: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for index, word in enumerate(words):
        if word == "--":
            break
        name, eq, inline = word.partition("=")
        variable = _CREDENTIAL_FLAGS.get(name)
        if variable is None:
            continue
        if eq:
            values[variable] = inline
        elif index + 1 < len(words) and not words[index + 1].startswith("-"):
            values[variable] = words[index + 1]
    return values


def _cwd() -> Path | None:
    try:
        return Path.cwd()
    except OSError:
        return None


def find_official_cli(environ: Mapping[str, str], cwd: Path | None) -> list[str] | None:
    """The official CLI's command (argv prefix), or None; never bpshell itself.

    Looks at ``BP_OFFICIAL_CLI`` (a path or command, with arguments), then
    ``node_modules/.bin/bp`` in ``cwd`` and its parents, then global npm installs (the
    prefix in npm's environment variables, ``~/.npm-global``, and the folder of ``node``),
    then every other ``bp`` on PATH. npm itself is never run: it takes too long.
    """
    path = environ.get("PATH", os.defpath)
    configured = environ.get("BP_OFFICIAL_CLI", "").strip()
    if configured:
        return _configured(configured, path)
    seen: set[str] = set()
    for candidate in _candidates(environ, cwd, path):
        real = os.path.realpath(candidate)
        if real in seen:
            continue
        seen.add(real)
        if os.path.isfile(real) and os.access(real, os.X_OK) and not is_bpshell(candidate):
            return [str(candidate)]
    return None


def _configured(configured: str, path: str) -> list[str]:
    try:
        argv = shlex.split(configured)
    except ValueError:
        argv = []
    program = argv[0] if argv else ""
    found = program if os.sep in program else shutil.which(program, path=path) if program else None
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise OfficialCliMissing(
            f"BP_OFFICIAL_CLI={clean(configured[:80])} is not an executable", INSTALL_HINT
        )
    if is_bpshell(found):
        raise OfficialCliMissing(
            f"BP_OFFICIAL_CLI={clean(configured[:80])} is bpshell, not the official CLI",
            INSTALL_HINT,
        )
    return [found, *argv[1:]]


def _candidates(environ: Mapping[str, str], cwd: Path | None, path: str) -> Iterator[Path]:
    if cwd is not None:
        for folder in (cwd, *cwd.parents):
            yield folder / "node_modules" / ".bin" / "bp"
    for name in ("npm_config_prefix", "NPM_CONFIG_PREFIX"):
        prefix = environ.get(name)
        if prefix:
            yield Path(prefix) / "bin" / "bp"
    home = environ.get("HOME")
    if home:
        yield Path(home) / ".npm-global" / "bin" / "bp"
    node = shutil.which("node", path=path)
    if node:
        yield Path(node).parent / "bp"
        yield Path(os.path.realpath(node)).parent / "bp"
    for entry in path.split(os.pathsep):
        if entry:
            yield Path(entry) / "bp"


def is_bpshell(path: str | Path) -> bool:
    """Whether ``path`` runs bpshell: this very script, bpshell's console script, or a
    pyenv shim (only Python tools get those, so its ``bp`` is bpshell)."""
    real = os.path.realpath(path)
    if sys.argv and sys.argv[0] and real == os.path.realpath(sys.argv[0]):
        return True
    try:
        with open(real, "rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False
    return b"bpshell" in head or b"pyenv" in head
