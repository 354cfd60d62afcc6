"""Shell completion: ``bp __complete`` as a table, then the real bash, zsh and fish scripts.

The scripts are run by the real shells with ``bp`` on PATH resolving to this checkout: bash
calls ``_bp`` with COMP_WORDS/COMP_CWORD set the way bash splits a line, fish answers
``complete -C``, and zsh is driven through a pty (compinit, Tab, the listing it prints).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bpshell.cache import write_workspaces
from bpshell.commands import (
    COMMANDS,
    GLOBAL_FLAGS,
    GROUPS,
    HELP_FLAG,
    HELP_WORD,
    Command,
    Flag,
)
from bpshell.complete import SCRIPTS, complete
from tests.conftest import ROOT, Bp

DEFAULT_URL = "https://api.botpress.cloud"
CONFIG = {
    "version": 1,
    "activeProfile": "default",
    "profiles": {
        "default": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_acme", "workspaceName": "acme"},
        "prod": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_prod", "workspaceName": "Production"},
        "staging": {"apiUrl": "https://api.botpress.dev", "workspaceId": "ws_stage"},
    },
}
DEFAULT_WORKSPACES = [("ws_acme", "acme"), ("ws_globex", "Globex Corp"), ("ws_team01", "Team 01")]
PROD_WORKSPACES = [("ws_prod", "Production"), ("ws_prod_eu", "Prod EU")]


def first_words() -> list[str]:
    """First words in table order: a group with its description, a command with its summary."""
    found: dict[str, str] = {}
    for command in COMMANDS:
        found.setdefault(command.path[0], GROUPS.get(command.path[0], command.summary))
    return [f"{word}\t{text}" for word, text in found.items()]


HELP = "help\tshow help for a command, or a topic (bp help environment)"
TOPIC_WORDS = [
    "environment\tthe environment variables bp reads",
    "exit-codes\twhat each exit status means",
]
COMMAND_WORDS = first_words()
TOP_LEVEL = [*COMMAND_WORDS, HELP]
PROFILES = [
    "default\tacme (ws_acme) (active)",
    "prod\tProduction (ws_prod)",
    "staging\tws_stage",
]
HEAVY = ("pydantic", "httpx", "anyio", "keyring", "prompt_toolkit", "asyncio")


def make_home(home: Path) -> Path:
    """A botpress home with three profiles and two workspace caches."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(json.dumps(CONFIG))
    write_workspaces(home, "default", DEFAULT_URL, DEFAULT_WORKSPACES)
    write_workspaces(home, "prod", DEFAULT_URL, PROD_WORKSPACES)
    return home


@pytest.fixture
def world(tmp_path: Path) -> Path:
    return make_home(tmp_path / "botpress")


def needs(program: str) -> str:
    """The path of ``program``; skip without it, but fail under CI where it must be there."""
    found = shutil.which(program)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is not installed (.ci/test installs it)")
        pytest.skip(f"{program} is not installed")
    return found


@pytest.fixture(scope="session")
def bp_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a ``bp`` that runs this checkout, like its console script."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "bp"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from bpshell.cli import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    return folder


def shell_env(home: Path, bp_bin: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
    env.update(
        PATH=f"{bp_bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        BP_BOTPRESS_HOME=str(home),
        HOME=str(home.parent),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


# --- bp __complete, as a table ----------------------------------------------------------

CASES_PROFILES_R = ["rm\tremove a profile and its token", "rename\trename a profile"]
CASES: list[tuple[list[str], dict[str, str], list[str]]] = [
    ([""], {}, TOP_LEVEL),
    (["pro"], {}, ["profiles\tmanage profiles"]),
    (["e"], {}, [line for line in TOP_LEVEL if line.startswith("e")]),
    (["ex"], {}, ["exec\trun a command with the credentials in force in its environment"]),
    (
        ["profiles", ""],
        {},
        [
            "list\tlist profiles",
            "active\tshow the active credentials and check them",
            "use\tmake a profile the active one",
            "get\tshow one profile",
            "rm\tremove a profile and its token",
            "rename\trename a profile",
            "import\timport the profiles and login of the official Botpress CLI",
        ],
    ),
    (["profiles", "r"], {}, CASES_PROFILES_R),
    (["profiles", "ls"], {}, ["ls\tlist profiles"]),
    (["profiles", "use", ""], {}, PROFILES),
    (["profiles", "use", "p"], {}, PROFILES[1:2]),
    (["profiles", "get", "--displayToken", ""], {}, PROFILES),
    (["profiles", "rm", "s"], {}, PROFILES[2:]),
    (["profiles", "rename", ""], {}, PROFILES),
    (["profiles", "rename", "prod", ""], {}, []),
    (["profiles", "use", "prod", ""], {}, []),
    (["-p", ""], {}, PROFILES),
    (["logout", "--profile", "d"], {}, PROFILES[:1]),
    (["--profile=st"], {}, ["--profile=staging\tws_stage"]),
    (
        ["login", "--workspaceId", ""],
        {},
        ["ws_acme\tacme", "ws_globex\tGlobex Corp", "ws_team01\tTeam 01"],
    ),
    (["login", "--workspace-id", "ws_g"], {}, ["ws_globex\tGlobex Corp"]),
    (["login", "--workspaceId=ws_g"], {}, ["--workspaceId=ws_globex\tGlobex Corp"]),
    (
        ["-p", "prod", "login", "--workspaceId", ""],
        {},
        ["ws_prod\tProduction", "ws_prod_eu\tProd EU"],
    ),
    (
        ["login", "--workspaceId", "", ""][:3],
        {"BP_PROFILE": "prod"},
        ["ws_prod\tProduction", "ws_prod_eu\tProd EU"],
    ),
    (["login", "-p", "new", "--workspaceId", "ws_t"], {}, ["ws_team01\tTeam 01"]),
    (["-p", "staging", "login", "--workspaceId", ""], {}, ["ws_stage"]),
    (
        ["login", "--apiUrl", ""],
        {},
        [
            "https://api.botpress.cloud\tused by default, prod",
            "https://api.botpress.dev\tused by staging",
        ],
    ),
    (["login", "--token", ""], {}, []),
    (["login", "--token", "bp_pat_"], {}, []),
    (["profiles", "list", "--timeout", ""], {}, []),
    (
        ["profiles", "list", "--verify", "--"],
        {},
        [
            "--displayToken\tshow tokens in clear",
            "--concurrency\tprofiles checked at once, at most (default 64; one request each)",
            "--timeout\ttime allowed per profile (default 10)",
            "--json\tprint only JSON on stdout",
            "--verbose\tlog API requests (tokens redacted) on stderr",
            "--confirm\tanswer yes; never prompt",
            "--botpressHome\tbotpress home directory (default ~/.botpress)",
            "--profile\tuse this profile for this run",
            "--help\tshow help",
        ],
    ),
    (["profiles", "get", "--display-"], {}, ["--display-token\tshow tokens in clear"]),
    (
        ["--v"],
        {},
        ["--verbose\tlog API requests (tokens redacted) on stderr", "--version\tprint the version"],
    ),
    (["-p"], {}, ["-p\tuse this profile for this run"]),
    (["login", "--no-browser="], {}, []),
    (["--botpressHome", ""], {}, [":dirs"]),
    (["exec", ""], {}, [":commands"]),
    (["exec", "--env-only", "--", ""], {}, [":commands"]),
    (["exec", "--", "npx", "@botpress/cli", ""], {}, [":files"]),
    (["exec", "--", "bp", "-p", ""], {}, [":files"]),
    (
        ["exec", "--e"],
        {},
        ["--env-only\tonly set BP_TOKEN, BP_WORKSPACE_ID, BP_API_URL; no private botpress home"],
    ),
    (["completion", ""], {}, ["bash", "zsh", "fish"]),
    (["completion", "z"], {}, ["zsh"]),
    (["env", "--shell", ""], {}, ["sh", "fish", "powershell"]),
    (["env", "--shell=p"], {}, ["--shell=powershell"]),
    (["deploy", ""], {}, []),
    (["bots", "ls", "--"], {}, []),
    (["nope", "profiles", ""], {}, []),
    (["he"], {}, [HELP]),
    (["help", ""], {}, COMMAND_WORDS + TOPIC_WORDS),
    (
        ["help", "ex"],
        {},
        [
            "exec\trun a command with the credentials in force in its environment",
            "exit-codes\twhat each exit status means",
        ],
    ),
    (["-p", "prod", "help", "env"], {}, [w for w in COMMAND_WORDS + TOPIC_WORDS if w[:3] == "env"]),
    (["help", "profiles", "r"], {}, CASES_PROFILES_R),
    (["help", "exit-codes", ""], {}, []),
    (["help", "profiles", "use", ""], {}, []),
    (["help", "help", ""], {}, []),
]


@pytest.mark.parametrize(("words", "environ", "expected"), CASES)
def test_complete_table(
    world: Path, words: list[str], environ: dict[str, str], expected: list[str]
) -> None:
    assert complete(words, {"BP_BOTPRESS_HOME": str(world), **environ}) == expected


def test_botpress_home_flag_picks_the_config(world: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(
        json.dumps({"profiles": {"ci": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_ci"}}})
    )
    environ = {"BP_BOTPRESS_HOME": str(world)}
    assert complete(["--botpressHome", str(other), "profiles", "use", ""], environ) == ["ci\tws_ci"]
    assert complete([f"--botpressHome={other}", "-p", ""], environ) == ["ci\tws_ci"]


def test_nothing_stored_means_nothing_offered(tmp_path: Path) -> None:
    environ = {"BP_BOTPRESS_HOME": str(tmp_path / "missing")}
    assert complete(["profiles", "use", ""], environ) == []
    assert complete(["login", "--workspaceId", ""], environ) == []
    assert complete(["login", "--apiUrl", ""], environ) == ["https://api.botpress.cloud\tdefault"]


def test_unsafe_values_are_left_out_and_descriptions_cleaned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    profiles = {
        "ok": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_ok", "workspaceName": "a\tb\nc\x1b[31m"},
        "with space": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_x"},
        "new\nline": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_y"},
        ":colon": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_z"},
        "ünï": {"apiUrl": DEFAULT_URL, "workspaceId": "ws_u"},
        "notadict": 3,
    }
    (home / "config.json").write_text(json.dumps({"profiles": profiles, "activeProfile": "ok"}))
    write_workspaces(home, "ok", DEFAULT_URL, [("ws ok", "spaced"), ("ws_" + "x" * 20, "y" * 200)])
    environ = {"BP_BOTPRESS_HOME": str(home)}
    assert complete(["profiles", "use", ""], environ) == ["ok\ta b c [31m (ws_ok) (active)"]
    assert complete(["login", "--workspaceId", ""], environ) == [
        "ws_ok\ta b c [31m",
        "ws_xxxxxxxxxxxxxxxxxxxx\t" + "y" * 79 + "…",
    ]


@pytest.mark.parametrize(
    "config",
    [b"{not json", b"[]", b'{"profiles": []}', b'{"profiles": {"a": "b"}}', b"\xff\xfe", b""],
)
def test_broken_config_gives_no_profiles(tmp_path: Path, config: bytes) -> None:
    (tmp_path / "config.json").write_bytes(config)
    environ = {"BP_BOTPRESS_HOME": str(tmp_path)}
    assert complete(["profiles", "use", ""], environ) == []
    assert complete(["login", "--workspaceId", ""], environ) == []


def run_complete(home: Path, *words: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
    env.update(BP_BOTPRESS_HOME=str(home), PYTHONPATH=str(ROOT), **extra)
    return subprocess.run(
        [sys.executable, "-m", "bpshell", "__complete", *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        cwd=ROOT,
    )


def test_entry_point_prints_lines_and_exits_0(world: Path) -> None:
    done = run_complete(world, "profiles", "use", "")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "".join(f"{p}\n" for p in PROFILES),
        "",
    )


@pytest.mark.parametrize(
    "words",
    [
        (),
        ("\x00",),
        ("--botpressHome", "/dev/null/x", "profiles", "use", ""),
        ("--botpressHome=\udcff", "-p", ""),
        ("-p", "\n", "login", "--workspaceId", ""),
    ],
)
def test_entry_point_never_fails_loudly(world: Path, words: tuple[str, ...]) -> None:
    done = run_complete(world, *(w for w in words if "\x00" not in w and "\udcff" not in w))
    assert done.returncode == 0
    assert done.stderr == ""


def test_entry_point_survives_an_unreadable_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").mkdir()
    done = run_complete(tmp_path, "-p", "")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# What a Tab does not load: the network and terminal stack, nor typing and pathlib (see
# bpshell.records and bpshell.cache), which would cost it a third of a bare start.
LIGHT_TAB_SKIPS = (*HEAVY, "typing", "pathlib")


@pytest.mark.parametrize("here", [False, True], ids=["no .bp-profile", ".bp-profile in force"])
def test_entry_point_stays_light(world: Path, tmp_path: Path, here: bool) -> None:
    bot = tmp_path / "bot"
    bot.mkdir()
    if here:
        (bot / ".bp-profile").write_text("prod\n")
    named = () if here else ("-p", "prod")
    probe = (
        "import sys\n"
        "from bpshell.cli import main\n"
        f"main(['__complete', *{named!r}, 'login', '--workspaceId', ''])\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        f"sys.stderr.write(repr(sorted(loaded & set({LIGHT_TAB_SKIPS!r}))))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BP_")}
    env.update(BP_BOTPRESS_HOME=str(world), PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    # -S: no site, whose hooks (an editable install's finder) import pathlib themselves.
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        capture_output=True, text=True, env=env, cwd=bot, timeout=30,
    )  # fmt: skip
    assert done.stdout == "ws_prod\tProduction\nws_prod_eu\tProd EU\n"
    assert done.stderr == "[]"


# --- the scripts: one source, printed by `bp completion`, knowing every command -------------


@pytest.mark.parametrize("shell", sorted(SCRIPTS))
def test_completion_prints_the_shipped_script(bp: Bp, shell: str) -> None:
    shipped = (ROOT / "completions" / SCRIPTS[shell]).read_text()
    packaged = (ROOT / "bpshell" / "completions" / SCRIPTS[shell]).read_text()
    assert shipped == packaged
    result = bp("completion", shell)
    assert (result.code, result.out, result.err) == (0, shipped, "")


def test_completion_rejects_an_unknown_shell(bp: Bp) -> None:
    result = bp("completion", "tcsh")
    assert (result.code, result.out) == (2, "")
    assert result.err == "Unknown shell 'tcsh'. Choose one of: bash, zsh, fish\n"
    assert bp("completion").code == 2


def long_flags(command: Command) -> set[str]:
    flags: tuple[Flag, ...] = (*command.flags, *GLOBAL_FLAGS, HELP_FLAG)
    return {next(n for n in f.names if n.startswith("--")) for f in flags}


def bash_words(line: str) -> list[str]:
    """COMP_WORDS as bash makes them: split at blanks, and at the `=` and `:` word breaks."""
    import re

    words = [part for token in line.split() for part in re.findall(r"[=:]+|[^=:]+", token)]
    return [*words, ""] if line.endswith(" ") else words


BASH_HARNESS = """
source {script}
t() {{
    COMP_LINE=$1 COMP_POINT=${{#1}}
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _bp
    printf '%s\\n' "${{COMPREPLY[@]}}" "---"
}}
"""


def run_bash(home: Path, bp_bin: Path, lines: Sequence[str]) -> list[list[str]]:
    """COMPREPLY for each line, from the real bash and bpshell's bash script."""
    bash = needs("bash")
    calls = "".join(
        "t " + " ".join(_sh_quote(w) for w in [line, *bash_words(line)]) + "\n" for line in lines
    )
    script = BASH_HARNESS.format(script=_sh_quote(str(ROOT / "completions" / "bp.bash")))
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script + calls],
        capture_output=True,
        text=True,
        env=shell_env(home, bp_bin),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    replies: list[list[str]] = [[]]
    for item in done.stdout.splitlines():
        if item == "---":
            replies.append([])
        elif item:
            replies[-1].append(item)
    return replies[:-1]


def _sh_quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def test_bash_completes_commands_profiles_workspaces_and_values(world: Path, bp_bin: Path) -> None:
    cases = {
        "bp ": [line.split("\t")[0] for line in TOP_LEVEL],
        "bp profiles u": ["use"],
        "bp help ex": ["exec", "exit-codes"],
        "bp profiles use ": ["default", "prod", "staging"],
        "bp -p p": ["prod"],
        "bp --profile=st": ["staging"],
        "bp login --workspaceId ": ["ws_acme", "ws_globex", "ws_team01"],
        "bp login --workspaceId=ws_g": ["ws_globex"],
        # readline replaces only what follows the `=` or `:` (test_completion_hostile types it)
        "bp login --workspaceId=": ["ws_acme", "ws_globex", "ws_team01"],
        "bp -p prod login --workspaceId ws_prod_": ["ws_prod_eu"],
        "bp login --apiUrl https://api.botpress.d": ["//api.botpress.dev"],
        "bp login --apiUrl https:": ["//api.botpress.cloud", "//api.botpress.dev"],
        "bp env --shell=f": ["fish"],
        "bp completion ": ["bash", "zsh", "fish"],
        "bp login --token ": [],
        "bp deploy ": [],
    }
    assert dict(zip(cases, run_bash(world, bp_bin, list(cases)), strict=True)) == cases


def test_bash_hands_paths_and_commands_to_bash(world: Path, bp_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "homes").mkdir()
    (tmp_path / "homes.txt").write_text("")
    replies = run_bash(
        world,
        bp_bin,
        [f"bp --botpressHome {tmp_path}/hom", "bp exec -- printenv", "bp exec -- ls "],
    )
    assert replies[0] == [f"{tmp_path}/homes"]
    assert "printenv" in replies[1]
    assert replies[2] == []


def test_bash_script_knows_every_command_and_flag(world: Path, bp_bin: Path) -> None:
    lines = ["bp ", "bp profiles "] + [f"bp {c.name} --" for c in COMMANDS]
    replies = run_bash(world, bp_bin, lines)
    assert set(replies[0]) == {c.path[0] for c in COMMANDS} | {HELP_WORD}
    assert set(replies[1]) == {c.path[1] for c in COMMANDS if c.path[0] == "profiles"}
    for command, reply in zip(COMMANDS, replies[2:], strict=True):
        assert set(reply) == long_flags(command), command.name


def test_bash_is_silent_when_bp_is_not_bpshell(world: Path, tmp_path: Path) -> None:
    impostor = tmp_path / "impostor"
    impostor.mkdir()
    (impostor / "bp").write_text("#!/bin/sh\necho 'Unknown arguments: __complete'\nexit 1\n")
    (impostor / "bp").chmod(0o755)
    assert run_bash(world, impostor, ["bp profiles use "]) == [[]]


def run_fish(home: Path, bp_bin: Path, lines: Sequence[str]) -> list[list[str]]:
    """What ``complete -C`` offers for each line, with bpshell's fish script loaded."""
    fish = needs("fish")
    body = f"source {ROOT / 'completions' / 'bp.fish'}\n" + "".join(
        f"complete -C {_fish_quote(line)}; echo ---\n" for line in lines
    )
    done = subprocess.run(
        [fish, "--no-config", "-c", body],
        capture_output=True,
        text=True,
        env=shell_env(home, bp_bin),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    replies: list[list[str]] = [[]]
    for item in done.stdout.splitlines():
        if item == "---":
            replies.append([])
        else:
            replies[-1].append(item)
    return replies[:-1]


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_fish_completes_with_descriptions(world: Path, bp_bin: Path) -> None:
    replies = run_fish(
        world,
        bp_bin,
        [
            "bp profiles use ",
            "bp login --workspaceId ",
            "bp login --workspaceId=ws_g",
            "bp -p prod logout --profile ",
            "bp env --shell ",
            "bp login --token ",
        ],
    )
    assert replies[0] == PROFILES
    assert replies[1] == ["ws_acme\tacme", "ws_globex\tGlobex Corp", "ws_team01\tTeam 01"]
    assert replies[2] == ["--workspaceId=ws_globex\tGlobex Corp"]
    assert replies[3] == PROFILES
    assert sorted(replies[4]) == ["fish", "powershell", "sh"]
    assert replies[5] == []


def test_fish_script_knows_every_command(world: Path, bp_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "homes").mkdir()
    replies = run_fish(world, bp_bin, ["bp ", "bp profiles ", f"bp --botpressHome {tmp_path}/hom"])
    assert {r.split("\t")[0] for r in replies[0]} == {c.path[0] for c in COMMANDS} | {HELP_WORD}
    assert {r.split("\t")[0] for r in replies[1]} == {
        c.path[1] for c in COMMANDS if c.path[0] == "profiles"
    }
    assert [r.split("\t")[0] for r in replies[2]] == [f"{tmp_path}/homes/"]


class Zsh:
    """An interactive ``zsh -f`` in a pty with compinit and bpshell's completion loaded.

    Keys are sent only once the line editor is up (``zle-line-init`` prints a marker): typed
    earlier, the terminal may drop them when zsh switches it to raw mode.
    """

    READY = "\x1b]2;zle-ready\x07"

    def __init__(self, env: dict[str, str], setup: str) -> None:
        import pexpect

        self.child = pexpect.spawn(
            needs("zsh"), ["-f"], env=env, encoding="utf-8", timeout=30, dimensions=(60, 250)
        )
        marker = "zle-line-init() { print -n '\\e]2;zle-ready\\a' }; zle -N zle-line-init"
        self.child.sendline(f"PS1='%% '; {setup}; {marker}")
        self.child.expect_exact(self.READY)

    def tab(self, line: str, until: str) -> str:
        """Type ``line``, press Tab, and return the screen text up to ``until``."""
        self.child.send(line + "\t")
        self.child.expect_exact(until)
        seen: str = self.child.before + until
        self.child.sendcontrol("u")
        self.child.send("\r")
        self.child.expect_exact(self.READY)
        return seen

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.close(force=True)


@pytest.fixture
def zsh_fpath(world: Path, bp_bin: Path) -> Iterator[Zsh]:
    setup = (
        f"fpath=({ROOT / 'completions'} $fpath); autoload -U compinit; compinit -u -D; "
        "zstyle ':completion:*' list-separator '--'"
    )
    shell = Zsh(shell_env(world, bp_bin, TERM="dumb"), setup)
    yield shell
    shell.close()


def zsh_listing(seen: str) -> list[str]:
    """``value<TAB>description`` for each ``value  -- description`` row zsh listed."""
    import re

    rows = (re.fullmatch(r"(\S+)\s+-- (.*?)\s*", row) for row in seen.split("\r\n"))
    return [f"{m[1]}\t{m[2]}" for m in rows if m]


def test_zsh_lists_profiles_with_descriptions(zsh_fpath: Zsh) -> None:
    assert zsh_listing(zsh_fpath.tab("bp profiles use ", "% bp profiles use ")) == PROFILES
    seen = zsh_fpath.tab("bp login --workspaceId ws_", "% bp login --workspaceId ws_")
    assert zsh_listing(seen) == ["ws_acme\tacme", "ws_globex\tGlobex Corp", "ws_team01\tTeam 01"]


def test_zsh_completes_one_value_in_place(zsh_fpath: Zsh) -> None:
    line = "bp -p prod login --workspaceId ws_prod_"
    assert zsh_fpath.tab(line, "ws_prod_eu ").endswith(f"{line}eu ")
    line = "bp login --workspaceId=ws_g"
    assert zsh_fpath.tab(line, "globex ").endswith(f"{line}lobex ")
    line = "bp login --apiUrl https://api.botpress.d"
    assert zsh_fpath.tab(line, ".dev ").endswith(f"{line}ev ")


def test_zsh_knows_every_command(zsh_fpath: Zsh) -> None:
    seen = zsh_fpath.tab("bp ", "% bp ")
    for command in COMMANDS:
        assert command.path[0] in seen
    assert HELP in zsh_listing(seen)
    seen = zsh_fpath.tab("bp profiles ", "% bp profiles ")
    for command in COMMANDS:
        if command.path[0] == "profiles":
            assert f"{command.path[1]} " in seen


def test_zsh_by_sourcing_the_printed_script(world: Path, bp_bin: Path) -> None:
    setup = "autoload -U compinit; compinit -u -D; source <(bp completion zsh)"
    shell = Zsh(shell_env(world, bp_bin, TERM="dumb"), setup)
    try:
        seen = shell.tab("bp env --shell ", "% bp env --shell ")
        assert "powershell" in seen and "fish" in seen
    finally:
        shell.close()


def test_the_default_api_url_matches_config() -> None:
    from bpshell import complete as fast
    from bpshell.config import DEFAULT_API_URL

    assert fast.DEFAULT_API_URL == DEFAULT_API_URL
