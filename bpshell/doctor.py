"""``bp doctor``: what a user would otherwise debug by hand, one line a check, with the fix.

Each check is a value (:class:`Check`): ``ok`` (✓), ``warning`` (!), ``failed`` (✗) or
``skipped`` (-, when what it needs failed first). The checks that wait on something (the
keyring, each profile's token, the API through the proxy in force, the official CLI's
version) run at the same time, each within its own deadline, and catch their expected
failures themselves: one that hangs never holds up the others' answers for longer than its
bound. The local ones (files, variables, the official CLI's files, completion) are in
:mod:`bpshell.doctor_local`.

Doctor only looks. config.json is read without the repairs a load makes, and the command is
``read_only`` in the table (no first-run import of the official CLI's files, no sweep); no
request carries a token but the profiles' own checks (as ``profiles list --verify``); a
token's value is never shown, not even masked.
"""

from __future__ import annotations

import email.utils
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from bpshell.commands.table import DEFAULT_API_URL, DoctorOptions, GlobalOptions
from bpshell.config import ConfigFile, Profile, check_api_url
from bpshell.doctor_local import (
    Check,
    check_completion,
    check_config,
    check_environment,
    check_home,
    check_official_files,
    read_regular,
)
from bpshell.env import Env
from bpshell.errors import BpError, ConfigError, ExitStatus, UsageError
from bpshell.local_profile import FILE_NAME, LOCAL, apply
from bpshell.render import Result, clean, workspace_label
from bpshell.tokens import KeyringUnavailable, read_token

if TYPE_CHECKING:
    from bpshell.api import Reached, Verification
    from bpshell.official.delegation import Lookup

CLOCK_SKEW_S = 300  # past five minutes apart, say so
PROFILE_CHECKS_AT_ONCE = 16  # each sends three requests at once
PROBE_USER = "bpshell-doctor"  # a keyring entry no one makes: reading it only asks the backend
VERSION_TIMEOUT_S = 10.0
MARKS = {"ok": "✓", "warning": "!", "failed": "✗", "skipped": "-"}
ASCII_MARKS = {"ok": "ok", "warning": "!", "failed": "X", "skipped": "-"}


async def run_doctor(options: DoctorOptions, opts: GlobalOptions, env: Env) -> Result:
    """Run every check; exit 1 when one failed (warnings do not fail)."""
    checks = await diagnose(options, opts, env)
    failed = sum(c.status == "failed" for c in checks)
    warnings = sum(c.status == "warning" for c in checks)
    data = {
        "ok": not failed,
        "failed": failed,
        "warnings": warnings,
        "checks": [c.to_json() for c in checks],
    }
    marks = MARKS if _can_show(env, "✓✗") else ASCII_MARKS
    lines = [line for c in checks for line in c.lines(marks)]
    lines += ["", _summary(failed, warnings)]
    return Result(data, "\n".join(lines), ExitStatus.FAILURE if failed else ExitStatus.OK)


def _summary(failed: int, warnings: int) -> str:
    def count(n: int, what: str) -> str:
        return f"{n} {what}{'s' * (n != 1)}"

    if not failed:
        return f"No problems; {count(warnings, 'warning')}." if warnings else "No problems found."
    return f"{count(failed, 'problem')}, {count(warnings, 'warning')}."


def _can_show(env: Env, text: str) -> bool:
    encoding = getattr(env.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


async def diagnose(options: DoctorOptions, opts: GlobalOptions, env: Env) -> list[Check]:
    """Every check, in the order they are shown."""
    opts, refused = _folder_profile(opts, env)
    home = check_home(env, opts)
    config_check, config = check_config(env, home)
    names = _profile_names(opts, config)
    in_force = None if refused else _stored_in_force(opts, env, config)
    urls = _api_urls(env, opts, config, names)
    seconds = options.timeout
    found: dict[str, Check] = {}
    tokens: dict[str, str] = {}
    reached: dict[str, Reached] = {}
    from bpshell.api import new_http_client
    from bpshell.network import Transport
    from bpshell.token_command import TokenCommandInterrupted

    http = new_http_client(env.debug, Transport(env.environ, env.debug))
    stopped: list[TokenCommandInterrupted] = []
    try:
        async with anyio.create_task_group() as group:

            def soon(key: str, check: Callable[[], Awaitable[Check]]) -> None:
                async def run() -> None:
                    try:
                        found[key] = await check()
                    except TokenCommandInterrupted as exc:  # Ctrl-C at a token command
                        stopped.append(exc)
                        group.cancel_scope.cancel()

                group.start_soon(run)

            soon("keyring", lambda: _keyring(env, config))
            if in_force is None and not refused:  # BP_* variables decide, or nothing does
                soon("in force", lambda: _in_force(opts, env, config, seconds))
            limiter = anyio.CapacityLimiter(PROFILE_CHECKS_AT_ONCE)
            for name in names:
                assert config is not None
                profile = config.profiles[name]
                mark = in_force[1] if in_force and in_force[0] == name else None
                mark = mark or ("active" if name == config.active() else None)
                soon(
                    f"profile {name}",
                    _bind(_profile, env, name, profile, mark, tokens, limiter, seconds),
                )
            for url in urls:
                soon(f"api {url}", _bind(_api, env, http, url, reached, seconds))
            soon("official cli", lambda: _official_cli(env))
    finally:
        await http.aclose()
    if stopped:  # as the interrupted command would: stop, exit 130
        raise stopped[0]
    checks = [home, config_check, found["keyring"], check_environment(env.environ)]
    if refused:  # every other command stops at the file: nothing is in force here
        unchecked = f"not checked: the {FILE_NAME} is refused"
        checks += [refused, Check("credentials", "skipped", "in force", unchecked)]
    checks += [found["in force"]] if "in force" in found else []
    checks += [found[f"profile {name}"] for name in names]
    checks += [found[f"api {url}"] for url in urls]
    checks.append(_certificates(env))
    checks.append(_clock(urls, reached))
    checks += check_official_files(env.home, set(tokens.values()))
    checks.append(found["official cli"])
    checks.append(check_completion(env.environ))
    return checks


def _bind(function: Callable[..., Awaitable[Check]], *args: Any) -> Callable[[], Awaitable[Check]]:
    return lambda: function(*args)


def _folder_profile(opts: GlobalOptions, env: Env) -> tuple[GlobalOptions, Check | None]:
    """``opts`` with the folder's ``.bp-profile`` applied, as for every other command (not read
    when ``-p`` or ``BP_PROFILE`` names a profile); when the file is refused, ``opts`` as they
    are and the failed check that says why, in the refusal's own words and fix."""
    try:
        return apply(opts, env), None
    except ConfigError as error:
        data = {"path": error.path}
        message = clean(error.message)
        return opts, Check(
            "local_profile", "failed", FILE_NAME, message, error.hint, error.path, data
        )


def _profile_names(opts: GlobalOptions, config: ConfigFile | None) -> list[str]:
    """The profiles to check: ``-p``'s (or ``BP_PROFILE``'s) alone, else every one."""
    if config is None:
        return []
    if opts.profile and opts.profile_source != LOCAL:  # a folder's pick hides no profile
        if opts.profile not in config.profiles:
            from bpshell.profiles import _unknown

            raise _unknown(opts.profile, config)
        return [opts.profile]
    return sorted(config.profiles)


OVERRIDING = ("BP_TOKEN", "BP_WORKSPACE_ID", "BP_API_URL")
PICKED = {"active": "active", "flag": "-p", "BP_PROFILE": "BP_PROFILE", LOCAL: FILE_NAME}


def _stored_in_force(
    opts: GlobalOptions, env: Env, config: ConfigFile | None
) -> tuple[str, str] | None:
    """The profile whose stored values every command would use as they are, and what picked
    it (``active``, ``-p``...); None when ``BP_*`` variables take over, or no profile is in
    force: then the credentials in force get a line of their own."""
    from bpshell.errors import BpError
    from bpshell.profiles import profile_in_use

    if config is None or any(env.environ.get(name) for name in OVERRIDING):
        return None
    try:
        name, source, _ = profile_in_use(opts, env, config)
    except BpError:  # a profile named that does not exist: its own line says so
        return None
    if name is None:
        return None
    return name, PICKED.get(source or "", source or "in force")


def _api_urls(
    env: Env, opts: GlobalOptions, config: ConfigFile | None, names: list[str]
) -> list[str]:
    """The API URLs to reach: the one in force first, then the profiles' (each once); the
    default one only when nothing names another."""
    profiles = config.profiles if config is not None else {}
    wanted = [env.environ.get("BP_API_URL") or ""]
    in_force = opts.profile or (config.active() if config is not None else None)
    if in_force in profiles:
        wanted.append(profiles[in_force].apiUrl)
    wanted += [profiles[name].apiUrl for name in names]
    urls: list[str] = []
    for url in wanted:
        try:
            checked = check_api_url(url) if url else None
        except UsageError:  # the profile's own check says so
            continue
        if checked is not None and checked not in urls:
            urls.append(checked)
    return urls or [DEFAULT_API_URL]


# --- the keyring ---------------------------------------------------------------------------


async def _keyring(env: Env, config: ConfigFile | None) -> Check:
    store = env.keyring
    users = [] if config is None else [p.keyring_user(n) for n, p in config.profiles.items()]
    in_keyring = [u for u in users if u is not None]
    try:
        await store.get(PROBE_USER)
    except KeyringUnavailable as exc:
        backend = getattr(store, "backend_name", None)
        data = {"backend": backend, "service": store.service}
        what = f"{backend}: {exc.message}" if backend else exc.message
        bypass = "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring"
        if exc.maybe_done:  # it did not answer: every command waits for it, then falls back
            fix = f"unlock or restart your keyring; {bypass} makes bp skip it"
            return Check("keyring", "failed", "keyring", clean(what), fix, data=data)
        if in_keyring:
            fix = "unlock or start your keyring (a Secret Service, Keychain), then try again"
            held = "keeps its token" if len(in_keyring) == 1 else "keep their tokens"
            message = f"{what}; {_count(len(in_keyring), 'profile')} {held} there"
            return Check("keyring", "failed", "keyring", clean(message), fix, data=data)
        if config is not None and _all_from_commands(config):
            message = f"{what}; none needed: every profile gets its token from a command"
            return Check("keyring", "skipped", "keyring", clean(message), data=data)
        message = f"{what}; tokens are kept in plain text in config.json (0600)"
        fix = "install a keyring (gnome-keyring or KeePassXC on Linux), then log in again"
        return Check("keyring", "warning", "keyring", clean(message), fix, data=data)
    backend = getattr(store, "backend_name", None)
    message = f"{backend or 'the keyring'} answers (entries of service {store.service})"
    data = {"backend": backend, "service": store.service}
    return Check("keyring", "ok", "keyring", clean(message), data=data)


def _all_from_commands(config: ConfigFile) -> bool:
    """Whether no token is stored at all: every profile runs its command (with no profile
    yet, the next login would store one)."""
    profiles = config.profiles.values()
    return bool(profiles) and all(p.tokenCommand is not None and p.token is None for p in profiles)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


# --- profiles and the credentials in force -------------------------------------------------


async def _profile(
    env: Env,
    name: str,
    profile: Profile,
    mark: str | None,
    tokens: dict[str, str],
    limiter: anyio.CapacityLimiter,
    seconds: float,
) -> Check:
    from bpshell.pats import AGE_HINT_DAYS, age_days, age_text, now_utc
    from bpshell.profiles import _check_one, fix_for, storage_of
    from bpshell.token_command import TokenCommandError, TokenCommandInterrupted, runner_of

    title = f"profile {clean(name)}" + (f" ({mark})" if mark else "")
    data: dict[str, Any] = {
        "workspaceId": profile.workspaceId,
        "apiUrl": profile.apiUrl,
        "active": mark == "active",
        "tokenStorage": storage_of(profile) if profile.tokenCommand else None,
        "tokenAgeDays": age_days(profile.tokenCreatedAt, now_utc()),
        "account": None,
        "role": None,
        "verification": "unreachable",
    }
    problems: list[str] = []
    try:  # a token command runs as for `profiles list --verify`: its stderr is the user's
        token, data["tokenStorage"] = await read_token(
            env.keyring, name, profile, problems.append, runner_of(env)
        )
    except TokenCommandInterrupted:
        raise  # Ctrl-C stops the doctor, as it stops any command
    except TokenCommandError as error:
        fix = error.hint or f"run it: bp profiles get {clean(name)} shows it"
        return Check("profile", "failed", title, clean(error.message), fix, name, data)
    storage = data["tokenStorage"]
    if token is not None:
        tokens[name] = token
    if token is None:
        why = problems[0].removeprefix("warning: ") if problems else "no token is stored for it"
        fix = f"log in again: bp login -p {clean(name)}"
        return Check("profile", "failed", title, clean(why), fix, name, data)
    async with limiter:
        verification = await _bounded(
            _check_one(profile, token, seconds, env, role=True), seconds, profile.apiUrl
        )
    data.update(
        verification=verification.status,
        account=verification.account.email if verification.account else None,
        role=verification.role,
    )
    label = workspace_label(profile.workspaceName, profile.workspaceId)
    if not verification.ok:
        message = f"{label} at {clean(profile.apiUrl)}: {_reason(verification)}"
        return Check(
            "profile", "failed", title, message, fix_for(verification, name) or _NETWORK, name, data
        )
    where = {"keyring": "in the keyring", "command": "from its command"}.get(
        storage or "", "in config.json"
    )
    days = data["tokenAgeDays"]
    age = f", {age_text(days)} old" if days is not None and days > 0 else ""
    age = ", made today" if days == 0 else age
    message = f"{_who(verification, label)}; token {where}{age}"
    if days is not None and days > AGE_HINT_DAYS:
        fix = f"rotate it: bp tokens rotate -p {clean(name)}"
        return Check("profile", "warning", title, message, fix, name, data)
    from bpshell.api import CANNOT_DEPLOY

    if verification.role in CANNOT_DEPLOY:
        message += f"; a {clean(verification.role or '')} cannot deploy bots"
        fix = "ask an administrator of the workspace for the developer role"
        return Check("profile", "warning", title, message, fix, name, data)
    return Check("profile", "ok", title, message, None, name, data)


def _who(verification: Verification, label: str) -> str:
    who = clean(verification.account.email) if verification.account else "valid"
    role = f" ({clean(verification.role)})" if verification.role else ""
    workspace = verification.workspace
    shown = workspace_label(workspace.name, workspace.id) if workspace else label
    return f"{who}{role} in {shown}"


def _reason(verification: Verification) -> str:
    return clean(verification.reason or verification.status)


_NETWORK = "check the API URL and your network (see the API line)"


async def _bounded(check: Awaitable[Verification], seconds: float, api_url: str) -> Verification:
    """A verification within ``seconds`` (and a little more for the rate limiter's waits)."""
    from bpshell.api import Verification
    from bpshell.errors import ApiTimeoutError

    with anyio.move_on_after(seconds + 1):
        return await check
    error = ApiTimeoutError(f"{api_url} did not answer within {seconds:g} s")
    return Verification("timeout", error=error)


async def _in_force(
    opts: GlobalOptions, env: Env, config: ConfigFile | None, seconds: float
) -> Check:
    """What every other command would use, and where each value came from."""
    from bpshell.profiles import _verify_resolved, fix_for, resolve

    if config is None:
        return Check("credentials", "skipped", "in force", "config.json could not be read")
    try:
        resolved = await resolve(opts, env, config)
    except BpError as error:
        return Check("credentials", "failed", "in force", clean(error.message), error.hint)
    sources = [
        variable
        for variable, source in (
            ("BP_TOKEN", resolved.token_source),
            ("BP_WORKSPACE_ID", resolved.workspace_source),
            ("BP_API_URL", resolved.api_url_source),
        )
        if source == variable
    ]
    data = {
        "profile": resolved.profile,
        "workspaceId": resolved.workspace_id,
        "apiUrl": resolved.api_url,
        "sources": sources,
        "verification": "unreachable",
    }
    if resolved.profile is None and config.profiles and not sources:
        choose = "|".join(clean(name) for name in sorted(config.profiles))
        fix = f"choose one: bp profiles use {choose}"
        return Check("credentials", "failed", "in force", "no profile is active", fix, data=data)
    if resolved.token is None and resolved.workspace_id is None:
        return Check("credentials", "failed", "in force", "not logged in", "bp login", data=data)
    whose = f'profile "{clean(resolved.profile)}"' if resolved.profile else "no profile"
    picked = {"flag": " (-p)", "BP_PROFILE": " (BP_PROFILE)", "active": " (active)"}
    picked[LOCAL] = f" ({FILE_NAME})"
    whose += picked.get(resolved.profile_source or "", "")
    if sources:
        whose += f", with {' and '.join(sources)}"
    with anyio.move_on_after(seconds + 1):
        verification = await _verify_resolved(resolved, env)
        data["verification"] = verification.status
        label = resolved.workspace_id or "(none)"
        if verification.ok:
            return Check(
                "credentials", "ok", "in force", f"{whose}: {_who(verification, label)}", data=data
            )
        named = resolved.profile if resolved.profile_source == "flag" else None
        fix = fix_for(verification, named) or _NETWORK
        message = f"{whose}: {_reason(verification)}"
        return Check("credentials", "failed", "in force", message, fix, data=data)
    data["verification"] = "timeout"
    message = f"{whose}: {resolved.api_url} did not answer within {seconds:g} s"
    return Check("credentials", "failed", "in force", clean(message), data=data)


# --- the network ---------------------------------------------------------------------------


async def _api(env: Env, http: Any, url: str, reached: dict[str, Reached], seconds: float) -> Check:
    import httpx

    from bpshell.api import reach
    from bpshell.network import Proxies

    title = f"API {clean(url)}"
    data: dict[str, Any] = {"apiUrl": url, "proxy": None, "httpStatus": None}
    try:
        route = Proxies.from_environ(env.environ).route(httpx.URL(url))
    except BpError as error:
        return Check("api", "failed", title, clean(error.message), error.hint, url, data)
    proxy = route.proxy
    data["proxy"] = proxy.shown if proxy else None
    how = f"through {route.note}" if proxy else route.note or "directly (no proxy variable is set)"
    how = how.replace("through via proxy", "through the proxy")
    try:
        with anyio.fail_after(seconds):
            answer = await reach(http, url)
    except TimeoutError:
        message = f"no answer within {seconds:g} s, {how}"
        fix = "check your network, the proxy variables and the API URL"
        return Check("api", "failed", title, clean(message), fix, url, data)
    except BpError as error:
        return Check(
            "api", "failed", title, clean(f"{error.message}, {how}"), error.hint, url, data
        )
    reached[url] = answer
    data["httpStatus"] = answer.status
    if answer.status >= 500 or answer.status in (301, 302, 307, 308):
        message = f"reached {how}, but it answered {answer.status}"
        fix = "check the API URL; try again later if it is Botpress Cloud"
        return Check("api", "warning", title, clean(message), fix, url, data)
    return Check("api", "ok", title, clean(f"reached {how}"), None, url, data)


def _certificates(env: Env) -> Check:
    from bpshell.network import Trust, tls_context

    try:
        trusts = tls_context(Trust.from_environ(env.environ)).trusts
    except BpError as error:
        data = {"trusts": None}
        return Check(
            "certificates", "failed", "certificates", clean(error.message), error.hint, data=data
        )
    message = f"TLS trusts {trusts}"
    return Check("certificates", "ok", "certificates", clean(message), data={"trusts": trusts})


def _clock(urls: list[str], reached: dict[str, Reached]) -> Check:
    """The machine's clock against the first API that sent a ``Date``: TLS certificates and
    token ages are read on this clock."""
    data: dict[str, Any] = {"apiUrl": None, "skewSeconds": None}
    for url in urls:
        answer = reached.get(url)
        sent = _date(answer.date) if answer is not None else None
        if answer is None or sent is None:
            continue
        # The server's second is somewhere within the round trip: compare with its middle.
        skew = round(sent - (answer.sent_at + answer.answered_at) / 2)
        data.update(apiUrl=url, skewSeconds=skew)
        if abs(skew) <= CLOCK_SKEW_S:
            message = f"agrees with the clock of {clean(url)} ({abs(skew)} s apart)"
            return Check("clock", "ok", "clock", message, data=data)
        way = "behind" if skew > 0 else "ahead of"
        message = (
            f"{_duration(abs(skew))} {way} the clock of {clean(url)}; TLS certificates and "
            "token ages are read on this one"
        )
        fix = "set the clock right: sudo timedatectl set-ntp true (or your system's time settings)"
        return Check("clock", "warning", "clock", message, fix, data=data)
    why = "no API answered with a Date" if reached else "no API could be reached"
    return Check("clock", "skipped", "clock", f"not checked: {why}", data=data)


def _date(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _duration(seconds: int) -> str:
    """To the nearest minute (the Date header counts whole seconds), or day past two."""
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 2 * 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{round(seconds / 86400)} days"


# --- the official CLI ------------------------------------------------------------------------


async def _official_cli(env: Env) -> Check:
    from bpshell.official.delegation import INSTALL_HINT, OfficialCliMissing, look_for_official_cli

    data: dict[str, Any] = {"path": None, "version": None}
    try:
        lookup = look_for_official_cli(env.environ, _cwd())
    except OfficialCliMissing as error:
        return Check(
            "official_cli", "failed", "official CLI", clean(error.message), error.hint, data=data
        )
    if lookup.command is None:
        message = "not found; bp deploy, bp dev and the other official commands need it"
        unsafe = [(c, why) for c, why in lookup.skipped if "bpshell" not in why]
        if unsafe:
            message += f" (bp passed over {unsafe[0][0]}: {unsafe[0][1]})"
        return Check(
            "official_cli", "warning", "official CLI", clean(message), INSTALL_HINT, data=data
        )
    version = _package_version(lookup.command) or await _asked_version(lookup, env)
    data.update(path=lookup.command[0], version=version)
    shown = " ".join(lookup.command)
    message = f"{shown}, version {version or 'unknown'} ({lookup.reason})"
    return Check("official_cli", "ok", "official CLI", clean(message), data=data)


def _cwd() -> Path | None:
    try:
        return Path.cwd()
    except OSError:
        return None


def _package_version(command: list[str]) -> str | None:
    """The version in the package.json of ``@botpress/cli`` that holds the command (npm links
    ``.bin/bp`` to its ``bin.js``): no need to run it."""
    for word in command[:2]:
        real = Path(os.path.realpath(word))
        for folder in list(real.parents)[:3]:
            raw = read_regular(folder / "package.json")
            try:
                package = json.loads(raw) if raw is not None else None
            except (ValueError, RecursionError):
                continue
            if not isinstance(package, dict) or package.get("name") != "@botpress/cli":
                continue
            version = package.get("version")
            if isinstance(version, str):
                return clean(version[:40])
    return None


async def _asked_version(lookup: Lookup, env: Env) -> str | None:
    """``CLI --version``, within :data:`VERSION_TIMEOUT_S`, with no credentials in its
    environment."""
    import subprocess

    from bpshell.official.delegation import DELEGATING

    assert lookup.command is not None
    environ = {k: v for k, v in env.environ.items() if not k.startswith("BP_")}
    environ[DELEGATING] = lookup.command[0]
    with anyio.move_on_after(VERSION_TIMEOUT_S):
        try:
            done = await anyio.run_process(
                [*lookup.command, "--version"],
                check=False,
                stdin=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environ,
            )
        except OSError:
            return None
        lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
        return clean(lines[-1][:40]) if done.returncode == 0 and lines else None
    return None
