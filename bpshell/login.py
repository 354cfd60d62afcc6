"""``bp login`` and ``bp logout``.

Login verifies first and saves after: a failed login writes nothing, and a login that fails to
save puts the previous keyring entry back. Logout removes every copy of a token.
"""

from __future__ import annotations

from bpshell.cache import drop_workspaces
from bpshell.commands import TRUE_WORDS, GlobalOptions, LoginOptions, LogoutOptions, worded
from bpshell.config import (
    DEFAULT_API_URL,
    DEFAULT_APP_URL,
    DEFAULT_PROFILE,
    ConfigFile,
    Profile,
    app_url,
    check_api_url,
    check_profile_name,
    check_token,
    check_workspace_id,
    tokens_page,
)
from bpshell.env import Env
from bpshell.errors import ApiError, AuthError, BpError, ExitStatus, UsageError
from bpshell.prompts import confirm
from bpshell.records import Record
from bpshell.render import Result, clean, workspace_label
from bpshell.tokens import read_token

TYPE_CHECKING = False  # not typing's: see bpshell.records
if TYPE_CHECKING:
    from typing import Any

    from bpshell.answers import Account, Workspace
    from bpshell.api import ApiClient, Verification
    from bpshell.tokens import Storage

SANDBOX_HINT = "this is the sandbox: log in with one of its demo tokens, listed above"
ARGV_TOKEN_HINT = (
    "hint: --token - (reads stdin) or BP_TOKEN keeps the token out of shell history "
    "and the process list"
)

BP_TOKEN_STAYS = (
    "note: BP_TOKEN is set in this environment, so commands still use that token; "
    "bp cannot log it out. Run: unset BP_TOKEN"
)
BP_TOKEN_STAYS_IN_SHELL = (
    "note: BP_TOKEN was set when this shell started, so its commands still use that token; "
    "bp cannot log it out: exit, run unset BP_TOKEN, and start the shell again"
)


class _Target(Record):
    name: str
    existing: Profile | None
    api_url: str

    @property
    def same_api(self) -> bool:
        return self.existing is not None and self.existing.apiUrl == self.api_url


async def run_login(options: LoginOptions, opts: GlobalOptions, env: Env) -> Result:
    """Verify a token and a workspace, then save them as a profile and make it active."""
    try:
        return await _log_in(options, opts, env)
    except BpError as error:
        if _at_sandbox(options.api_url, env) and DEFAULT_APP_URL in (error.hint or ""):
            _list_demo_tokens(env)  # the real web app makes no token the sandbox knows
            error.hint = SANDBOX_HINT
        raise


async def _log_in(options: LoginOptions, opts: GlobalOptions, env: Env) -> Result:
    interactive = env.interactive and not opts.confirm
    config = env.config.load()
    target = _target(options, opts, env, config)
    command = _given_command(options)
    token = _given_token(options, opts, env) if command is None else None
    workspace_id = options.workspace_id or env.environ.get("BP_WORKSPACE_ID") or None
    if workspace_id is not None:
        check_workspace_id(workspace_id)
    if command is not None:
        from bpshell.token_command import run_command

        token = await run_command(command, env, None)
    elif token is None:
        token, command = await _stored_or_asked_token(
            target, options, env, interactive, workspace_id
        )
    client = env.api(target.api_url, token)
    kept = False  # the profile's workspace, taken without asking
    if workspace_id is None:
        workspace_id, kept = await _choose_workspace(target, client, env, interactive)
    from bpshell.api import verify

    verification = await verify(client, workspace_id, role=True)
    if not verification.ok:
        error = await _explained(verification, client, target if kept else None)
        if verification.status == "invalid" and command is not None:
            error.hint = "the token command printed it: store a valid token where it reads it"
        elif verification.status == "invalid" and opts.profile:
            page = tokens_page(target.api_url)
            error.hint = f"make a new one at {page} and run: bp login -p {clean(target.name)}"
        raise error
    assert verification.workspace is not None and verification.account is not None
    if not await _may_replace(target, token, verification.account, opts, env):
        keep = worded(opts, "to keep both logins, use another profile: bp login -p NAME")
        return Result(
            {"loggedIn": False},
            "Login cancelled; nothing was changed.",
            ExitStatus.FAILURE,
            (keep,),
        )
    storage = await _save(target, token, verification, options, env, command)
    drop_workspaces(env.home, target.name)
    _say_what_changed(target, verification.workspace, config, opts, env)
    if command is not None:
        _say_only_the_command_is_stored(env, target.name, command, token)
    label = workspace_label(verification.workspace.name, workspace_id)
    email = clean(verification.account.email)
    role = verification.role
    _warn_of_the_role(role, label, env)
    return Result(
        {
            "profile": target.name,
            "workspaceId": workspace_id,
            "workspaceName": verification.workspace.name,
            "apiUrl": target.api_url,
            "account": verification.account.email,
            "role": role,
            "tokenStorage": storage,
        },
        f"Logged in to workspace {label} as {email}"
        + (f" ({clean(role)})" if role else "")
        + f' — profile "{clean(target.name)}"',
    )


def _target(options: LoginOptions, opts: GlobalOptions, env: Env, config: ConfigFile) -> _Target:
    name = check_profile_name(opts.profile) if opts.profile else config.active() or DEFAULT_PROFILE
    existing = config.profiles.get(name)
    api_url = (
        options.api_url
        or env.environ.get("BP_API_URL")
        or (existing.apiUrl if existing else None)
        or (env.sandbox.url if env.sandbox else DEFAULT_API_URL)
    )
    return _Target(name, existing, check_api_url(api_url))


def _given_command(options: LoginOptions) -> str | None:
    """``--token-command``, checked: it splits into words and no flag contradicts it."""
    if options.token_command is None:
        return None
    if options.token is not None:
        raise UsageError("--token and --token-command contradict each other", "pass one of them")
    if options.insecure_storage:
        raise UsageError(
            "--insecure-storage stores a token, and --token-command stores none",
            "leave --insecure-storage out",
        )
    from bpshell.token_command import check_command

    return check_command(options.token_command)


def _say_only_the_command_is_stored(env: Env, name: str, command: str, token: str) -> None:
    if env.token_commands is not None:  # a shell session goes on with it, without a rerun
        env.token_commands.remember(env, name, command, token)
    env.err(
        "note: the token is not stored: bp runs the token command whenever it needs the token "
        "(once per bp shell session)"
    )
    if env.environ.get("BP_TOKEN"):
        env.err(
            "note: BP_TOKEN is set in this environment, so commands use it, not the token "
            "command. Run: unset BP_TOKEN"
        )


def _given_token(options: LoginOptions, opts: GlobalOptions, env: Env) -> str | None:
    if options.token == "-":
        if env.stdin.isatty():
            raise UsageError(
                "--token - reads the token from stdin, but stdin is a terminal",
                "pipe it in (bp login --token - < file) or run bp login to be asked for it",
            )
        text = env.stdin.read(8192).strip()
        if not text:
            raise UsageError("--token -: stdin was empty", "pipe the token into bp login --token -")
        return check_token(text)
    if options.token is not None:
        if not opts.confirm and env.environ.get("CI", "").strip().lower() not in TRUE_WORDS:
            env.err(worded(opts, ARGV_TOKEN_HINT))
        return check_token(options.token)
    from_env = env.environ.get("BP_TOKEN")
    return check_token(from_env) if from_env else None


async def _may_replace(
    target: _Target, token: str, account: Account, opts: GlobalOptions, env: Env
) -> bool:
    """Whether the login may go into ``target``: always when the profile is new or holds a
    login of the same account (a new token, another workspace); else only when the user says
    so (``-y``, or yes on a terminal); with no one to ask, refused (exit 2)."""
    existing = target.existing
    if existing is None or await _same_account(target, token, account, env):
        return True
    label = workspace_label(existing.workspaceName, existing.workspaceId)
    question = (
        f'Profile "{clean(target.name)}" holds a login of another account, on workspace {label}. '
        f"Replace it with {clean(account.email)}'s?"
    )
    try:
        return await confirm(env, question, yes=opts.confirm)
    except UsageError as refused:
        refused.hint = "pass -y to replace it, or -p NAME to keep both"
        raise


async def _same_account(target: _Target, token: str, account: Account, env: Env) -> bool:
    existing = target.existing
    assert existing is not None
    if existing.accountId is not None:
        return existing.accountId == account.id
    # A login of an older bpshell, which did not note the account: the same token is.
    stored, _ = await read_token(env.keyring, target.name, existing, lambda text: None)
    return stored == token


def _warn_of_the_role(role: str | None, label: str, env: Env) -> None:
    from bpshell.api import CANNOT_DEPLOY

    if role in CANNOT_DEPLOY:
        env.err(
            f"warning: as {'a' if role == 'viewer' else 'the'} {role} of {label}, this login "
            "cannot deploy bots; ask an administrator of the workspace for the developer role"
        )


def _say_what_changed(
    target: _Target, workspace: Workspace, before: ConfigFile, opts: GlobalOptions, env: Env
) -> None:
    """Name what a login replaced or switched, so that nothing changes unsaid."""
    existing = target.existing
    if existing is not None and existing.workspaceId != workspace.id:
        old = workspace_label(existing.workspaceName, existing.workspaceId)
        env.err(
            worded(
                opts,
                f'note: profile "{clean(target.name)}" was on workspace {old}; '
                "that login is replaced; to keep both, use another profile: bp login -p NAME",
            )
        )
    previous = before.active()
    if previous is not None and previous != target.name:
        env.err(
            worded(
                opts,
                f'Active profile is now "{clean(target.name)}" (was "{clean(previous)}"); '
                f"switch back with: bp profiles use {clean(previous)}",
            )
        )
    elif previous is None and set(before.profiles) - {target.name}:
        env.err(worded(opts, f'Active profile is now "{clean(target.name)}"'))


async def _stored_or_asked_token(
    target: _Target, options: LoginOptions, env: Env, interactive: bool, workspace_id: str | None
) -> tuple[str, str | None]:
    """The profile's own token (and its token command, which is then kept), or one asked for."""
    from bpshell.token_command import runner_of

    stored: str | None = None
    kept: str | None = None
    existing = target.existing
    if target.same_api and existing is not None:
        run = runner_of(env)
        stored, storage = await read_token(env.keyring, target.name, existing, env.err, run)
        kept = existing.tokenCommand if storage == "command" else None
    if stored is not None and (workspace_id is not None or not interactive):
        return stored, kept
    if not interactive:
        raise UsageError(
            "no token given",
            "pass --token - (reads stdin) or set BP_TOKEN; make a token at "
            + tokens_page(target.api_url),
        )
    page = tokens_page(target.api_url)
    if stored is None and _at_sandbox(target.api_url, env):
        _list_demo_tokens(env)
    elif stored is None:
        opened = not options.no_browser and env.browser(page)
        env.err(f"{'Opened' if opened else 'Create a Personal Access Token at'} {page}")
    keeps = " (Enter keeps the token command)" if kept else " (Enter keeps the stored one)"
    label = "Personal Access Token" + (keeps if stored else "") + ": "
    while True:
        answer = (await env.prompter.secret(label)).strip()
        if not answer and stored is not None:
            return stored, kept
        if answer:
            try:
                return check_token(answer), None
            except UsageError as exc:
                env.err(exc.message)


def _at_sandbox(api_url: str | None, env: Env) -> bool:
    """Whether a login goes to the sandbox this session runs on (``bp shell --sandbox``)."""
    sandbox = env.sandbox
    return sandbox is not None and (api_url or sandbox.url).rstrip("/") == sandbox.url


def _list_demo_tokens(env: Env) -> None:
    assert env.sandbox is not None
    env.err("This is the sandbox: log in with one of its demo tokens (fake):")
    for line in env.sandbox.tokens:
        env.err(line)


async def _choose_workspace(
    target: _Target, client: ApiClient, env: Env, interactive: bool
) -> tuple[str, bool]:
    """The workspace to log in to, and whether it is the profile's, kept without asking."""
    current = target.existing.workspaceId if target.same_api and target.existing else None
    if current is not None and not interactive:
        return current, True
    try:
        workspaces = await client.list_workspaces()
    except ApiError as exc:
        if interactive or isinstance(exc, AuthError):  # no workspace ID makes a token good
            raise
        raise UsageError("no workspace given", "pass --workspaceId ID") from exc
    if len(workspaces) == 1:  # nothing to choose: with or without a terminal
        only = workspaces[0]
        env.err(f"Using the token's only workspace, {workspace_label(only.name, only.id)}")
        return only.id, False
    if not interactive:
        raise UsageError("no workspace given", f"pass --workspaceId ID; {_known(workspaces)}")
    if not workspaces:
        raise BpError(
            "this token cannot use any workspace", f"create one at {app_url(target.api_url)}"
        )
    choices = [(w.id, w.name) for w in workspaces]
    rows = [(w.name, w.id) for w in workspaces]
    return await env.prompter.choose("Workspace", choices, current, rows=rows), False


def _known(workspaces: list[Workspace], limit: int = 10) -> str:
    if not workspaces:
        return "this token cannot use any workspace"
    shown = ", ".join(workspace_label(w.name, w.id) for w in workspaces[:limit])
    more = f", … ({len(workspaces)} in all)" if len(workspaces) > limit else ""
    return f"this token can use: {shown}{more}"


async def _explained(
    verification: Verification, client: ApiClient, kept: _Target | None = None
) -> BpError:
    """The refusal, with the workspaces the token can use; ``kept``: the workspace was that
    profile's, not asked for, so say whose it is and how to log in anyway."""
    error = verification.error
    account = verification.account
    assert error is not None
    if verification.status in ("forbidden", "not_found") and account is not None:
        try:
            workspaces = await client.list_workspaces()
        except ApiError:
            return error
        error.hint = _known(workspaces)
        existing = kept.existing if kept is not None else None
        if kept is None or existing is None:
            return error
        if existing.accountId in (None, account.id):
            error.message += f' (profile "{clean(kept.name)}" has it)'
            error.hint += "; pass --workspaceId ID"
        else:  # the profile's login is another account's: that is what to decide
            label = workspace_label(existing.workspaceName, existing.workspaceId)
            error.message = (
                f'profile "{clean(kept.name)}" holds a login of another account, on workspace '
                f"{label}, which this token cannot use"
            )
            error.hint += "; pass --workspaceId ID to replace that login, or -p NAME to keep both"
    return error


async def _save(
    target: _Target,
    token: str,
    verification: Verification,
    options: LoginOptions,
    env: Env,
    command: str | None = None,
) -> Storage:
    """Token and profile as one unit (:mod:`bpshell.credentials`): all of it or none. With
    ``command`` the profile keeps that command, and the token is stored nowhere."""
    from bpshell.credentials import unit, warn_left

    if options.insecure_storage:
        env.err(
            "warning: --insecure-storage: the token is stored in plain text in config.json (0600)"
        )
    storage: Storage = "file"
    async with unit(env) as change:
        stored = command is None and not options.insecure_storage
        key = await change.put(target.name, token) if stored else None
        storage = "command" if command is not None else "file" if key is None else "keyring"
        old = change.config.profiles.get(target.name)
        workspace, account = verification.workspace, verification.account
        assert workspace is not None and account is not None
        change.config.profiles[target.name] = Profile(
            apiUrl=target.api_url,
            workspaceId=workspace.id,
            workspaceName=workspace.name,
            token=token if key is None and command is None else None,
            tokenKey=key,
            accountId=account.id,
            tokenCommand=command,
            **(dict(old.extra) if old else {}),
        )
        change.config.activeProfile = target.name
    warn_left(env, change)
    return storage


async def run_logout(options: LogoutOptions, opts: GlobalOptions, env: Env) -> Result:
    """Remove the credentials of the active profile, a named one (-p) or all (--all): the
    profile, and its token from every store that may hold one (tokens an interrupted or
    keyring-less run left behind included). What could not be removed is said, and kept in
    config.json's journal so that the next logout tries again."""
    from bpshell.credentials import owner, unit, warn_left
    from bpshell.profiles import fall_back, storage_of

    removed: dict[str, Profile] = {}
    tokens: dict[str, str | None] = {}
    left: dict[str, str] = {}
    revoked: Any = None
    after: str | None = None
    if env.config.exists():
        if options.all and not await _may_log_out_all(opts, env):
            return Result({"removed": [], "left": []}, "Nothing was removed.", ExitStatus.FAILURE)
        if options.revoke:  # server-side first: nothing is logged out while the token works
            from bpshell.pats import revoke_before_logout

            names = _logout_names(options, opts, env.config.load())
            revoked = await revoke_before_logout(env, names, yes=opts.confirm)
        async with unit(env) as change:
            active = change.config.active()
            for name in _logout_names(options, opts, change.config):
                tokens[name] = await change.read(name)
                removed[name] = change.config.profiles.pop(name)
            after = fall_back(change.config, active)
        left = change.left
        warn_left(env, change)
    for name in removed:
        drop_workspaces(env.home, name)
    from bpshell.official import sweep_left_homes

    sweep_left_homes(env.home, env.debug)  # and the token a bp exec killed with SIGKILL left
    kept = {owner(user): user for user in left}
    lines = [_logout_line(name, profile, name in kept) for name, profile in removed.items()]
    _note_official_copies(env, {n: t for n, t in tokens.items() if t})
    if after:
        env.err(worded(opts, after))
    if "BP_TOKEN" in env.environ:
        env.err(BP_TOKEN_STAYS_IN_SHELL if opts.in_shell else BP_TOKEN_STAYS)
    elif not removed and not left:
        env.err("Not logged in; nothing to remove.")
    data = {
        "removed": [
            {
                "profile": n,
                "workspaceId": p.workspaceId,
                "tokenStorage": storage_of(p),
                "tokenRemoved": n not in kept,
            }
            for n, p in removed.items()
        ],
        "left": [{"profile": owner(u), "keyringUser": u} for u in left],
    }
    if options.revoke:
        data["revoked"] = revoked
    status = ExitStatus.FAILURE if left else ExitStatus.OK
    return Result(data, "\n".join(lines), status)


async def _may_log_out_all(opts: GlobalOptions, env: Env) -> bool:
    names = sorted(env.config.load().profiles)
    if not names:
        return True
    shown = [clean(n) for n in names]
    # Four names fit where three and "…" would; past four, the first three stand for them.
    listed = ", ".join(shown if len(shown) <= 4 else [*shown[:3], "…"])
    count = f"{len(names)} profile{'s' * (len(names) != 1)}"
    return await confirm(env, f"Log out of {count} ({listed})?", yes=opts.confirm)


def _logout_names(options: LogoutOptions, opts: GlobalOptions, config: ConfigFile) -> list[str]:
    if options.all:
        return list(config.profiles)
    if opts.profile:
        return [opts.profile] if opts.profile in config.profiles else []
    active = config.active()
    return [active] if active else []


def _logout_line(name: str, profile: Profile, token_left: bool) -> str:
    label = workspace_label(profile.workspaceName, profile.workspaceId)
    if token_left:
        return (
            f'Logged out of profile "{clean(name)}", workspace {label}: '
            "removed its workspace ID and "
            "API URL; its token is still in the keyring"
        )
    if profile.tokenCommand is not None:
        return (
            f'Logged out of profile "{clean(name)}", workspace {label}: removed its token command '
            "(the token stays where the command reads it), its workspace ID and API URL"
        )
    where = "config.json" if profile.token is not None else "the keyring"
    return (
        f'Logged out of profile "{clean(name)}", workspace {label}: '
        f"removed its token from {where}, "
        "its workspace ID and API URL"
    )


def _note_official_copies(env: Env, tokens: dict[str, str]) -> None:
    """Point at the official CLI's plain-text files that still hold a token just logged out."""
    from bpshell.official import official_files

    if not official_files(env.home):
        return
    from bpshell.official.files import official_copies

    for name, path in official_copies(env.home, tokens):
        env.err(
            f"note: {path} (the official Botpress CLI's file) still holds the token of profile "
            f'"{clean(name)}" in plain text; delete its "token" field there, or log out with '
            "the official CLI too"
        )
