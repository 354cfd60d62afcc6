"""The shell's completer: Document + CompleteEvent -> the exact set of completion texts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prompt_toolkit.completion import CompleteEvent, Completion
from prompt_toolkit.document import Document

from bpshell.commands import COMPLETION_SHELLS
from bpshell.completion import MAX_SHOWN, CompletionData, Key, SearchIndex, ShellCompleter

URL = "http://127.0.0.1:9"
OTHER = "https://api.example.com"

ALICE = SearchIndex(
    [
        ("ws_acme", "acme"),
        ("ws_globex", "Globex Corp"),
        ("ws_team01", "Team 01"),
        ("ws_team02", "Team 02"),
    ]
)
BOB = SearchIndex([("ws_initech", "initech")])
DATA = CompletionData(
    profiles=SearchIndex(
        [("default", "acme (ws_acme)"), ("globex", "Globex Corp"), ("prod", "initech")]
    ),
    profile_urls={"default": URL, "globex": URL, "prod": URL},
    active=("default", URL),
    workspaces={("default", URL): ALICE, ("prod", URL): BOB},
    api_urls=("https://api.botpress.cloud", URL),
)


def completions(text: str, data: CompletionData = DATA) -> list[Completion]:
    completer = ShellCompleter(data)
    event = CompleteEvent(completion_requested=True)
    return list(completer.get_completions(Document(text), event))


def texts(text: str, data: CompletionData = DATA) -> set[str]:
    return {c.text for c in completions(text, data)}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("lo", {"login", "logout"}),
        ("pro", {"profiles"}),
        ("wo", {"workspaces"}),
        ("ex", {"exit", "exec"}),
        ("he", {"help"}),
        ("cl", {"clear"}),
        ("sh", set()),
        ("profiles r", {"rm", "rename"}),
        ("profiles u", {"use"}),
        ("workspaces ", {"list"}),
        ("bp profiles u", {"use"}),
        ("help pro", {"profiles"}),
        ("help profiles a", {"active"}),
        ("nonsense ", set()),
    ],
)
def test_commands_and_subcommands(line: str, expected: set[str]) -> None:
    assert texts(line) == expected


def test_empty_line_offers_builtins_and_commands_but_not_shell() -> None:
    found = texts("")
    assert {"help", "exit", "quit", "clear", "login", "logout", "profiles", "workspaces"} <= found
    assert "shell" not in found


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("login --to", {"--token", "--token-command"}),
        ("login --tokenC", {"--tokenCommand"}),
        ("login --workspace", {"--workspaceId"}),
        ("login --workspace-", {"--workspace-id"}),
        ("login --i", {"--insecure-storage"}),
        ("login --token x --to", {"--token-command"}),
        ("profiles list --v", {"--verify", "--verbose"}),
        ("profiles list --json --js", set()),
        ("logout --a", {"--all"}),
        (
            "profiles use -",
            {"--json", "--verbose", "--confirm", "--botpressHome", "--profile", "--help"}
            | {"--local", "--session", "--unset"},
        ),
        ("-", {"--json", "--verbose", "--confirm", "--botpressHome", "--profile", "--help"}),
        ("workspaces list --p", {"--profile"}),
        ("workspaces list -p", {"-p"}),
    ],
)
def test_flags(line: str, expected: set[str]) -> None:
    assert texts(line) == expected


def test_flags_are_offered_when_no_argument_is_expected() -> None:
    assert texts("logout ") == {
        "--all",
        "--revoke",
        "--json",
        "--verbose",
        "--confirm",
        "--botpressHome",
        "--profile",
        "--help",
    }


def test_flag_help_is_the_display_meta() -> None:
    token, command = completions("login --tok")
    assert (command.text, command.display_text) == ("--token-command", "--token-command COMMAND")
    assert token.display_meta_text == "Personal Access Token, or - to read stdin"
    assert token.display_text == "--token TOKEN"
    assert token.start_position == -len("--tok")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("profiles use ", {"default", "globex", "prod"}),
        ("profiles use g", {"globex"}),
        ("profiles get pr", {"prod"}),
        ("profiles rm de", {"default"}),
        ("profiles rm d", {"default", "prod"}),
        ("profiles rename gl", {"globex"}),
        ("profiles rename globex ", set()),
        (
            "profiles use globex ",
            {"--json", "--verbose", "--confirm", "--botpressHome", "--profile", "--help"}
            | {"--local", "--session", "--unset"},
        ),
        ("logout -p ", {"default", "globex", "prod"}),
        ("profiles list --profile gl", {"globex"}),
        ("-p pr", {"prod"}),
        ("login --token ", set()),
        ("login --botpressHome ", set()),
        ("login --apiUrl http", {"https://api.botpress.cloud", URL}),
        ("completion ", set(COMPLETION_SHELLS)),
        ("profiles use x # commented ", set()),
        ('profiles use "gl', {"globex"}),
    ],
)
def test_profile_names_and_flag_values(line: str, expected: set[str]) -> None:
    assert texts(line) == expected


def test_fuzzy_profile_match() -> None:
    assert texts("profiles use gbx") == {"globex"}


def test_workspace_ids_with_names_as_display_meta() -> None:
    found = completions("login --workspaceId ")
    assert {(c.text, c.display_meta_text) for c in found} == {
        ("ws_acme", "acme"),
        ("ws_globex", "Globex Corp"),
        ("ws_team01", "Team 01"),
        ("ws_team02", "Team 02"),
    }


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ws_gl", {"ws_globex"}),
        ("glob", {"ws_globex"}),
        ("corp", {"ws_globex"}),
        ("CORP", {"ws_globex"}),
        ("team", {"ws_team01", "ws_team02"}),
        ("wt2", {"ws_team02"}),
        ("t01", {"ws_team01"}),
        ("nothing", set()),
    ],
)
def test_workspace_ids_match_on_id_or_name_fuzzily(typed: str, expected: set[str]) -> None:
    assert texts(f"login --workspaceId {typed}") == expected


def test_workspace_completion_replaces_the_typed_word_only() -> None:
    (found,) = completions("login --workspaceId=ws_gl")
    assert (found.text, found.start_position) == ("ws_globex", -len("ws_gl"))
    (found,) = completions("login -y --workspaceId corp")
    assert (found.text, found.start_position) == ("ws_globex", -len("corp"))


def test_workspace_ids_of_the_profile_named_on_the_line() -> None:
    assert texts("login -p prod --workspaceId ") == {"ws_initech"}
    assert texts("login --profile=prod --workspaceId in") == {"ws_initech"}
    assert texts("login -p unknown --workspaceId ") == set()


def test_workspace_ids_are_keyed_by_api_url() -> None:
    assert texts(f"login --apiUrl {OTHER} --workspaceId ") == set()
    assert texts(f"login --apiUrl {URL}/ --workspaceId ws_ac") == {"ws_acme"}


def test_no_stale_workspaces_after_a_switch() -> None:
    asked: list[Key] = []
    completer = ShellCompleter(DATA, want=asked.append)
    event = CompleteEvent(completion_requested=True)
    assert {c.text for c in completer.get_completions(Document("login --workspaceId "), event)}
    completer.data = replace(DATA, active=("globex", URL))
    found = list(completer.get_completions(Document("login --workspaceId "), event))
    assert found == []
    assert asked == [("globex", URL)]


def test_no_workspaces_when_not_logged_in() -> None:
    assert texts("login --workspaceId ", CompletionData()) == set()


def test_search_tiers_prefix_then_name_prefix_then_substring_then_fuzzy() -> None:
    index = SearchIndex(
        [
            ("ws_xgl", "other"),  # substring of the ID
            ("ws_abc", "glimmer"),  # prefix of the name
            ("gl_first", "first"),  # prefix of the ID
            ("ws_gxl", "z"),  # fuzzy only
            ("ws_none", "none"),
        ]
    )
    assert [index.values[i] for i in index.search("gl")] == [
        "gl_first",
        "ws_abc",
        "ws_xgl",
        "ws_gxl",
    ]


def test_ten_thousand_workspaces_are_capped() -> None:
    index = SearchIndex((f"ws_{n:05d}", f"Workspace {n}") for n in range(10_000))
    data = replace(DATA, workspaces={("default", URL): index})
    found = completions("login --workspaceId ws_0", data)
    assert len(found) == MAX_SHOWN
    assert [c.text for c in found[:3]] == ["ws_00000", "ws_00001", "ws_00002"]
    (found,) = completions('login --workspaceId "workspace 9999', data)
    assert (found.text, found.start_position) == ("ws_09999", -len('"workspace 9999'))
    assert texts("login --workspaceId zzz", data) == set()


def test_names_with_control_characters_cannot_break_the_search() -> None:
    index = SearchIndex([("ws_a", "evil\n\tname\x1b[31m"), ("ws_b", "fine")])
    assert [index.values[i] for i in index.search("name")] == ["ws_a"]
    assert [index.values[i] for i in index.search("fine")] == ["ws_b"]


GLOBALS_IN_ORDER = ["--json", "--verbose", "--confirm", "--botpressHome", "--profile", "--help"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "login --",
            [
                *("--token", "--token-command", "--workspaceId", "--apiUrl"),
                *("--insecure-storage", "--no-browser"),
                *GLOBALS_IN_ORDER,
            ],
        ),
        ("logout ", ["--all", "--revoke", *GLOBALS_IN_ORDER]),
        ("profiles list --v", ["--verify", "--verbose"]),
        ("login -p prod -", ["--token", "--token-command", "--workspaceId", "--apiUrl"]),
    ],
)
def test_a_commands_own_flags_come_before_the_global_ones(line: str, expected: list[str]) -> None:
    """In the order the menu shows them: what the command is about first."""
    assert [c.text for c in completions(line)][: len(expected)] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("help ", {"environment", "exit-codes", "login", "logout", "profiles", "tokens"}),
        ("help e", {"environment", "exit-codes", "env", "exec"}),
        ("help ex", {"exit-codes", "exec"}),
        ("help exit-codes ", set()),
        ("help profiles ", {"list", "active", "use", "get", "rm", "rename", "import"}),
        ("bp help env", {"environment", "env"}),
    ],
)
def test_help_completes_commands_and_topics(line: str, expected: set[str]) -> None:
    found = texts(line)
    assert expected <= found if line == "help " else found == expected
    assert not found & {"help", "exit", "quit", "clear", "shell"}


def test_help_topics_say_what_they_are() -> None:
    shown = {c.text: c.display_meta_text for c in completions("help ex")}
    assert shown == {
        "exit-codes": "what each exit status means",
        "exec": "run a command with the credentials in force in its environment",
    }
