"""A hostile server cannot hurt the user: bounded answers, one deadline per page walk, and
what a server says is checked before it is stored, cached, shown or completed.

Every case runs against :class:`tests.hostile_server.HostileServer`, a real HTTP server on
127.0.0.1 that sends gzip bombs, huge and endless bodies, endless pages, workspace IDs
bpshell must refuse and names full of control and bidi characters.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from prompt_toolkit.completion import CompleteEvent, Completion
from prompt_toolkit.document import Document

import bpshell.workspaces
import tests.conftest
from bpshell.answers import ACCOUNT, WORKSPACE, Shape
from bpshell.cache import read_workspaces, write_workspaces
from bpshell.commands import GlobalOptions
from bpshell.env import Env
from bpshell.errors import ApiTimeoutError
from bpshell.render import clean, error_line
from bpshell.sandbox import ALICE_TOKEN
from bpshell.session import Session
from tests.conftest import ROOT, Bp, Outcome, process_env, seed
from tests.hostile_server import HostileServer
from tests.shell_helpers import shell_env, until

BOUND_S = 20.0  # a sanity bound on any one run; the real bounds are asserted separately
PEAK_RSS_BOUND = 150 << 20
# A safety net, not the bound under test: a bpshell without the answer cap must fail the
# test by running out of address space, not by taking the machine's memory with it.
ADDRESS_SPACE_KIB = 4 << 20
NOT_BOTPRESS = "Check the API URL; the server does not behave like Botpress Cloud"
TOKEN_LIKE_ID = "bp_pat_" + "x" * 40
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
CONTROLS = "\x00\x07\x1b\x7f\x85\x9b"


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def logged_in(bp: Bp, server: HostileServer) -> bytes:
    """Profile ``default`` on the hostile server, its token in config.json (so that a ``bp``
    process without a keyring finds it too)."""
    profile = {
        "apiUrl": server.url,
        "workspaceId": "ws_acme",
        "workspaceName": "acme",
        "token": ALICE_TOKEN,
    }
    return seed(bp, {"version": 1, "activeProfile": "default", "profiles": {"default": profile}})


def measured(home: Path, tmp_path: Path, *words: str) -> tuple[Outcome, int, float]:
    """``bp WORDS`` as a real process: what it showed, its peak RSS in bytes, its wall time.

    The peak is ``bp``'s own ``VmHWM``, read at its exit: Linux's ``ru_maxrss`` of a child
    starts at its parent's RSS when it forked (it survives the exec), so it measured the
    pytest worker as much as ``bp``. ``sh`` sets the address-space net and ``exec``s.
    """
    hwm = tmp_path / "vmhwm"
    probe = (
        "import atexit, runpy, sys\n"
        "def peak():\n"
        "    with open('/proc/self/status') as f:\n"
        "        kib = next(l.split()[1] for l in f if l.startswith('VmHWM:'))\n"
        f"    open({str(hwm)!r}, 'w').write(kib)\n"
        "atexit.register(peak)\n"
        "sys.argv = ['bp', *sys.argv[1:]]\n"
        "runpy.run_module('bpshell', run_name='__main__')\n"
    )
    command = ["sh", "-c", f'ulimit -v {ADDRESS_SPACE_KIB} && exec "$@"', "sh"]
    command += [sys.executable, "-c", probe, *words]
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        child = subprocess.Popen(command, stdout=out, stderr=err, env=process_env(home), cwd=ROOT)
        killer = threading.Timer(BOUND_S * 3, child.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            killer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
    outcome = Outcome(child.returncode, out_path.read_text(), err_path.read_text())
    peak = int(hwm.read_text()) * 1024 if hwm.exists() else usage.ru_maxrss * 1024
    return outcome, peak, elapsed


# --- 1. bounded answers ------------------------------------------------------------------

TOO_BIG = "{url} sent more than 8 MiB in one answer, so bpshell stopped reading it"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("gzip_bomb", TOO_BIG),  # 1 MB on the wire, 1 GiB decoded
        ("huge", TOO_BIG),  # 500 MiB, announced in Content-Length
        ("endless", TOO_BIG),  # chunked, no end (but the server's own bounds)
        (
            "double_gzip_bomb",
            '{url} answered with content encoding "gzip, gzip", which bpshell does not read',
        ),
    ],
)
def test_a_hostile_body_ends_in_one_clear_error_with_bounded_memory(
    bp: Bp, hostile: HostileServer, tmp_path: Path, body: Any, reason: str
) -> None:
    before = logged_in(bp, hostile)
    hostile.plan.body = body
    result, peak, elapsed = measured(bp.home, tmp_path, "workspaces", "list")
    print(f"{body}: peak RSS {peak / 2**20:.0f} MiB in {elapsed:.1f} s")
    line = f"{reason.format(url=hostile.url)}. {NOT_BOTPRESS}\n"
    assert (result.code, result.out, result.err) == (1, "", line)
    assert peak < PEAK_RSS_BOUND
    assert elapsed < BOUND_S
    assert bp.config_bytes() == before
    assert not (bp.home / "cache").exists()


# --- 2. one deadline per page walk -------------------------------------------------------

WALK_TIMEOUT_S = 1.0
PAGE_DELAY_S = 0.1
STILL_PAGING = re.compile(
    rf"(?P<url>\S+) kept sending pages of workspaces for {WALK_TIMEOUT_S:g} s "
    r"\((?P<pages>\d+) pages, (?P<count>\d+) workspaces read\), so bpshell stopped\. "
    r"Try again later; if it happens again, check the API URL\n"
)


@pytest.fixture
def endless_pages(bp: Bp, hostile: HostileServer, monkeypatch: pytest.MonkeyPatch) -> HostileServer:
    """A fresh page (with a nextToken) every 0.1 s, and a 1 s client timeout."""
    logged_in(bp, hostile)
    hostile.plan.endless_pages = True
    hostile.plan.page_delay_s = PAGE_DELAY_S
    monkeypatch.setattr(tests.conftest, "Env", functools.partial(Env, api_timeout=WALK_TIMEOUT_S))
    return hostile


def assert_walk_stopped(result: Outcome, server: HostileServer, elapsed: float) -> None:
    assert result.code == 1
    found = STILL_PAGING.fullmatch(result.err)
    assert found is not None, result.err
    assert found["url"] == server.url
    pages = int(found["pages"])
    assert found["count"] == found["pages"]  # one workspace a page
    assert 3 <= pages <= WALK_TIMEOUT_S / PAGE_DELAY_S
    assert server.pages_served <= pages + 1  # the walk stopped; nothing goes on behind
    assert elapsed < WALK_TIMEOUT_S + 2.0  # not a timeout per page: 200 of them would be 20 s


def test_workspaces_list_has_one_deadline_for_every_page(
    bp: Bp, endless_pages: HostileServer
) -> None:
    started = time.monotonic()
    result = bp("workspaces", "list")
    assert_walk_stopped(result, endless_pages, time.monotonic() - started)
    assert not (bp.home / "cache").exists()


def test_logins_workspace_picker_has_one_deadline(bp: Bp, endless_pages: HostileServer) -> None:
    started = time.monotonic()
    result = bp(
        "login", "-p", "new", "--apiUrl", endless_pages.url,
        env={"BP_TOKEN": ALICE_TOKEN}, interactive=True,
    )  # fmt: skip
    assert_walk_stopped(result, endless_pages, time.monotonic() - started)
    assert "new" not in bp.config()["profiles"]


@asynccontextmanager
async def running(bp: Bp, api_timeout: float | None = None) -> AsyncIterator[Session]:
    env, _, _ = shell_env(bp)
    env.api_timeout = api_timeout
    session = Session(env, GlobalOptions())
    async with anyio.create_task_group() as group:
        await group.start(session.run)
        yield session
        group.cancel_scope.cancel()
    await env.aclose()


def completions(session: Session, line: str = "login --workspaceId ") -> list[Completion]:
    event = CompleteEvent(completion_requested=True)
    return list(session.completer.get_completions(Document(line), event))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_shells_background_refresh_has_one_deadline(
    bp: Bp, endless_pages: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended: list[tuple[BaseException | None, float]] = []
    real = bpshell.workspaces.fetch_workspaces

    async def watched(env: Env, resolved: Any) -> list[tuple[str, str]]:
        started = time.monotonic()
        try:
            pairs = await real(env, resolved)
        except BaseException as exc:
            ended.append((exc, time.monotonic() - started))
            raise
        ended.append((None, time.monotonic() - started))
        return pairs

    monkeypatch.setattr(bpshell.workspaces, "fetch_workspaces", watched)
    async with running(bp, WALK_TIMEOUT_S) as session:
        await until(lambda: ended, within=WALK_TIMEOUT_S + 5)
        ((error, took),) = ended
        assert isinstance(error, ApiTimeoutError)
        assert STILL_PAGING.fullmatch(error_line(error) + "\n")
        assert took < WALK_TIMEOUT_S + 2.0
        assert completions(session) == []


# --- 3. IDs a server gives are checked ---------------------------------------------------

BAD_IDS = [
    "../admin",
    TOKEN_LIKE_ID,
    "ws_\x1b[2J",
    "",
    "w" * 129,
    "ws bad",
    "ws_\u202eevil",
]


def test_workspaces_with_bad_ids_are_dropped_noted_under_v_and_never_cached(
    bp: Bp, hostile: HostileServer
) -> None:
    logged_in(bp, hostile)
    hostile.plan.workspaces = [{"id": "ws_acme", "name": "acme"}] + [
        {"id": bad, "name": f"bad {number}"} for number, bad in enumerate(BAD_IDS)
    ]
    result = bp("workspaces", "list", "--json", "-v")
    assert (result.code, result.json()) == (0, [{"id": "ws_acme", "name": "acme", "active": True}])
    noted = [line for line in result.err.splitlines() if "left out" in line]
    url = hostile.url
    assert noted == [
        f'debug: {url} listed a workspace bpshell left out (invalid workspace ID "../admin")',
        f"debug: {url} listed a workspace bpshell left out "
        "(the workspace ID looks like a token, so it was not used)",
        f'debug: {url} listed a workspace bpshell left out (invalid workspace ID "ws_\\x1b[2J")',
        f'debug: {url} listed a workspace bpshell left out (invalid workspace ID "")',
        f'debug: {url} listed a workspace bpshell left out (invalid workspace ID "{"w" * 80}…")',
        f'debug: {url} listed a workspace bpshell left out (invalid workspace ID "ws bad")',
        f'debug: {url} listed a workspace bpshell left out (invalid workspace ID "ws_\\u202eevil")',
    ]
    assert TOKEN_LIKE_ID not in result.out + result.err
    cached = read_workspaces(bp.home, "default")
    assert cached is not None and cached.workspaces == (("ws_acme", "acme"),)
    assert bp("workspaces", "list").err == ""  # not noted without -v


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_bad_ids_are_never_completed(bp: Bp, hostile: HostileServer) -> None:
    logged_in(bp, hostile)
    hostile.plan.workspaces = [{"id": "ws_acme", "name": "acme"}] + [
        {"id": bad, "name": "bad"} for bad in BAD_IDS
    ]
    async with running(bp) as session:
        await until(lambda: completions(session))
        assert [c.text for c in completions(session)] == ["ws_acme"]


@pytest.mark.parametrize(
    ("answered", "reason"),
    [
        (
            TOKEN_LIKE_ID,
            "{url} answered about a workspace whose ID looks like a token when asked about ws_acme",
        ),
        ("../admin", '{url} answered about workspace "../admin" when asked about ws_acme'),
        ("ws_other", '{url} answered about workspace "ws_other" when asked about ws_acme'),
    ],
)
def test_get_workspace_answering_about_another_id_is_a_bad_response(
    bp: Bp, hostile: HostileServer, answered: str, reason: str
) -> None:
    hostile.plan.workspace_answer = {"id": answered, "name": "other"}
    result = bp(
        "login", "--apiUrl", hostile.url, "--workspaceId", "ws_acme", "--token", "-", "-y",
        stdin=ALICE_TOKEN,
    )  # fmt: skip
    line = f"{reason.format(url=hostile.url)}. {NOT_BOTPRESS}\n"
    assert (result.code, result.out, result.err) == (1, "", line)
    assert bp.config_bytes() is None


# --- 3. names a server gives are cleaned where they enter --------------------------------


def _read(shape: Shape[Any], data: dict[str, Any]) -> Any:
    return shape.parse(json.dumps(data).encode())


@pytest.mark.parametrize("bad", list(BIDI + CONTROLS))
def test_names_lose_control_and_bidi_characters_where_they_enter(bad: str) -> None:
    workspace = _read(WORKSPACE, {"id": "ws_1", "name": f"a{bad}b", "handle": f"h{bad}"})
    me = {"id": "acc_1", "email": f"e{bad}@example.com", "displayName": f"d{bad}n"}
    account = _read(ACCOUNT, {"account": me})
    gap = " " if bad.isspace() else ""  # NEL (U+0085) is a line break: a space
    assert (workspace.name, workspace.handle) == (f"a{gap}b", f"h{gap}")
    assert (account.email, account.displayName) == (f"e{gap}@example.com", f"d{gap}n")


def test_names_keep_spacing_and_are_capped_with_an_ellipsis() -> None:
    spaced = _read(WORKSPACE, {"id": "ws_1", "name": "a\tb\nc\u00a0d"})
    assert spaced.name == "a b c d"
    long = _read(WORKSPACE, {"id": "ws_1", "name": "ü" * 300})
    assert long.name == "ü" * 199 + "…"
    assert _read(WORKSPACE, {"id": "ws_1", "name": "é" * 200}).name == "é" * 200


@pytest.mark.parametrize("bad", list(BIDI + CONTROLS))
def test_anything_printed_is_cleaned_of_bidi_characters(bad: str) -> None:
    assert bad not in clean(f"a{bad}b")


EVIL_NAME = "acme\u202egnp.exe"


@pytest.fixture
def bidi_names(bp: Bp, hostile: HostileServer) -> HostileServer:
    hostile.plan.account = {
        "id": "acc_1",
        "email": "alice\u202e@example.com",
        "displayName": "\u2066Alice\u2069",
    }
    hostile.plan.workspaces = [
        {"id": "ws_acme", "name": EVIL_NAME},
        {"id": "ws_long", "name": "L" * 300},
    ]
    return hostile


def test_a_bidi_name_never_reaches_the_terminal_or_the_files(
    bp: Bp, bidi_names: HostileServer
) -> None:
    url = bidi_names.url
    login = bp(
        "login", "--apiUrl", url, "--workspaceId", "ws_acme", "--token", "-", "-y",
        stdin=ALICE_TOKEN,
    )  # fmt: skip
    assert (login.code, login.out) == (
        0,
        'Logged in to workspace acmegnp.exe (ws_acme) as alice@example.com — profile "default"\n',
    )
    assert bp.config()["profiles"]["default"]["workspaceName"] == "acmegnp.exe"

    listed = bp("workspaces", "list", "--json")
    assert listed.json() == [
        {"id": "ws_acme", "name": "acmegnp.exe", "active": True},
        {"id": "ws_long", "name": "L" * 199 + "…", "active": False},
    ]
    cached = read_workspaces(bp.home, "default")
    assert cached is not None
    assert cached.workspaces == (("ws_acme", "acmegnp.exe"), ("ws_long", "L" * 199 + "…"))

    runs = [login, listed, bp("workspaces", "list"), bp("profiles", "list")]
    runs.append(bp("profiles", "list", "--verify"))
    assert "acmegnp.exe" in runs[2].out and "acmegnp.exe (ws_acme)" in runs[3].out
    for result in runs:
        assert result.code == 0, result.err
        shown = result.out + result.err
        assert not any(bad in shown for bad in BIDI + CONTROLS), ascii(shown)
    files = "".join(p.read_text() for p in bp.home.rglob("*") if p.is_file())
    assert not any(bad in files for bad in BIDI), ascii(files)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_bidi_name_never_reaches_the_completion_menu(
    bp: Bp, bidi_names: HostileServer
) -> None:
    logged_in(bp, bidi_names)
    async with running(bp) as session:
        await until(lambda: completions(session))
        shown = {(c.text, c.display_text, c.display_meta_text) for c in completions(session)}
        assert shown == {
            ("ws_acme", "ws_acme", "acmegnp.exe"),
            ("ws_long", "ws_long", "L" * 199 + "…"),
        }


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_bidi_name_from_an_old_cache_is_escaped_in_the_completion_menu(
    bp: Bp, hostile: HostileServer
) -> None:
    """A cache written before names were cleaned (or by hand) is shown escaped."""
    logged_in(bp, hostile)
    write_workspaces(bp.home, "default", hostile.url, [("ws_acme", EVIL_NAME + "\x1b[2J")])
    async with running(bp) as session:
        await until(lambda: completions(session))
        shown = [(c.display_text, c.display_meta_text) for c in completions(session)]
        assert shown == [("ws_acme", "acme\\u202egnp.exe\\x1b[2J")]
