"""Commands of the official CLI that bpshell does not implement, handed over to it.

It is found without running npm (:func:`look_for_official_cli`), never bpshell itself, and the
``BPSHELL_DELEGATING`` mark in its environment stops any loop back into bpshell. It runs with
the user's token in its environment, so a program that someone else put there, or could
replace, is never run (:func:`unsafe_because`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import sys
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bpshell.commands import GLOBAL_FLAGS, GlobalOptions, empty_value, env_globals
from bpshell.config import check_not_token
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
_MOVED_AFTER = ("json", "verbose", "confirm")  # flags without a value, the official CLI's too
IS_BPSHELL = "it is bpshell, not the official CLI"
CONFIGURED = "BP_OFFICIAL_CLI"


class OfficialCliMissing(UsageError):
    """Raised when a command of the official CLI is run and no official CLI can be found."""

    kind = "official_cli_missing"


@dataclass(frozen=True)
class Delegation:
    """An official command line: bpshell's globals and the words to hand over."""

    command: str
    globals: GlobalOptions
    words: tuple[str, ...]


def plan_delegation(
    words: Sequence[str],
    environ: Mapping[str, str],
    commands: Container[str] | None = OFFICIAL_COMMANDS,
) -> Delegation | None:
    """The hand-over of ``words`` when they name one of ``commands`` (None: any command
    word), else None.

    As everywhere in bpshell, ``-p/--profile`` and ``--botpressHome`` may come before or
    after the command (up to ``--``); they pick the credentials and are not passed on.
    ``--json``, ``-v`` and ``-y`` typed before the command are passed on after its words (yargs
    takes them there only: ``bp --json bots ls`` is ``bots ls --json``). Every other word is
    passed on as typed.
    """
    opts = env_globals(environ)
    passed: list[str] = []
    early: list[str] = []  # bp's flags before the command: the official CLI rejects them there
    command: str | None = None
    empty: UsageError | None = None
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            passed += early + list(words[index:])
            early = []
            break
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        flag = next((f for f in GLOBAL_FLAGS if name in f.names), None)
        if flag is not None and flag.dest in _BPSHELL_ONLY:
            if not eq and index + 1 >= len(words):
                return None
            value = inline if eq else words[index + 1]
            index += 0 if eq else 1
            if not value:  # `bp deploy -p "$UNSET"`: never the active profile instead
                empty = empty or empty_value(name, flag)
            opts = _with(opts, flag.dest, value)
        else:
            if flag is not None and flag.dest == "json":
                opts = opts._replace(json=True)
            elif flag is not None and flag.dest == "verbose":
                opts = opts._replace(verbose=True)
            elif command is None and not word.startswith("-"):
                command = word
            moved = command is None and flag is not None and flag.dest in _MOVED_AFTER
            (early if moved else passed).append(word)
        index += 1
    passed += early
    if command is None or (commands is not None and command not in commands):
        return None
    if empty is not None:
        raise empty
    return Delegation(command, opts, tuple(passed))


def _with(opts: GlobalOptions, dest: str, value: str) -> GlobalOptions:
    if dest == "profile":
        return opts._replace(profile=value, profile_source="flag")
    return opts._replace(home=value)


async def delegate(plan: Delegation, env: Env) -> int:
    """Run the official CLI with ``plan.words`` and the credentials in force; its status."""
    cli = official_cli(plan.command, env)
    variables = await delegated_variables(plan, env)
    return await run_child(
        [*cli, *plan.words],
        variables,
        env,
        private_home=bool(variables),
        extra={DELEGATING: cli[0]},
    )


def official_cli(command: str, env: Env, *, said: str | None = None) -> list[str]:
    """The official CLI to run ``command`` with, found from the working folder (what was
    looked at goes to the debug log); OfficialCliMissing, naming the command as ``said``
    (default ``'bp COMMAND'``), when there is none to run."""
    said = said or f"'bp {clean(command)}'"
    looping = env.environ.get(DELEGATING)
    if looping:
        raise OfficialCliMissing(
            f"{said} is a command of the official Botpress CLI, but {looping} runs bpshell again",
            INSTALL_HINT,
        )
    lookup = look_for_official_cli(env.environ, _cwd())
    for note in lookup.notes:
        env.debug(f"debug: {clean(note)}")
    for candidate, why in lookup.skipped:
        env.debug(f"debug: skipped {clean(candidate)}: {clean(why)}")
    cli = lookup.command
    if cli is None:
        raise OfficialCliMissing(_missing(said, lookup), INSTALL_HINT)
    if lookup.reason != CONFIGURED:  # the user's own choice: nothing was looked for
        env.debug(f"debug: running the official CLI {clean(cli[0])} ({lookup.reason})")
    return cli


def _missing(said: str, lookup: Lookup) -> str:
    what = f"{said} is a command of the official Botpress CLI"
    # bpshell's own bp on PATH is no news; an official CLI passed over as unsafe is.
    unsafe = [(c, why) for c, why in lookup.skipped if why != IS_BPSHELL]
    if not unsafe:
        return f"{what}, which is not installed"
    candidate, why = unsafe[0]
    more = len(unsafe) - 1
    also = f" (and {more} more; run with -v to see them)" if more else ""
    return f"{what}; bpshell did not run {candidate}, as {why}{also}"


async def delegated_variables(plan: Delegation, env: Env) -> dict[str, str]:
    """The credentials in force, where flags given to the official command win (the 0.8
    CLI lets BP_* variables override its own flags, so they must agree)."""
    try:
        found = await credentials(plan.globals, env)
    except NotLoggedInError:
        if plan.globals.profile_source == "flag":
            raise
        return {}
    variables = found.variables()
    variables.update(explicit_credentials(plan.words))
    return variables


def explicit_credentials(words: Sequence[str]) -> dict[str, str]:
    """The ``BP_*`` values an official command line gives with its own flags (``--workspaceId
    X``...): they must win, as the 0.8 CLI would let the variables beat its flags."""
    values = _flag_values(words)
    if "BP_WORKSPACE_ID" in values:  # a pasted token is not handed on, even as typed
        check_not_token(values["BP_WORKSPACE_ID"], "--workspaceId")
    return values


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


@dataclass(frozen=True)
class Lookup:
    """Where the official CLI was looked for: the command found (None: none), why that one,
    the candidates passed over with the reason, and notes on where local installs were sought."""

    command: list[str] | None
    reason: str = ""
    skipped: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def find_official_cli(environ: Mapping[str, str], cwd: Path | None) -> list[str] | None:
    """The official CLI's command (argv prefix), or None; see :func:`look_for_official_cli`."""
    return look_for_official_cli(environ, cwd).command


def look_for_official_cli(environ: Mapping[str, str], cwd: Path | None) -> Lookup:
    """Find the official CLI; never bpshell itself, never a program :func:`unsafe_because`
    names a reason not to run.

    Looks at ``BP_OFFICIAL_CLI`` (a path or command, with arguments), then
    ``node_modules/.bin/bp`` from ``cwd`` up to the project root (:func:`_project_folders`),
    then global npm installs (the prefix in npm's environment variables, ``~/.npm-global``,
    and the folder of ``node``), then every other ``bp`` on PATH. npm itself is never run: it
    takes too long.
    """
    path = environ.get("PATH", os.defpath)
    configured = environ.get("BP_OFFICIAL_CLI", "").strip()
    if configured:
        return Lookup(_configured(configured, path), CONFIGURED)
    home = environ.get("HOME") or None
    folders, note = _project_folders(cwd, home) if cwd is not None else ([], None)
    tried: set[str] = set()
    unusable: set[str] = set()  # real files: whatever the path to them, never the one
    skipped: list[tuple[str, str]] = []
    for candidate, reason in _candidates(environ, folders, path):
        real = os.path.realpath(candidate)
        if real in unusable or str(candidate) in tried:
            continue
        tried.add(str(candidate))
        if not (os.path.isfile(real) and os.access(real, os.X_OK)):
            unusable.add(real)
            continue
        # Unsafe is the path to the file, maybe not the file: another path to it may be fine.
        why = unsafe_because(candidate)
        if why is None and is_bpshell(candidate):
            why = IS_BPSHELL
            unusable.add(real)
        if why is not None:
            skipped.append((str(candidate), why))
            continue
        return Lookup([str(candidate)], reason, tuple(skipped), _notes(note))
    return Lookup(None, "", tuple(skipped), _notes(note))


def _notes(note: str | None) -> tuple[str, ...]:
    return () if note is None else (note,)


def _configured(configured: str, path: str) -> list[str]:
    try:
        argv = shlex.split(configured)
    except ValueError:
        argv = []
    program = argv[0] if argv else ""
    found = program if os.sep in program else shutil.which(program, path=path) if program else None
    setting = f"BP_OFFICIAL_CLI={clean(configured[:80])}"
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise OfficialCliMissing(f"{setting} is not an executable", INSTALL_HINT)
    why = unsafe_because(found)
    if why is not None:
        raise OfficialCliMissing(f"{setting} is not safe to run: {clean(why)}", INSTALL_HINT)
    if is_bpshell(found):
        raise OfficialCliMissing(f"{setting} is bpshell, not the official CLI", INSTALL_HINT)
    return [found, *argv[1:]]


def _project_folders(cwd: Path, home: str | None) -> tuple[list[Path], str]:
    """The folders whose ``node_modules/.bin`` may hold the project's bp, and a note on why.

    As npm finds its prefix (and npx its local bin): from ``cwd`` up to the nearest folder
    holding package.json or node_modules. Never above the home, nor onto another file system
    (a different ``st_dev``): a ``node_modules`` there is not this project's, and may be a
    shared folder's (``/tmp``) that anyone could have made. No project root: ``cwd`` only.
    """
    homes = {Path(home), Path(os.path.realpath(home))} if home else set()
    try:
        device = cwd.stat().st_dev
    except OSError:
        return [], f"cannot look for a local install in {cwd}"
    folders: list[Path] = []
    end = "the root folder"
    for folder in (cwd, *cwd.parents):
        try:
            if folder.stat().st_dev != device:
                end = f"{folders[-1]}, the last folder on its file system"
                break
        except OSError:
            break
        folders.append(folder)
        for marker in ("package.json", "node_modules"):
            if os.path.lexists(folder / marker):
                return folders, (
                    f"the project root is {folder} (it holds {marker}): looking for "
                    f"node_modules/.bin/bp from {cwd} up to it"
                )
        if folder in homes:
            end = f"{folder}, your home folder"
            break
    return folders[:1], (
        f"no project root (a folder holding package.json or node_modules) from {cwd} up to "
        f"{end}: looking for node_modules/.bin/bp in {cwd} only"
    )


def _candidates(
    environ: Mapping[str, str], folders: Sequence[Path], path: str
) -> Iterator[tuple[Path, str]]:
    for folder in folders:
        yield folder / "node_modules" / ".bin" / "bp", "the project's local install"
    for name in ("npm_config_prefix", "NPM_CONFIG_PREFIX"):
        prefix = environ.get(name)
        if prefix:
            yield Path(prefix) / "bin" / "bp", f"npm's global prefix, ${name}"
    home = environ.get("HOME")
    if home:
        yield Path(home) / ".npm-global" / "bin" / "bp", "npm's global prefix ~/.npm-global"
    node = shutil.which("node", path=path)
    if node:
        yield Path(node).parent / "bp", f"installed next to {node}"
        yield Path(os.path.realpath(node)).parent / "bp", f"installed next to {node}"
    for entry in path.split(os.pathsep):
        if entry:
            yield Path(entry) / "bp", "found on PATH"


def unsafe_because(program: str | Path) -> str | None:
    """Why running ``program`` could run what someone else chose, or None when nothing does.

    The file, every folder on the way to it and every symlink followed must belong to this
    user or root, and the file and the folders be writable by no one else: whoever can write a
    folder can replace what is in it. A sticky folder writable by all (``/tmp``) is the one
    exception: others can add to it, not replace what is ours there (which is checked next).
    """
    uid = os.geteuid()
    here = os.sep
    try:
        problem = _problem(here, os.stat(here), uid)
    except OSError as exc:
        return f"cannot check {here}: {exc.strerror}"
    todo = list(reversed(os.path.abspath(program).split(os.sep)))
    links = 0
    while todo and problem is None:
        name = todo.pop()
        if name in ("", "."):
            continue
        if name == "..":
            here = os.path.dirname(here)  # ``here`` has no symlinks: its parent is real
            continue
        step = os.path.join(here, name)
        try:
            info = os.lstat(step)
            if stat.S_ISLNK(info.st_mode):
                links += 1
                if links > 40:
                    return f"{program} goes through too many symbolic links"
                problem = _problem(step, info, uid)
                target = os.readlink(step)
                here = os.sep if os.path.isabs(target) else here
                todo.extend(reversed(target.split(os.sep)))
                continue
        except OSError as exc:
            return f"cannot check {step}: {exc.strerror}"
        problem = _problem(step, info, uid)
        here = step
    return problem


def _problem(path: str, info: os.stat_result, uid: int) -> str | None:
    if info.st_uid not in (uid, 0):
        return f"{path} is owned by {_user(info.st_uid)}, not by you or root"
    mode = info.st_mode
    if stat.S_ISLNK(mode) or (stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
        return None
    if mode & stat.S_IWOTH:
        return f"{path} is writable by other users"
    if mode & stat.S_IWGRP:
        return f"{path} is writable by its group"
    return None


def _user(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


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
