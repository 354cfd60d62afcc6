"""Beside the official Botpress CLI: importing its files, finding it, handing commands over.

The last part runs the real ``@botpress/cli`` (0.8.59, installed by ``.ci/test`` into
``.ci/node``) against the sandbox; those tests skip when node or the package is missing, and
fail instead under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from bpshell.official.delegation import OfficialCliMissing, find_official_cli, plan_delegation
from bpshell.sandbox import ALICE_TOKEN, Sandbox
from bpshell.tokens import InMemoryTokens
from tests.conftest import ROOT, Bp, KeyringView, Outcome, process_env

TOKEN = "bp_pat_official00000000000000000000000000001"
PROD_TOKEN = "bp_pat_officialprod000000000000000000000002"
URL = "https://api.botpress.cloud"


def official_home(home: Path, cache: object = None, profiles: object = None) -> dict[str, bytes]:
    """Write the official CLI's files as it does (0644); return their bytes."""
    home.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in (("global.cache.json", cache), ("profiles.json", profiles)):
        if data is not None:
            path = home / name
            text = data if isinstance(data, str) else json.dumps(data, indent=2)
            path.write_text(text)
            path.chmod(0o644)
            written[name] = path.read_bytes()
    return written


def untouched(home: Path, written: Mapping[str, bytes]) -> bool:
    return all(
        (home / name).read_bytes() == data and stat.S_IMODE((home / name).stat().st_mode) == 0o644
        for name, data in written.items()
    )


# --- import on the first run ------------------------------------------------------------


def test_first_command_imports_an_08_login(bp: Bp) -> None:
    written = official_home(
        bp.home, cache={"token": TOKEN, "workspaceId": "ws_acme", "apiUrl": URL}
    )
    result = bp("profiles", "list")
    assert result.code == 0
    assert (
        result.out
        == "   NAME     WORKSPACE  API URL\n*  default  ws_acme    https://api.botpress.cloud\n"
    )
    assert result.err == (
        f"note: {bp.home} was readable by other users (mode 0755); bpshell made it 0700, "
        "since it holds your credentials\n"
        f"Found a login of the official Botpress CLI in {bp.home}; imported it "
        "(its files are unchanged):\n"
        '  Imported profile "default" (ws_acme, https://api.botpress.cloud) from '
        "global.cache.json; its token is in the keyring\n"
        '  Active profile is now "default"\n'
        f"note: the official CLI keeps these tokens in plain text in {bp.home}/global.cache.json; "
        "bpshell leaves its files as they are (bp profiles import --move removes them there)\n"
    )
    assert bp.config() == {
        "version": 1,
        "activeProfile": "default",
        "profiles": {"default": {"apiUrl": URL, "workspaceId": "ws_acme"}},
    }
    assert KeyringView(bp) == {"default": TOKEN}
    assert untouched(bp.home, written)
    again = bp("profiles", "list")
    assert (again.code, again.err) == (0, "")


def test_profiles_and_active_profile_of_recent_versions(bp: Bp) -> None:
    written = official_home(
        bp.home,
        cache={
            "token": PROD_TOKEN,
            "workspaceId": "ws_prod",
            "apiUrl": URL,
            "activeProfile": "prod",
        },
        profiles={
            "default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN},
            "prod": {"apiUrl": URL, "workspaceId": "ws_prod", "token": PROD_TOKEN},
        },
    )
    result = bp("--json", "profiles", "list")
    assert result.code == 0
    assert [(p["name"], p["active"]) for p in result.json()] == [("default", False), ("prod", True)]
    assert KeyringView(bp) == {"default": TOKEN, "prod": PROD_TOKEN}
    assert untouched(bp.home, written)


def test_cache_profile_missing_from_profiles_json_is_added(bp: Bp) -> None:
    official_home(
        bp.home,
        cache={
            "token": PROD_TOKEN,
            "workspaceId": "ws_stage",
            "apiUrl": URL,
            "activeProfile": "stage",
        },
        profiles={"default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN}},
    )
    assert bp("profiles", "list").code == 0
    config = bp.config()
    assert config["activeProfile"] == "stage"
    assert config["profiles"]["stage"] == {"apiUrl": URL, "workspaceId": "ws_stage"}
    assert sorted(config["profiles"]) == ["default", "stage"]


def test_logged_out_official_cli_leaves_no_active_profile(bp: Bp) -> None:
    official_home(
        bp.home,
        cache={},
        profiles={"default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN}},
    )
    result = bp("profiles", "list")
    assert result.code == 0
    assert bp.config()["activeProfile"] is None
    assert "Active profile" not in result.err


def test_an_empty_cache_alone_imports_nothing_and_writes_nothing(bp: Bp) -> None:
    official_home(bp.home, cache={})
    result = bp("profiles", "list")
    assert (result.code, result.err) == (0, "No profiles. Log in with: bp login\n")
    assert bp.config_bytes() is None


def test_invalid_entries_are_skipped_with_a_reason(bp: Bp) -> None:
    written = official_home(
        bp.home,
        cache={"token": TOKEN, "workspaceId": "ws_acme", "apiUrl": "http://api.example.com"},
        profiles={
            "bad name": {"apiUrl": URL, "workspaceId": "ws_a", "token": TOKEN},
            "notoken": {"apiUrl": URL, "workspaceId": "ws_a"},
            "spaces": {"apiUrl": URL, "workspaceId": "ws_a", "token": "has space"},
            "noworkspace": {"apiUrl": URL, "token": TOKEN},
            "badworkspace": {"apiUrl": URL, "workspaceId": "ws/../x", "token": TOKEN},
            "notadict": "x",
            "ok": {"workspaceId": "ws_ok", "token": TOKEN},
        },
    )
    result = bp("profiles", "list")
    assert result.code == 0
    assert result.err.splitlines()[2:9] == [  # after the 0700 note and the heading
        '  Imported profile "ok" (ws_ok, https://api.botpress.cloud) from profiles.json; '
        "its token is in the keyring",
        '  Skipped profile "bad name" of profiles.json: invalid profile name "bad name"',
        '  Skipped profile "notoken" of profiles.json: no token',
        '  Skipped profile "spaces" of profiles.json: invalid token: a token is 1-4096 '
        "printable ASCII characters without spaces",
        '  Skipped profile "noworkspace" of profiles.json: no workspace ID',
        '  Skipped profile "badworkspace" of profiles.json: invalid workspace ID "ws/../x"',
        '  Skipped profile "notadict" of profiles.json: not a JSON object',
    ]
    assert result.err.splitlines()[9] == (
        '  Skipped profile "default" of global.cache.json: refusing plain http to '
        '"api.example.com": a token must not cross a network in clear'
    )
    assert list(bp.config()["profiles"]) == ["ok"]
    assert bp.config()["activeProfile"] is None
    assert untouched(bp.home, written)


def test_nothing_valid_still_imports_only_once(bp: Bp) -> None:
    official_home(bp.home, profiles="{not json")
    first = bp("profiles", "list")
    assert "Skipped the file of profiles.json: not a JSON object" in first.err
    assert bp.config() == {"version": 1, "activeProfile": None, "profiles": {}}
    second = bp("profiles", "list")
    assert second.err == "No profiles. Log in with: bp login\n"


def test_without_a_keyring_tokens_go_to_the_file_with_one_warning(home: Path) -> None:
    bp = Bp(home, tokens=InMemoryTokens(broken="no usable keyring backend on this system"))
    official_home(
        home,
        profiles={
            "a": {"apiUrl": URL, "workspaceId": "ws_a", "token": TOKEN},
            "b": {"apiUrl": URL, "workspaceId": "ws_b", "token": PROD_TOKEN},
        },
    )
    result = bp("profiles", "list")
    warning = (
        "warning: no usable keyring backend on this system; the token is stored in plain text "
        "in config.json (0600)"
    )
    assert result.err.count(warning) == 1
    assert bp.config()["profiles"]["a"]["token"] == TOKEN
    assert bp.config()["profiles"]["b"]["token"] == PROD_TOKEN


def test_json_runs_keep_stdout_for_json(bp: Bp) -> None:
    official_home(bp.home, cache={"token": TOKEN, "workspaceId": "ws_acme", "apiUrl": URL})
    result = bp("--json", "profiles", "list")
    assert result.json()[0]["name"] == "default"
    assert "Found a login of the official Botpress CLI" in result.err


# --- bp profiles import -----------------------------------------------------------------


def test_import_on_demand_reports_added_and_skipped(bp: Bp) -> None:
    bp.home.mkdir(mode=0o700)
    (bp.home / "config.json").write_text(
        json.dumps(
            {
                "version": 1,
                "activeProfile": "default",
                "profiles": {"default": {"apiUrl": URL, "workspaceId": "ws_mine"}},
            }
        )
    )
    (bp.home / "config.json").chmod(0o600)
    official_home(
        bp.home,
        cache={
            "token": PROD_TOKEN,
            "workspaceId": "ws_prod",
            "apiUrl": URL,
            "activeProfile": "prod",
        },
        profiles={
            "default": {"apiUrl": URL, "workspaceId": "ws_acme", "token": TOKEN},
            "prod": {"apiUrl": URL, "workspaceId": "ws_prod", "token": PROD_TOKEN},
        },
    )
    result = bp("profiles", "import")
    assert result.code == 0
    assert result.out == (
        'Imported profile "prod" (ws_prod, https://api.botpress.cloud) from profiles.json; '
        "its token is in the keyring\n"
        'Skipped profile "default" of profiles.json: a bpshell profile has that name\n'
    )
    config = bp.config()
    assert config["activeProfile"] == "default"
    assert config["profiles"]["default"] == {"apiUrl": URL, "workspaceId": "ws_mine"}
    again = bp("--json", "profiles", "import")
    assert again.json() == {
        "added": [],
        "skipped": [
            {
                "profile": "default",
                "source": "profiles.json",
                "reason": "a bpshell profile has that name",
            },
            {
                "profile": "prod",
                "source": "profiles.json",
                "reason": "a bpshell profile has that name",
            },
        ],
        "activeProfile": None,
    }


def test_import_with_nothing_there(bp: Bp) -> None:
    result = bp("profiles", "import")
    assert (result.code, result.out) == (0, "")
    assert result.err == (
        f"No files of the official Botpress CLI in {bp.home} (profiles.json, global.cache.json); "
        "nothing to import.\n"
    )
    assert bp.config_bytes() is None


# --- finding the official CLI -----------------------------------------------------------


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


OFFICIAL_SCRIPT = '#!/usr/bin/env node\nrequire("./dist/index.js");\n'
BPSHELL_SCRIPT = "#!/usr/bin/python3\nimport sys\nfrom bpshell.cli import main\nsys.exit(main())\n"
PYENV_SHIM = '#!/usr/bin/env bash\nset -e\nexec "/root/.pyenv/libexec/pyenv" exec "$program" "$@"\n'


def test_find_prefers_bp_official_cli(tmp_path: Path) -> None:
    official = executable(tmp_path / "x" / "bin.js", OFFICIAL_SCRIPT)
    node = executable(tmp_path / "bin" / "node", "#!/bin/sh\n")
    environ = {"PATH": str(tmp_path / "bin"), "BP_OFFICIAL_CLI": str(official)}
    assert find_official_cli(environ, tmp_path) == [str(official)]
    environ["BP_OFFICIAL_CLI"] = f"node '{official}' --verbose"
    assert find_official_cli(environ, tmp_path) == [str(node), str(official), "--verbose"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("{tmp}/missing", "BP_OFFICIAL_CLI={tmp}/missing is not an executable"),
        ("nosuchcommand", "BP_OFFICIAL_CLI=nosuchcommand is not an executable"),
        ("{tmp}/ours", "BP_OFFICIAL_CLI={tmp}/ours is bpshell, not the official CLI"),
    ],
)
def test_find_rejects_a_bad_bp_official_cli(tmp_path: Path, setting: str, message: str) -> None:
    executable(tmp_path / "ours", BPSHELL_SCRIPT)
    environ = {"PATH": str(tmp_path / "empty"), "BP_OFFICIAL_CLI": setting.format(tmp=tmp_path)}
    with pytest.raises(OfficialCliMissing) as caught:
        find_official_cli(environ, tmp_path)
    assert caught.value.message == message.format(tmp=tmp_path)


def test_find_a_local_install_in_a_parent_folder(tmp_path: Path) -> None:
    local = executable(tmp_path / "project" / "node_modules" / ".bin" / "bp", OFFICIAL_SCRIPT)
    deep = tmp_path / "project" / "src" / "bot"
    deep.mkdir(parents=True)
    assert find_official_cli({"PATH": str(tmp_path / "empty")}, deep) == [str(local)]


def test_find_a_global_install_next_to_node(tmp_path: Path) -> None:
    executable(tmp_path / "nodejs" / "bin" / "node", "#!/bin/sh\n")
    official = executable(tmp_path / "nodejs" / "bin" / "bp", OFFICIAL_SCRIPT)
    executable(tmp_path / "first" / "bp", BPSHELL_SCRIPT)
    path = f"{tmp_path / 'first'}{os.pathsep}{tmp_path / 'nodejs' / 'bin'}"
    assert find_official_cli({"PATH": path}, None) == [str(official)]
    prefix = tmp_path / "prefix"
    npm_global = executable(prefix / "bin" / "bp", OFFICIAL_SCRIPT)
    found = find_official_cli({"PATH": path, "npm_config_prefix": str(prefix)}, None)
    assert found == [str(npm_global)]


def test_find_skips_bpshell_and_shims_on_path(tmp_path: Path) -> None:
    executable(tmp_path / "a" / "bp", BPSHELL_SCRIPT)
    executable(tmp_path / "b" / "bp", PYENV_SHIM)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "bp").write_text(OFFICIAL_SCRIPT)  # not executable
    official = executable(tmp_path / "d" / "bp", OFFICIAL_SCRIPT)
    path = os.pathsep.join(str(tmp_path / d) for d in "abcd")
    assert find_official_cli({"PATH": path}, None) == [str(official)]
    assert (
        find_official_cli({"PATH": os.pathsep.join(str(tmp_path / d) for d in "abc")}, None) is None
    )


@pytest.mark.parametrize(
    ("words", "command", "passed", "profile"),
    [
        (["deploy"], "deploy", ("deploy",), None),
        (["-p", "prod", "deploy", "-y"], "deploy", ("deploy", "-y"), "prod"),
        # bp's global flags go anywhere; the official CLI takes them after its command only
        (["--profile=prod", "--json", "bots", "ls"], "bots", ("bots", "ls", "--json"), "prod"),
        (
            ["-v", "-y", "bots", "get", "--", "-x"],
            "bots",
            ("bots", "get", "-v", "-y", "--", "-x"),
            None,
        ),
        (["--botpressHome", "/h", "dev", "-p", "x", "-v"], "dev", ("dev", "-v"), "x"),
        (
            ["bots", "get", "b1", "--profile", "x", "--", "-p", "y"],
            "bots",
            ("bots", "get", "b1", "--", "-p", "y"),
            "x",
        ),
        (["bots", "--", "x"], "bots", ("bots", "--", "x"), None),
        (["profiles", "ls"], None, None, None),
        (["dep"], None, None, None),
        (["-p"], None, None, None),
        (["--", "deploy"], None, None, None),
    ],
)
def test_plan_delegation(
    words: list[str], command: str | None, passed: tuple[str, ...] | None, profile: str | None
) -> None:
    plan = plan_delegation(words, {})
    if command is None:
        assert plan is None
        return
    assert plan is not None
    assert (plan.command, plan.words, plan.globals.profile) == (command, passed, profile)


# --- delegation, with a stand-in official CLI -------------------------------------------

FAKE_OFFICIAL = """#!/bin/sh
echo "argv: $*"
echo "token: ${BP_TOKEN-unset} workspace: ${BP_WORKSPACE_ID-unset} api: ${BP_API_URL-unset}"
echo "profile: ${BP_PROFILE-unset} mark: ${BPSHELL_DELEGATING:+set}"
cache="$BP_BOTPRESS_HOME/global.cache.json"
if [ -f "$cache" ]; then cat "$cache"; echo; fi
exit 3
"""


@pytest.fixture
def with_profiles(bp: Bp, tmp_path: Path) -> Bp:
    bp.home.mkdir(mode=0o700)
    config = {
        "version": 1,
        "activeProfile": "default",
        "profiles": {
            "default": {"apiUrl": URL, "workspaceId": "ws_acme"},
            "prod": {"apiUrl": URL, "workspaceId": "ws_prod", "token": PROD_TOKEN},
        },
    }
    (bp.home / "config.json").write_text(json.dumps(config))
    (bp.home / "config.json").chmod(0o600)
    bp.tokens.entries["default"] = TOKEN  # type: ignore[attr-defined]
    fake = executable(tmp_path / "official" / "bp", FAKE_OFFICIAL)
    bp.environ.update(BP_OFFICIAL_CLI=str(fake), PATH=os.environ.get("PATH", os.defpath))
    return bp


def test_delegation_hands_over_with_the_profile(with_profiles: Bp) -> None:
    before = sorted(p.name for p in with_profiles.home.iterdir())
    result = with_profiles("-p", "prod", "deploy", "--botId", "b1", "-y", env={"BP_PROFILE": "x"})
    assert (result.code, result.err) == (3, "")
    assert result.out == (
        "argv: deploy --botId b1 -y\n"
        f"token: {PROD_TOKEN} workspace: ws_prod api: {URL}\n"
        "profile: unset mark: set\n"
        f'{{"apiUrl": "{URL}", "token": "{PROD_TOKEN}", "workspaceId": "ws_prod"}}\n'
    )
    assert sorted(p.name for p in with_profiles.home.iterdir()) == before


def test_delegation_lets_the_commands_own_flags_win(with_profiles: Bp) -> None:
    result = with_profiles("bots", "ls", "--workspaceId", "ws_other", "--apiUrl=http://127.0.0.1:9")
    assert result.out.splitlines()[1] == (
        f"token: {TOKEN} workspace: ws_other api: http://127.0.0.1:9"
    )


def test_delegation_of_help(with_profiles: Bp) -> None:
    result = with_profiles("deploy", "--help")
    assert result.out.splitlines()[0] == "argv: deploy --help"


def test_delegation_when_logged_out_passes_the_environment_as_is(bp: Bp, tmp_path: Path) -> None:
    fake = executable(tmp_path / "official" / "bp", FAKE_OFFICIAL)
    bp.environ.update(BP_OFFICIAL_CLI=str(fake))
    result = bp("init", "--verbose")
    assert (result.code, result.err) == (3, "")
    assert result.out == (
        "argv: init --verbose\ntoken: unset workspace: unset api: unset\nprofile: unset mark: set\n"
    )
    result = bp("init", env={"BP_PROFILE": "nope"})
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        'Unknown profile "nope". Known profiles: none. Create it with: bp login -p nope\n'
    )


def test_delegation_without_the_official_cli(bp: Bp, tmp_path: Path) -> None:
    bp.environ.update(PATH=str(tmp_path / "empty"))
    hint = (
        "Install it with: npm install -g @botpress/cli (or in this project: npm install "
        "@botpress/cli), or set BP_OFFICIAL_CLI to its bp"
    )
    result = bp("deploy")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"'bp deploy' is a command of the official Botpress CLI, which is not installed. {hint}\n"
    )
    result = bp("--json", "bots", "ls")
    assert result.code == 2
    assert json.loads(result.err)["error"]["type"] == "official_cli_missing"
    result = bp("deplyo")
    assert (result.code, result.err) == (2, "Unknown command 'deplyo'. Run: bp --help\n")


def test_delegation_never_loops_back_into_bpshell(with_profiles: Bp, tmp_path: Path) -> None:
    wrapper = executable(
        tmp_path / "wrapper" / "bp", '#!/bin/sh\nexec "$PYTHON_FOR_TEST" -m "bp""shell" "$@"\n'
    )
    extra = {
        "BP_OFFICIAL_CLI": str(wrapper),
        "PYTHONPATH": str(ROOT),
        "PYTHON_FOR_TEST": sys.executable,
    }
    result = with_profiles("deploy", env=extra)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"'bp deploy' is a command of the official Botpress CLI, but {wrapper} runs bpshell "
        "again. Install it with: npm install -g @botpress/cli (or in this project: npm install "
        "@botpress/cli), or set BP_OFFICIAL_CLI to its bp\n"
    )


# --- the real @botpress/cli 0.8.59 ------------------------------------------------------

ACME_BOTS = ["onboarding", "sales-assistant", "support-bot"]


@pytest.fixture(scope="session")
def official_js() -> Path:
    """bin.js of the official CLI installed by .ci/test (or BPSHELL_OFFICIAL_CLI_JS)."""
    configured = os.environ.get("BPSHELL_OFFICIAL_CLI_JS")
    path = Path(configured) if configured else ROOT / ".ci/node/node_modules/@botpress/cli/bin.js"
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not path.is_file():
        missing = f"the official Botpress CLI is not installed at {path} (run: bash .ci/test)"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    return path


def no_update_check(sandbox: Sandbox) -> dict[str, str]:
    """The official CLI asks the npm registry for a newer version at every start, retrying
    for seconds when it cannot connect: point it at the sandbox, whose 404 ends it at once."""
    return {"npm_config_registry": sandbox.url + "/", "NO_COLOR": "1"}


def run(home: Path, sandbox: Sandbox, argv: list[str], cwd: Path = ROOT, **extra: str) -> Outcome:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=process_env(home, {**no_update_check(sandbox), **extra}),
        timeout=60,
        cwd=cwd,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def bp_argv(*words: str) -> list[str]:
    return [sys.executable, "-m", "bpshell", *words]


def bot_names(output: str) -> list[str]:
    return sorted(bot["name"] for bot in json.loads(output))


def test_a_login_made_by_the_official_cli_is_imported(
    official_js: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    home = tmp_path / "botpress"
    login = ["node", str(official_js), "login", "--apiUrl", sandbox.url, "--token", ALICE_TOKEN]
    login += ["--workspaceId", "ws_acme", "-y", "--botpressHome", str(home)]
    done = run(home, sandbox, login, cwd=tmp_path)
    assert done.code == 0, done.out + done.err
    written = (home / "global.cache.json").read_bytes()
    result = run(home, sandbox, bp_argv("--json", "profiles", "list"))
    assert result.code == 0, result.err
    assert [(p["name"], p["workspaceId"], p["apiUrl"], p["active"]) for p in result.json()] == [
        ("default", "ws_acme", sandbox.url, True)
    ]
    assert 'Imported profile "default" (ws_acme' in result.err
    assert (home / "global.cache.json").read_bytes() == written


@pytest.fixture
def bpshell_login(sandbox: Sandbox, tmp_path: Path) -> Path:
    """A home where bpshell (not the official CLI) logged in to ws_acme as alice."""
    home = tmp_path / "botpress"
    done = subprocess.run(
        bp_argv("login", "--apiUrl", sandbox.url, "--workspaceId", "ws_acme", "--token", "-", "-y"),
        input=ALICE_TOKEN,
        capture_output=True,
        text=True,
        env=process_env(home),
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return home


def test_exec_runs_the_official_cli_with_bpshell_credentials(
    official_js: Path, bpshell_login: Path, sandbox: Sandbox
) -> None:
    before = sorted(p.name for p in bpshell_login.iterdir())
    sandbox.reset()
    command = bp_argv("exec", "--", "node", str(official_js), "bots", "ls", "--json")
    result = run(bpshell_login, sandbox, command)
    assert result.code == 0, result.err
    assert bot_names(result.out) == ACME_BOTS
    assert sorted(p.name for p in bpshell_login.iterdir()) == before
    bots = [r for r in sandbox.stats.received if r.operation == "listBots"]
    assert bots and all(r.workspace_id == "ws_acme" and r.has_authorization for r in bots)


def test_exec_env_only_is_not_enough_for_the_08_cli(
    official_js: Path, bpshell_login: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    empty = tmp_path / "official-home"
    empty.mkdir()
    command = bp_argv("exec", "--env-only", "--", "node", str(official_js), "bots", "ls")
    result = run(bpshell_login, sandbox, [*command, "--botpressHome", str(empty)])
    assert result.code == 1
    assert "Not logged in" in result.out + result.err


def test_official_commands_are_handed_over(
    official_js: Path, bpshell_login: Path, sandbox: Sandbox
) -> None:
    official = str(official_js.parent.parent.parent / ".bin" / "bp")
    result = run(bpshell_login, sandbox, bp_argv("bots", "ls", "--json"), BP_OFFICIAL_CLI=official)
    assert result.code == 0, result.err
    assert bot_names(result.out) == ACME_BOTS
    command = bp_argv("-p", "default", "bots", "ls", "--json", "--workspaceId", "ws_globex")
    result = run(bpshell_login, sandbox, command, BP_OFFICIAL_CLI=official)
    assert result.code == 0, result.err
    assert bot_names(result.out) == ["helpdesk", "hr-faq"]


def test_a_local_install_is_found_from_the_project_folder(
    official_js: Path, bpshell_login: Path, sandbox: Sandbox
) -> None:
    project = official_js.parent.parent.parent.parent
    result = run(bpshell_login, sandbox, bp_argv("bots", "ls", "--json"), cwd=project)
    assert result.code == 0, result.err
    assert bot_names(result.out) == ACME_BOTS
