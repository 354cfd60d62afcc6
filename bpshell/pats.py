"""``bp tokens …``: the account's Personal Access Tokens, listed, created, rotated and revoked.

The API lists PATs by id, note and date, never by value, and never says which PAT a given
token is. So bpshell keeps the id (and the date) of every token it creates in the profile
that stores it (``tokenId``, ``tokenCreatedAt``); for a token pasted at login it asks, or
takes a flag, before it revokes anything.

A rotation keeps a working token in the profile whatever stops it: the new token is created
and verified, then stored in place of the old one as one credentials unit
(:mod:`bpshell.credentials`), and only then is the old one deleted. A new token that could not
be stored is deleted again (a Ctrl-C waits for that); a failed deletion of the old one keeps
the new token and names the command that retries it. A token value is never shown, except
the one ``bp tokens create`` prints, once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bpshell.commands import (
    GlobalOptions,
    NoOptions,
    TokensCreateOptions,
    TokensRevokeOptions,
    TokensRotateOptions,
)
from bpshell.config import ConfigFile, Profile, check_api_url, check_profile_name
from bpshell.env import Env
from bpshell.errors import (
    AuthError,
    BpError,
    ExitStatus,
    NetworkError,
    NotFoundError,
    NotLoggedInError,
    ServerError,
    UsageError,
)
from bpshell.profiles import Resolved, resolve
from bpshell.prompts import confirm
from bpshell.render import Result, clean, table
from bpshell.tokens import read_token

if TYPE_CHECKING:
    from bpshell.answers import NewPat
    from bpshell.api import ApiClient, Verification
    from bpshell.tokens import Storage


AGE_HINT_DAYS = 90  # past this, `profiles active` suggests a rotation
MAX_NOTE_CHARS = 200  # a note is a label; the API's own limit is not documented
DISCARD_TIMEOUT_S = 10.0
KEEP = "keep"  # the choice that revokes nothing (PAT ids never are this word)
_TOKEN_LIKE = re.compile(r"bp_(?:pat|bak|iak)_")


def now_utc() -> datetime:
    """The time ages are counted to."""
    return datetime.now(UTC)


def created_at(text: str | None) -> datetime | None:
    """The API's ``createdAt`` (ISO 8601, ``Z`` or an offset; none is taken as UTC)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def age_days(created: str | None, now: datetime) -> int | None:
    """Whole days from ``created`` to ``now`` (0 for a clock that is behind); None if unknown."""
    when = created_at(created)
    return None if when is None else max(0, (now - when).days)


def age_text(days: int | None) -> str:
    """``today``, ``1 day``, ``12 days``; ``?`` when unknown."""
    if days is None:
        return "?"
    return "today" if days == 0 else f"{days} day{'s' * (days != 1)}"


def token_age_lines(profile: Profile, now: datetime, name: str | None = None) -> list[str]:
    """For ``bp profiles active`` (when the token in force is the profile's): ``Token age: 12
    days``, and past :data:`AGE_HINT_DAYS` the command that rotates it; nothing when the
    token's date is unknown (a token pasted at login). ``name`` adds ``-p NAME`` to it."""
    days = age_days(profile.tokenCreatedAt, now)
    if days is None:
        return []
    lines = [f"Token age: {age_text(days)}"]
    if days > AGE_HINT_DAYS:
        where = f" -p {clean(name)}" if name else ""
        lines.append(
            f"hint: this token is {days} days old; rotate it with: bp tokens rotate{where}"
        )
    return lines


# --- bp tokens list ------------------------------------------------------------------------


async def run_list(options: NoOptions, opts: GlobalOptions, env: Env) -> Result:
    """The account's PATs, oldest first; the one in force is marked when its id is known."""
    config = env.config.load()
    resolved, client = await _in_force(opts, env, config)
    pats = await client.list_pats()
    now = now_utc()
    current = _known_id(resolved, config)
    users = _users_by_id(config, resolved.api_url)
    rows: list[dict[str, Any]] = [
        {
            "id": pat.id,
            "note": pat.note,
            "createdAt": pat.createdAt,
            "ageDays": age_days(pat.createdAt, now),
            "current": pat.id == current,
            "profiles": users.get(pat.id, []),
        }
        for pat in pats
    ]
    if current is None and resolved.token_source in ("keyring", "file") and len(pats) > 1:
        env.err(
            f'note: bpshell does not know which of these profile "{clean(resolved.profile or "")}"'
            " uses (its token was pasted at login); after bp tokens rotate it does"
        )
    cells = [
        [
            "*" if row["current"] else "",
            row["id"],
            row["note"] or "(no note)",
            _date(row["createdAt"]),
            age_text(row["ageDays"]),
            ", ".join(row["profiles"]),
        ]
        for row in rows
    ]
    return Result(rows, table(["", "ID", "NOTE", "CREATED", "AGE", "PROFILES"], cells))


def _date(text: str) -> str:
    when = created_at(text)
    return when.date().isoformat() if when is not None else text


def _known_id(resolved: Resolved, config: ConfigFile) -> str | None:
    """The PAT id of the token in force, when it is a profile's and bpshell made it."""
    if resolved.profile is None or resolved.token_source not in ("keyring", "file"):
        return None
    profile = config.profiles.get(resolved.profile)
    return profile.tokenId if profile is not None else None


def _users_by_id(config: ConfigFile, api_url: str) -> dict[str, list[str]]:
    """PAT id -> the profiles of this API URL that store that token (ids are per API)."""
    users: dict[str, list[str]] = {}
    for name in sorted(config.profiles):
        profile = config.profiles[name]
        if profile.tokenId and profile.apiUrl == api_url:
            users.setdefault(profile.tokenId, []).append(name)
    return users


async def _in_force(
    opts: GlobalOptions, env: Env, config: ConfigFile
) -> tuple[Resolved, ApiClient]:
    """The credentials in force (flags, ``BP_*``, profiles) and a client for them."""
    resolved = await resolve(opts, env, config)
    if resolved.token is None:
        if resolved.profile is None:
            raise NotLoggedInError("Not logged in", "Run: bp login")
        name = clean(resolved.profile)
        raise NotLoggedInError(f'no token found for profile "{name}"', f"Run: bp login -p {name}")
    return resolved, env.api(resolved.api_url, resolved.token)


# --- bp tokens create ----------------------------------------------------------------------


async def run_create(options: TokensCreateOptions, opts: GlobalOptions, env: Env) -> Result:
    """Mint a PAT with the token in force. Its value is printed once, or, with ``--save-as``,
    stored as a new profile (verified first, keyring first) and never printed."""
    note = _checked_note(options.note)
    config = env.config.load()
    save_as = _new_profile_name(options.save_as, config) if options.save_as else None
    resolved, client = await _in_force(opts, env, config)
    if save_as is not None and resolved.workspace_id is None:
        raise UsageError(
            "--save-as needs a workspace for the new profile, and none is in force",
            "set BP_WORKSPACE_ID, or create the token from a profile: -p NAME",
        )
    pat = await _create(client, note, env)
    if save_as is None:
        if env.stdout.isatty():
            env.err(
                "This is the only time this token is shown: store it now. "
                f"Revoke it with: bp tokens revoke {pat.id}"
            )
        data = {"id": pat.id, "note": pat.note, "createdAt": pat.createdAt, "value": pat.value}
        return Result(data, pat.value)
    assert resolved.workspace_id is not None
    async with _discarded_on_failure(client, pat, env, save_as):
        verification = await _checked(env, resolved.api_url, pat, resolved.workspace_id)
        storage = await _save_profile(env, save_as, pat, resolved.api_url, verification)
    data = {
        "id": pat.id,
        "note": pat.note,
        "createdAt": pat.createdAt,
        "profile": save_as,
        "tokenStorage": storage,
    }
    text = (
        f'Created token {pat.id} ("{clean(pat.note)}") and saved it as profile "{save_as}" '
        f"(token in {'the keyring' if storage == 'keyring' else 'config.json'}); "
        f"use it with: bp -p {save_as} …"
    )
    return Result(data, text)


def _checked_note(note: str | None) -> str:
    text = (note or "").strip()
    if not text:
        raise UsageError(
            "'bp tokens create' needs --note NOTE",
            "say what the token is for: bp tokens create --note 'deploys from CI'",
        )
    if _TOKEN_LIKE.search(text):  # the note is listed in clear on every machine of the account
        raise UsageError(
            "the note looks like a token, so it was not sent",
            "a note is a label, such as the machine or the job the token is for",
        )
    if not text.isprintable() or len(text) > MAX_NOTE_CHARS:
        raise UsageError(
            f"a note is at most {MAX_NOTE_CHARS} printable characters",
            "say what the token is for, e.g. --note 'deploys from CI'",
        )
    return text


def _new_profile_name(name: str, config: ConfigFile) -> str:
    check_profile_name(name)
    if name in config.profiles:
        raise UsageError(
            f'a profile named "{name}" already exists',
            f"choose another name, or remove it first: bp profiles rm {name}",
        )
    return name


async def _create(client: ApiClient, note: str, env: Env) -> NewPat:
    """A new PAT; when the answer was lost, says that one may exist all the same."""
    maybe_made = (
        f'a token noted "{clean(note)}" may have been created all the same: look for it in '
        "bp tokens list and revoke it"
    )
    try:
        return await client.create_pat(note)
    except (NetworkError, ServerError) as exc:
        exc.hint = f"{maybe_made}, then try again"
        raise
    except BaseException as exc:
        if not isinstance(exc, BpError):  # interrupted while the server may be making it
            env.err(f"note: {maybe_made}")
        raise


async def _checked(env: Env, api_url: str, pat: NewPat, workspace_id: str) -> Verification:
    """The new token verified as login verifies one; an error when it does not work."""
    from bpshell.api import verify

    verification = await verify(env.api(api_url, pat.value), workspace_id)
    if not verification.ok:
        error = verification.error
        reason = error.message if error is not None else verification.status
        raise BpError(
            clean(f"the new token {pat.id} did not pass the check ({reason})"),
            "nothing was changed; try again later",
        )
    return verification


@contextlib.asynccontextmanager
async def _discarded_on_failure(
    client: ApiClient, pat: NewPat, env: Env, name: str
) -> AsyncIterator[None]:
    """Delete ``pat`` again when the block fails or is interrupted before profile ``name``
    stores it; once stored (a failure after the switch), it is the profile's working token."""
    try:
        yield
    except BaseException:
        if not _stored(env, name, pat):
            await _discard(client, pat, env)
        raise


def _stored(env: Env, name: str, pat: NewPat) -> bool:
    try:
        profile = env.config.load().profiles.get(name)
    except BpError:
        return True  # cannot tell: a token left unused is better than a profile without one
    return profile is not None and profile.tokenId == pat.id


async def _discard(client: ApiClient, pat: NewPat, env: Env) -> None:
    """Delete a PAT bpshell made and did not store, within :data:`DISCARD_TIMEOUT_S`.

    A Ctrl-C cancels the task once (``asyncio.run``) or keeps cancelling it (the shell's
    cancel scope): the first is taken here and delivered after, the second shielded from,
    so that the interruption stops the command without leaving a token nobody knows of.
    """
    import anyio
    import anyio.lowlevel

    pending: BaseException | None = None
    try:
        await anyio.lowlevel.checkpoint()
    except anyio.get_cancelled_exc_class() as exc:
        pending = exc
    reason: str | None = None
    with anyio.CancelScope(shield=True), anyio.move_on_after(DISCARD_TIMEOUT_S) as scope:
        try:
            await client.delete_pat(pat.id)
        except NotFoundError:
            pass
        except BpError as exc:
            reason = exc.message
    if scope.cancelled_caught:
        reason = f"no answer within {DISCARD_TIMEOUT_S:g} s"
    if reason is not None:
        env.err(
            clean(
                f"warning: the new token {pat.id} was not stored and could not be deleted "
                f"({reason}); revoke it with: bp tokens revoke {pat.id}"
            )
        )
    if pending is not None:
        raise pending


async def _save_profile(
    env: Env, name: str, pat: NewPat, api_url: str, verification: Verification
) -> Storage:
    """``pat`` as the new profile ``name``, token and profile as one unit, as login saves."""
    from bpshell.credentials import unit, warn_left

    workspace, account = verification.workspace, verification.account
    assert workspace is not None and account is not None
    async with unit(env) as change:
        if name in change.config.profiles:  # made by another bp since the check
            raise BpError(f'a profile named "{name}" was created meanwhile', "nothing was saved")
        key = await change.put(name, pat.value)
        change.config.profiles[name] = Profile(
            apiUrl=api_url,
            workspaceId=workspace.id,
            workspaceName=workspace.name,
            token=pat.value if key is None else None,
            tokenKey=key,
            accountId=account.id,
            tokenId=pat.id,
            tokenCreatedAt=pat.createdAt,
        )
    _check_committed(change.interrupted)
    warn_left(env, change)
    return "file" if key is None else "keyring"


def _check_committed(interrupted: bool) -> None:
    """A unit a signal interrupted is undone: say so (the signal follows at the next await)."""
    if interrupted:
        raise BpError("interrupted before the new token was stored", "nothing was changed")


# --- bp tokens rotate ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Rotation:
    name: str
    profile: Profile
    api_url: str
    token: str


async def run_rotate(options: TokensRotateOptions, opts: GlobalOptions, env: Env) -> Result:
    """Replace the profile's token with a new PAT, then revoke the old one."""
    if options.keep_old and options.revoke_old:
        raise UsageError("--keep-old and --revoke-old contradict each other", "pass one of them")
    config = env.config.load()
    rotation = await _rotation(opts, env, config)
    old = env.api(rotation.api_url, rotation.token)
    sharing = await _sharing(env, config, rotation)
    old_id = await _old_id(options, opts, env, rotation, old, config, sharing)
    pat = await _create(old, _rotation_note(rotation.name), env)
    async with _discarded_on_failure(old, pat, env, rotation.name):
        await _checked(env, rotation.api_url, pat, rotation.profile.workspaceId)
        storage, updated = await _store_rotated(env, [rotation.name, *sharing], rotation.token, pat)
    # From here the profiles hold the new token; the old one is only revoked.
    new = env.api(rotation.api_url, pat.value)
    outcome = await _revoke_old(new, old_id, rotation, env) if old_id else "kept"
    data = {
        "profile": rotation.name,
        "tokenId": pat.id,
        "note": pat.note,
        "createdAt": pat.createdAt,
        "tokenStorage": storage,
        "profilesUpdated": updated,
        "oldTokenId": old_id,
        "oldToken": outcome,
    }
    lines = [
        f'Profile "{clean(rotation.name)}" now uses a new token, {pat.id} '
        f"(in {'the keyring' if storage == 'keyring' else 'config.json'})"
    ]
    lines += [
        f'Profile "{clean(n)}" used the same token: it uses the new one too' for n in updated[1:]
    ]
    lines.append(_outcome_line(outcome, old_id, options))
    status = ExitStatus.FAILURE if outcome == "not_revoked" else ExitStatus.OK
    return Result(data, "\n".join(lines), status)


async def _rotation(opts: GlobalOptions, env: Env, config: ConfigFile) -> _Rotation:
    """The profile to rotate and its stored token (never ``BP_TOKEN``: it is no profile's)."""
    if env.environ.get("BP_TOKEN"):
        raise UsageError(
            "BP_TOKEN is set, so commands use it, not a profile's token: bp tokens rotate "
            "replaces a stored token",
            "unset BP_TOKEN to rotate the profile's token, or mint one: bp tokens create --note",
        )

    # Not a token command's: its token is the secret manager's to replace, not bpshell's.
    resolved = await resolve(opts, env.derived(token_commands=None), config)
    if resolved.profile is None:
        raise NotLoggedInError("Not logged in", "Run: bp login")
    name = resolved.profile
    profile = config.profiles[name]
    if resolved.token_source == "command":
        raise UsageError(
            f'profile "{clean(name)}" takes its token from a command, so bp tokens rotate has '
            "nowhere to store a new one",
            "make one with bp tokens create --note NOTE, put it where the command reads it, "
            "then revoke the old one: bp tokens revoke ID",
        )
    if resolved.token is None:
        raise NotLoggedInError(
            f'no token found for profile "{clean(name)}"', f"Run: bp login -p {clean(name)}"
        )
    return _Rotation(name, profile, check_api_url(profile.apiUrl), resolved.token)


def _rotation_note(name: str) -> str:
    """``bp tokens rotate: profile NAME on HOST, 2025-06-01``: where a listed token lives."""
    import socket

    host = "".join(ch for ch in socket.gethostname() if ch.isprintable())[:64] or "?"
    return f"bp tokens rotate: profile {name} on {host}, {now_utc().date().isoformat()}"


async def _sharing(env: Env, config: ConfigFile, rotation: _Rotation) -> list[str]:
    """The other profiles that store the same token, which a rotation moves along: revoking
    it under them would break them."""
    token_id = rotation.profile.tokenId
    others = {
        n: p
        for n, p in config.profiles.items()
        if n != rotation.name and p.apiUrl == rotation.profile.apiUrl
    }
    tokens = await _tokens_of(env, others)
    return sorted(
        n
        for n, p in others.items()
        if tokens[n] == rotation.token or (token_id is not None and p.tokenId == token_id)
    )


def _id_among(config: ConfigFile, names: Iterable[str]) -> str | None:
    """The PAT id of a token some profiles of ``names`` store (the same token), if one knows."""
    return next((i for n in names if (i := config.profiles[n].tokenId) is not None), None)


async def _tokens_of(env: Env, profiles: dict[str, Profile]) -> dict[str, str | None]:
    """The stored token of each profile; None when it cannot be read (no warning: these are
    only compared)."""
    found: dict[str, str | None] = {}
    for name, profile in profiles.items():
        found[name], _ = await read_token(env.keyring, name, profile, lambda text: None)
    return found


async def _old_id(
    options: TokensRotateOptions,
    opts: GlobalOptions,
    env: Env,
    rotation: _Rotation,
    client: ApiClient,
    config: ConfigFile,
    sharing: Sequence[str],
) -> str | None:
    """The PAT to revoke once the new token is stored (None: keep it); decided, and any
    question asked, before anything is created."""
    known = _id_among(config, [rotation.name, *sharing])
    name = clean(rotation.name)
    if options.keep_old:
        return None
    if options.revoke_old is not None:
        wanted = _checked_id(options.revoke_old, "--revoke-old")
        if known is not None and wanted != known:
            raise UsageError(
                f'profile "{name}" uses token {known}, and --revoke-old names another',
                "leave --revoke-old out to revoke the profile's own token",
            )
        if known is None:
            pats = await client.list_pats()
            if wanted not in {p.id for p in pats}:
                raise UsageError(
                    f"this account has no token {wanted}",
                    f"see its tokens: bp tokens list -p {name}",
                )
        chosen = wanted
    elif known is not None:
        return known
    elif not env.interactive or opts.confirm:
        raise UsageError(
            f'the token of profile "{name}" was pasted at login, so bpshell does not know which '
            "of the account's tokens to revoke after the rotation",
            f"pass --revoke-old ID (see bp tokens list -p {name}) or --keep-old",
        )
    else:
        asked = await _ask_old_id(env, rotation, client, config)
        if asked is None:
            return None
        chosen = asked
    _refuse_other_profiles_token(chosen, rotation, config, sharing)
    return chosen


async def _ask_old_id(
    env: Env, rotation: _Rotation, client: ApiClient, config: ConfigFile
) -> str | None:
    pats = await client.list_pats()
    now = now_utc()
    users = _users_by_id(config, rotation.api_url)
    choices = [
        (
            p.id,
            f"{p.note or '(no note)'}, created {_date(p.createdAt)} "
            f"({age_text(age_days(p.createdAt, now))})"
            + (f", profile {', '.join(users[p.id])}" if p.id in users else ""),
        )
        for p in pats
    ]
    choices.append((KEEP, "none: keep the old token (revoke it later: bp tokens revoke ID)"))
    env.err(
        f'Which of the account\'s tokens is the one profile "{clean(rotation.name)}" uses? '
        "It is revoked once the new one is stored."
    )
    answer = await env.prompter.choose("Token to revoke", choices, None)
    return None if answer == KEEP else answer


def _refuse_other_profiles_token(
    pat_id: str, rotation: _Rotation, config: ConfigFile, sharing: Sequence[str]
) -> None:
    """A token another profile is known to store (and that this rotation does not move) is
    not the old one: revoking it would break that profile."""
    moved = {rotation.name, *sharing}
    users = [n for n in _users_by_id(config, rotation.api_url).get(pat_id, []) if n not in moved]
    if users:
        raise UsageError(
            clean(f'token {pat_id} is the one profile "{users[0]}" uses, not the old token here'),
            f'pick the token profile "{clean(rotation.name)}" uses (bp tokens list), or pass '
            "--keep-old",
        )


async def _store_rotated(
    env: Env, names: list[str], old_token: str, pat: NewPat
) -> tuple[Storage, list[str]]:
    """The new token in place of the old in every profile of ``names`` that still holds the
    old one, as one unit; the first is the rotated profile, which must."""
    from bpshell.credentials import unit, warn_left

    updated: list[str] = []
    storage: Storage = "file"
    async with unit(env) as change:
        for name in names:
            profile = change.config.profiles.get(name)
            if profile is None or await change.read(name) != old_token:
                if name == names[0]:  # a login or logout by another bp since this one read it
                    raise BpError(
                        clean(f'profile "{name}" changed while its token was being rotated'),
                        "nothing was changed; run bp tokens rotate again",
                    )
                continue
            key = await change.put(name, pat.value)
            if name == names[0]:
                storage = "file" if key is None else "keyring"
            profile.token = pat.value if key is None else None
            profile.tokenKey = key
            profile.tokenId = pat.id
            profile.tokenCreatedAt = pat.createdAt
            updated.append(name)
    _check_committed(change.interrupted)
    warn_left(env, change)
    return storage, updated


async def _revoke_old(new: ApiClient, old_id: str, rotation: _Rotation, env: Env) -> str:
    """``revoked``, ``already_revoked`` or ``not_revoked`` (said, with the command to retry)."""
    retry = f"bp tokens revoke {old_id}" + _p(rotation.name, env)
    try:
        await new.delete_pat(old_id)
    except NotFoundError:
        return "already_revoked"
    except BpError as exc:
        env.err(
            clean(
                f"warning: the old token {old_id} was not revoked ({exc.message}); "
                f'profile "{rotation.name}" uses the new one. Retry with: {retry}'
            )
        )
        return "not_revoked"
    except BaseException:
        env.err(
            clean(
                f'Interrupted: profile "{rotation.name}" uses the new token; the old token '
                f"{old_id} may still work. Revoke it with: {retry}"
            )
        )
        raise
    return "revoked"


def _p(name: str, env: Env) -> str:
    """`` -p NAME`` unless ``name`` is the active profile."""
    return "" if env.config.load().active() == name else f" -p {clean(name)}"


def _outcome_line(outcome: str, old_id: str | None, options: TokensRotateOptions) -> str:
    if outcome == "revoked":
        return f"Revoked the old token, {old_id}"
    if outcome == "already_revoked":
        return f"The old token, {old_id}, was already revoked"
    if outcome == "not_revoked":
        return f"The old token, {old_id}, still works (see the warning above)"
    why = "--keep-old" if options.keep_old else "as chosen"
    return f"Kept the old token ({why}); revoke it later with: bp tokens revoke ID"


# --- bp tokens revoke ----------------------------------------------------------------------


async def run_revoke(options: TokensRevokeOptions, opts: GlobalOptions, env: Env) -> Result:
    """Delete a PAT server-side (by default the one the profile stores, when bpshell made it),
    asking first when a profile would stop working because of it."""
    config = env.config.load()
    resolved, client = await _in_force(opts, env, config)
    implied = options.id is None
    pat_id = (
        _checked_id(options.id, "ID") if options.id is not None else _implied_id(resolved, config)
    )
    users = await _users_of(env, config, resolved.api_url, pat_id)
    own = resolved.profile if implied else None
    if any(n != own for n in users) and not await _may_revoke(pat_id, users, opts, env, config):
        return Result({"revoked": None, "profiles": []}, "Nothing was revoked.", ExitStatus.FAILURE)
    try:
        await client.delete_pat(pat_id)
    except NotFoundError as exc:
        exc.hint = "see the account's tokens: bp tokens list"
        raise
    if (
        resolved.profile is not None
        and resolved.profile not in users
        and await _now_dead(client, resolved, config)
    ):
        users = [*users, resolved.profile]  # a pasted token: only its 401 tells
    lines = [f"Revoked token {pat_id}"]
    lines += [
        f'Profile "{clean(n)}" no longer works: its token was revoked. '
        f"Log in again with: bp login -p {clean(n)}"
        for n in users
    ]
    return Result({"revoked": pat_id, "profiles": users}, "\n".join(lines))


async def _may_revoke(
    pat_id: str, users: list[str], opts: GlobalOptions, env: Env, config: ConfigFile
) -> bool:
    question = (
        f"Token {pat_id} is stored by {_profiles_text(users, config)}, which will stop "
        "working. Revoke it?"
    )
    try:
        return await confirm(env, question, yes=opts.confirm)
    except UsageError as refused:
        refused.hint = "pass -y to revoke it"
        raise


def _checked_id(value: str, what: str) -> str:
    """A PAT id given on the command line; a token there is refused without being shown."""
    if _TOKEN_LIKE.search(value):
        raise UsageError(
            f"{what} looks like a token, not a token ID, so it was not used",
            "a token never goes on the command line; find the ID with: bp tokens list",
        )
    from bpshell.answers import checked_pat_id

    try:
        return checked_pat_id(value)
    except ValueError as exc:
        raise UsageError(f"invalid token ID {clean(value[:60])}", str(exc)) from None


def _implied_id(resolved: Resolved, config: ConfigFile) -> str:
    known = _known_id(resolved, config)
    if known is not None:
        return known
    where = f' profile "{clean(resolved.profile)}"' if resolved.profile else " the token in force"
    raise UsageError(
        f"no token ID given, and bpshell does not know the ID of{where}'s token (it was not "
        "created by bpshell)",
        "name it: bp tokens revoke ID (see bp tokens list)",
    )


async def _users_of(env: Env, config: ConfigFile, api_url: str, pat_id: str) -> list[str]:
    """The profiles that store PAT ``pat_id``: those that know it by id, and those that store
    the same token value."""
    same_api = {n: p for n, p in config.profiles.items() if p.apiUrl == api_url}
    by_id = {n for n, p in same_api.items() if p.tokenId == pat_id}
    if not by_id:
        return []
    tokens = await _tokens_of(env, same_api)
    values = {tokens[n] for n in by_id} - {None}
    return sorted(n for n in same_api if n in by_id or tokens[n] in values)


def _profiles_text(names: Iterable[str], config: ConfigFile) -> str:
    shown = [f'"{clean(n)}"' + (" (active)" if n == config.active() else "") for n in names]
    return ("profile " if len(shown) == 1 else "profiles ") + ", ".join(shown)


async def _now_dead(client: ApiClient, resolved: Resolved, config: ConfigFile) -> bool:
    """Whether the profile in force, whose token's id bpshell did not know, was revoked."""
    if resolved.token_source not in ("keyring", "file") or _known_id(resolved, config):
        return False
    try:
        await client.get_account()
    except AuthError:
        return True
    except BpError:
        return False
    return False


# --- bp logout --revoke --------------------------------------------------------------------


@dataclass(frozen=True)
class _Doomed:
    """A token ``bp logout --revoke`` revokes."""

    api_url: str
    token: str
    token_id: str


async def revoke_before_logout(env: Env, names: Sequence[str], *, yes: bool) -> dict[str, str]:
    """For ``bp logout --revoke``: revoke the PAT of each profile of ``names`` server-side,
    before anything local goes; profile -> outcome (``revoked``, ``already_revoked``, or
    ``invalid``: the token was refused already). Raises, with nothing revoked, when bpshell
    does not know a token's ID or the user says no; raises on a failed revocation too (the
    caller then logs nothing out: the token would be lost while it still works)."""
    config = env.config.load()
    doomed = await _doomed(env, config, names)
    await _confirm_others(env, config, doomed, yes)
    outcomes: dict[str, str] = {}
    done: dict[tuple[str, str], str] = {}
    for name, token in doomed.items():
        key = (token.api_url, token.token_id)
        if key not in done:
            client = env.api(token.api_url, token.token)
            done[key] = await _revoke_for_logout(client, token.token_id, name)
        outcomes[name] = done[key]
        env.err(f'{_LOGOUT_WORDS[outcomes[name]]} ({token.token_id}) of profile "{clean(name)}"')
    return outcomes


async def _doomed(env: Env, config: ConfigFile, names: Sequence[str]) -> dict[str, _Doomed]:
    """The token of each profile of ``names`` and its id, known by that profile or by another
    that stores the same token; a token whose id no profile knows is refused."""
    tokens = await _tokens_of(env, config.profiles)
    doomed: dict[str, _Doomed] = {}
    for name in names:
        profile, token = config.profiles.get(name), tokens.get(name)
        if profile is not None and profile.tokenCommand is not None:
            shown = clean(name)
            raise UsageError(
                f'the token of profile "{shown}" comes from a command, so bpshell does not know '
                "which of the account's tokens it is",
                f"revoke it with bp tokens revoke ID -p {shown} (see bp tokens list -p {shown}), "
                "then bp logout; nothing was changed",
            )
        if profile is None or token is None:  # nothing to revoke; logout says what it finds
            continue
        same = [n for n, p in config.profiles.items() if p.apiUrl == profile.apiUrl]
        token_id = _id_among(config, [n for n in same if tokens[n] == token])
        if token_id is None:
            shown = clean(name)
            raise UsageError(
                f'the token of profile "{shown}" was pasted at login, so bpshell does not know '
                "which of the account's tokens to revoke",
                f"revoke it with bp tokens revoke ID -p {shown} (see bp tokens list -p {shown}), "
                "then bp logout; nothing was changed",
            )
        doomed[name] = _Doomed(check_api_url(profile.apiUrl), token, token_id)
    return doomed


_LOGOUT_WORDS = {
    "revoked": "Revoked the token",
    "already_revoked": "Already revoked: the token",
    "invalid": "Already invalid: the token",
}


async def _confirm_others(
    env: Env, config: ConfigFile, doomed: dict[str, _Doomed], yes: bool
) -> None:
    """Profiles left in place that store one of the tokens to revoke stop working: ask."""
    others: set[str] = set()
    for token in doomed.values():
        others.update(await _users_of(env, config, token.api_url, token.token_id))
    others -= set(doomed)
    if not others:
        return
    question = (
        f"The token is also stored by {_profiles_text(sorted(others), config)}, which will stop "
        "working. Revoke it?"
    )
    try:
        agreed = await confirm(env, question, yes=yes)
    except UsageError as refused:
        refused.hint = "pass -y to revoke it, or log out without --revoke"
        raise
    if not agreed:
        raise BpError("nothing was revoked or logged out", "log out without --revoke to keep it")


async def _revoke_for_logout(client: ApiClient, pat_id: str, name: str) -> str:
    try:
        await client.delete_pat(pat_id)
    except AuthError:
        return "invalid"
    except NotFoundError:
        return "already_revoked"
    except BpError as exc:
        exc.hint = (
            f'profile "{clean(name)}" was not logged out, so that its token can still be '
            f"revoked: try again, or log out without --revoke and revoke it at the tokens page"
        )
        raise
    return "revoked"
