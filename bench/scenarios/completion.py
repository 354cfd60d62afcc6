"""The shell's completer over 10,000 cached workspaces, one keystroke at a time.

Built from :mod:`bpshell.completion` directly (``probe.py completer``): a ``ShellCompleter`` over
a ``CompletionData`` snapshot holding 10,000 synthetic workspaces, asked for completions of
``login --workspaceId <typed>`` after each character of (a) a workspace ID, (b) one word of
workspace names (a space would start the next argument) and (c) text that matches nothing
(the fuzzy fallback scans everything). Each row shows the per-keystroke medians; the target
is every keystroke under 20 ms.
"""

from __future__ import annotations

import statistics

from harness import Bench, Row, info, judged

NAME = "completion"
LIMIT_S = 0.020
WHAT = {"id": "a workspace ID", "name": "a word of names", "miss": "a miss (fuzzy scan)"}


def run(bench: Bench) -> list[Row]:
    found = bench.probe("completer", "5" if bench.quick else "15")
    rows = [info(NAME, "build the search index of 10,000", found["build"], note="once per load")]
    for kind, per_key in found["keystrokes"].items():
        medians = [statistics.median(times) for times in per_key]
        worst = max(range(len(medians)), key=medians.__getitem__)
        typed = found["typed"][kind]
        counts = found["counts"][kind]
        rows.append(
            judged(
                NAME,
                f"per keystroke, typing {WHAT.get(kind, kind)}",
                medians,
                limit=LIMIT_S,
                target="< 20 ms each",
                value=max(medians),
                note=f"{len(medians)} keystrokes of {typed!r}; slowest after "
                f"{typed[: worst + 1]!r}; completions offered: {counts[0]} .. {counts[-1]}",
            )
        )
    return rows
