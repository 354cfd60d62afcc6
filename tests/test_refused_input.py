"""Input that would silently mean something else is refused (issue 9, point 8).

An empty flag value (``-p "$UNSET"``), a token given as a workspace ID, a value PowerShell
cannot take in a single-quoted string, and a token typed on a continuation line of the shell.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest

from bpshell.commands import parse
from bpshell.errors import BpError, UsageError
from bpshell.history import redact_line
from bpshell.lines import scan, split_commands
from bpshell.official.child import _powershell
from bpshell.sandbox import ALICE_TOKEN, Sandbox
from tests.conftest import ROOT, Bp, process_env, seed
from tests.shell_helpers import history_text, until
from tests.test_shell_repl import err, out, repl

# --- an empty flag value is not "no flag" ------------------------------------------------

EMPTY_PROFILE = (
    "-p was given an empty value. "
    "Give -p NAME, or leave -p out to use BP_PROFILE or the active profile\n"
)


@pytest.mark.parametrize(
    ("words", "message", "hint"),
    [
        (("logout", "-p", ""), "-p was given an empty value", "NAME"),
        (("logout", "--profile="), "--profile was given an empty value", "NAME"),
        (("-p", "", "profiles", "get"), "-p was given an empty value", "NAME"),
        (
            ("--botpressHome", "", "profiles", "list"),
            "--botpressHome was given an empty value",
            "DIR",
        ),
        (
            ("profiles", "list", "--botpress-home="),
            "--botpress-home was given an empty value",
            "DIR",
        ),
        (("login", "--workspaceId", ""), "--workspaceId was given an empty value", "ID"),
        (("login", "--apiUrl="), "--apiUrl was given an empty value", "URL"),
        (("login", "--token", ""), "--token was given an empty value", "TOKEN"),
        (("shell", "-c", ""), "-c was given an empty value", "COMMANDS"),
        (("env", "--shell", ""), "--shell was given an empty value", "SHELL"),
    ],
)
def test_an_empty_flag_value_is_a_usage_error(
    words: tuple[str, ...], message: str, hint: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse(words, {})
    flag = message.split()[0]
    assert raised.value.message == message
    assert raised.value.hint is not None
    assert raised.value.hint.startswith(f"give {flag} {hint}, or leave {flag} out")


def two_profiles(bp: Bp, url: str = "https://api.botpress.cloud") -> None:
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {
                "default": {"apiUrl": url, "workspaceId": "ws_acme", "token": ALICE_TOKEN},
                "prod": {"apiUrl": url, "workspaceId": "ws_prod", "token": ALICE_TOKEN},
            },
        },
    )


def test_logout_with_an_unset_variable_logs_nothing_out(bp: Bp) -> None:
    """``bp logout -p "$UNSET"`` used to log out of the active profile."""
    two_profiles(bp)
    before = bp.config_bytes()
    result = bp("logout", "-p", "")
    assert (result.code, result.out, result.err) == (2, "", EMPTY_PROFILE)
    assert bp.config_bytes() == before


def test_an_empty_botpress_home_flag_touches_no_home(bp: Bp) -> None:
    two_profiles(bp)
    before = bp.config_bytes()
    result = bp("--botpressHome=", "logout")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "--botpressHome was given an empty value. Give --botpressHome DIR, "
        "or leave --botpressHome out to use BP_BOTPRESS_HOME or ~/.botpress\n"
    )
    assert bp.config_bytes() == before


def test_an_empty_flag_in_the_shell_is_refused_too(bp: Bp) -> None:
    two_profiles(bp)
    before = bp.config_bytes()
    result = bp("shell", "-c", 'logout -p ""')
    assert (result.code, result.out, result.err) == (2, "", EMPTY_PROFILE)
    assert bp.config_bytes() == before


def test_an_empty_bp_profile_variable_means_unset(bp: Bp) -> None:
    """As in most CLIs, ``BP_PROFILE=`` is no variable at all: the active profile is used."""
    two_profiles(bp)
    result = bp("profiles", "get", env={"BP_PROFILE": "", "BP_BOTPRESS_HOME": ""})
    assert result.code == 0, result.err
    assert result.out.startswith("Profile: default (active)\n")


# --- a token is never taken for a workspace ID --------------------------------------------

LIKE_A_TOKEN = "bp_pat_wrongplace00000000000000000000000001"
HINT = "Pass the token with --token - or BP_TOKEN, and the workspace ID with --workspaceId"


def logged_in(bp: Bp, url: str, workspace_id: str = "ws_acme") -> None:
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {"default": {"apiUrl": url, "workspaceId": workspace_id}},
        },
        {"default": ALICE_TOKEN},
    )


def assert_never_seen(value: str, sandbox: Sandbox, *texts: str) -> None:
    for text in texts:
        assert value not in text
    assert value not in repr(sandbox.stats)  # neither in a path nor in an x-workspace-id


@pytest.mark.parametrize("value", [LIKE_A_TOKEN, "bp_bak_botkey0001", "bp_iak_integration01"])
@pytest.mark.parametrize(
    ("words", "environ", "stored", "where"),
    [
        (("login", "--token", "-", "--workspaceId", "{value}", "-y", "-v"), {}, False, ""),
        (("login", "--token", "-", "--workspaceId={value}", "-y", "-v"), {}, False, ""),
        (
            ("login", "--token", "-", "-y", "-v"),
            {"BP_WORKSPACE_ID": "{value}"},
            False,
            "",
        ),
        (
            ("profiles", "active", "-v"),
            {"BP_WORKSPACE_ID": "{value}"},
            False,
            " from BP_WORKSPACE_ID",
        ),
        (("env", "-v"), {"BP_WORKSPACE_ID": "{value}"}, False, " from BP_WORKSPACE_ID"),
        (
            ("exec", "-v", "--", "true"),
            {"BP_WORKSPACE_ID": "{value}"},
            False,
            " from BP_WORKSPACE_ID",
        ),
        (("profiles", "active", "-v"), {}, True, ' from profile "default"'),
        (("env", "--shell", "powershell"), {}, True, ' from profile "default"'),
        (("exec", "--", "true"), {}, True, ' from profile "default"'),
    ],
)
def test_a_token_like_workspace_id_is_refused_unseen(
    bp: Bp,
    sandbox: Sandbox,
    value: str,
    words: tuple[str, ...],
    environ: dict[str, str],
    stored: bool,
    where: str,
) -> None:
    logged_in(bp, sandbox.url, value if stored else "ws_acme")
    before = bp.config_bytes()
    words = tuple(word.replace("{value}", value) for word in words)
    environ = {k: v.replace("{value}", value) for k, v in environ.items()}
    result = bp(*words, stdin=ALICE_TOKEN, env={"BP_API_URL": sandbox.url, **environ})
    line = f"The workspace ID{where} looks like a token, so it was not used. {HINT}\n"
    assert (result.code, result.out, result.err) == (2, "", line)
    assert_never_seen(value, sandbox, result.out, result.err)
    assert bp.config_bytes() == before


def test_a_token_like_workspace_id_in_json_mode(bp: Bp, sandbox: Sandbox) -> None:
    logged_in(bp, sandbox.url)
    result = bp("profiles", "active", "--json", env={"BP_WORKSPACE_ID": LIKE_A_TOKEN})
    assert (result.code, result.out) == (2, "")
    assert json.loads(result.err) == {
        "error": {
            "type": "usage",
            "message": "the workspace ID from BP_WORKSPACE_ID looks like a token, "
            "so it was not used",
            "hint": HINT[:1].lower() + HINT[1:],
        }
    }
    assert_never_seen(LIKE_A_TOKEN, sandbox, result.err)


def test_a_token_like_answer_to_the_workspace_picker(bp: Bp, sandbox: Sandbox) -> None:
    """The picker offers what the API listed; whatever it answers is checked before use."""
    result = bp(
        "login", "--apiUrl", sandbox.url, "-v", interactive=True,
        answers=[ALICE_TOKEN, LIKE_A_TOKEN],
    )  # fmt: skip
    assert result.code == 2
    assert result.err.endswith(f"The workspace ID looks like a token, so it was not used. {HINT}\n")
    assert_never_seen(LIKE_A_TOKEN, sandbox, result.out, result.err)
    assert bp.config_bytes() is None


def test_a_token_like_workspace_id_in_the_shell(bp: Bp, sandbox: Sandbox) -> None:
    logged_in(bp, sandbox.url)
    result = bp("shell", "-c", f"login -v -y --workspaceId {LIKE_A_TOKEN}")
    assert (result.code, result.out) == (2, "")
    assert result.err == f"The workspace ID looks like a token, so it was not used. {HINT}\n"
    assert_never_seen(LIKE_A_TOKEN, sandbox, result.out, result.err)


# --- PowerShell: quoted by its own rules, or refused -------------------------------------


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("plain", "'plain'"),
        ("", "''"),
        ("it's", "'it''s'"),
        # U+2018-U+201B end a single-quoted string as ' does; each is doubled like '
        ("\u2018a\u2019 \u201ab\u201b", "'\u2018\u2018a\u2019\u2019 \u201a\u201ab\u201b\u201b'"),
        ("'\u2019", "'''\u2019\u2019'"),
        # nothing else is special between single quotes: no $, `, " or \ escapes
        ('"$(Remove-Item x)`n\\', "'\"$(Remove-Item x)`n\\'"),
        ("\u201cdouble\u201d \u00e9", "'\u201cdouble\u201d \u00e9'"),
    ],
)
def test_powershell_quoting(value: str, quoted: str) -> None:
    assert _powershell("BP_API_URL", value) == f"$env:BP_API_URL = {quoted}"


@pytest.mark.parametrize(
    "value", ["a\nb", "a\rb", "\x1b[2J", "a\x00", "\x7f", "a\x85b", "a\u2028b", "a\u2029", "\udcff"]
)
def test_powershell_refuses_what_it_cannot_quote(value: str) -> None:
    with pytest.raises(BpError) as raised:
        _powershell("BP_API_URL", f"https://api.example.com/{value}")
    assert raised.value.message == (
        "cannot write BP_API_URL for PowerShell: its value holds a control character "
        "or a line break"
    )
    assert value not in raised.value.message + (raised.value.hint or "")


def test_env_for_powershell_end_to_end(bp: Bp) -> None:
    url = "http://127.0.0.1:1/\u2019; Remove-Item -Recurse ~; \u2018"
    environ = {"BP_TOKEN": "bp_pat_it's", "BP_WORKSPACE_ID": "ws_acme", "BP_API_URL": url}
    result = bp("env", "--shell", "powershell", env=environ)
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "$env:BP_TOKEN = 'bp_pat_it''s'\n"
        "$env:BP_WORKSPACE_ID = 'ws_acme'\n"
        "$env:BP_API_URL = "
        "'http://127.0.0.1:1/\u2019\u2019; Remove-Item -Recurse ~; \u2018\u2018'\n"
    )
    broken = {**environ, "BP_API_URL": "http://127.0.0.1:1/a\nRemove-Item ~"}
    result = bp("env", "--shell", "powershell", env=broken)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "Cannot write BP_API_URL for PowerShell: its value holds a control character or a "
        "line break. Use bp exec -- COMMAND, or bp env --json\n"
    )


# --- a token typed on a continuation line of the shell -----------------------------------

PLAIN = "plaintokenwithoutprefix0123456789"  # no bp_pat_: only --token gives it away


@pytest.mark.parametrize(
    ("text", "continued"),
    [
        ("login --token \\", True),
        ("login --token=\\", True),
        ("login --token ab\\", True),
        ("login --token \\\\", False),
        ("login --token '\\", False),
        ('login --token "\\', False),
        ("login # a comment \\", False),
        ("login --token \\\nabc", False),
        ("login --token \\\nabc\\", True),
    ],
)
def test_scan_tells_a_line_that_continues(text: str, continued: bool) -> None:
    assert scan(text).continued is continued


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (f"login --token \\\n{PLAIN} -y", "login --token [redacted] -y"),
        (f"login --token \\\n   {PLAIN}", "login --token [redacted]"),
        (f"login --token=\\\n{PLAIN}", "login --token [redacted]"),
        (f"login --token {PLAIN[:9]}\\\n{PLAIN[9:]} -y", "login --token [redacted] -y"),
        (f"login --tok\\\nen {PLAIN}", "login --token [redacted]"),
        (f"login --token \\\n\\\n{PLAIN}", "login --token [redacted]"),
        (f"login --token {ALICE_TOKEN[:10]}\\\n{ALICE_TOKEN[10:]}", "login --token [redacted]"),
        (f"login -y \\\n--token \\\n{PLAIN}", "login -y --token [redacted]"),
        ("login --token \\\n- -y", "login --token - -y"),
        ("profiles \\\nlist", "profiles list"),
        # not continuations: a backslash inside single quotes, or in a comment
        (f"login --token 'ab\\\n{PLAIN}'", "login --token [redacted]"),
        ("profiles list # see \\\nlist", "profiles list # see \\\nlist"),
    ],
)
def test_history_redacts_the_joined_line(line: str, kept: str) -> None:
    assert redact_line(line) == kept
    assert PLAIN not in redact_line(line)
    assert ALICE_TOKEN[10:] not in redact_line(line)


def test_the_joined_line_runs_as_one_command() -> None:
    assert split_commands(f"login --token \\\n{PLAIN} -y") == [["login", "--token", PLAIN, "-y"]]
    assert split_commands(f"login --token=\\\n{PLAIN}") == [["login", f"--token={PLAIN}"]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def plain_token(sandbox: Sandbox) -> None:
    """``PLAIN`` is alice's too, so a login with it works."""
    sandbox.world.add_token(PLAIN, sandbox.world.tokens[ALICE_TOKEN])


@pytest.mark.anyio
@pytest.mark.parametrize(
    "typed",
    [
        lambda url: ["login --token \\\r", f"{PLAIN} --apiUrl {url} --workspaceId ws_acme -y\r"],
        lambda url: ["login --token=\\\r", f"{PLAIN} --apiUrl {url} --workspaceId ws_acme -y\r"],
        lambda url: [
            f"login --apiUrl {url} --token {PLAIN[:9]}\\\r",
            f"{PLAIN[9:]} --workspaceId ws_acme -y\r",
        ],
        lambda url: [
            f"login --apiUrl {url} -y --workspaceId ws_acme \\\r",
            "--token \\\r",
            f"{PLAIN}\r",
        ],
    ],
    ids=["after-flag", "after-equals", "inside-the-token", "three-lines"],
)
async def test_a_token_on_a_continuation_line_never_reaches_the_history(
    bp: Bp, fresh_sandbox: Sandbox, typed: Callable[[str], list[str]]
) -> None:
    plain_token(fresh_sandbox)
    async with repl(bp) as shell:
        shell.send("".join(typed(fresh_sandbox.url)))  # typed ahead: each Enter sees its line
        await until(lambda: "Logged in" in out(shell.runner) or err(shell.runner))
        shell.send("profiles get\r")
        await until(lambda: "Profile: default" in out(shell.runner))
        shell.send("\x04")
    assert err(shell.runner) == ""
    assert out(shell.runner).startswith("Logged in to workspace acme (ws_acme)")
    text = history_text(bp.home)
    assert PLAIN not in text
    assert PLAIN[9:] not in text and PLAIN[:9] + "\\" not in text
    assert "--token [redacted]" in text
    assert "+profiles get\n" in text


def test_a_continuation_line_in_a_real_terminal(tmp_path: Path, fresh_sandbox: Sandbox) -> None:
    """Enter after a backslash shows the continuation prompt; the history never holds the token."""
    plain_token(fresh_sandbox)
    home = tmp_path / "botpress"
    env = process_env(home, {"TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"})
    child = pexpect.spawn(
        sys.executable, ["-m", "bpshell", "shell"], env=env, cwd=str(ROOT),
        dimensions=(40, 160), encoding="utf-8", timeout=10,
    )  # fmt: skip
    try:
        child.expect_exact("bp ›")
        child.send(f"login --apiUrl {fresh_sandbox.url} --workspaceId ws_acme -y --token=\\\r")
        child.expect(r"\n(\x1b\[[0-9;]*m)*>")  # the continuation prompt, on the next line
        child.send(f"{PLAIN}\r")
        child.expect_exact("Logged in to workspace acme (ws_acme) as alice@example.com")
        child.expect_exact("bp default:acme ›")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    text = history_text(home)
    assert "--workspaceId ws_acme -y --token [redacted]\n" in text
    assert PLAIN not in text


def test_an_empty_profile_for_an_official_command_is_refused(bp: Bp) -> None:
    """``bp deploy -p "$UNSET"`` is handed to no one with the active profile's token."""
    result = bp("deploy", "-p", "")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "-p was given an empty value. Give -p NAME, or leave -p out to use BP_PROFILE or the "
        "active profile\n"
    )


def test_a_token_like_workspace_id_is_never_handed_to_the_official_cli(
    bp: Bp, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    fake = tmp_path / "bp"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": "default",
            "profiles": {
                "default": {
                    "apiUrl": "https://api.botpress.cloud",
                    "workspaceId": "ws_acme",
                    "token": ALICE_TOKEN,
                }
            },
        },
    )
    result = bp("deploy", "--workspaceId", LIKE_A_TOKEN, env={"BP_OFFICIAL_CLI": str(fake)})
    assert result.code == 2
    assert LIKE_A_TOKEN not in result.out + result.err
    assert "looks like a token" in result.err
    assert not marker.exists()
