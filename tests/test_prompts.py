"""The terminal prompter's answer rules and its choice completer (no terminal needed)."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from bpshell.picker import ChoiceCompleter, picker_lines
from bpshell.prompts import pick

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


def test_many_matches_are_counted_past_the_five_shown() -> None:
    teams = [(f"ws_team{n:02}", f"Team {n:02}") for n in range(1, 46)]
    assert pick(teams, "team") == (
        None,
        "45 match: ws_team01, ws_team02, ws_team03, ws_team04, ws_team05 and 40 more. "
        "Type more of it, or a number.",
    )


def test_a_single_choice_is_not_a_range() -> None:
    assert pick([("ws_acme", "acme")], "9") == (None, "Answer with 1, or part of its name or ID.")


def test_the_choice_completer_matches_ids_and_names() -> None:
    rows = [(name, value) for value, name in CHOICES]
    found = ChoiceCompleter(CHOICES, rows).get_completions(Document("corp"), CompleteEvent())
    assert [(c.text, c.display_text, c.display_meta_text) for c in found] == [
        ("ws_globex", "Globex Corp", "ws_globex")
    ]


def test_digits_pick_a_row_and_are_not_completed() -> None:
    assert list(ChoiceCompleter(CHOICES).get_completions(Document("1"), CompleteEvent())) == []


@pytest.mark.parametrize(
    ("width", "lines"),
    [
        (80, ["  1  Globex Corp  ws_globex  (current)", "  2  東京         ws_tokyo"]),
        (30, ["  1  Globex …  ws_globex  (current)", "  2  東京      ws_tokyo"]),
    ],
)
def test_rows_are_aligned_by_display_width_and_cut_to_the_screen(
    width: int, lines: list[str]
) -> None:
    rows = [("Globex Corp", "ws_globex"), ("東京", "ws_tokyo")]
    assert picker_lines(rows, 0, 24, width) == lines


def test_names_are_shown_inert() -> None:
    assert picker_lines([("evil\x1b[31m", "ws_x")], None, 24, 80) == ["  1  evil\\x1b[31m  ws_x"]
