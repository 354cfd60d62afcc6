"""Completion of the official CLI's commands and flags, from its help as read once (in memory)."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent, Completion
from prompt_toolkit.document import Document

from bpshell.completion import CompletionData, SearchIndex, ShellCompleter
from bpshell.official.helptext import catalog_from_json
from tests.official_fake import CATALOG, VERSION

URL = "http://127.0.0.1:9"
DATA = CompletionData(
    profiles=SearchIndex([("default", "acme (ws_acme)"), ("prod", "initech")]),
    profile_urls={"default": URL, "prod": URL},
    active=("default", URL),
    workspaces={
        ("default", URL): SearchIndex([("ws_acme", "acme"), ("ws_globex", "Globex Corp")]),
        ("prod", URL): SearchIndex([("ws_initech", "initech")]),
    },
    api_urls=("https://api.botpress.cloud", URL),
)
OFFICIAL = catalog_from_json(CATALOG, VERSION)


def completions(text: str, *, official: bool = True) -> list[Completion]:
    completer = ShellCompleter(DATA)
    completer.official = OFFICIAL if official else None
    event = CompleteEvent(completion_requested=True)
    return list(completer.get_completions(Document(text), event))


def texts(text: str, *, official: bool = True) -> set[str]:
    return {c.text for c in completions(text, official=official)}


DEPLOY_FLAGS = {
    "--profile", "--botpressHome", "--version", "--help", "--verbose", "--json",
    "--workspaceId", "--botId", "--noBuild",
}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("de", {"deploy", "dev"}),
        ("pu", {"publish"}),
        ("in", {"init"}),
        ("lo", {"login", "logout"}),  # bpshell's, not the official CLI's login
        ("bots ", {"get", "list"}),
        ("bots l", {"list"}),
        ("bp bots g", {"get"}),
        ("-p prod bots ", {"get", "list"}),
        (
            "bots list --",
            {
                "--profile",
                "--botpressHome",
                "--version",
                "--help",
                "--verbose",
                "--json",
                "--workspaceId",
                "--botId",
                "--noBuild",
            },
        ),
        ("bots ls --j", {"--json"}),
        ("bots get ", set()),  # a bot reference comes next: nothing to offer
        ("bots get b1 ", DEPLOY_FLAGS),
        ("deploy ", DEPLOY_FLAGS),
        ("deploy -", DEPLOY_FLAGS),
        ("deploy --b", {"--botpressHome", "--botId"}),
        ("deploy --botId b1 --json ", DEPLOY_FLAGS - {"--botId", "--json"}),
        ("deploy -v --", DEPLOY_FLAGS - {"--verbose"}),
        ("deploy --to", set()),  # a token on a command line would end up in argv
        ("deploy -p ", {"default", "prod"}),
        ("deploy --profile=p", {"prod"}),
        ("deploy --workspaceId ", {"ws_acme", "ws_globex"}),
        ("deploy -p prod --workspaceId ", {"ws_initech"}),
        ("deploy --workspaceId=ws_g", {"ws_globex"}),
        ("deploy --botId ", set()),
        ("help de", {"deploy", "dev"}),
        ("publish --no", {"--noBuild"}),
        ("pub --no", {"--noBuild"}),
    ],
)
def test_official_lines(line: str, expected: set[str]) -> None:
    assert texts(line) == expected


def test_the_first_word_offers_both_clis() -> None:
    found = {c.text: c.display_meta_text for c in completions("")}
    assert found["deploy"] == "Deploy your project to the cloud (official CLI)"
    assert found["bots"] == "Bot related commands (official CLI)"
    assert found["login"] == "log in with a Personal Access Token and a workspace"
    assert {"exit", "profiles", "tokens", "exec"} <= set(found)
    assert "pub" not in found  # aliases are typed, not offered


def test_flags_show_their_value_and_help() -> None:
    found = {c.text: (c.display_text, c.display_meta_text) for c in completions("deploy --")}
    assert found["--botId"] == ("--botId VALUE", "The bot ID to deploy")
    assert found["--profile"] == ("--profile NAME", "use this profile for this run")
    assert found["--noBuild"] == ("--noBuild", "Skip the build step")


def test_before_the_help_is_read_nothing_official_is_offered() -> None:
    assert texts("de", official=False) == set()
    assert texts("deploy --", official=False) == {
        "--json", "--verbose", "--confirm", "--botpressHome", "--profile", "--help",
    }  # fmt: skip
