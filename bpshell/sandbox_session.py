"""``bp shell --sandbox``: try everything offline, away from the real account and home.

Starts the sandbox (a local stand-in for Botpress Cloud) in a background thread on a free
loopback port, makes a throwaway botpress home (``mkdtemp``: 0700), and logs in through the
normal ``login`` path to three demo profiles with tokens kept in that home's config.json. The
keyring is never touched (the session's token store refuses, so a ``login`` inside stores in
the file too) and ``BP_*`` variables of the real environment are left out. Inside, a login
defaults to the sandbox and is pointed at its demo tokens (listed in the banner on a
terminal), never at the real web app (``Env.sandbox``). At exit the server stops and the home
is removed.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bpshell.commands import GlobalOptions, LoginOptions
from bpshell.env import Env, Sandboxed
from bpshell.errors import BpError
from bpshell.tokens import InMemoryTokens

NO_KEYRING = "the sandbox never uses your keyring"
BANNER = (
    "SANDBOX: a local stand-in for Botpress Cloud at {url}; throwaway home {home}; demo tokens "
    "only; nothing here touches your real account or ~/.botpress"
)
TOKENS = "Demo tokens (fake, for this sandbox only):"
TRY = (
    "Profiles: default (acme), globex (Globex Corp), initech (bob). Try: profiles list --verify, "
    "or login -p NAME with a token above"
)


@contextlib.asynccontextmanager
async def sandbox_env(env: Env) -> AsyncIterator[Env]:
    """An environment on a running sandbox with demo profiles; everything is undone at exit."""
    from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
    from bpshell.sandbox.banner import for_screen, token_lines

    home = Path(tempfile.mkdtemp(prefix="bp-sandbox-"))
    server = Sandbox()
    try:
        server.start()
        environ = {k: v for k, v in env.environ.items() if not k.startswith("BP_")}
        environ["BP_BOTPRESS_HOME"] = str(home)
        sandboxed = env.derived(
            environ=environ,
            home=home,
            tokens=InMemoryTokens(broken=NO_KEYRING),
            sandbox=Sandboxed(server.url, tuple(token_lines(server.world))),
            cwd=home,  # a .bp-profile of the real folders is not the sandbox's
            local_top=home,
        )
        logins = (
            ("initech", BOB_TOKEN, "ws_initech"),
            ("globex", ALICE_TOKEN, "ws_globex"),
            ("default", ALICE_TOKEN, "ws_acme"),
        )
        for profile, token, workspace in logins:
            await _login(sandboxed, server.url, profile, token, workspace)
        banner = [BANNER.format(url=server.url, home=home)]
        if env.stdin.isatty():
            banner += [TOKENS, *token_lines(server.world), TRY]
        env.err("\n".join(for_screen(banner, env.stderr)))
        try:
            yield sandboxed
        finally:
            await sandboxed.aclose()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


async def _login(env: Env, url: str, profile: str, token: str, workspace: str) -> None:
    from bpshell.login import run_login

    chatter = io.StringIO()
    quiet = env.derived(interactive=False, stderr_stream=chatter, stdout_stream=io.StringIO())
    options = LoginOptions(token=token, workspace_id=workspace, api_url=url, insecure_storage=True)
    opts = GlobalOptions(confirm=True, profile=profile, profile_source="flag")
    try:
        await run_login(options, opts, quiet)
    except BpError as error:
        error.message = f"the sandbox could not log in to {profile}: {error.message}"
        raise
    finally:
        await quiet.aclose()
