"""The official CLI's commands and flags, read from its help once per version and cached.

The stand-in (tests/official_fake.py) prints yargs' help; the real ``@botpress/cli`` 0.8.59
(installed by .ci/test) shows that the parser reads the real thing. The cache file is
untrusted input: what another user (or a bug) could leave there is refused or cleaned.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import anyio
import pytest

from bpshell.official import catalog as catalog_module
from bpshell.official.catalog import (
    MAX_CACHE_BYTES,
    catalog_path,
    installed_version,
    load_catalog,
    read_catalog,
    run_help,
)
from bpshell.official.helptext import (
    Catalog,
    OfficialCommand,
    OfficialFlag,
    catalog_from_json,
    parse_help,
)
from bpshell.sandbox import Sandbox
from tests import official_fake
from tests.official_fake import CATALOG, VERSION, install, write_cache
from tests.test_official_cli import no_update_check, official_js  # noqa: F401 (a fixture)

TOKEN = "bp_pat_catalog000000000000000000000000000001"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    install(project)
    return project


def environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "user"),
        "BP_TOKEN": TOKEN,
        "BP_WORKSPACE_ID": "ws_secret",
        "FAKE_HELP_LOG": str(tmp_path / "help.log"),
        **extra,
    }


def help_runs(tmp_path: Path) -> list[str]:
    log = tmp_path / "help.log"
    return log.read_text().splitlines() if log.exists() else []


def test_the_help_is_read_once_per_version_without_credentials(
    project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "botpress"
    found = anyio.run(load_catalog, home, environ(tmp_path), project)
    assert found == catalog_from_json(CATALOG, VERSION)
    assert sorted(help_runs(tmp_path)) == sorted(
        f"help: {words} token=none"
        for words in (
            "--help",
            "bots --help",
            "bots get --help",
            "bots list --help",
            "deploy --help",
            "dev --help",
            "init --help",
            "publish --help",
        )
    )
    path = catalog_path(home, VERSION)
    assert path == home / "cache" / f"official-help.{VERSION}.json"
    assert json.loads(path.read_text()) == CATALOG
    assert path.stat().st_mode & 0o777 == 0o600
    assert (home / "cache").stat().st_mode & 0o777 == 0o700
    again = anyio.run(load_catalog, home, environ(tmp_path), project)
    assert again == found
    assert len(help_runs(tmp_path)) == 8  # from the cache: the CLI was not run again


def test_the_version_comes_from_the_package_next_to_the_program(project: Path) -> None:
    program = project / "node_modules" / ".bin" / "bp"
    assert installed_version([str(program)]) == VERSION
    script = project / "node_modules" / "@botpress" / "cli" / "bin.sh"
    assert installed_version(["/usr/bin/node", str(script), "--flag"]) == VERSION
    (script.parent / "package.json").write_text('{"name": "other", "version": "1.0.0"}')
    assert installed_version([str(program)]) is None


def test_without_a_package_json_the_version_is_asked_for(tmp_path: Path) -> None:
    script = official_fake.SCRIPT.replace(
        'case " $* " in', 'if [ "$1" = --version ]; then echo 1.2.3; exit 0; fi\ncase " $* " in', 1
    )
    program = tmp_path / "wrapper" / "bp"
    program.parent.mkdir()
    program.write_text(script)
    program.chmod(0o755)
    home = tmp_path / "botpress"
    extra = environ(tmp_path, BP_OFFICIAL_CLI=str(program))
    found = anyio.run(load_catalog, home, extra, None)
    assert found is not None and found.version == "1.2.3"
    assert read_catalog(home, "1.2.3") == found


def test_an_incomplete_reading_is_used_but_not_kept(tmp_path: Path) -> None:
    script = official_fake.SCRIPT.replace(
        'case " $* " in', '[ "$1" = dev ] && exit 1\ncase " $* " in', 1
    )
    project = tmp_path / "proj"
    install(project, script)
    home = tmp_path / "botpress"
    found = anyio.run(load_catalog, home, environ(tmp_path), project)
    assert found is not None
    dev = found.command("dev")
    assert dev == OfficialCommand("dev", "Run your project in dev mode")  # no flags known
    assert found.command("deploy") is not None and found.command("deploy").flags  # type: ignore[union-attr]
    assert not catalog_path(home, VERSION).exists()


def test_without_an_official_cli_there_is_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert anyio.run(load_catalog, tmp_path / "h", {"PATH": str(empty)}, empty) is None


# --- each help run is bounded ----------------------------------------------------------


def program(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "prog"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return [str(path)]


def test_a_help_run_that_fails_or_says_too_much_gives_nothing(tmp_path: Path) -> None:
    failing = program(tmp_path, "echo 'Commands:'; exit 1\n")
    assert anyio.run(run_help, failing, ["--help"], {}) is None
    flood = program(tmp_path, "yes 'Commands:' | head -c 200000\n")
    assert anyio.run(run_help, flood, ["--help"], {}) is None
    missing = [str(tmp_path / "nope")]
    assert anyio.run(run_help, missing, ["--help"], {}) is None


def test_a_help_run_that_hangs_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "HELP_TIMEOUT_S", 0.5)
    pids = tmp_path / "pids"
    hanging = program(tmp_path, f"echo $$ > '{pids}'\nsleep 60 &\necho $! >> '{pids}'\nwait\n")
    assert anyio.run(run_help, hanging, ["--help"], {}) is None
    for pid in pids.read_text().split():
        with pytest.raises(ProcessLookupError):
            _wait_gone(int(pid))


def _wait_gone(pid: int) -> None:
    """Raise ProcessLookupError once ``pid`` is gone (a zombie is reaped by its parent)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(") ", 1)[1].startswith("Z"):
                    raise ProcessLookupError(pid)
        except FileNotFoundError:
            raise ProcessLookupError(pid) from None
        time.sleep(0.05)


# --- the cache file is untrusted -------------------------------------------------------


@pytest.mark.parametrize(
    "contents",
    [
        "not json",
        "[]",
        '{"format": 2, "cli": "9.9.9-fake", "commands": []}',
        json.dumps({**CATALOG, "cli": "1.0.0"}),  # another version's, under this name
        "[" * 100_000 + "]" * 100_000,
        json.dumps(CATALOG) + " " * MAX_CACHE_BYTES,  # too big, even if valid
    ],
    ids=["text", "list", "format", "version", "deep", "big"],
)
def test_a_cache_file_that_is_not_one_is_refused(tmp_path: Path, contents: str) -> None:
    write_cache(tmp_path, contents)
    assert read_catalog(tmp_path, VERSION) is None


def test_a_cache_file_others_can_write_or_a_fifo_is_refused(tmp_path: Path) -> None:
    path = write_cache(tmp_path, CATALOG, mode=0o666)
    assert read_catalog(tmp_path, VERSION) is None
    path.unlink()
    os.mkfifo(path, 0o600)  # never waited on
    assert read_catalog(tmp_path, VERSION) is None


def test_an_odd_version_never_names_a_file(tmp_path: Path) -> None:
    assert read_catalog(tmp_path, "../../etc/passwd") is None
    assert read_catalog(tmp_path, "1.0.0/x") is None


def test_cache_entries_are_checked_and_cleaned(tmp_path: Path) -> None:
    hostile = {
        "format": 1,
        "cli": VERSION,
        "commands": [
            {"name": "login", "summary": "not bpshell's login"},
            {"name": "lint", "aliases": ["help"]},
            {"name": "bad name"},
            {"name": "\x1b[2Jwipe"},
            {"name": 12},
            "deploy",
            {
                "name": "deploy",
                "summary": "\x1b[31mred\x1b[0m \u202eevil\u202c\n\tsecond line" + "x" * 500,
                "aliases": ["ok", "not ok", 3, "\x07"],
                "args": ["botRef", "<evil>"],
                "flags": [
                    {"names": ["--ok", "bad", "--x\x1b"], "value": "yes", "help": "\x9b2J"},
                    {"names": ["nope"]},
                    {"names": "--str"},
                    {"names": ["-z"], "value": True},
                ],
                "commands": [{"name": "sub", "commands": [{"name": "too-deep"}]}],
            },
            {"name": "deploy", "summary": "a second deploy is ignored"},
            *({"name": f"c{i}"} for i in range(1000)),
        ],
    }
    write_cache(tmp_path, hostile)
    found = read_catalog(tmp_path, VERSION)
    assert found is not None
    assert [c.name for c in found.commands][:1] == ["deploy"]
    # The first 64 entries are read: 4 not commands, 1 repeated, 2 bpshell's (login; help).
    assert len(found.commands) == 64 - 7
    deploy = found.commands[0]
    assert deploy == OfficialCommand(
        "deploy",
        ("[31mred[0m evil second line" + "x" * 500)[:160],
        ("ok",),
        ("botRef",),
        (OfficialFlag(("--ok",), False, "2J"), OfficialFlag(("-z",), True, "")),
        (OfficialCommand("sub"),),
    )


def test_the_catalog_keeps_only_what_bpshell_does_not_do(tmp_path: Path) -> None:
    """The official CLI's login and logout (and any profiles) stay bpshell's own."""
    assert Catalog("1.0.0").words == frozenset()
    data = {**CATALOG, "commands": [*CATALOG["commands"], {"name": "profiles"}]}  # type: ignore[list-item]
    write_cache(tmp_path, data)
    found = read_catalog(tmp_path, VERSION)
    assert found is not None
    assert found.words == {"bots", "deploy", "dev", "init", "publish", "pub"}


# --- the real @botpress/cli 0.8.59 ------------------------------------------------------


def real_help(official_js: Path, sandbox: Sandbox, *words: str) -> str:  # noqa: F811
    done = subprocess.run(
        ["node", str(official_js), *words, "--help"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **no_update_check(sandbox)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_real_help_is_read(official_js: Path, sandbox: Sandbox) -> None:  # noqa: F811
    top = parse_help(real_help(official_js, sandbox))
    assert [(e[0], e[1], e[3]) for e in top.commands] == [
        (("login",), (), ()),
        (("logout",), (), ()),
        (("bots",), (), ()),
        (("integrations",), (), ()),
        (("interfaces",), (), ()),
        (("init",), (), ()),
        (("generate",), (), ("gen",)),
        (("bundle",), (), ()),
        (("build",), (), ()),
        (("read",), (), ()),
        (("serve",), (), ()),
        (("deploy",), (), ()),
        (("add",), ("integrationRef",), ()),
        (("dev",), (), ()),
    ]
    assert top.commands[11][2] == "Deploy your project to the cloud"
    bots = parse_help(real_help(official_js, sandbox, "bots"))
    assert [(e[0], e[1], e[2], e[3]) for e in bots.commands] == [
        (("bots", "create"), (), "Create new bot", ("new",)),
        (("bots", "get"), ("botRef",), "Get bot", ()),
        (("bots", "delete"), ("botRef",), "Delete bot", ("rm",)),
        (("bots", "list"), (), "List bots", ("ls",)),
    ]
    deploy = {f.names: f for f in parse_help(real_help(official_js, sandbox, "deploy")).flags}
    assert deploy[("-v", "--verbose")] == OfficialFlag(
        ("-v", "--verbose"), False, "Enable verbose logging"
    )
    assert deploy[("--json",)].help == (
        "Prevent logging anything else than raw json in stdout. Useful for piping output to "
        "other tools"
    )
    assert deploy[("--botId",)] == OfficialFlag(
        ("--botId",), True, "The bot ID to deploy. Only used when deploying a bot"
    )
    assert deploy[("--secrets",)] == OfficialFlag(
        ("--secrets",), True, "Values for the integration secrets"
    )
    assert deploy[("--noBuild",)].takes_value is False
    assert len(deploy) == 20
    assert installed_version([str(official_js)]) == "0.8.59"
