"""The terminal prompter's answer rules and its choice completer (no terminal needed)."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from bpshell.completion import ChoiceCompleter
from bpshell.env import pick

CHOICES = [
    ("ws_acme", "acme"),
    ("ws_globex", "Globex Corp"),
    ("ws_team01", "Team 01"),
    ("ws_team02", "Team 02"),
]


@pytest.mark.parametrize(
    ("answer", "value", "problem"),
    [
        ("2", "ws_globex", ""),
        ("ws_team02", "ws_team02", ""),
        ("glob", "ws_globex", ""),
        ("GLOBEX CORP", "ws_globex", ""),
        ("team 01", "ws_team01", ""),
        ("team", None, "2 match: ws_team01, ws_team02. Type more of it, or a number."),
        ("9", None, "Answer with a number from 1 to 4, or part of a name or ID."),
        ("nope", None, "Answer with a number from 1 to 4, or part of a name or ID."),
    ],
)
def test_an_answer_names_one_choice_or_says_why_not(
    answer: str, value: str | None, problem: str
) -> None:
    assert pick(CHOICES, answer) == (value, problem)


def test_the_choice_completer_matches_ids_and_names() -> None:
    found = ChoiceCompleter(CHOICES).get_completions(Document("corp"), CompleteEvent())
    assert [(c.text, c.display_meta_text) for c in found] == [("ws_globex", "Globex Corp")]
