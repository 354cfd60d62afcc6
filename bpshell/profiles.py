"""``bp profiles …``, and how the credentials in force are resolved.

The profile in use: ``-p`` > the profile a ``bp shell`` is pinned to > ``BP_PROFILE`` > the
folder's ``.bp-profile`` (:mod:`bpshell.local_profile`) > the active profile. Each value: flag
> ``BP_*`` variable > that profile. :class:`Resolved` remembers where each value came from.
"""

from __future__ import annotations

from collections.abc import Callable

from bpshell import local_profile
from bpshell.cache import drop_workspaces
from bpshell.commands import (
    ActiveOptions,
    GlobalOptions,
    ListOptions,
    NameOptions,
    RenameOptions,
    UseOptions,
    worded,
)
from bpshell.config import (
    DEFAULT_API_URL,
    ConfigFile,
    Profile,
    check_api_url,
    check_not_token,
    check_profile_name,
)
from bpshell.env import Env
from bpshell.errors import (
    BpError,
    ExitStatus,
    NotLoggedInError,
    ProfileNotFoundError,
    UsageError,
)
from bpshell.local_profile import LOCAL
from bpshell.pin import SESSION
from bpshell.prompts import confirm
from bpshell.records import Record
from bpshell.render import Result, clean, table, workspace_label
from bpshell.tokens import mask, mask_tokens_in, read_token

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import Any

    from bpshell.api import Verification
    from bpshell.colour import Palette
    from bpshell.credentials import Unit


class Resolved(Record):
    """The credentials a command would use, each with its source."""

    profile: str | None
    profile_source: str | None
    api_url: str
    api_url_source: str
    workspace_id: str | None
    workspace_source: str | None
    workspace_name: str | None
    token: str | None
    token_source: str | None
    profile_file: str | None = None


async def resolve(opts: GlobalOptions, env: Env, config: ConfigFile | None = None) -> Resolved:
    """Apply the precedence rules; a named profile that does not exist is an error."""
    config = config if config is not None else env.config.load()
    name, name_source, name_file = profile_in_use(opts, env, config)
    profile = config.profiles.get(name) if name else None
    environ = env.environ
    api_url, api_source = _pick(
        (environ.get("BP_API_URL"), "BP_API_URL"),
        (profile.apiUrl if profile else None, "profile"),
        (env.sandbox.url if env.sandbox else DEFAULT_API_URL, "default"),
    )
    workspace_id, workspace_source = _pick(
        (environ.get("BP_WORKSPACE_ID"), "BP_WORKSPACE_ID"),
        (profile.workspaceId if profile else None, "profile"),
    )
    where = "BP_WORKSPACE_ID" if workspace_source == "BP_WORKSPACE_ID" else f'profile "{name}"'
    check_not_token(workspace_id, where)  # before anything can show it, send it or pass it on
    token, token_source = environ.get("BP_TOKEN") or None, "BP_TOKEN"
    if token is None and profile is not None and name is not None:
        from bpshell.token_command import runner_of

        token, storage = await read_token(env.keyring, name, profile, env.err, runner_of(env))
        token_source = storage or "missing"
    workspace_name = profile.workspaceName if profile and workspace_source == "profile" else None
    return Resolved(
        name,
        name_source,
        check_api_url(api_url or DEFAULT_API_URL),
        api_source or "default",
        workspace_id,
        workspace_source,
        workspace_name,
        token,
        token_source if token or profile else None,
        name_file,
    )


def profile_in_use(
    opts: GlobalOptions, env: Env, config: ConfigFile
) -> tuple[str | None, str | None, str | None]:
    """The profile in use (see the module docstring), its source and, when a ``.bp-profile``
    named it, that file. A profile named that does not exist is an error, never skipped."""
    opts = local_profile.apply(opts, env)
    if opts.profile:
        if opts.profile not in config.profiles:
            raise _unknown(opts.profile, config, opts.profile_file, env)
        return opts.profile, opts.profile_source, opts.profile_file
    active = config.active()
    return (active, "active", None) if active else (None, None, None)


def _pick(*candidates: tuple[str | None, str]) -> tuple[str | None, str | None]:
    for value, source in candidates:
        if value:
            return value, source
    return None, None


def _unknown(
    name: str, config: ConfigFile, file: str | None = None, env: Env | None = None
) -> ProfileNotFoundError:
    known = ", ".join(sorted(config.profiles)) or "none"
    hint = f"known profiles: {clean(known)}"
    if file is not None and env is not None:  # its name is valid: the file was checked
        return ProfileNotFoundError(
            f'unknown profile "{clean(name)}", named by {clean(file)}',
            f"{hint} (bp profiles list). Create it with: bp login -p {name}, or "
            f"{local_profile.stop_using(file, env)}",
        )
    if _valid_name(name):
        hint += f". Create it with: bp login -p {name}"
    return ProfileNotFoundError(f'unknown profile "{clean(name)}"', hint)


def _valid_name(name: str) -> bool:
    try:
        check_profile_name(name)
    except UsageError:
        return False
    return True


def _authenticated(verification: Verification, lower: bool = False) -> str:
    """``Yes``, ``No (reason)`` or ``Unknown (reason)``; ``lower`` lowercases the word only."""
    word = "Yes" if verification.ok else "No" if verification.rejected else "Unknown"
    word = word.lower() if lower else word
    if verification.ok:
        return word
    return f"{word} ({clean(verification.reason or verification.status)})"


async def run_active(options: ActiveOptions, opts: GlobalOptions, env: Env) -> Result:
    """Show the credentials in force and check them live (this profile only)."""
    config = env.config.load()
    resolved = await resolve(opts, env, config)
    if resolved.token is None and resolved.workspace_id is None:
        raise NotLoggedInError("Not logged in", "Run: bp login")
    verification = await _verify_resolved(resolved, env)
    name = verification.workspace.name if verification.workspace else resolved.workspace_name
    paint = _paint_authenticated(env.palette(env.stdout))
    # The documentation's three lines first, exactly as it shows them; what bpshell adds after.
    lines = [
        "Workspace: "
        + (workspace_label(name, resolved.workspace_id) if resolved.workspace_id else "(none)")
        + _from(resolved.workspace_source, "BP_WORKSPACE_ID"),
        f"API URL: {clean(resolved.api_url)}" + _from(resolved.api_url_source, "BP_API_URL"),
        "Authenticated: " + paint(_authenticated(verification)),
        *([f"Role: {clean(verification.role)}"] if verification.role else []),
        "Profile: "
        + (clean(resolved.profile) if resolved.profile else "(none)")
        + _profile_from(resolved.profile_source, resolved.profile_file),
    ]
    if resolved.token_source == "BP_TOKEN" or options.display_token:
        shown = resolved.token if options.display_token else None
        lines.append(f"Token: {_token_text(resolved, shown)}")
    elif resolved.token_source == "command":
        lines.append("Token: from command")
    data: dict[str, Any] = {
        "profile": resolved.profile,
        "profileFile": resolved.profile_file,
        "workspaceId": resolved.workspace_id,
        "workspaceName": name,
        "apiUrl": resolved.api_url,
        "account": verification.account.email if verification.account else None,
        "authenticated": verification.ok,
        "role": verification.role,
        "status": verification.status,
        "error": verification.reason,
        "errorType": verification.error_type,
        "sources": {
            "profile": resolved.profile_source,
            "workspaceId": resolved.workspace_source,
            "apiUrl": resolved.api_url_source,
            "token": resolved.token_source,
        },
    }
    if options.display_token:
        data["token"] = resolved.token
    stored = config.profiles.get(resolved.profile) if resolved.profile else None
    if stored is not None and resolved.token_source in ("keyring", "file"):
        from bpshell.pats import age_days, now_utc, token_age_lines

        now = now_utc()
        named = resolved.profile if resolved.profile_source != "active" else None
        lines += token_age_lines(stored, now, named)
        data["tokenCreatedAt"] = stored.tokenCreatedAt
        data["tokenAgeDays"] = age_days(stored.tokenCreatedAt, now)
    status = ExitStatus.OK if verification.ok else ExitStatus.FAILURE
    fix = _active_fix(verification, resolved)
    hints = (worded(opts, fix),) if fix else ()
    return Result(data, "\n".join(lines), status, hints)


def fix_for(verification: Verification, name: str | None) -> str | None:
    """What to run after ``verification`` failed for profile ``name`` (None: not failed, or
    nothing to say). Only a rejected token (401) calls for a new one."""
    if verification.ok:
        return None
    where = f" -p {clean(name)}" if name else ""
    if verification.status == "invalid":
        return f"log in again with a new token: bp login{where}"
    if verification.status in ("forbidden", "not_found"):
        return f"choose a workspace this token can use: bp login{where} --workspaceId ID"
    hint = verification.error.hint if verification.error is not None else None
    return clean(hint) if hint else None


def _active_fix(verification: Verification, resolved: Resolved) -> str | None:
    if verification.status == "invalid" and resolved.token_source == "BP_TOKEN":
        return "BP_TOKEN holds a token the API refused: set a valid one, or unset BP_TOKEN"
    if verification.status == "invalid" and resolved.token_source == "command":
        return (
            "its token command printed a token the API refused: store a valid one where the "
            "command reads it"
        )
    named = resolved.profile if resolved.profile_source not in (None, "active") else None
    return fix_for(verification, named)


def _from(source: str | None, variable: str) -> str:
    return f" (from {variable})" if source == variable else ""


def _profile_from(source: str | None, file: str | None) -> str:
    """`` (from BP_PROFILE)``, `` (from /x/.bp-profile)``, `` (pinned to this shell)``."""
    if source == LOCAL and file is not None:
        return f" (from {clean(file)})"
    if source == SESSION:
        return " (pinned to this shell)"
    return _from(source, "BP_PROFILE")


def _token_text(resolved: Resolved, shown: str | None) -> str:
    if resolved.token is None:
        return "(missing)"
    value = shown if shown is not None else mask(resolved.token)
    return f"{clean(value)} (from {resolved.token_source})"


async def _verify_resolved(resolved: Resolved, env: Env) -> Verification:
    from bpshell.api import Verification, verify
    from bpshell.errors import NotLoggedInError as Missing

    if resolved.token is None:
        where = "the keyring" if resolved.token_source == "missing" else "the profile"
        return Verification("unreachable", error=Missing(f"no token found in {where}"))
    if resolved.workspace_id is None:
        return Verification("not_found", error=Missing("no workspace ID; set BP_WORKSPACE_ID"))
    client = env.api(resolved.api_url, resolved.token)
    return await verify(client, resolved.workspace_id, role=True)


async def run_list(options: ListOptions, opts: GlobalOptions, env: Env) -> Result:
    """Every profile; with --verify, every one checked against the API at the same time."""
    config = env.config.load()
    active = config.active()
    here, source, file = _in_use_quietly(opts, env, config)
    tokens: dict[str, str | BpError | None] = {}
    if options.verify or options.display_token:
        tokens = await _read_tokens(config, env)
    rows = [
        _row(name, config.profiles[name], name == active, tokens, options) | {"inUse": name == here}
        for name in sorted(config.profiles)
    ]
    if not rows:
        env.err(worded(opts, "No profiles. Log in with: bp login"))
        return Result([], "")
    if here is not None and here != active:
        why = _profile_from(source, file)
        env.err(f'note: ">" marks the profile in use here{why}, "*" the active one')
    headers = ["", "NAME", "WORKSPACE", "API URL"] + (["TOKEN"] if options.display_token else [])
    cells = {row["name"]: _cells(row, options) for row in rows}
    if not options.verify:
        return Result(rows, table(headers, list(cells.values())))
    checks = await _verify_all(config, tokens, options, env)
    for row in rows:
        check = checks[row["name"]]
        row.update(
            authenticated=check.ok,
            status=check.status,
            error=check.reason,
            errorType=check.error_type,
        )
    status = ExitStatus.OK if all(c.ok for c in checks.values()) else ExitStatus.FAILURE
    # The whole table once every check is in, sorted as without --verify: a terminal shows
    # what a pipe gets (the spinner line counted the checks meanwhile), in colour.
    lines = [[*cells[r["name"]], _authenticated(checks[r["name"]], lower=True)] for r in rows]
    paint = {len(headers): _paint_authenticated(env.palette(env.stdout))}
    hints = tuple(
        worded(opts, f"{clean(name)}: {fix}")
        for name, check in sorted(checks.items())
        if check.rejected and (fix := fix_for(check, name)) is not None
    )
    return Result(rows, table([*headers, "AUTHENTICATED"], lines, paint), status, hints)


def _in_use_quietly(
    opts: GlobalOptions, env: Env, config: ConfigFile
) -> tuple[str | None, str | None, str | None]:
    """:func:`profile_in_use` for a listing: a ``.bp-profile`` that cannot be used is a
    warning (the list is what helps fix it), a profile named on the line and unknown is
    nothing to mark."""
    try:
        return profile_in_use(opts, env, config)
    except BpError as error:
        if opts.profile is None:
            from bpshell.render import error_line

            env.err(f"warning: {worded(opts, error_line(error, opening=False))}")
        return None, None, None


def _row(
    name: str,
    profile: Profile,
    active: bool,
    tokens: dict[str, str | BpError | None],
    options: ListOptions,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "workspaceId": profile.workspaceId,
        "workspaceName": profile.workspaceName,
        "apiUrl": profile.apiUrl,
        "active": active,
        "tokenStorage": storage_of(profile),
    }
    if options.display_token:
        token = tokens.get(name)
        row["token"] = token if isinstance(token, str) else None
    return row


def storage_of(profile: Profile) -> str:
    """Where a profile's token is: ``command`` (printed by one), ``file`` or ``keyring``."""
    if profile.tokenCommand is not None:
        return "command"
    return "file" if profile.token is not None else "keyring"


def _cells(row: dict[str, Any], options: ListOptions) -> list[str]:
    line = [
        "*" if row["active"] else ">" if row["inUse"] else "",
        row["name"],
        workspace_label(row["workspaceName"], row["workspaceId"]),
        row["apiUrl"],
    ]
    if options.display_token:
        line.append(row["token"] or "(missing)")
    return line


def _paint_authenticated(palette: Palette) -> Callable[[str], str]:
    """What :func:`_authenticated` says, coloured: yes green, no red, unknown yellow."""

    def paint(text: str) -> str:
        word = text.split(" ", 1)[0].lower()
        if word == "yes":
            return palette.ok(text)
        return palette.bad(text) if word == "no" else palette.warn(text)

    return paint


async def _read_tokens(config: ConfigFile, env: Env) -> dict[str, str | BpError | None]:
    """Every profile's token; a token command that failed gives its error instead. An
    interruption (Ctrl-C at a token command) or a usage error stops them all."""
    import anyio

    from bpshell.token_command import TokenCommandInterrupted, runner_of

    found: dict[str, str | BpError | None] = {}
    stopped: list[BpError] = []
    run = runner_of(env)

    async def read(name: str, profile: Profile) -> None:
        try:
            found[name], _ = await read_token(env.keyring, name, profile, env.err, run)
        except (TokenCommandInterrupted, UsageError) as exc:
            stopped.append(exc)
            group.cancel_scope.cancel()
        except BpError as exc:
            found[name] = exc

    async with anyio.create_task_group() as group:
        for name, profile in config.profiles.items():
            group.start_soon(read, name, profile)
    if stopped:
        raise stopped[0]
    return found


async def _verify_all(
    config: ConfigFile,
    tokens: dict[str, str | BpError | None],
    options: ListOptions,
    env: Env,
) -> dict[str, Verification]:
    import anyio

    # One request a profile (the workspace alone: api.verify, account=False): the bound on
    # requests in flight is one on profiles checked at once.
    limiter = anyio.CapacityLimiter(options.concurrency)
    results: dict[str, Verification] = {}
    count = len(config.profiles)

    async def check(name: str, profile: Profile) -> None:
        async with limiter:
            results[name] = await _check_one(
                profile, tokens.get(name), options.timeout, env, account=False
            )
        progress.label = f"Verifying… {len(results)}/{count}"

    with env.waiting(f"Verifying… 0/{count}") as progress:
        async with anyio.create_task_group() as group:
            for name, profile in config.profiles.items():
                group.start_soon(check, name, profile)
    return results


async def _check_one(
    profile: Profile,
    token: str | BpError | None,
    seconds: float,
    env: Env,
    *,
    role: bool = False,
    account: bool = True,
) -> Verification:

    from bpshell.api import Verification, verify
    from bpshell.errors import NotLoggedInError as Missing

    if isinstance(token, BpError):
        return Verification("unreachable", error=token)
    if token is None:
        return Verification("unreachable", error=Missing("no token found"))
    try:
        api_url = check_api_url(profile.apiUrl)
    except UsageError as exc:
        return Verification("bad_response", error=Missing(exc.message))
    # Each request has ``seconds``; a wait for the rate limiter's window is not the server's
    # slowness (40 profiles under 10 requests per 10 s take a while, and all succeed).
    client = env.api(api_url, token, timeout=seconds)
    return await verify(client, profile.workspaceId, role=role, account=account)


async def run_use(options: UseOptions, opts: GlobalOptions, env: Env) -> Result:
    """Make a profile the active one (offline); with ``--local`` this folder's, with
    ``--session`` this shell's; with ``--unset`` undo either."""
    _check_use(options, env)
    if options.unset:
        return _unset_local(opts, env) if options.local else _unset_session(opts, env)
    flagged = opts.profile if opts.profile_source == "flag" else None  # `profiles use -p X`
    name = options.name or flagged or await _pick_profile(opts, env, "Profile to use")
    if options.local:
        return _use_local(name, opts, env)
    if options.session:
        return _use_session(name, env)
    profile = _set_active(env, name)
    _note_what_wins(name, opts, env)
    label = workspace_label(profile.workspaceName, profile.workspaceId)
    return Result(
        _use_data(name, profile, "global"),
        f'Active profile is now "{clean(name)}", workspace {label}',
    )


def _check_use(options: UseOptions, env: Env) -> None:
    if options.local and options.session:
        raise UsageError(
            "--local and --session do not go together",
            "--local is for this folder, --session for this shell",
        )
    if options.unset and options.name:
        raise UsageError("--unset takes no profile name", "Run: bp profiles use --local --unset")
    if options.unset and not (options.local or options.session):
        raise UsageError(
            "--unset goes with --local (remove this folder's .bp-profile) or --session (unpin "
            "this shell)",
            "Run: bp profiles use --local --unset",
        )
    if options.session and env.pin is None:
        raise UsageError(
            "--session pins the profile of a bp shell, and this is not one",
            "for one command give -p NAME (or set BP_PROFILE); for this folder run: bp "
            "profiles use --local NAME; for a shell of its own run: bp shell -p NAME",
        )


def _use_data(name: str, profile: Profile, scope: str) -> dict[str, Any]:
    return {
        "profile": name,
        "workspaceId": profile.workspaceId,
        "workspaceName": profile.workspaceName,
        "apiUrl": profile.apiUrl,
        "scope": scope,
    }


def _note_what_wins(name: str, opts: GlobalOptions, env: Env) -> None:
    """After a switch of the active profile: say so when it is not what is used here."""
    if opts.profile_source == SESSION and opts.profile != name:
        note = (
            f'note: this shell stays on "{clean(opts.profile or "")}", as it is pinned; to '
            f"switch it too: profiles use --session {name}"
        )
    elif opts.profile_source == "BP_PROFILE" and opts.profile != name:
        note = (
            f"note: BP_PROFILE={clean(opts.profile or '')} is set, and wins over the active "
            "profile here; to follow it: unset BP_PROFILE"
        )
    else:
        found, _ = local_profile.quietly(env) if opts.profile is None else (None, None)
        if found is None or found.name == name:
            return
        note = (
            f'note: here {clean(str(found.path))} picks profile "{found.name}", which wins '
            f"over the active profile; to change it: bp profiles use --local {name}"
        )
    env.err(worded(opts, note))


def _use_local(name: str, opts: GlobalOptions, env: Env) -> Result:
    if local_profile.TOKEN_LIKE.search(name):  # before anything can show it
        raise UsageError(
            "that looks like a token, not a profile name; nothing was written",
            "a .bp-profile holds a profile's name (see bp profiles list), never a credential",
        )
    check_profile_name(name)
    config = env.config.load()
    if name not in config.profiles:
        raise _unknown(name, config)
    folder = local_profile.folder_of(env)
    path = local_profile.write(folder, name)
    if opts.profile_source in (SESSION, "BP_PROFILE") and opts.profile != name:
        wins = "this shell is pinned to" if opts.profile_source == SESSION else "BP_PROFILE is"
        env.err(
            worded(
                opts,
                f'note: {wins} "{clean(opts.profile or "")}", which wins over .bp-profile here',
            )
        )
    profile = config.profiles[name]
    label = workspace_label(profile.workspaceName, profile.workspaceId)
    return Result(
        _use_data(name, profile, "local") | {"file": str(path)},
        f'Commands in {clean(str(folder))} now use profile "{clean(name)}", workspace '
        f"{label}; written to {clean(str(path))}",
    )


def _use_session(name: str, env: Env) -> Result:
    assert env.pin is not None
    config = env.config.load()
    if name not in config.profiles:
        raise _unknown(name, config)
    env.pin.set(name, "profiles use --session")
    profile = config.profiles[name]
    label = workspace_label(profile.workspaceName, profile.workspaceId)
    active = config.active()
    still = f'the active profile is still "{clean(active)}"' if active else "no profile is active"
    return Result(
        _use_data(name, profile, "session"),
        f'This shell is now pinned to profile "{clean(name)}", workspace {label}; {still}',
    )


def _unset_local(opts: GlobalOptions, env: Env) -> Result:
    folder = local_profile.folder_of(env)
    removed = local_profile.remove(folder)
    now = _in_use_now(opts, env)
    data = {"scope": "local", "removed": str(removed) if removed else None, "profile": now[0]}
    if removed is None:
        env.err(f"No .bp-profile in {clean(str(folder))}; nothing was removed")
        if now[1] is not None and now[2] == LOCAL:
            env.err(worded(opts, f"note: commands here use {now[1]}"))
        return Result(data, "")
    return Result(data, f"Removed {clean(str(removed))}; commands here use {now[1] or _NONE}")


def _unset_session(opts: GlobalOptions, env: Env) -> Result:
    assert env.pin is not None
    was = env.pin.name
    env.pin.clear()
    if opts.profile_source == SESSION:
        opts = opts._replace(profile=None, profile_source=None)
    now = _in_use_now(opts, env)
    data = {"scope": "session", "removed": was, "profile": now[0]}
    if was is None:
        env.err("This shell is not pinned; nothing was changed")
        return Result(data, "")
    return Result(
        data, f'This shell is no longer pinned to "{clean(was)}"; it uses {now[1] or _NONE}'
    )


_NONE = "no profile (none is active)"


def _in_use_now(opts: GlobalOptions, env: Env) -> tuple[str | None, str | None, str | None]:
    """The profile in use here, told in words (``the active profile, "x"``), and its source."""
    try:
        name, source, file = profile_in_use(opts, env, env.config.load())
    except BpError as error:
        return None, f"nothing: {clean(error.message)}", None
    if name is None:
        return None, None, None
    if source == "active":
        return name, f'the active profile, "{clean(name)}"', source
    return name, f'profile "{clean(name)}"{_profile_from(source, file)}', source


def _set_active(env: Env, name: str) -> Profile:
    def change(config: ConfigFile) -> Profile:
        if name not in config.profiles:
            raise _unknown(name, config)
        config.activeProfile = name
        return config.profiles[name]

    if not env.config.exists():
        raise _unknown(name, ConfigFile())
    return env.config.update(change)


async def _pick_profile(opts: GlobalOptions, env: Env, label: str) -> str:
    config = env.config.load()
    if not env.interactive or opts.confirm:
        known = ", ".join(sorted(config.profiles)) or "none"
        raise UsageError("no profile name given", f"known profiles: {clean(known)}")
    if not config.profiles:
        raise NotLoggedInError("No profiles yet", "Run: bp login")
    profiles = sorted(config.profiles.items())
    choices = [(name, workspace_label(p.workspaceName, p.workspaceId)) for name, p in profiles]
    rows = [(name, p.workspaceName or "", p.workspaceId) for name, p in profiles]
    return await env.prompter.choose(label, choices, config.active(), rows=rows)


async def run_get(options: NameOptions, opts: GlobalOptions, env: Env) -> Result:
    """Show one profile (the active one by default); the token masked unless asked."""
    if not options.name:
        opts = local_profile.apply(opts, env)
    config = env.config.load()
    name = options.name or opts.profile or config.active()
    if name is None:
        raise NotLoggedInError("No active profile", "name one: bp profiles get NAME")
    profile = config.profiles.get(name)
    if profile is None:
        file = opts.profile_file if name == opts.profile and not options.name else None
        raise _unknown(name, config, file, env)
    token, storage = await read_token(env.keyring, name, profile, env.err)  # runs no command
    shown = token if options.display_token else (mask(token) if token else None)
    lines = [
        f"Profile: {clean(name)}" + (" (active)" if name == config.active() else ""),
        f"Workspace: {workspace_label(profile.workspaceName, profile.workspaceId)}",
        f"API URL: {clean(profile.apiUrl)}",
    ]
    command = profile.tokenCommand
    if command is not None and not options.display_token:
        command = mask_tokens_in(command)  # bp refuses to store one; a hand-written file may
    if command is not None:
        lines += ["Token: from command", f"Token command: {clean(command)}"]
    else:
        token_line = f"Token: {clean(shown) if shown else '(missing)'}"
        lines.append(token_line + (f" ({storage})" if storage else ""))
    data: dict[str, Any] = {
        "name": name,
        "workspaceId": profile.workspaceId,
        "workspaceName": profile.workspaceName,
        "apiUrl": profile.apiUrl,
        "active": name == config.active(),
        "tokenStorage": storage,
        "token": shown,
        "tokenCommand": command,
    }
    return Result(data, "\n".join(lines))


async def run_rm(options: NameOptions, opts: GlobalOptions, env: Env) -> Result:
    """Remove a profile and its token."""
    name = options.name or ""
    config = env.config.load()
    if name not in config.profiles:
        raise _unknown(name, config)
    profile = config.profiles[name]
    label = workspace_label(profile.workspaceName, profile.workspaceId)
    question = f'Remove profile "{clean(name)}", workspace {label}, and its token?'
    if not await confirm(env, question, yes=opts.confirm):
        return Result({"removed": None}, "Nothing was removed.", ExitStatus.FAILURE)

    from bpshell.credentials import owner, unit, warn_left

    async with unit(env) as change:
        if name not in change.config.profiles:
            raise _unknown(name, change.config)
        active = change.config.active()
        change.config.profiles.pop(name)
        after = fall_back(change.config, active)
    drop_workspaces(env.home, name)
    if after:
        env.err(worded(opts, after))
    warn_left(env, change)
    status = ExitStatus.FAILURE if name in {owner(u) for u in change.left} else ExitStatus.OK
    left = local_profile.still_names(env, name, None)
    return Result(
        {"removed": name},
        f'Removed profile "{clean(name)}" and its token',
        status,
        hints=(worded(opts, left),) if left else (),
    )


def fall_back(config: ConfigFile, active_before: str | None) -> str | None:
    """After profiles were removed: when the active one went, none is active (never a guess:
    logging out of one account must not quietly hand the next command another's token), and
    the user is told which are left to choose from."""
    if active_before is None or active_before in config.profiles:
        return None
    config.activeProfile = None
    left = sorted(config.profiles)
    if not left:
        return None
    return f"No active profile; choose one: bp profiles use {'|'.join(clean(n) for n in left)}"


async def run_rename(options: RenameOptions, opts: GlobalOptions, env: Env) -> Result:
    """Rename a profile, moving its keyring entry along."""
    old, new = options.old, check_profile_name(options.new)
    config = env.config.load()
    if old not in config.profiles:
        raise _unknown(old, config)
    if new == old:  # not "already exists, remove it first": that would remove this very profile
        return Result({"renamed": old, "to": new}, f'Profile "{new}" already has that name')
    if new in config.profiles:
        raise BpError(
            f'a profile named "{new}" already exists', f"remove it first: bp profiles rm {new}"
        )
    from bpshell.credentials import unit, warn_left

    async with unit(env) as change:
        config = change.config
        if old not in config.profiles:
            raise _unknown(old, config)
        if new in config.profiles:
            raise BpError(f'a profile named "{new}" already exists')
        profile = config.profiles[old]
        if profile.keyring_user(old) == old:
            # A login of an older bpshell: its entry is named after the profile, so it moves.
            profile.tokenKey = await _move_token(change, old, new)
        config.profiles = {(new if k == old else k): v for k, v in config.profiles.items()}
        if config.activeProfile == old:
            config.activeProfile = new
    warn_left(env, change)
    drop_workspaces(env.home, old)
    left = local_profile.still_names(env, old, new)
    return Result(
        {"renamed": old, "to": new},
        f'Renamed profile "{clean(old)}" to "{new}"',
        hints=(worded(opts, left),) if left else (),
    )


async def _move_token(change: Unit, old: str, new: str) -> str:
    from bpshell.tokens import KeyringUnavailable

    try:
        token = await change.store.get(old)
    except KeyringUnavailable as exc:
        token, reason = None, exc.message
    else:
        reason = "no token is stored for it"
    key = await change.put(new, token, fallback=False) if token is not None else None
    if key is None and token is not None:
        reason = change.failure or reason
    if key is None:
        raise BpError(
            clean(f'cannot move the token of profile "{old}" in the keyring: {reason}'),
            "nothing was changed",
        )
    return key
