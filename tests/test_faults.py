"""The fault table: every API fault, through the commands that call the API, end to end.

Each case is a fault knob of the sandbox (or a port where nothing listens), and each is run
through ``bp login``, ``bp profiles active``, ``bp profiles list --verify`` and ``bp workspaces
list``. Every run must give a clear one-line reason, end in a bounded time (a sanity bound
only: :data:`BOUND_S`), exit non-zero when the fault applies to it, and leave config.json,
the keyring and the workspace cache as they were. The table with its results is in
``tests/README.md``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import tests.conftest
from bpshell.env import Env
from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.conftest import Bp, Outcome, closed_port_url, seed

BOUND_S = 20.0
SLOW_TIMEOUT_S = 0.5
COMMANDS = ("login", "active", "verify", "workspaces")
RETRY = "Try again later"
NOT_BOTPRESS = "Check the API URL; the server does not behave like Botpress Cloud"


@dataclass(frozen=True)
class Case:
    """One row of the table: a fault and what each command must say about it.

    ``reason`` is the error's message and ``hint`` its hint (``{url}``: the faulty API URL,
    ``{other}``: the redirect target); ``word`` is how a check reports it (``Unknown`` when
    the API could not tell, ``No`` when it refused). ``spared`` are the commands the fault
    does not touch: they must succeed. ``listing_reason`` replaces ``reason`` for ``bp
    workspaces list`` when its answer differs, ``workspace_reason`` for ``profiles list
    --verify`` (which asks for the workspace alone).
    """

    fault: dict[str, Any] | None
    reason: str
    hint: str
    target: str = "sandbox"
    word: str = "Unknown"
    spared: tuple[str, ...] = ()
    listing_reason: str | None = None
    workspace_reason: str | None = None
    interactive_login: bool = False
    api_timeout: float | None = None
    checks_other_host: bool = False


CASES: dict[str, Case] = {
    "500": Case(
        {"operation": "*", "kind": "status", "status": 500},
        "{url} failed (500 Internal: Injected fault: status 500)",
        RETRY,
    ),
    "503-retry-after-0": Case(
        {"operation": "*", "kind": "status", "status": 503, "retry_after": 0},
        "{url} failed (503 Unknown: Injected fault: status 503)",
        RETRY,
    ),
    "429-retry-after": Case(
        {"operation": "*", "kind": "status", "status": 429, "retry_after": 0.2},
        "{url} is rate limiting requests; try again in 0.2 s",
        "",
    ),
    "429-retry-after-too-long": Case(
        {"operation": "*", "kind": "status", "status": 429, "retry_after": 3600},
        "{url} is rate limiting requests; try again in 3600 s",
        "",
    ),
    "slow-past-timeout": Case(
        {"operation": "*", "kind": "delay", "seconds": 60},
        f"{{url}} did not answer within {SLOW_TIMEOUT_S:g} s",
        "Check your network or try again later",
        target="fresh",
        api_timeout=SLOW_TIMEOUT_S,
    ),
    "connection-refused": Case(
        None,
        "cannot reach {url} (connection refused)",
        "Check the API URL and your network",
        target="closed",
    ),
    "reset-mid-body": Case(
        {"operation": "*", "kind": "reset"},
        "the connection to {url} broke (connection reset)",
        "Try again",
    ),
    "malformed-json": Case(
        {"operation": "*", "kind": "malformed_json"},
        "unexpected answer from {url} (body: Invalid JSON: EOF while parsing a value at line 1 "
        "column 88)",
        NOT_BOTPRESS,
        listing_reason="unexpected answer from {url} (body: Invalid JSON: EOF while parsing "
        "a string at line 1 column 4291)",
        workspace_reason="unexpected answer from {url} (body: Invalid JSON: EOF while parsing "
        "a value at line 1 column 206)",
    ),
    "wrong-content-type": Case(
        {"operation": "*", "kind": "wrong_content_type"},
        "{url} answered with text/html; charset=utf-8, not JSON",
        "Check the API URL",
    ),
    "body-not-the-spec": Case(
        {"operation": "*", "kind": "schema_mismatch"},
        "unexpected answer from {url} (account: Field required)",
        NOT_BOTPRESS,
        listing_reason="unexpected answer from {url} (workspaces: Field required)",
        workspace_reason="unexpected answer from {url} (id: Field required)",
    ),
    "endless-pages": Case(
        {"operation": "listWorkspaces", "kind": "endless_pages"},
        "{url} kept paginating workspaces past 200 pages",
        NOT_BOTPRESS,
        spared=("active", "verify"),
        interactive_login=True,
    ),
    "redirect-to-another-host": Case(
        {"operation": "*", "kind": "redirect", "location": "{other}"},
        "{url} redirected to {other}/v1/admin/account/me; "
        "bpshell does not follow redirects with a token",
        "Check the API URL",
        checks_other_host=True,
        listing_reason="{url} redirected to {other}/v1/admin/workspaces; "
        "bpshell does not follow redirects with a token",
        workspace_reason="{url} redirected to {other}/v1/admin/workspaces/ws_acme; "
        "bpshell does not follow redirects with a token",
    ),
}


def _capital(text: str) -> str:
    return text if text.startswith("http") else text[:1].upper() + text[1:]


def expected(case: Case, command: str, url: str, other: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``command`` under ``case``."""
    reason = case.reason.format(url=url, other=other)
    hint = case.hint.format(url=url, other=other)
    if command in case.spared:
        return (0, _ok_out(command, url), "")
    if command in ("login", "workspaces"):
        if command == "workspaces" and case.listing_reason is not None:
            reason = case.listing_reason.format(url=url, other=other)
        line = _capital(reason) + (f". {hint}" if hint else "")
        return (1, "", line + "\n")
    if command == "active":  # the row says what went wrong, the hint what to do
        said = f"hint: {hint[:1].lower()}{hint[1:]}\n" if hint else ""
        return (1, _active_out(url, f"{case.word} ({reason})"), said)
    if case.workspace_reason is not None:
        reason = case.workspace_reason.format(url=url, other=other)
    return (1, _verify_out(url, f"{case.word.lower()} ({reason})"), "")


def _active_out(url: str, authenticated: str) -> str:
    return (
        f"Workspace: acme (ws_acme)\nAPI URL: {url}\n"
        f"Authenticated: {authenticated}\n"
        + ("Role: owner\n" if authenticated == "Yes" else "")
        + "Profile: default\n"
    )


def _verify_out(url: str, authenticated: str) -> str:
    width = len(url)
    return (
        f"   NAME     WORKSPACE       {'API URL'.ljust(width)}  AUTHENTICATED\n"
        f"*  default  acme (ws_acme)  {url}  {authenticated}\n"
    )


def _ok_out(command: str, url: str) -> str:
    return _active_out(url, "Yes") if command == "active" else _verify_out(url, "yes")


@pytest.fixture
def other_host() -> Iterator[Sandbox]:
    """Where redirects point: it must never see a request, let alone a token."""
    with Sandbox() as server:
        yield server


def run(bp: Bp, case: Case, command: str, url: str) -> Outcome:
    if command == "login":
        login = ("login", "-p", "new", "--apiUrl", url)
        if case.interactive_login:
            return bp(*login, env={"BP_TOKEN": ALICE_TOKEN}, interactive=True)
        return bp(*login, "--workspaceId", "ws_acme", "--token", "-", "-y", stdin=ALICE_TOKEN)
    words = {
        "active": ("profiles", "active"),
        "verify": ("profiles", "list", "--verify"),
        "workspaces": ("workspaces", "list"),
    }[command]
    return bp(*words)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("name", list(CASES))
def test_fault(
    bp: Bp,
    sandbox: Sandbox,
    fresh_sandbox: Sandbox,
    other_host: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    command: str,
) -> None:
    case = CASES[name]
    served = {"sandbox": sandbox, "fresh": fresh_sandbox}.get(case.target)
    url = served.url if served is not None else closed_port_url()
    if case.api_timeout is not None:
        monkeypatch.setattr(
            tests.conftest, "Env", functools.partial(Env, api_timeout=case.api_timeout)
        )
    profile = {"apiUrl": url, "workspaceId": "ws_acme", "workspaceName": "acme"}
    config = {"version": 1, "activeProfile": "default", "profiles": {"default": profile}}
    before = seed(bp, config, {"default": ALICE_TOKEN})
    if case.fault is not None:
        assert served is not None
        fault = {
            key: value.format(other=other_host.url) if key == "location" else value
            for key, value in case.fault.items()
        }
        served.set_fault(**fault)

    started = time.monotonic()
    result = run(bp, case, command, url)
    elapsed = time.monotonic() - started

    assert (result.code, result.out, result.err) == expected(case, command, url, other_host.url)
    assert elapsed < BOUND_S
    assert bp.config_bytes() == before
    assert bp.tokens.entries == {"default": ALICE_TOKEN}  # type: ignore[attr-defined]
    assert not (bp.home / "cache").exists() or command in case.spared
    if case.checks_other_host:
        assert other_host.stats.total == 0
    assert ALICE_TOKEN not in result.out + result.err
