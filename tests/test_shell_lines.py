"""Splitting shell lines, and redacting history lines: tables of exact expectations."""

from __future__ import annotations

import pytest

from bpshell.errors import UsageError
from bpshell.history import redact_line
from bpshell.lines import scan, split_commands
from bpshell.sandbox import ALICE_TOKEN


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("", []),
        ("   ", []),
        ("profiles use dev; profiles active", [["profiles", "use", "dev"], ["profiles", "active"]]),
        ("a;b;;c", [["a"], ["b"], ["c"]]),
        ("a\nb", [["a"], ["b"]]),
        ("# only a comment", []),
        ("a # comment; b", [["a"]]),
        ("a # comment\nb", [["a"], ["b"]]),
        ("a#b c", [["a#b", "c"]]),
        ("a '#b'", [["a", "#b"]]),
        ("a 'x;y' \"p q\"", [["a", "x;y", "p q"]]),
        ("a 'it''s'", [["a", "its"]]),
        ('a "say \\"hi\\" \\n"', [["a", 'say "hi" \\n']]),
        ("a b\\ c \\;", [["a", "b c", ";"]]),
        ("a ''", [["a", ""]]),
        ("a \\\nb", [["a", "b"]]),
        ("login --token=x --workspaceId=ws", [["login", "--token=x", "--workspaceId=ws"]]),
    ],
)
def test_split_commands(text: str, commands: list[list[str]]) -> None:
    assert split_commands(text) == commands


@pytest.mark.parametrize("text", ["a 'b", 'a "b', "a; b 'c; d"])
def test_an_open_quote_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="unterminated"):
        split_commands(text)


def test_scan_for_completion() -> None:
    found = scan('a; login --workspaceId "Team 0')
    assert (found.commands, found.words, found.current, found.current_start, found.quote) == (
        (("a",),),
        ("login", "--workspaceId"),
        "Team 0",
        23,
        '"',
    )
    assert scan("a ").current == ""
    assert scan("a # b").in_comment


T = ALICE_TOKEN


@pytest.mark.parametrize(
    ("line", "stored"),
    [
        (f"login --token {T} -y", "login --token [redacted] -y"),
        (f"login --token={T} -y", "login --token [redacted] -y"),
        (f"login --token   {T}", "login --token [redacted]"),
        ("login --token 'a secret' -y", "login --token [redacted] -y"),
        ('login --token "a \\" secret" -y', "login --token [redacted] -y"),
        ("login --token plainsecret; profiles list", "login --token [redacted]; profiles list"),
        ("login --token - -y", "login --token - -y"),
        ("login --token=- -y", "login --token=- -y"),
        ("login --token -x", "login --token [redacted]"),
        (f"oops {T}", "oops [redacted]"),
        (f"profiles list # {T}", "profiles list # [redacted]"),
        ("profiles use prod", "profiles use prod"),
        ("login\n--token abc", "login\n--token [redacted]"),
    ],
)
def test_redact_line(line: str, stored: str) -> None:
    assert redact_line(line) == stored
