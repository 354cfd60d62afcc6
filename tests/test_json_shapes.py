"""docs/json.md is what ``--json`` prints: every command run against the sandbox, each field
it printed (nested ones as ``sources.token``, those of array items as ``removed[].profile``)
compared with the fields of the command's table in the document, and each value's JSON type
with the types the document gives it."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox
from bpshell.tokens import InMemoryTokens
from tests.conftest import ROOT, Bp, bp_process

DOC = ROOT / "docs" / "json.md"
TYPES = {"string", "boolean", "integer", "number", "null", "array", "object"}


def documented() -> dict[str, dict[str, set[str]]]:
    """Each ``## `section` `` of docs/json.md: its table's fields, each with its types."""
    sections: dict[str, dict[str, set[str]]] = {}
    fields: dict[str, set[str]] = {}
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            fields = sections.setdefault(line[3:].strip().strip("`"), {})
        row = re.match(r"\|\s*`([^`]+)`\s*\|([^|]*)\|", line)
        if row:
            types = set(re.findall(r"[a-z]+", row.group(2))) - {"or"}
            assert types <= TYPES, f"{row.group(1)}: unknown type in {row.group(2)!r}"
            fields[row.group(1)] = types
    return sections


def printed(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(field, JSON type of its value) for every field in ``value``, at any depth."""
    if isinstance(value, list):
        for item in value:
            yield from printed(item, f"{path}[]" if path else "")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            yield name, _type(item)
            yield from printed(item, name)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    kinds = {str: "string", int: "integer", float: "number", list: "array", dict: "object"}
    return kinds[type(value)]


class Seen:
    """The fields each section's runs printed, with the types of their values."""

    def __init__(self) -> None:
        self.sections: dict[str, dict[str, set[str]]] = {}

    def add(self, section: str, text: str) -> None:
        assert text.strip(), f"{section}: nothing printed"
        fields = self.sections.setdefault(section, {})
        for line in text.splitlines() if text.startswith('{"') else [text]:
            for name, kind in printed(json.loads(line)):
                fields.setdefault(name, set()).add(kind)


def _login(bp: Bp, sandbox: Sandbox, *words: str, token: str = ALICE_TOKEN) -> str:
    base = ("login", "--token", "-", "--apiUrl", sandbox.url, "-y", "--json")
    result = bp(*base, *words, stdin=token)
    assert result.code == 0, result.err
    return result.out


def _run(bp: Bp, *words: str, code: int = 0, **more: Any) -> str:
    result = bp(*words, "--json", **more)
    assert result.code == code, (words, result.err)
    return result.out


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory, sandbox_server: Sandbox) -> Seen:
    """Every command of docs/json.md run once or more with ``--json``."""
    sandbox = sandbox_server
    sandbox.reset()
    bp = Bp(tmp_path_factory.mktemp("json") / "botpress")
    seen = Seen()
    seen.add("bp login", _login(bp, sandbox, "--workspaceId", "ws_acme"))
    seen.add("bp login", _login(bp, sandbox, "-p", "bob", "--workspaceId", "ws_initech",
                                "--insecure-storage", token=BOB_TOKEN))  # fmt: skip
    seen.add("bp login", _run(
        bp, "login", "-p", "default", "--apiUrl", sandbox.url, "--workspaceId", "ws_initech",
        code=1, env={"BP_TOKEN": BOB_TOKEN}, interactive=True, answers=[False],
    ))  # fmt: skip
    for words in (("profiles", "list"), ("profiles", "list", "--displayToken")):
        seen.add("bp profiles list", _run(bp, *words))
    seen.add("bp profiles list --verify", _run(bp, "profiles", "list", "--verify"))
    seen.add("bp profiles active", _run(bp, "profiles", "active", "--displayToken"))
    # alice's token on bob's workspace: a failed check, with its error and errorType
    seen.add("bp profiles active", _run(
        bp, "profiles", "active", code=1, env={"BP_TOKEN": ALICE_TOKEN}
    ))  # fmt: skip
    seen.add("bp profiles get", _run(bp, "profiles", "get", "default"))
    script = tmp_path_factory.mktemp("command") / "token.py"
    script.write_text(f"print({ALICE_TOKEN!r})\n")
    command = ("--token-command", f"{sys.executable} {script}", "-p", "fromcommand")
    seen.add("bp login", _run(bp, "login", *command, "--apiUrl", sandbox.url, "--workspaceId",
                              "ws_acme", "-y"))  # fmt: skip
    seen.add("bp profiles get", _run(bp, "profiles", "get", "fromcommand"))
    seen.add("bp profiles active", _run(bp, "profiles", "active", "-p", "fromcommand"))
    seen.add("bp profiles use", _run(bp, "profiles", "use", "default"))
    seen.add("bp profiles use", _run(bp, "profiles", "use", "default"))
    folder = tmp_path_factory.mktemp("folder")
    here = os.getcwd()
    os.chdir(folder)  # --local writes in the working folder
    try:
        seen.add("bp profiles use", _run(bp, "profiles", "use", "--local", "bob"))
        seen.add("bp profiles active", _run(bp, "profiles", "active"))
        seen.add("bp profiles use --unset", _run(bp, "profiles", "use", "--local", "--unset"))
        seen.add("bp profiles use --unset", _run(bp, "profiles", "use", "--local", "--unset"))
    finally:
        os.chdir(here)
    pinned = bp_process(
        bp.home, "--json", "shell", "-c",
        "profiles use --session bob; profiles use --session --unset; "
        "profiles use --session --unset",
    )  # fmt: skip
    assert pinned.code == 0, pinned.err
    first, *unset = pinned.out.splitlines()
    seen.add("bp profiles use", first)
    for line in unset:
        seen.add("bp profiles use --unset", line)
    seen.add("bp workspaces list", _run(bp, "workspaces", "list"))
    seen.add("bp env", _run(bp, "env"))
    seen.add("bp --version", _run(bp, "--version"))
    seen.add("bp profiles rename", _run(bp, "profiles", "rename", "bob", "robert"))
    seen.add("bp profiles rm", _run(bp, "profiles", "rm", "robert", "-y"))
    seen.add("bp logout", _run(bp, "logout"))
    _login(bp, sandbox, "--workspaceId", "ws_acme")
    assert isinstance(bp.tokens, InMemoryTokens)
    bp.tokens.broken = "the keyring did not answer within 3 s"
    seen.add("bp logout", _run(bp, "logout", code=1))
    official = Bp(tmp_path_factory.mktemp("official") / "botpress")
    official.home.mkdir()
    (official.home / "profiles.json").write_text(json.dumps({
        "default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme", "token": ALICE_TOKEN},
        "notoken": {"apiUrl": sandbox.url, "workspaceId": "ws_acme"},
    }))  # fmt: skip
    seen.add("bp profiles import", _run(official, "profiles", "import"))
    kept = official.home / "global.cache.json"
    kept.write_text(json.dumps({"token": BOB_TOKEN, "workspaceId": "ws_initech"}))
    seen.add("bp profiles import", _run(official, "profiles", "import", "--move", code=1))
    seen.add("bp doctor", _run(official, "doctor", code=1))  # bob's token: nowhere but there
    both = Bp(tmp_path_factory.mktemp("doctor") / "botpress")
    _login(both, sandbox, "--workspaceId", "ws_acme")
    seen.add("bp doctor", _run(
        both, "doctor", env={"BP_TOKEN": ALICE_TOKEN, "SHELL": "/bin/bash", "HOME": "/nonexistent"}
    ))  # fmt: skip
    errors = bp("profiles", "use", "nope", "--json")
    assert errors.code == 1
    seen.add("Errors", errors.err)
    script = bp_process(bp.home, "--json", "shell", stdin="--version\nbogus\n")
    assert script.code == 2
    seen.add("Errors", script.err)
    return seen


SECTIONS = sorted(documented())


def test_every_command_of_the_brief_is_documented() -> None:
    commands = {
        "bp login", "bp logout", "bp profiles list", "bp profiles list --verify",
        "bp profiles active", "bp profiles get", "bp profiles use", "bp profiles use --unset",
        "bp profiles rm",
        "bp profiles rename", "bp profiles import", "bp workspaces list", "bp env",
        "bp doctor",
        "bp --version", "Errors",
    }  # fmt: skip
    assert set(SECTIONS) == commands


@pytest.mark.parametrize("section", SECTIONS)
def test_the_documented_fields_are_the_ones_printed(seen: Seen, section: str) -> None:
    doc = documented()[section]
    fields = seen.sections[section]
    assert sorted(fields) == sorted(doc)
    wrong = {name: kinds for name, kinds in fields.items() if not kinds <= doc[name]}
    assert wrong == {}, f"types printed but not documented: {wrong}"


def test_the_readme_links_the_document() -> None:
    assert "(docs/json.md)" in (ROOT / "README.md").read_text()


def test_the_documented_rules_hold(seen: Seen, tmp_path: Path) -> None:
    """One-shot runs print one indented document; ``bp shell`` one compact document a line."""
    one_shot = bp_process(tmp_path, "--version", "--json")
    assert one_shot.out.startswith("{\n  ")
    shell = bp_process(tmp_path, "--json", "shell", stdin="--version\n--version\n")
    assert [json.loads(line) for line in shell.out.splitlines()] == [
        json.loads(one_shot.out),
        json.loads(one_shot.out),
    ]
