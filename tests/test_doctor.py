"""``bp doctor``: a line for each check, ✓ ✗ or !, with the fix, over real ``bp`` processes.

Each machine is a throwaway folder: its own HOME (for completion), a PATH that holds no ``bp``
(unless a test puts one there), a botpress home, and a keyring in a file
(``tests.keyring_backends``). The sandbox plays the API; the broken states are made for real:
modes, a keyring that never answers, a closed port, a TLS front with a CA nobody trusts, a
proxy, a skewed ``Date`` (the sandbox's clock knob), ``BP_*`` variables, the official CLI's
files. Whatever the state, doctor changes nothing on disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from bpshell import network
from bpshell.complete import script
from bpshell.sandbox import (
    ALICE_TOKEN,
    BOB_TOKEN,
    DANA_TOKEN,
    EXPIRED_TOKEN,
    HOOLI_WORKSPACE_ID,
    Sandbox,
)
from bpshell.tokens import service_for
from tests.conftest import ROOT, Outcome, bp_process, closed_port_url
from tests.tls_proxy import ForwardProxy, TlsFront
from tests.users import UnixUser

HANG_S = 25  # a doctor that has not ended by then is hanging
FILE_KEYRING = "tests.keyring_backends.FileBacked"
OFFICIAL_BP = ROOT / ".ci/node/node_modules/.bin/bp"


@dataclass
class Machine:
    """A user's machine: HOME, PATH, the botpress home and a keyring file."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "botpress"

    @property
    def keyring(self) -> Path:
        return self.root / "keyring.json"

    @property
    def user_home(self) -> Path:
        return self.root / "user"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "HOME": str(self.user_home),
            "SHELL": "/bin/bash",
            "PATH": str(self.root / "bin"),
            "PYTHON_KEYRING_BACKEND": FILE_KEYRING,
            "BPSHELL_TEST_KEYRING": str(self.keyring),
            "SSL_CERT_FILE": "",
            "SSL_CERT_DIR": "",
            **(extra or {}),
        }

    def doctor(self, *words: str, cwd: Path | None = None, **extra: str) -> Outcome:
        try:
            return bp_process(
                self.home, "doctor", *words, env=self.env(extra), timeout=HANG_S, cwd=cwd
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"bp doctor {' '.join(words)} never ended")

    def login(
        self,
        url: str,
        token: str = ALICE_TOKEN,
        workspace: str = "ws_acme",
        name: str = "default",
        keyring: bool = False,
        **extra: Any,
    ) -> None:
        """A profile as a login left it: the token in config.json, or in the keyring."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.home / "config.json"
        config = json.loads(path.read_text()) if path.exists() else {"version": 1}
        config.setdefault("activeProfile", name)
        profile: dict[str, Any] = {"apiUrl": url, "workspaceId": workspace, **extra}
        if keyring:
            profile["tokenKey"] = f"{name}:0123abcd"
            entries = json.loads(self.keyring.read_text()) if self.keyring.exists() else {}
            entries[f"{service_for(self.home)}\t{name}:0123abcd"] = token
            self.keyring.write_text(json.dumps(entries))
        else:
            profile["token"] = token
        config.setdefault("profiles", {})[name] = profile
        path.write_text(json.dumps(config, indent=2))
        path.chmod(0o600)

    def snapshot(self) -> dict[str, tuple[int, bytes | None]]:
        """Every file and folder under the root: its mode and (for files) its bytes."""
        found: dict[str, tuple[int, bytes | None]] = {}
        for path in sorted(self.root.rglob("*")):
            info = path.lstat()
            data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
            found[str(path.relative_to(self.root))] = (stat.S_IMODE(info.st_mode), data)
        return found


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    (tmp_path / "bin").mkdir()
    (tmp_path / "user").mkdir()
    return Machine(tmp_path)


def line(result: Outcome, title: str) -> str:
    """The line of the check ``title`` (and the fix under it, after a newline)."""
    lines = result.out.splitlines()
    for index, text in enumerate(lines):
        if text[2:].startswith(f"{title}:"):
            fix = lines[index + 1] if index + 1 < len(lines) else ""
            return text + ("\n" + fix if fix.startswith("  fix: ") else "")
    raise AssertionError(f"no line for {title!r} in:\n{result.out}")


def checks(result: Outcome) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(result.out)["checks"]
    return data


STORE = network.tls_context(network.Trust()).trusts


# --- a machine where everything works ---------------------------------------------------------


def healthy_start(home: Path) -> list[str]:
    """The report's first lines, to the environment's, for alice's keyring login in ``home``."""
    return [
        f"✓ home {home} (from BP_BOTPRESS_HOME): yours, mode 0700",
        "✓ config.json: yours, mode 0600, 1 profile",
        f"✓ keyring: keyring backends FileBacked answers (entries of service {service_for(home)})",
        "✓ environment: BP_BOTPRESS_HOME set (the botpress home)",
    ]


def healthy_rest(url: str, home: Path) -> list[str]:
    """The report's lines from the logged-in profile on, for alice's keyring login to ``url``
    on a machine without the official CLI or completion (every whole-report test's)."""
    return [
        "✓ profile default (active): alice@example.com (owner) in acme (ws_acme); token in "
        "the keyring",
        f"✓ API {url}: reached directly (no proxy variable is set)",
        f"✓ certificates: TLS trusts {STORE}",
        rf"✓ clock: agrees with the clock of {url} \([01] s apart\)",
        f"✓ official CLI files: no plain-text token in the official CLI's files in {home}",
        "! official CLI: not found; bp deploy, bp dev and the other official commands need it",
        "  fix: install it with: npm install -g @botpress/cli (or in this project: npm install "
        "@botpress/cli), or set BP_OFFICIAL_CLI to its bp",
        "! completion: not installed for bash",
        "  fix: echo 'source <(bp completion bash)' >> ~/.bashrc",
    ]


def assert_report(out: str, expected: list[str]) -> None:
    """``out`` is ``expected``, line by line; the clock's line is a pattern (0 or 1 s apart)."""
    shown = out.splitlines()
    assert len(shown) == len(expected), out
    for text, pattern in zip(shown, expected, strict=True):
        assert re.fullmatch(pattern if "clock" in pattern else re.escape(pattern), text), text


def test_everything_in_order(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url, keyring=True)
    before = machine.snapshot()
    result = machine.doctor()
    assert (result.code, result.err) == (0, "")
    home, url = machine.home, sandbox.url
    expected = [
        *healthy_start(home),
        *healthy_rest(url, home),
        "",
        "No problems; 2 warnings.",
    ]
    assert_report(result.out, expected)
    assert machine.snapshot() == before


def test_json(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url, keyring=True)
    result = machine.doctor("--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["ok"], data["failed"], data["warnings"]) == (True, 0, 2)
    assert [(c["check"], c["status"]) for c in data["checks"]] == [
        ("home", "ok"),
        ("config", "ok"),
        ("keyring", "ok"),
        ("environment", "ok"),
        ("profile", "ok"),
        ("api", "ok"),
        ("certificates", "ok"),
        ("clock", "ok"),
        ("official_files", "ok"),
        ("official_cli", "warning"),
        ("completion", "warning"),
    ]
    profile = data["checks"][4]
    assert profile["subject"] == "default"
    assert profile["data"] == {
        "workspaceId": "ws_acme",
        "apiUrl": sandbox.url,
        "active": True,
        "tokenStorage": "keyring",
        "tokenAgeDays": None,
        "account": "alice@example.com",
        "role": "owner",
        "verification": "ok",
    }
    assert abs(data["checks"][7]["data"]["skewSeconds"]) <= 1


# --- each broken state, and the line that says so ------------------------------------------


def test_a_home_others_can_read(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    machine.home.chmod(0o755)
    (machine.home / "config.json").chmod(0o644)
    before = machine.snapshot()
    result = machine.doctor()
    assert result.code == 0, result.out
    home = machine.home
    assert line(result, f"home {home} (from BP_BOTPRESS_HOME)") == (
        f"! home {home} (from BP_BOTPRESS_HOME): other users can look into it (mode 0755); bp "
        f"makes it 0700 when it next writes\n  fix: chmod 700 {home}"
    )
    assert line(result, "config.json") == (
        f"! config.json: {home}/config.json can be read by other users (mode 0644); it holds "
        f"1 profile\n  fix: chmod 600 {home}/config.json"
    )
    assert machine.snapshot() == before  # a load would have made it 0600: doctor only looks


def test_a_home_that_is_a_file_of_the_user(machine: Machine) -> None:
    """BP_BOTPRESS_HOME names the user's own file: point it elsewhere, never move the file."""
    machine.home.write_text("notes\n")
    result = machine.doctor()
    assert result.code == 1
    assert line(result, f"home {machine.home} (from BP_BOTPRESS_HOME)") == (
        f"✗ home {machine.home} (from BP_BOTPRESS_HOME): it is not a folder\n"
        "  fix: set BP_BOTPRESS_HOME or --botpressHome to a folder"
    )
    assert machine.home.read_text() == "notes\n"


@pytest.mark.parametrize(
    ("what", "mode", "title"),
    [("home", 0o777, "home"), ("config.json", 0o666, "config.json")],
)
def test_files_others_can_change(
    machine: Machine, sandbox: Sandbox, what: str, mode: int, title: str
) -> None:
    machine.login(sandbox.url)
    path = machine.home if what == "home" else machine.home / "config.json"
    path.chmod(mode)
    before = machine.snapshot()
    result = machine.doctor()
    assert result.code == 1
    if title == "home":
        title = f"home {machine.home} (from BP_BOTPRESS_HOME)"
    private = "700" if what == "home" else "600"
    assert line(result, title) == (
        f"✗ {title}: refusing to use {path}: other users can change it (mode {mode:04o}), and "
        "whoever can change it can send your token to their server\n"
        f"  fix: if you trust its content, run: chmod {private} {path}"
    )
    assert machine.snapshot() == before


def test_a_home_of_another_user(machine: Machine, sandbox: Sandbox, second_user: UnixUser) -> None:
    machine.login(sandbox.url)
    os.chown(machine.home, second_user.uid, -1)
    result = machine.doctor()
    assert result.code == 1
    title = f"home {machine.home} (from BP_BOTPRESS_HOME)"
    assert line(result, title) == (
        f"✗ {title}: refusing to use {machine.home}: it belongs to user {second_user.name}, and "
        "whoever can change it can send your token to their server\n"
        f"  fix: if you trust its content, run: chown root {machine.home}"
    )
    assert line(result, "config.json") == "- config.json: not checked: the home is refused"


def test_a_config_json_that_is_not_json(machine: Machine) -> None:
    machine.home.mkdir(mode=0o700)
    path = machine.home / "config.json"
    path.write_text("{not json")
    path.chmod(0o600)
    result = machine.doctor()
    assert result.code == 1
    assert line(result, "config.json").startswith(
        f"✗ config.json: {path} is not a valid bpshell config ("
    )
    assert line(result, "config.json").endswith(
        f"\n  fix: fix it or move it away: mv {path} {path}.bad (bpshell does not overwrite it)"
    )
    assert line(result, "in force") == "- in force: config.json could not be read"


def test_a_keyring_that_never_answers(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url, keyring=True)
    result = machine.doctor(PYTHON_KEYRING_BACKEND="tests.keyring_backends.Frozen")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert line(result, "keyring") == (
        "✗ keyring: keyring backends Frozen: the keyring did not answer within 3 s\n"
        "  fix: unlock or restart your keyring; "
        "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring makes bp skip it"
    )
    assert line(result, "profile default (active)") == (
        '✗ profile default (active): cannot read the token of profile "default" from the '
        "keyring: the keyring did not answer within 3 s\n"
        "  fix: log in again: bp login -p default"
    )
    assert line(result, f"API {sandbox.url}") == (
        f"✓ API {sandbox.url}: reached directly (no proxy variable is set)"
    )


def test_no_keyring_at_all(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    result = machine.doctor(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.code == 0, result.out
    assert line(result, "keyring") == (
        "! keyring: no usable keyring backend on this system; tokens are kept in plain text in "
        "config.json (0600)\n"
        "  fix: install a keyring (gnome-keyring or KeePassXC on Linux), then log in again"
    )
    keyring = machine.doctor(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert keyring.code == 0
    machine.login(sandbox.url, name="kept", keyring=True)
    failed = machine.doctor(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert failed.code == 1
    assert line(failed, "keyring") == (
        "✗ keyring: no usable keyring backend on this system; 1 profile keeps its token there\n"
        "  fix: unlock or start your keyring (a Secret Service, Keychain), then try again"
    )


def test_an_api_that_cannot_be_reached(machine: Machine) -> None:
    url = closed_port_url()
    machine.login(url)
    result = machine.doctor()
    assert result.code == 1
    assert line(result, f"API {url}") == (
        f"✗ API {url}: cannot reach {url} (connection refused), directly (no proxy variable "
        "is set)\n  fix: check the API URL and your network"
    )
    assert line(result, "profile default (active)") == (
        f"✗ profile default (active): ws_acme at {url}: cannot reach {url} (connection "
        "refused)\n  fix: check the API URL and your network"
    )
    assert line(result, "clock") == "- clock: not checked: no API could be reached"


def test_a_slow_api_is_given_the_timeout(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    sandbox.set_fault("*", "delay", seconds=30)
    result = machine.doctor("--timeout", "0.5")
    assert result.code == 1
    assert line(result, "profile default (active)") == (
        f"✗ profile default (active): ws_acme at {sandbox.url}: {sandbox.url} did not answer "
        "within 0.5 s\n  fix: check your network or try again later"
    )


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls(sandbox: Sandbox, ca: trustme.CA) -> Iterator[TlsFront]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with TlsFront(sandbox.port, context) as front:
        yield front


def test_a_certificate_of_an_unknown_ca(machine: Machine, tls: TlsFront) -> None:
    machine.login(tls.url)
    result = machine.doctor()
    assert result.code == 1
    assert line(result, f"API {tls.url}") == (
        f"✗ API {tls.url}: the certificate of 127.0.0.1 is not trusted (signed by an unknown "
        "CA), directly (no proxy variable is set)\n"
        "  fix: if your network inspects TLS, install its CA in the system store or set "
        f"SSL_CERT_FILE=/path/to/ca.pem (bpshell trusts {STORE})"
    )
    assert line(result, "certificates") == f"✓ certificates: TLS trusts {STORE}"


def test_the_ca_in_ssl_cert_file_through_a_proxy(
    machine: Machine, tls: TlsFront, ca: trustme.CA
) -> None:
    machine.login(tls.url)
    pem = machine.root / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    with ForwardProxy() as proxy:
        result = machine.doctor(SSL_CERT_FILE=str(pem), HTTPS_PROXY=proxy.url)
    assert result.code == 0, result.out
    assert line(result, f"API {tls.url}") == (
        f"✓ API {tls.url}: reached through the proxy {proxy.url} (HTTPS_PROXY)"
    )
    assert line(result, "certificates") == (
        f"✓ certificates: TLS trusts {STORE} and SSL_CERT_FILE={pem}"
    )
    assert proxy.request_lines == [f"CONNECT 127.0.0.1:{tls.port} HTTP/1.1"] * len(
        proxy.request_lines
    )


def test_a_proxy_that_is_not_there_and_a_bad_ssl_cert_file(machine: Machine, tls: TlsFront) -> None:
    machine.login(tls.url)
    bad = machine.root / "ca.pem"
    bad.write_text("not a certificate\n")
    gone = closed_port_url()
    result = machine.doctor(SSL_CERT_FILE=str(bad), HTTPS_PROXY=gone)
    assert result.code == 1
    assert line(result, "certificates").startswith(
        f"✗ certificates: cannot use the CA certificates of SSL_CERT_FILE={bad} ("
    )
    assert line(result, "certificates").endswith(
        "\n  fix: point SSL_CERT_FILE at a PEM file of CA certificates (SSL_CERT_DIR at a "
        "directory of them), or unset it"
    )
    assert line(result, f"API {tls.url}").startswith(f"✗ API {tls.url}: ")
    assert f"through the proxy {gone}:80 (HTTPS_PROXY)" not in result.out  # never a guess
    assert "(HTTPS_PROXY)" in line(result, f"API {tls.url}")


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (3600, "1 h 0 min behind"),
        (-600, "10 min ahead of"),
        (4 * 86400, "4 days behind"),
    ],
)
def test_a_clock_that_is_off(
    machine: Machine, sandbox: Sandbox, offset: int, expected: str
) -> None:
    machine.login(sandbox.url)
    sandbox.clock_offset_s = offset
    result = machine.doctor()
    assert result.code == 0, result.out
    assert line(result, "clock") == (
        f"! clock: {expected} the clock of {sandbox.url}; TLS certificates and token ages are "
        "read on this one\n"
        "  fix: set the clock right: sudo timedatectl set-ntp true (or your system's time "
        "settings)"
    )


def test_bp_token_overrides_the_stored_one(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url, token=BOB_TOKEN, workspace="ws_initech")
    result = machine.doctor(BP_TOKEN=ALICE_TOKEN, BP_WORKSPACE_ID="ws_acme")
    assert result.code == 0, result.out
    assert line(result, "environment") == (
        "! environment: BP_TOKEN, BP_WORKSPACE_ID set the token and the workspace for every "
        "command, over the profiles'; BP_BOTPRESS_HOME set (the botpress home)\n"
        "  fix: to use the stored values: unset BP_TOKEN BP_WORKSPACE_ID"
    )
    assert line(result, "in force") == (
        '✓ in force: profile "default" (active), with BP_TOKEN and BP_WORKSPACE_ID: '
        "alice@example.com (owner) in acme (ws_acme)"
    )
    assert line(result, "profile default (active)") == (
        "✓ profile default (active): bob@example.com (owner) in initech (ws_initech); token "
        "in config.json"
    )
    assert ALICE_TOKEN not in result.out + result.err
    assert BOB_TOKEN not in result.out + result.err


def test_a_variable_bp_does_not_read(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    result = machine.doctor(BP_WORKSPACEID="ws_acme")
    assert line(result, "environment") == (
        "! environment: BP_BOTPRESS_HOME set (the botpress home); BP_WORKSPACEID is not a "
        "variable bp reads (did you mean BP_WORKSPACE_ID?)\n  fix: unset BP_WORKSPACEID"
    )


def test_not_logged_in(machine: Machine, sandbox: Sandbox) -> None:
    result = machine.doctor(BP_API_URL=sandbox.url)
    assert result.code == 1
    assert line(result, "in force") == "✗ in force: not logged in\n  fix: bp login"
    assert not machine.home.exists()


def test_no_active_profile(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url, name="a")
    machine.login(sandbox.url, name="b")
    config = json.loads((machine.home / "config.json").read_text())
    config["activeProfile"] = None
    (machine.home / "config.json").write_text(json.dumps(config))
    result = machine.doctor()
    assert result.code == 1
    assert line(result, "in force") == (
        "✗ in force: no profile is active\n  fix: choose one: bp profiles use a|b"
    )
    assert line(result, "profile a") == (
        "✓ profile a: alice@example.com (owner) in acme (ws_acme); token in config.json"
    )


def test_profiles_that_need_attention(machine: Machine, sandbox: Sandbox) -> None:
    old = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    machine.login(sandbox.url, tokenCreatedAt=old, tokenId="pat_old")
    machine.login(sandbox.url, name="expired", token=EXPIRED_TOKEN)
    machine.login(sandbox.url, name="viewer", token=DANA_TOKEN, workspace=HOOLI_WORKSPACE_ID)
    machine.login(sandbox.url, name="elsewhere", workspace="ws_initech")
    result = machine.doctor()
    assert result.code == 1
    assert line(result, "profile default (active)") == (
        "! profile default (active): alice@example.com (owner) in acme (ws_acme); token in "
        "config.json, 200 days old\n  fix: rotate it: bp tokens rotate -p default"
    )
    assert line(result, "profile expired").startswith(
        f"✗ profile expired: ws_acme at {sandbox.url}: "
    )
    assert line(result, "profile expired").endswith(
        "\n  fix: log in again with a new token: bp login -p expired"
    )
    assert line(result, "profile viewer") == (
        f"! profile viewer: dana@example.com (viewer) in Hooli ({HOOLI_WORKSPACE_ID}); token in "
        "config.json; a viewer cannot deploy bots\n"
        "  fix: ask an administrator of the workspace for the developer role"
    )
    assert line(result, "profile elsewhere").endswith(
        "\n  fix: choose a workspace this token can use: bp login -p elsewhere --workspaceId ID"
    )
    assert result.out.endswith("\n\n2 problems, 4 warnings.\n")
    only = machine.doctor("-p", "viewer")
    assert "profile default" not in only.out
    assert line(only, "profile viewer (-p)").startswith("! profile viewer (-p): ")
    unknown = machine.doctor("-p", "nope")
    assert (unknown.code, unknown.out) == (1, "")
    assert unknown.err.startswith('Unknown profile "nope". Known profiles: ')


# --- the official CLI ----------------------------------------------------------------------


def official_files(home: Path, token: str, url: str) -> None:
    """The files of the official CLI, as it writes them (0644, two-space indents)."""
    home.mkdir(mode=0o755, parents=True, exist_ok=True)
    cache = {"token": token, "workspaceId": "ws_acme", "apiUrl": url}
    (home / "global.cache.json").write_text(json.dumps(cache, indent=2))
    (home / "global.cache.json").chmod(0o644)


def test_plain_text_tokens_of_the_official_cli(machine: Machine, sandbox: Sandbox) -> None:
    official_files(machine.home, ALICE_TOKEN, sandbox.url)
    before = machine.snapshot()
    fresh = machine.doctor(BP_API_URL=sandbox.url)
    assert machine.snapshot() == before  # not imported: doctor only looks
    cache = machine.home / "global.cache.json"
    assert line(fresh, f"official CLI file {cache}") == (
        f'! official CLI file {cache}: holds the token of profile "default" in plain text '
        "(mode 0644)\n  fix: move them into bpshell's store: bp profiles import --move"
    )
    machine.login(sandbox.url, keyring=True)
    imported = machine.doctor()
    assert line(imported, f"official CLI file {cache}").endswith(
        "\n  fix: move them into bpshell's store: bp profiles import --move"
    )
    cache.write_text(json.dumps({"token": "bp_pat_bad token", "workspaceId": "ws_acme"}))
    odd = machine.doctor()
    assert line(odd, f"official CLI file {cache}").endswith(
        f'\n  fix: remove the "token" field from {cache}'
    )


def fake_npm_install(folder: Path, version: str) -> Path:
    """``node_modules/@botpress/cli`` as npm lays it out, with its ``.bin/bp`` link."""
    package = folder / "node_modules/@botpress/cli"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@botpress/cli", "version": version}))
    (package / "bin.js").write_text("#!/bin/sh\necho never run\n")
    (package / "bin.js").chmod(0o755)
    (folder / "node_modules/.bin").mkdir()
    (folder / "node_modules/.bin/bp").symlink_to("../@botpress/cli/bin.js")
    return folder / "node_modules/.bin/bp"


def test_the_official_cli_found_and_its_version(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    bp = fake_npm_install(machine.root / "global", "0.8.59")
    shutil.move(machine.root / "global", machine.root / "bin" / "lib")
    on_path = machine.root / "bin" / "bp"
    on_path.symlink_to(machine.root / "bin/lib/node_modules/.bin/bp")
    result = machine.doctor()
    assert line(result, "official CLI") == (
        f"✓ official CLI: {on_path}, version 0.8.59 (found on PATH)"
    )
    assert bp.name == "bp"
    script_cli = machine.root / "wrapper"
    script_cli.write_text("#!/bin/sh\necho 'Botpress CLI'\necho 1.2.3\n")
    script_cli.chmod(0o755)
    asked = machine.doctor(BP_OFFICIAL_CLI=str(script_cli))
    assert line(asked, "official CLI") == (
        f"✓ official CLI: {script_cli}, version 1.2.3 (BP_OFFICIAL_CLI)"
    )
    broken = machine.doctor(BP_OFFICIAL_CLI=str(machine.root / "nowhere"))
    assert broken.code == 1
    assert line(broken, "official CLI").startswith(
        f"✗ official CLI: BP_OFFICIAL_CLI={machine.root / 'nowhere'} is not an executable\n"
    )


def test_the_real_official_cli(machine: Machine, sandbox: Sandbox) -> None:
    if not OFFICIAL_BP.exists():
        pytest.skip("the official CLI is not installed in .ci/node (run: bash .ci/test)")
    machine.login(sandbox.url)
    result = machine.doctor(BP_OFFICIAL_CLI=str(OFFICIAL_BP))
    assert line(result, "official CLI") == (
        f"✓ official CLI: {OFFICIAL_BP}, version 0.8.59 (BP_OFFICIAL_CLI)"
    )


# --- shell completion ----------------------------------------------------------------------


def test_completion_where_the_readme_puts_it(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    bash = machine.user_home / ".local/share/bash-completion/completions/bp"
    bash.parent.mkdir(parents=True)
    bash.write_text(script("bash"))
    assert line(machine.doctor(), "completion") == (
        "✓ completion: bash: ~/.local/share/bash-completion/completions/bp"
    )
    bash.write_text(script("bash").replace("_bp_quote", "_bp_quote_old") + "# bpshell\n")
    assert line(machine.doctor(), "completion") == (
        "! completion: bash: ~/.local/share/bash-completion/completions/bp is an older bpshell "
        f"script\n  fix: bp completion bash > {bash}"
    )
    bash.unlink()
    (machine.user_home / ".bashrc").write_text("source <(bp completion bash)\n")
    assert line(machine.doctor(), "completion") == (
        "✓ completion: bash: loaded by ~/.bashrc (bp completion bash)"
    )
    fish = machine.user_home / ".config/fish/completions/bp.fish"
    assert line(machine.doctor(SHELL="/usr/bin/fish"), "completion") == (
        "! completion: not installed for fish\n"
        "  fix: mkdir -p ~/.config/fish/completions && bp completion fish > "
        "~/.config/fish/completions/bp.fish"
    )
    fish.parent.mkdir(parents=True)
    fish.write_text(script("fish"))
    assert line(machine.doctor(SHELL="/usr/bin/fish"), "completion") == (
        "✓ completion: fish: ~/.config/fish/completions/bp.fish"
    )
    zfunc = machine.user_home / ".zfunc/_bp"
    zfunc.parent.mkdir()
    zfunc.write_text(script("zsh"))
    assert line(machine.doctor(SHELL="/bin/zsh"), "completion") == (
        "✓ completion: zsh: ~/.zfunc/_bp"
    )
    fifo = machine.user_home / ".zshrc"
    os.mkfifo(fifo)
    zfunc.unlink()
    assert line(machine.doctor(SHELL="/bin/zsh"), "completion").startswith(
        "! completion: not installed for zsh\n"
    )


# --- from the shell, and the help ----------------------------------------------------------


def test_doctor_in_the_shell_and_its_help(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    result = bp_process(machine.home, "shell", "-c", "doctor", env=machine.env(), timeout=HANG_S)
    assert result.code == 0, result.err
    assert "✓ profile default (active): alice@example.com" in result.out
    helped = bp_process(machine.home, "doctor", "--help", env=machine.env())
    assert helped.code == 0
    assert "--timeout SECONDS" in helped.out


# --- a token from a secret manager, a folder's profile ---------------------------------------


def token_script(machine: Machine, name: str, body: str) -> str:
    """An executable in the machine that plays a secret manager; its path."""
    path = machine.root / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_a_profile_whose_token_comes_from_a_command(machine: Machine, sandbox: Sandbox) -> None:
    good = token_script(machine, "op", f"echo {ALICE_TOKEN}")
    sealed = token_script(machine, "vault", "echo 'vault sealed' >&2; exit 7")
    machine.login(sandbox.url)
    config = json.loads((machine.home / "config.json").read_text())
    config["profiles"]["default"] = {"apiUrl": sandbox.url, "workspaceId": "ws_acme"}
    config["profiles"]["default"]["tokenCommand"] = good
    config["profiles"]["team"] = {"apiUrl": sandbox.url, "workspaceId": "ws_acme"}
    config["profiles"]["team"]["tokenCommand"] = sealed
    (machine.home / "config.json").write_text(json.dumps(config))
    result = machine.doctor()
    assert result.code == 1
    assert line(result, "profile default (active)") == (
        "✓ profile default (active): alice@example.com (owner) in acme (ws_acme); "
        "token from its command"
    )
    assert line(result, "profile team") == (
        f'✗ profile team: the token command of profile "team" failed (exit code 7): {sealed}\n'
        "  fix: run it to see why; to use another: bp login -p team --token-command COMMAND"
    )
    assert result.err == "vault sealed\n"  # the secret manager's own words reach the user
    assert ALICE_TOKEN not in result.out + result.err
    found = {c["subject"]: c for c in checks(machine.doctor("--json")) if c["check"] == "profile"}
    assert found["default"]["data"]["tokenStorage"] == "command"
    assert found["default"]["data"]["verification"] == "ok"
    assert (found["team"]["status"], found["team"]["data"]["tokenStorage"]) == ("failed", "command")


def test_no_keyring_is_no_warning_when_every_token_comes_from_a_command(
    machine: Machine, sandbox: Sandbox
) -> None:
    no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    warning = (
        "! keyring: no usable keyring backend on this system; tokens are kept in plain text in "
        "config.json (0600)\n"
        "  fix: install a keyring (gnome-keyring or KeePassXC on Linux), then log in again"
    )
    assert line(machine.doctor(**no_keyring), "keyring") == warning  # a login would store one
    machine.login(sandbox.url, tokenCommand=token_script(machine, "op", f"echo {ALICE_TOKEN}"))
    config = json.loads((machine.home / "config.json").read_text())
    del config["profiles"]["default"]["token"]
    (machine.home / "config.json").write_text(json.dumps(config))
    result = machine.doctor(**no_keyring)
    assert result.code == 0, result.out
    assert line(result, "keyring") == (
        "- keyring: no usable keyring backend on this system; none needed: every profile gets "
        "its token from a command"
    )
    found = {c["check"]: c for c in checks(machine.doctor("--json", **no_keyring))}
    assert (found["keyring"]["status"], found["keyring"]["fix"]) == ("skipped", None)
    machine.login(sandbox.url, name="kept")
    assert line(machine.doctor(**no_keyring), "keyring") == warning


def test_a_folders_profile_does_not_hide_the_others(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    machine.login(sandbox.url, name="prod", token=BOB_TOKEN, workspace="ws_initech")
    bot = machine.user_home / "prod-bot"
    bot.mkdir()
    (bot / ".bp-profile").write_text("prod\n")
    result = machine.doctor(cwd=bot)
    assert result.code == 0, result.out
    assert line(result, "profile default (active)").startswith("✓ profile default (active): ")
    assert line(result, "profile prod (.bp-profile)") == (
        "✓ profile prod (.bp-profile): bob@example.com (owner) in initech (ws_initech); "
        "token in config.json"
    )
    only = machine.doctor("-p", "default", cwd=bot)
    assert "profile prod" not in only.out
    overridden = machine.doctor(cwd=bot, BP_WORKSPACE_ID="ws_initech")
    assert line(overridden, "in force").startswith(
        '✓ in force: profile "prod" (.bp-profile), with BP_WORKSPACE_ID: bob@example.com'
    )


# --- a .bp-profile that is refused ------------------------------------------------------------


def test_a_refused_bp_profile_is_a_failed_check_and_the_others_still_run(
    machine: Machine, sandbox: Sandbox
) -> None:
    """Every other command stops at the refusal (exit 2); doctor says it among its checks."""
    machine.login(sandbox.url, keyring=True)
    bot = machine.user_home / "bot"
    bot.mkdir()
    os.mkfifo(bot / ".bp-profile")
    before = machine.snapshot()
    result = machine.doctor(cwd=bot)
    assert (result.code, result.err) == (1, "")
    home, url = machine.home, sandbox.url
    expected = [
        *healthy_start(home),
        f"✗ .bp-profile: refusing to use {bot}/.bp-profile: it is a FIFO, not a regular file",
        "  fix: replace it with: bp profiles use --local NAME (or remove it: bp profiles use "
        "--local --unset)",
        "- in force: not checked: the .bp-profile is refused",
        *healthy_rest(url, home),
        "",
        "1 problem, 2 warnings.",
    ]
    assert_report(result.out, expected)
    assert machine.snapshot() == before
    refused = bp_process(machine.home, "profiles", "active", env=machine.env(), cwd=bot)
    assert refused.code == 2  # what doctor reports is what stops the other commands


def test_a_refused_bp_profile_in_json(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url, keyring=True)
    bot = machine.user_home / "bot"
    bot.mkdir()
    os.mkfifo(bot / ".bp-profile")
    result = machine.doctor("--json", cwd=bot)
    assert (result.code, result.err) == (1, "")
    data = json.loads(result.out)
    assert (data["ok"], data["failed"], data["warnings"]) == (False, 1, 2)
    assert [(c["check"], c["status"]) for c in data["checks"]] == [
        ("home", "ok"),
        ("config", "ok"),
        ("keyring", "ok"),
        ("environment", "ok"),
        ("local_profile", "failed"),
        ("credentials", "skipped"),
        ("profile", "ok"),
        ("api", "ok"),
        ("certificates", "ok"),
        ("clock", "ok"),
        ("official_files", "ok"),
        ("official_cli", "warning"),
        ("completion", "warning"),
    ]
    path = f"{bot}/.bp-profile"
    assert data["checks"][4:6] == [
        {
            "check": "local_profile",
            "subject": path,
            "status": "failed",
            "message": f"refusing to use {path}: it is a FIFO, not a regular file",
            "fix": "replace it with: bp profiles use --local NAME (or remove it: bp profiles "
            "use --local --unset)",
            "data": {"path": path},
        },
        {
            "check": "credentials",
            "subject": None,
            "status": "skipped",
            "message": "not checked: the .bp-profile is refused",
            "fix": None,
            "data": {},
        },
    ]


WHOEVER = "and whoever can change it picks the profile (and the token) bp uses here"


REFUSED = [
    (
        "symlink",
        "refusing to use {path}: it is a symlink, not a regular file",
        "replace it with: bp profiles use --local NAME (or remove it: bp profiles use --local "
        "--unset)",
    ),
    (
        "folder",
        "refusing to use {path}: it is a folder, not a regular file",
        "move it away: mv {path} {path}.bad",
    ),
    (
        "others can write",
        f"refusing to use {{path}}: other users can change it (mode 0666), {WHOEVER}",
        "if you trust its content, run: chmod 644 {path}",
    ),
    (
        "in a folder others can write",
        "refusing to use {path}: other users can change its folder (mode 0777), so they "
        f"can replace it, {WHOEVER}",
        "if you trust that folder, run: chmod o-w {folder}; or remove it: bp profiles use "
        "--local --unset",
    ),
    (
        "too big",
        "refusing to use {path}: it is larger than 1024 bytes, and a .bp-profile holds only "
        "a profile name",
        "replace it with: bp profiles use --local NAME (or remove it: bp profiles use --local "
        "--unset)",
    ),
    (
        "a token",
        "{path} holds what looks like a token, not a profile name; bp did not use it or show it",
        "a .bp-profile must never hold a credential; remove it: bp profiles use --local "
        "--unset, and revoke that token if the file was shared",
    ),
    (
        "not a name",
        '{path} does not hold a profile name (it reads "prod and dev")',
        'it must hold one profile name: 1-64 letters, digits, ".", "_" or "-"; write one '
        "with: bp profiles use --local NAME",
    ),
    (
        "a FIFO above",
        "refusing to use {path}: it is a FIFO, not a regular file",
        "remove it: rm {path}",
    ),
]


@pytest.mark.parametrize(("kind", "message", "fix"), REFUSED, ids=[row[0] for row in REFUSED])
def test_each_refused_bp_profile_is_one_failed_line(
    machine: Machine, sandbox: Sandbox, kind: str, message: str, fix: str
) -> None:
    """Its message and fix are the refusal's own, as every other command gives them."""
    machine.login(sandbox.url)
    bot = machine.user_home / "bot"
    bot.mkdir()
    path = bot / ".bp-profile"
    cwd = bot
    if kind == "symlink":
        (bot / "elsewhere").write_text("default\n")
        path.symlink_to(bot / "elsewhere")
    elif kind == "folder":
        path.mkdir()
    elif kind == "others can write":
        path.write_text("default\n")
        path.chmod(0o666)
    elif kind == "in a folder others can write":
        path.write_text("default\n")
        bot.chmod(0o777)
    elif kind == "too big":
        path.write_text("default\n" + "#" * 1024)
    elif kind == "a token":
        path.write_text(f"{ALICE_TOKEN}\n")
    elif kind == "not a name":
        path.write_text("prod and dev\n")
    else:
        os.mkfifo(path)
        cwd = bot / "src"
        cwd.mkdir()
    result = machine.doctor(cwd=cwd)
    assert (result.code, result.err) == (1, "")
    shown = message.format(path=path)
    assert line(result, ".bp-profile") == f"✗ .bp-profile: {shown}\n  fix: " + fix.format(
        path=path, folder=bot
    )
    assert "- in force: not checked: the .bp-profile is refused\n" in result.out
    assert result.out.endswith("\n\n1 problem, 2 warnings.\n")
    assert ALICE_TOKEN not in result.out


@pytest.mark.parametrize(
    ("words", "extra"), [(("-p", "default"), {}), ((), {"BP_PROFILE": "default"})]
)
def test_a_named_profile_leaves_a_refused_bp_profile_unread(
    machine: Machine, sandbox: Sandbox, words: tuple[str, ...], extra: dict[str, str]
) -> None:
    machine.login(sandbox.url)
    bot = machine.user_home / "bot"
    bot.mkdir()
    os.mkfifo(bot / ".bp-profile")
    result = machine.doctor(*words, cwd=bot, **extra)
    assert result.code == 0, result.out
    assert ".bp-profile" not in result.out


def test_a_refused_bp_profile_in_the_shell(machine: Machine, sandbox: Sandbox) -> None:
    machine.login(sandbox.url)
    bot = machine.user_home / "bot"
    bot.mkdir()
    os.mkfifo(bot / ".bp-profile")
    result = bp_process(
        machine.home, "shell", "-c", "doctor", env=machine.env(), timeout=HANG_S, cwd=bot
    )
    assert result.code == 1, result.err
    assert line(result, ".bp-profile") == (
        f"✗ .bp-profile: refusing to use {bot}/.bp-profile: it is a FIFO, not a regular file\n"
        "  fix: replace it with: bp profiles use --local NAME (or remove it: bp profiles use "
        "--local --unset)"
    )
