"""The command line: parsing alone (argv -> options), then what ``bp`` prints for help,
version and usage errors, in-process and as a real process (exit 2, one line, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bpshell.commands import (
    EnvOptions,
    GlobalOptions,
    ListOptions,
    LoginOptions,
    LogoutOptions,
    NameOptions,
    RenameOptions,
    UseOptions,
    parse,
)
from bpshell.errors import UsageError
from tests.conftest import ROOT, Bp, bp_process, process_env

G = GlobalOptions()


@pytest.mark.parametrize(
    ("words", "environ", "command", "options", "globals_"),
    [
        (("login",), {}, "login", LoginOptions(), G),
        (
            ("login", "--token", "-", "--workspaceId", "ws_a", "--apiUrl", "http://127.0.0.1:1"),
            {},
            "login",
            LoginOptions(token="-", workspace_id="ws_a", api_url="http://127.0.0.1:1"),
            G,
        ),
        (
            ("login", "--token=-", "--workspace-id=ws_a", "--api-url=https://x"),
            {},
            "login",
            LoginOptions(token="-", workspace_id="ws_a", api_url="https://x"),
            G,
        ),
        (
            ("login", "--insecure-storage", "--no-browser"),
            {},
            "login",
            LoginOptions(insecure_storage=True, no_browser=True),
            G,
        ),
        (
            ("login", "--insecureStorage", "--noBrowser"),
            {},
            "login",
            LoginOptions(insecure_storage=True, no_browser=True),
            G,
        ),
        (
            ("-p", "prod", "--json", "login", "-y"),
            {},
            "login",
            LoginOptions(),
            GlobalOptions(json=True, confirm=True, profile="prod", profile_source="flag"),
        ),
        (
            ("login", "--profile", "prod", "--verbose", "--confirm"),
            {},
            "login",
            LoginOptions(),
            GlobalOptions(verbose=True, confirm=True, profile="prod", profile_source="flag"),
        ),
        (
            ("login", "--profile=prod", "--botpressHome", "/h"),
            {},
            "login",
            LoginOptions(),
            GlobalOptions(home="/h", profile="prod", profile_source="flag"),
        ),
        (
            ("--botpress-home=/h", "logout"),
            {},
            "logout",
            LogoutOptions(),
            GlobalOptions(home="/h"),
        ),
        (("logout", "--all"), {}, "logout", LogoutOptions(all=True), G),
        (
            ("logout",),
            {
                "BP_PROFILE": "ci",
                "BP_JSON": "1",
                "BP_VERBOSE": "true",
                "BP_CONFIRM": "yes",
                "BP_BOTPRESS_HOME": "/h",
            },
            "logout",
            LogoutOptions(),
            GlobalOptions(
                json=True,
                verbose=True,
                confirm=True,
                home="/h",
                profile="ci",
                profile_source="BP_PROFILE",
            ),
        ),
        (
            ("logout", "-p", "prod"),
            {"BP_PROFILE": "ci", "BP_JSON": "0"},
            "logout",
            LogoutOptions(),
            GlobalOptions(profile="prod", profile_source="flag"),
        ),
        (("profiles", "list"), {}, "profiles list", ListOptions(), G),
        (
            ("profiles", "ls", "--verify", "--displayToken"),
            {},
            "profiles list",
            ListOptions(verify=True, display_token=True),
            G,
        ),
        (
            ("profiles", "list", "--display-token", "--concurrency", "4", "--timeout=2.5"),
            {},
            "profiles list",
            ListOptions(display_token=True, concurrency=4, timeout=2.5),
            G,
        ),
        (
            ("--json", "profiles", "use", "prod"),
            {},
            "profiles use",
            UseOptions(name="prod"),
            GlobalOptions(json=True),
        ),
        (("profiles", "use"), {}, "profiles use", UseOptions(), G),
        (
            ("profiles", "use", "--local", "--unset"),
            {},
            "profiles use",
            UseOptions(local=True, unset=True),
            G,
        ),
        (
            ("profiles", "use", "--session", "x"),
            {},
            "profiles use",
            UseOptions("x", session=True),
            G,
        ),
        (("env", "--shell", "bash"), {}, "env", EnvOptions(shell="sh"), G),
        (("env", "--shell=zsh"), {}, "env", EnvOptions(shell="sh"), G),
        (("env", "--shell", "fish"), {}, "env", EnvOptions(shell="fish"), G),
        (
            ("profiles", "get", "--displayToken", "prod"),
            {},
            "profiles get",
            NameOptions(name="prod", display_token=True),
            G,
        ),
        (("profiles", "rm", "prod"), {}, "profiles rm", NameOptions(name="prod"), G),
        (
            ("profiles", "rename", "a", "b", "-v"),
            {},
            "profiles rename",
            RenameOptions(old="a", new="b"),
            GlobalOptions(verbose=True),
        ),
        (
            ("profiles", "rename", "login", "profiles"),
            {},
            "profiles rename",
            RenameOptions(old="login", new="profiles"),
            G,
        ),
    ],
)
def test_parse(
    words: tuple[str, ...],
    environ: dict[str, str],
    command: str,
    options: Any,
    globals_: GlobalOptions,
) -> None:
    invocation = parse(words, environ)
    assert invocation.command is not None
    assert (invocation.command.name, invocation.options, invocation.globals) == (
        command,
        options,
        globals_,
    )


@pytest.mark.parametrize(
    ("words", "message", "hint"),
    [
        (("frobnicate",), "unknown command 'frobnicate'", "Run: bp --help"),
        (("logn",), "unknown command 'logn'", "did you mean 'bp login'?"),
        (("--frob",), "unknown flag --frob", "Run: bp --help"),
        (("login", "--frob"), "unknown flag --frob for 'bp login'", "Run: bp login --help"),
        (
            ("login", "--workspaceid", "x"),
            "unknown flag --workspaceid for 'bp login'",
            "did you mean --workspace-id?",
        ),
        (("-p",), "flag -p needs a value (NAME)", "Run: bp --help"),
        (("login", "-p"), "flag -p needs a value (NAME)", "Run: bp --help"),
        (("--json=yes", "logout"), "flag --json takes no value", "Run: bp --help"),
        (("login", "--token"), "flag --token needs a value (TOKEN)", "Run: bp login --help"),
        (
            ("login", "--workspaceId", "--token", "-"),
            "flag --workspaceId needs a value (ID)",
            "Run: bp login --help",
        ),
        (
            ("logout", "--all=1"),
            "flag --all takes no value",
            "Run: bp logout --help",
        ),
        (
            ("profiles",),
            "'bp profiles' needs a command",
            "choose one of: list, active, use, get, rm, rename, import",
        ),
        (
            ("profiles", "frob"),
            "unknown command 'bp profiles frob'",
            "choose one of: list, active, use, get, rm, rename, import",
        ),
        (
            ("profiles", "lst"),
            "unknown command 'bp profiles lst'",
            "did you mean 'bp profiles list'?",
        ),
        (
            ("profiles", "renme"),
            "unknown command 'bp profiles renme'",
            "did you mean 'bp profiles rename'?",
        ),
        (
            ("workspaces", "lis"),
            "unknown command 'bp workspaces lis'",
            "did you mean 'bp workspaces list'?",
        ),
        (("hlep",), "unknown command 'hlep'", "did you mean 'bp help'?"),
        (
            ("completion",),
            "'bp completion' needs a shell: bash, zsh or fish",
            "usage: bp completion SHELL",
        ),
        (
            ("env", "--shell", "csh"),
            "invalid value csh for --shell: expected one of sh, fish, powershell, bash, zsh",
            None,
        ),
        (
            ("profiles", "list", "extra"),
            "'bp profiles list' takes no arguments, got extra",
            "Run: bp profiles list --help",
        ),
        (("profiles", "rm"), "'bp profiles rm' needs NAME", "usage: bp profiles rm NAME"),
        (
            ("profiles", "rename", "a"),
            "'bp profiles rename' needs NEW",
            "usage: bp profiles rename OLD NEW",
        ),
        (
            ("profiles", "list", "--concurrency", "0"),
            "invalid value 0 for --concurrency: expected a whole number of at least 1",
            None,
        ),
        (
            ("profiles", "list", "--timeout", "-1"),
            "flag --timeout needs a value (SECONDS)",
            "Run: bp profiles list --help",
        ),
        (
            ("profiles", "list", "--timeout", "soon"),
            "invalid value soon for --timeout: expected a number of seconds between 0 and 3600",
            None,
        ),
        (
            ("frob\x1b[2J",),
            "unknown command 'frob\\x1b[2J'",
            "Run: bp --help",
        ),
    ],
)
def test_parse_errors(words: tuple[str, ...], message: str, hint: str | None) -> None:
    with pytest.raises(UsageError) as caught:
        parse(words, {})
    assert (caught.value.message, caught.value.hint) == (message, hint)


@pytest.mark.parametrize(
    ("words", "help_for"),
    [
        ((), ()),
        (("--help",), ()),
        (("-h",), ()),
        (("profiles",), None),
        (("profiles", "--help"), ("profiles",)),
        (("login", "--help"), ("login",)),
        (("--help", "login"), ("login",)),
        (("profiles", "ls", "-h"), ("profiles", "list")),
        (("-p", "x", "profiles", "rename", "--help"), ("profiles", "rename")),
        (("help",), ()),
        (("help", "login"), ("login",)),
        (("help", "profiles"), ("profiles",)),
        (("help", "profiles", "ls"), ("profiles", "ls")),
        (("-p", "x", "help", "exit-codes"), ("exit-codes",)),
        (("help", "bogus"), ("bogus",)),
    ],
)
def test_help_is_parsed_not_run(words: tuple[str, ...], help_for: tuple[str, ...] | None) -> None:
    if help_for is None:
        with pytest.raises(UsageError):
            parse(words, {})
        return
    assert parse(words, {}).help_for == help_for


# --- what bp prints ----------------------------------------------------------------------


def test_version(bp: Bp) -> None:
    from bpshell import __version__

    assert (bp("--version").code, bp("--version").out) == (0, f"bpshell {__version__}\n")
    assert bp("--version").err == ""


@pytest.mark.parametrize("words", [("--version", "--json"), ("--json", "--version")])
def test_version_as_json(bp: Bp, words: tuple[str, ...]) -> None:
    from bpshell import __version__

    result = bp(*words)
    python = ".".join(str(part) for part in sys.version_info[:3])
    assert (result.code, result.err) == (0, "")
    assert result.out == f'{{\n  "version": "{__version__}",\n  "python": "{python}"\n}}\n'
    assert bp("--version", env={"BP_JSON": "1"}).json() == {
        "version": __version__,
        "python": python,
    }


LOGIN_HELP = """\
Log in with a Personal Access Token and a workspace.

Usage:
  bp login [flags]

Flags:
  --token TOKEN                            Personal Access Token, or - to read stdin
  --token-command, --tokenCommand COMMAND  command that prints the token; only it is stored
  --workspaceId, --workspace-id ID         workspace to use
  --apiUrl, --api-url URL                  API URL
  --insecure-storage, --insecureStorage    store the token in config.json, not the keyring
  --no-browser, --noBrowser                print the token page URL

Where each value comes from (the first one given wins):
  profile    -p NAME, BP_PROFILE, the folder's .bp-profile, the active profile,
             "default"
  token      --token or --token-command, BP_TOKEN, the profile's stored token or token
             command (same API URL), asked for
  workspace  --workspaceId, BP_WORKSPACE_ID, asked for (with no terminal or -y: the
             profile's)
  API URL    --apiUrl, BP_API_URL, the profile's, https://api.botpress.cloud
With no terminal, or with -y, nothing is asked: give the token (--token - reads it from
stdin, and keeps it out of the process list) and the workspace ID.
--token-command runs a command that prints the token (a secret manager's: op, pass,
vault) once to check it, and stores only the command: bp runs it whenever it needs the
token (once per bp shell session). It is split into words as a shell would and run
without one; for pipes or variables, say sh -c '...'.
See 'bp help environment' for every variable bp reads.

Global flags:
  --json                               print only JSON on stdout
  -v, --verbose                        log API requests (tokens redacted) on stderr
  -y, --confirm                        answer yes; never prompt
  --botpressHome, --botpress-home DIR  botpress home directory (default ~/.botpress)
  -p, --profile NAME                   use this profile for this run
  -h, --help                           show help

Examples:
  bp login
  bp login --token - --workspaceId ws_abc123 -y < token.txt
  bp login -p prod --workspaceId ws_prod
  bp login -p team --token-command 'op read op://Private/Botpress/token'
"""


@pytest.mark.parametrize(
    "words",
    [("login", "--help"), ("--help", "login"), ("login", "-h", "--frob"), ("help", "login")],
)
def test_command_help(bp: Bp, words: tuple[str, ...]) -> None:
    result = bp(*words)
    assert (result.code, result.out, result.err) == (0, LOGIN_HELP, "")
    assert not bp.home.exists()


@pytest.mark.parametrize("words", [(), ("--help",), ("-h",), ("help",)])
def test_overview_lists_every_command(bp: Bp, words: tuple[str, ...]) -> None:
    result = bp(*words)
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert lines[:4] == [
        "bp 0.1.0: Botpress Cloud login and profiles",
        "",
        "Usage:",
        "  bp COMMAND [flags]",
    ]
    for line in (
        "  login            log in with a Personal Access Token and a workspace",
        "  logout           remove stored credentials",
        "  profiles list    list profiles",
        "  profiles active  show the active credentials and check them",
        "  profiles use     make a profile the active one",
        "  profiles get     show one profile",
        "  profiles rm      remove a profile and its token",
        "  profiles rename  rename a profile",
        "  --version                            print the version",
        "  environment      the environment variables bp reads",
        "  exit-codes       what each exit status means",
    ):
        assert line in lines
    assert lines[-2:] == [
        "Run 'bp help COMMAND' (or 'bp COMMAND --help') for more about a command,",
        "'bp help TOPIC' for a topic.",
    ]


@pytest.mark.parametrize(
    ("words", "environ", "err"),
    [
        (("frobnicate",), {}, "Unknown command 'frobnicate'. Run: bp --help\n"),
        (("logn",), {}, "Unknown command 'logn'. Did you mean 'bp login'?\n"),
        (("login", "--frob"), {}, "Unknown flag --frob for 'bp login'. Run: bp login --help\n"),
        (("--frob", "logout"), {}, "Unknown flag --frob for 'bp logout'. Run: bp logout --help\n"),
        (("-p",), {}, "Flag -p needs a value (NAME). Run: bp --help\n"),
        (
            ("profiles",),
            {},
            "'bp profiles' needs a command. "
            "Choose one of: list, active, use, get, rm, rename, import\n",
        ),
        (
            ("frobnicate", "--json"),
            {},
            '{"error": {"type": "usage", "message": "unknown command \'frobnicate\'", '
            '"hint": "Run: bp --help"}}\n',
        ),
        (
            ("frobnicate",),
            {"BP_JSON": "true"},
            '{"error": {"type": "usage", "message": "unknown command \'frobnicate\'", '
            '"hint": "Run: bp --help"}}\n',
        ),
        (
            ("profiles", "rm", "--json"),
            {},
            '{"error": {"type": "usage", "message": "\'bp profiles rm\' needs NAME", '
            '"hint": "usage: bp profiles rm NAME"}}\n',
        ),
        (
            ("--json", "profiles", "use"),
            {},
            '{"error": {"type": "usage", "message": "no profile name given", '
            '"hint": "known profiles: none"}}\n',
        ),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    bp: Bp, words: tuple[str, ...], environ: dict[str, str], err: str
) -> None:
    result = bp(*words, env=environ)
    assert (result.code, result.out, result.err) == (2, "", err)
    assert not bp.home.exists()


@pytest.mark.parametrize(
    ("words", "code", "out", "err"),
    [
        (("frobnicate",), 2, "", "Unknown command 'frobnicate'. Run: bp --help\n"),
        (("login", "--frob"), 2, "", "Unknown flag --frob for 'bp login'. Run: bp login --help\n"),
        (
            ("--json", "profiles", "use", "nope"),
            1,
            "",
            '{"error": {"type": "profile_not_found", "message": "unknown profile \\"nope\\"", '
            '"hint": "known profiles: none. Create it with: bp login -p nope"}}\n',
        ),
        (("profiles", "list", "--json"), 0, "[]\n", "No profiles. Log in with: bp login\n"),
    ],
)
def test_as_a_real_process(
    tmp_path: Path, words: tuple[str, ...], code: int, out: str, err: str
) -> None:
    result = bp_process(tmp_path / "home", *words)
    assert (result.code, result.out, result.err) == (code, out, err)
    assert "Traceback" not in result.err


def test_version_as_a_real_process(tmp_path: Path) -> None:
    from bpshell import __version__

    result = bp_process(tmp_path / "home", "--version")
    assert (result.code, result.out, result.err) == (0, f"bpshell {__version__}\n", "")


@pytest.mark.parametrize(
    "words",
    [
        ("--json", "profiles", "list"),
        ("profiles", "list", "--json"),
        ("profiles", "--json", "list"),
    ],
)
def test_global_flags_before_or_after_the_command(bp: Bp, words: tuple[str, ...]) -> None:
    result = bp(*words)
    assert (result.code, result.out) == (0, "[]\n")


@pytest.mark.parametrize(
    "words",
    [
        ("--botpressHome", "{home}", "profiles", "list"),
        ("profiles", "list", "--botpress-home", "{home}"),
        ("profiles", "list", "--botpressHome={home}"),
    ],
)
def test_botpress_home_flag_spellings(bp: Bp, tmp_path: Path, words: tuple[str, ...]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(
        '{"version": 1, "activeProfile": "x", '
        '"profiles": {"x": {"apiUrl": "https://api.botpress.cloud", "workspaceId": "ws_x"}}}'
    )
    (other / "config.json").chmod(0o600)
    result = bp(*(word.format(home=other) for word in words))
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "   NAME  WORKSPACE  API URL\n*  x     ws_x       https://api.botpress.cloud\n"
    )
    assert not bp.home.exists()


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """``bp --help | head -1``: the pipe closes under bp, which stops quietly."""
    done = subprocess.run(
        f"{sys.executable} -m bpshell --help | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=process_env(tmp_path / "home"),
        cwd=ROOT,
        timeout=60,
    )
    assert done.stdout.startswith("bp ")
    assert "Traceback" not in done.stderr
