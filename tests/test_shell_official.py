"""``bp shell`` runs every Botpress command: what bpshell does not implement goes to the
official CLI, as one-shot ``bp`` hands it over. Scripts (``-c``) in real processes, then the
interactive shell in a real pseudo-terminal, with the stand-in official CLI of
tests/official_fake.py installed where the safe lookup finds it (the project's
``node_modules/.bin/bp``), and with the real ``@botpress/cli`` 0.8.59 against the sandbox.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from tests.conftest import Outcome, process_env
from tests.official_fake import CATALOG, VERSION, install, write_cache
from tests.shell_helpers import wait_until
from tests.test_official_cli import no_update_check, official_js  # noqa: F401 (a fixture)

TOKEN = "bp_pat_inshell000000000000000000000000000001"
PROD_TOKEN = "bp_pat_inshellprod0000000000000000000000002"
HINT = (
    "Install it with: npm install -g @botpress/cli (or in this project: npm install "
    "@botpress/cli), or set BP_OFFICIAL_CLI to its bp"
)
TIMEOUT_S = 20


@pytest.fixture
def home(tmp_path: Path, sandbox: Sandbox) -> Path:
    """``default`` (ws_acme, active) and ``prod`` (ws_prod), tokens in config.json."""
    home = tmp_path / "botpress"
    home.mkdir(mode=0o700)
    profiles = {
        "default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "token": TOKEN},
        "prod": {"apiUrl": sandbox.url, "workspaceId": "ws_prod", "token": PROD_TOKEN},
    }
    config = {"version": 1, "activeProfile": "default", "profiles": profiles}
    (home / "config.json").write_text(json.dumps(config))
    (home / "config.json").chmod(0o600)
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the stand-in official CLI installed in it."""
    project = tmp_path / "bot"
    install(project)
    return project


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder where no official CLI is found."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def child_env(home: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    """No official CLI on PATH (nor next to node); logs of the stand-in's runs."""
    return process_env(
        home,
        {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path / "user"),
            "FAKE_HELP_LOG": str(tmp_path / "help.log"),
            "FAKE_TOKEN_LOG": str(tmp_path / "token.log"),
            **extra,
        },
    )


def shell(home: Path, cwd: Path, tmp_path: Path, *words: str, **extra: str) -> Outcome:
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", *words],
        capture_output=True,
        text=True,
        env=child_env(home, tmp_path, **extra),
        cwd=cwd,
        timeout=60,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def token_log(tmp_path: Path) -> list[str]:
    log = tmp_path / "token.log"
    return log.read_text().splitlines() if log.exists() else []


# --- scripts ---------------------------------------------------------------------------


def test_a_script_hands_official_commands_over_with_the_sessions_profile(
    home: Path, project: Path, tmp_path: Path
) -> None:
    result = shell(home, project, tmp_path, "-p", "prod", "shell", "-c", "bots ls --json")
    assert (result.code, result.err) == (0, "")
    assert result.out == "official ran: bots ls --json workspace=ws_prod\n"
    result = shell(
        home, project, tmp_path, "-p", "prod", "shell", "-c", "deploy --botId b1; profiles get"
    )
    assert (result.code, result.err) == (3, "")  # the child's status; a script stops there
    assert result.out == "official deploy: argv=deploy --botId b1 workspace=ws_prod token=set\n"
    result = shell(home, project, tmp_path, "shell", "-c", "bots get b1 -p prod; bots list")
    assert result.out == (
        "official ran: bots get b1 workspace=ws_prod\nofficial ran: bots list workspace=ws_acme\n"
    )
    assert token_log(tmp_path) == [
        f"bots: token={PROD_TOKEN}",
        f"deploy: token={PROD_TOKEN}",
        f"bots: token={PROD_TOKEN}",
        f"bots: token={TOKEN}",
    ]


def test_help_of_an_official_command_is_its_own(home: Path, project: Path, tmp_path: Path) -> None:
    for line in ("help deploy", "deploy --help", "help -p prod deploy"):
        result = shell(home, project, tmp_path, "shell", "-c", line)
        assert (result.code, result.err) == (0, "")
        assert result.out.startswith("bp command\n\nOptions:\n")
    result = shell(home, project, tmp_path, "shell", "-c", "help profiles")
    assert result.out.startswith("Manage profiles.\n")  # bpshell's own help


def test_without_an_official_cli_the_shell_says_how_to_install_one(
    home: Path, elsewhere: Path, tmp_path: Path
) -> None:
    result = shell(home, elsewhere, tmp_path, "shell", "-c", "deploy")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"'deploy' is a command of the official Botpress CLI, which is not installed. {HINT}\n"
    )
    result = shell(home, elsewhere, tmp_path, "shell", "-c", "profiles get; bots ls --json")
    assert result.code == 2
    error = json.loads(result.err.splitlines()[-1])["error"]
    assert error["type"] == "official_cli_missing"
    assert error["message"] == (
        "'bots' is a command of the official Botpress CLI, which is not installed"
    )
    assert error["command"] == 2


@pytest.mark.parametrize(
    ("line", "code", "err"),
    [
        ("deplyo", 2, "Unknown command 'deplyo'. Did you mean 'deploy'?\n"),
        ("bost ls", 2, "Unknown command 'bost'. Did you mean 'bots'?\n"),
        ("profile", 2, "Unknown command 'profile'. Did you mean 'profiles'?\n"),
        ("exti", 2, "Unknown command 'exti'. Did you mean 'exit'?\n"),
        ("frobnicate", 2, "Unknown command 'frobnicate'. Run: help\n"),
        ('deploy -p ""', 2, "-p was given an empty value. Give -p NAME, or leave -p out to use "
                            "BP_PROFILE or the active profile\n"),
        ("profiles frob", 2, "Unknown command 'profiles frob'. Choose one of: list, active, use, "
                             "get, rm, rename, import\n"),
    ],
)  # fmt: skip
def test_typos_get_did_you_mean(
    home: Path, elsewhere: Path, tmp_path: Path, line: str, code: int, err: str
) -> None:
    result = shell(home, elsewhere, tmp_path, "shell", "-c", line)
    assert (result.code, result.out, result.err) == (code, "", err)


def test_with_the_commands_read_other_words_are_unknown(
    home: Path, project: Path, tmp_path: Path
) -> None:
    write_cache(home, CATALOG)
    result = shell(home, project, tmp_path, "shell", "-c", "publish --json; pub")
    assert (result.code, result.err) == (0, "")  # commands of this version only, and aliases
    assert result.out == (
        "official ran: publish --json workspace=ws_acme\nofficial ran: pub workspace=ws_acme\n"
    )
    result = shell(home, project, tmp_path, "shell", "-c", "frobnicate")
    assert (result.code, result.out) == (2, "")
    assert result.err == "Unknown command 'frobnicate'. Run: help\n"
    result = shell(home, project, tmp_path, "shell", "-c", "publsh")
    assert result.err == "Unknown command 'publsh'. Did you mean 'publish'?\n"


def test_before_the_commands_are_read_other_words_go_to_the_official_cli(
    home: Path, project: Path, tmp_path: Path
) -> None:
    result = shell(home, project, tmp_path, "shell", "-c", "frobnicate --x")
    assert (result.code, result.out) == (0, "official ran: frobnicate --x workspace=ws_acme\n")
    link = project / "node_modules" / ".bin" / "bp"
    assert result.err == (
        "note: 'frobnicate' is not a command of bpshell; running it with the official Botpress "
        f"CLI ({link}), whose list of commands bpshell has not read yet\n"
    )
    result = shell(home, project, tmp_path, "shell", "-c", "deplyo")
    assert result.err == "Unknown command 'deplyo'. Did you mean 'deploy'?\n"


# --- the interactive shell, in a real terminal -----------------------------------------


@pytest.fixture
def spawn(home: Path, tmp_path: Path) -> Iterator[object]:
    children: list[pexpect.spawn] = []

    def start(cwd: Path, *words: str, **extra: str) -> tuple[pexpect.spawn, io.StringIO]:
        extra = {"NO_COLOR": "1", **extra}  # the hand-over's words, not their colours
        env = child_env(home, tmp_path, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", **extra)
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
            env.pop(name, None)
        screen = io.StringIO()
        child = pexpect.spawn(
            sys.executable, ["-m", "bpshell", *words, "shell"], env=env, cwd=str(cwd),
            dimensions=(40, 160), encoding="utf-8", timeout=TIMEOUT_S,
        )  # fmt: skip
        child.logfile_read = screen
        children.append(child)
        return child, screen

    yield start
    for child in children:
        child.close(force=True)


def proc(pid: int, name: str) -> list[str]:
    with open(f"/proc/{pid}/{name}", "rb") as handle:
        return handle.read().decode().split("\0")


def test_ctrl_c_reaches_the_official_cli_and_the_shell_goes_on(
    spawn, home: Path, project: Path, tmp_path: Path
) -> None:
    write_cache(home, CATALOG)
    child, screen = spawn(project, "-p", "prod")
    child.expect_exact("bp prod:ws_prod (pinned) ›")
    child.send("dev --port 3000\r")
    child.expect(r"official dev running: pid=(\d+) workspace=ws_prod argv=dev --port 3000")
    pid = int(child.match.group(1))
    assert not any(PROD_TOKEN in word for word in proc(pid, "cmdline"))
    environ = proc(pid, "environ")
    assert f"BP_TOKEN={PROD_TOKEN}" in environ
    assert not any(item.startswith("BP_PROFILE=") for item in environ)
    child.sendintr()
    child.expect_exact("official dev got SIGINT, stopping")
    child.expect_exact("bp prod:ws_prod (pinned) ›")
    child.send("profiles get\r")  # the shell survived, and is the same session
    child.expect_exact("Profile: prod")
    child.expect_exact("bp prod:ws_prod (pinned) ›")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    shown = screen.getvalue()
    assert "Cancelled." not in shown and "Traceback" not in shown
    assert PROD_TOKEN not in shown


def test_the_terminal_is_the_childs_and_a_failure_is_said(
    spawn, home: Path, project: Path, tmp_path: Path
) -> None:
    write_cache(home, CATALOG)
    child, _ = spawn(project)
    child.expect_exact("bp default:ws_acme ›")
    child.send("init\r")
    child.expect_exact("Project name? ")
    child.send("my-bot\r")
    child.expect_exact("official init creating my-bot in ws_acme")
    child.expect_exact("bp default:ws_acme ›")
    child.send("deploy -y\r")
    child.expect_exact("official deploy: argv=deploy -y workspace=ws_acme token=set")
    child.expect_exact("note: 'deploy' (official Botpress CLI) exited with status 3")
    child.expect_exact("bp default:ws_acme ›")
    child.send("deplyo\r")
    child.expect_exact("Unknown command 'deplyo'. Did you mean 'deploy'?")
    child.expect_exact("bp default:ws_acme ›")
    child.send("exit\r")
    child.expect(pexpect.EOF)
    assert token_log(tmp_path) == [f"init: token={TOKEN}", f"deploy: token={TOKEN}"]
    history = (home / "shell_history").read_text()  # the answer was the child's, not a line
    assert "+init\n" in history and "my-bot" not in history


def test_the_terminal_is_put_back_as_it_was_when_a_child_ends(
    spawn, home: Path, project: Path
) -> None:
    """A child killed while it had the terminal raw leaves Ctrl-C a plain character; the shell
    puts the modes back, so Ctrl-C still stops the next child."""
    write_cache(home, {**CATALOG, "commands": [*CATALOG["commands"], {"name": "raw"}]})
    child, _ = spawn(project)
    child.expect_exact("bp default:ws_acme ›")
    child.send("raw\r")
    child.expect_exact("note: 'raw' (official Botpress CLI) exited with status 137")
    child.expect_exact("bp default:ws_acme ›")
    child.send("dev\r")
    child.expect_exact("official dev running:")
    child.sendintr()
    child.expect_exact("official dev got SIGINT, stopping")
    child.expect_exact("bp default:ws_acme ›")
    child.send("exit\r")
    child.expect(pexpect.EOF)


def tab_until(child: pexpect.spawn, text: str) -> None:
    """Press Tab until ``text`` shows: what the completer offers is loaded in the background."""
    for _ in range(int(TIMEOUT_S / 0.2)):
        child.send("\t")
        if child.expect_exact([text, pexpect.TIMEOUT], timeout=0.2) == 0:
            return
    raise AssertionError(f"Tab never offered {text!r}")


def test_completion_offers_the_official_cli_from_its_cached_help(
    spawn, home: Path, project: Path, tmp_path: Path
) -> None:
    write_cache(home, CATALOG)
    child, _ = spawn(project)
    child.expect_exact("bp default:ws_acme ›")
    child.send("pub")
    tab_until(child, "lish")  # the cache is read once the prompt is up; the screen is
    # redrawn by difference: pub + lish
    child.send(" --no\t")
    child.expect_exact("--noBuild")
    child.send("\r")
    child.expect_exact("official ran: publish --noBuild workspace=ws_acme")
    child.send("bots l\t")
    child.expect_exact("bots list")
    child.send("\x15exit\r")
    child.expect(pexpect.EOF)
    assert not (tmp_path / "help.log").exists()  # from the cache: the CLI was not asked


def test_the_help_is_read_in_the_background_once(
    spawn, home: Path, project: Path, tmp_path: Path
) -> None:
    child, _ = spawn(project, BP_TOKEN=PROD_TOKEN)
    child.expect_exact("bp default:ws_acme ›")
    cache = home / "cache" / f"official-help.{VERSION}.json"
    wait_until(cache.exists, within=TIMEOUT_S)
    assert json.loads(cache.read_text()) == CATALOG
    child.send("pub")
    tab_until(child, "lish")  # the completer has it in memory soon after
    child.send("\x15exit\r")
    child.expect(pexpect.EOF)
    runs = (tmp_path / "help.log").read_text().splitlines()
    assert len(runs) == 8 and all(run.endswith(" token=none") for run in runs)


def test_without_an_official_cli_the_prompt_says_how_to_install_one(spawn, elsewhere: Path) -> None:
    child, _ = spawn(elsewhere)
    child.expect_exact("bp default:ws_acme ›")
    child.send("dev\r")
    child.expect_exact("'dev' is a command of the official Botpress CLI, which is not installed.")
    child.expect_exact("npm install -g @botpress/cli")
    child.expect_exact("bp default:ws_acme ›")
    child.send("exit\r")
    child.expect(pexpect.EOF)


def test_the_real_official_cli_at_the_prompt(
    spawn,
    official_js: Path,  # noqa: F811
    home: Path,
    sandbox: Sandbox,
    tmp_path: Path,
) -> None:
    """The installed @botpress/cli, found from the shell's folder, lists the bots of the
    session's profile (``bp -p bobby shell``) against the sandbox."""
    login = [sys.executable, "-m", "bpshell", "login", "-p", "bobby", "--token", "-", "-y"]
    login += ["--workspaceId", "ws_initech", "--apiUrl", sandbox.url, "--insecure-storage"]
    done = subprocess.run(
        login, input=BOB_TOKEN, capture_output=True, text=True, env=process_env(home), timeout=60
    )
    assert done.returncode == 0, done.stderr
    version = "0.8.59"
    write_cache(home, {**CATALOG, "cli": version}, version=version)  # no reading of its help
    project = official_js.parent.parent.parent.parent  # .ci/node, which holds node_modules
    child, screen = spawn(project, "-p", "bobby", **no_update_check(sandbox))
    child.expect_exact("bp bobby:initech (pinned) ›")
    child.send("bots ls --json\r")
    child.expect_exact("printer-support")
    child.expect_exact("bp bobby:initech (pinned) ›")
    child.send("exit\r")
    child.expect(pexpect.EOF)
    names = re.findall(r'"name": "([^"]+)"', screen.getvalue())
    assert sorted(set(names)) == ["printer-support", "tps-reports"]
    assert BOB_TOKEN not in screen.getvalue() and ALICE_TOKEN not in screen.getvalue()
