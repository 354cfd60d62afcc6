"""The official CLI (``@botpress/cli`` on node) beside ours: ``login -y`` and ``logout``.

Both run against the same sandbox (no latency) with throwaway homes. The official CLI asks
the npm registry for its latest version on every command (``GlobalCommand._notifyUpdateCli``,
awaited in ``bootstrap``, through ``latest-version``/``package-json``, which read the registry
from ``npm_config_registry``). That variable points it at a local stand-in registry that says
the installed version is the latest, so the check costs a loopback round trip instead of an
Internet one (a closed port would be worse: ``got`` retries refused connections for ~3 s).

Target (issue 15, judged on the regular install): bpshell's ``login -y`` within 0.4x of the
official CLI's wall time, the two measured side by side in the same run. Its floor is
``python -c "import re, asyncio, ssl, httpx, anyio, pydantic_core"`` (what a login must load:
the wrapper's ``re``, the event loop, TLS, the HTTP client and the answers' validator) over
the same official figure; ``node -e 0`` beside it is the official CLI's own floor. ``logout``
is information only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import (
    ROOT,
    Bench,
    BenchError,
    Job,
    Row,
    base,
    info,
    judged,
    ratio,
    unavailable,
    write_config,
)

NAME = "official"
KNOWN_FOLDERS = (
    Path("/tmp/bench-npm"),
    ROOT / ".ci" / "node",  # where .ci/test installs it
    ROOT,
    Path.home() / ".cache" / "bpshell-bench",
)
VERSION = "0.8.59"
LIMIT = 0.4
LOGIN_FLOOR = "re, asyncio, ssl, httpx, anyio, pydantic_core"
LOGOUT_FLOOR = "re, json, pathlib"
# The same three requests with the same stack and nothing else: what loading httpx's transport
# (httpcore, h11) and anyio's asyncio backend costs on top of the imports above, which
# ``import`` alone does not pay (httpx imports httpcore when its first client is made).
REQUESTS_FLOOR = """\
import re, sys, anyio, httpx, pydantic_core

async def main(url, workspace, token):
    headers = {"authorization": "Bearer " + token}
    paths = ("account/me", "workspaces/" + workspace, "workspace-members/me")
    # verify=False: the URL is plain http, so no CA bundle need be read (bp reads none).
    async with httpx.AsyncClient(trust_env=False, verify=False) as client:
        async def get(path):
            extra = {"x-workspace-id": workspace} if path.startswith("workspace-members") else {}
            answer = await client.get(url + "/v1/admin/" + path, headers={**headers, **extra})
            answer.raise_for_status()
        async with anyio.create_task_group() as group:
            for path in paths:
                group.start_soon(get, path)

anyio.run(main, sys.argv[1], sys.argv[2], sys.stdin.read().strip())
"""
# The same three requests with httpx's blocking client, one thread each: the design that drops
# asyncio and anyio (their imports, anyio's asyncio backend, the event loop) from a login, at
# the price of a second client API beside the shell's async one and of requests that Ctrl-C
# cannot cancel. Measured to show what that redesign could win at most.
SYNC_FLOOR = """\
import re, sys, httpx, pydantic_core
from concurrent.futures import ThreadPoolExecutor

url, workspace, token = sys.argv[1], sys.argv[2], sys.stdin.read().strip()
headers = {"authorization": "Bearer " + token}
paths = ("account/me", "workspaces/" + workspace, "workspace-members/me")
with httpx.Client(trust_env=False, verify=False) as client:
    def get(path):
        extra = {"x-workspace-id": workspace} if path.startswith("workspace-members") else {}
        client.get(url + "/v1/admin/" + path, headers={**headers, **extra}).raise_for_status()
    with ThreadPoolExecutor(len(paths)) as pool:
        list(pool.map(get, paths))
"""
INSTALL = (
    "mkdir -p /tmp/bench-npm && cd /tmp/bench-npm && "
    f"npm install --no-audit --no-fund @botpress/cli@{VERSION}"
)


def find_official(flag: str | None) -> list[str] | None:
    """The command line of the official CLI: --official, $BP_OFFICIAL_CLI, then known folders."""
    if shutil.which("node") is None:
        return None
    given = flag or os.environ.get("BP_OFFICIAL_CLI")
    if given:
        words = shlex.split(given)
        found = bool(words) and (Path(words[0]).exists() or shutil.which(words[0]) is not None)
        return words if found else None
    for folder in KNOWN_FOLDERS:
        script = folder / "node_modules" / ".bin" / "bp"
        if script.exists():
            return [str(script)]
    return None


class _Registry(BaseHTTPRequestHandler):
    """Any package is at version :data:`VERSION`, as the npm registry's abbreviated document."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "name": "@botpress/cli",
                "dist-tags": {"latest": VERSION},
                "versions": {VERSION: {"name": "@botpress/cli", "version": VERSION}},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def fake_registry() -> Iterator[str]:
    """A local npm registry for the update check; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _says(text: str) -> Callable[[subprocess.CompletedProcess[str]], str | None]:
    def check(done: subprocess.CompletedProcess[str]) -> str | None:
        return None if text in done.stdout + done.stderr else f"did not say {text!r}"

    return check


def run(bench: Bench) -> list[Row]:
    if bench.official is None:
        return [unavailable(NAME, "official CLI", f"node or @botpress/cli missing; {INSTALL}")]
    url = bench.sandbox(0).url
    ((token, workspace),) = bench.accounts(1)
    with fake_registry() as registry:
        return _compare(
            bench, url, token, workspace, bench.env(extra={"npm_config_registry": registry})
        )


def _compare(bench: Bench, url: str, token: str, workspace: str, env: dict[str, str]) -> list[Row]:
    assert bench.official is not None
    official_home = bench.home("official")
    ours_home = bench.home("ours")
    cache = {"token": token, "workspaceId": workspace, "apiUrl": url}

    def official_logged_in() -> None:
        (official_home / "global.cache.json").write_text(json.dumps(cache))

    def ours_empty() -> None:
        write_config(ours_home, {"version": 1, "profiles": {}})

    def ours_logged_in() -> None:
        profile = {"apiUrl": url, "workspaceId": workspace, "token": token}
        write_config(
            ours_home, {"version": 1, "activeProfile": "default", "profiles": {"default": profile}}
        )

    login = ("login", "-y", "--workspaceId", workspace, "--apiUrl", url)
    official_argv = (*bench.official, *login, "--token", token)
    ours_argv = (*bench.bp, *login, "--token", "-", "--insecure-storage")
    jobs = {
        "official login": Job(
            (*official_argv, "--botpressHome", str(official_home)), env, check=_says("Logged In")
        ),
        "ours login": Job(
            (*ours_argv, "--botpressHome", str(ours_home)), env, token, prepare=ours_empty
        ),
        "login floor": Job((bench.python, "-c", f"import {LOGIN_FLOOR}"), env),
        "requests floor": Job((bench.python, "-c", REQUESTS_FLOOR, url, workspace), env, token),
        "sync floor": Job((bench.python, "-c", SYNC_FLOOR, url, workspace), env, token),
        "node": Job((_node(), "-e", "0"), env),
        "official logout": Job(
            (*bench.official, "logout", "--botpressHome", str(official_home)),
            env,
            prepare=official_logged_in,
            check=_says("Logged Out"),
        ),
        "ours logout": Job(
            (*bench.bp, "logout", "--botpressHome", str(ours_home)), env, prepare=ours_logged_in
        ),
        "logout floor": Job((bench.python, "-c", f"import {LOGOUT_FLOOR}"), env),
    }
    times, broken = bench.together(jobs)
    if broken:
        raise BenchError("; ".join(f"{name}: {why}" for name, why in broken.items()))
    official_login, ours_login = times["official login"], times["ours login"]
    official_logout, ours_logout = times["official logout"], times["ours logout"]
    login_floor, logout_floor, node = times["login floor"], times["logout floor"], times["node"]
    return [
        base(NAME, "official: login -y", official_login, "@botpress/cli; 1 request (listBots)"),
        judged(
            NAME,
            "bpshell: login -y",
            ours_login,
            limit=LIMIT,
            target=f"<= {LIMIT:g}x",
            baseline=official_login,
            floor=ratio(login_floor, official_login),
            note="token on stdin, --insecure-storage; 3 requests at once "
            "(account, workspace, role)",
        ),
        info(
            NAME,
            f'floor: python -c "import {LOGIN_FLOOR}"',
            login_floor,
            baseline=official_login,
        ),
        info(
            NAME,
            "floor: httpx + anyio alone, the same 3 requests",
            times["requests floor"],
            baseline=official_login,
            note="no config, no validation: the least this stack can do for a login",
        ),
        info(
            NAME,
            "floor: httpx blocking client, 3 threads, the same 3 requests",
            times["sync floor"],
            baseline=official_login,
            note="no asyncio nor anyio: the most a login without the async layer could win",
        ),
        info(NAME, "official floor: node -e 0", node, baseline=official_login),
        base(NAME, "official: logout", official_logout),
        info(
            NAME,
            "bpshell: logout",
            ours_logout,
            baseline=official_logout,
            floor=ratio(logout_floor, official_logout),
        ),
    ]


def _node() -> str:
    """The node binary the official CLI runs on (its script's shebang is ``env node``)."""
    return shutil.which("node") or "node"
