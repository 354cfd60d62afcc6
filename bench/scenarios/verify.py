"""``bp profiles list --verify`` over 40 profiles against the same over 1, at 300 ms a request.

Targets (issue): 40 profiles within 2x the wall time of 1 (sequential would be 40x); requests
in flight bounded, at least 32 by default, ``--concurrency N`` to change it. The peak number of
requests in flight is counted by the sandbox. Output is piped, so rows come at the end.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from harness import Bench, Row, base, file_profiles, info, judged, terminal, write_config

NAME = "verify"
LATENCY_MS = 300
PROFILES = 40
DEFAULT_BOUND = 32
SMALL_BOUND = 8
WAVES = PROFILES // (SMALL_BOUND // 2)


def run(bench: Bench) -> list[Row]:
    sandbox = bench.sandbox(0)
    pairs = bench.accounts(PROFILES)
    sandbox.set_latency(LATENCY_MS)
    one, many = bench.home("verify1"), bench.home(f"verify{PROFILES}")
    write_config(one, file_profiles(pairs[:1], sandbox.url))
    write_config(many, file_profiles(pairs, sandbox.url))
    verify = [*bench.bp, "profiles", "list", "--verify"]
    peaks: dict[str, list[float]] = {}

    def counted(label: str, rows: int) -> Callable[[subprocess.CompletedProcess[str]], str | None]:
        found = peaks.setdefault(label, [])

        def check(done: subprocess.CompletedProcess[str]) -> str | None:
            found.append(sandbox.stats.max_in_flight)
            sandbox.reset_stats()
            yes = sum(line.rstrip().endswith("yes") for line in done.stdout.splitlines())
            return None if yes == rows else f"{yes} of {rows} profiles verified"

        return check

    single = bench.timed(verify, bench.env(one), check=counted("one", 1))
    sandbox.reset_stats()
    forty = bench.timed(verify, bench.env(many), check=counted("many", PROFILES))
    rows = [
        base(NAME, "verify 1 profile", single, f"sandbox latency {LATENCY_MS} ms"),
        judged(
            NAME,
            f"verify {PROFILES} profiles",
            forty,
            limit=2.0,
            target="<= 2x",
            baseline=single,
            note=f"sequential would be {PROFILES}x",
        ),
        judged(
            NAME,
            f"peak requests in flight, {PROFILES} profiles (default)",
            peaks["many"][1:],
            unit="req",
            limit=DEFAULT_BOUND,
            target=f">= {DEFAULT_BOUND}",
            value=min(peaks["many"][1:]),
            at_least=True,
            note=f"each profile makes 2 requests; {PROFILES} profiles could have "
            f"{2 * PROFILES} in flight",
        ),
    ]
    small = bench.timed(
        [*verify, "--concurrency", str(SMALL_BOUND)],
        bench.env(many),
        check=counted("small", PROFILES),
        repeats=1 if bench.quick else 3,
        warm_up=False,
    )
    rows.append(
        info(
            NAME,
            f"verify {PROFILES} profiles --concurrency {SMALL_BOUND}",
            small,
            baseline=single,
            note=f"{SMALL_BOUND // 2} profiles (2 requests each) at once: {WAVES} waves",
        )
    )
    rows.append(
        judged(
            NAME,
            f"peak requests in flight, --concurrency {SMALL_BOUND}",
            peaks["small"],
            unit="req",
            limit=SMALL_BOUND,
            target=f"<= {SMALL_BOUND}",
            value=max(peaks["small"]),
            note="the flag's help says: requests in flight at most N",
        )
    )
    if not bench.quick:
        rows.extend(_on_a_terminal(bench, many))
    sandbox.set_latency(0)
    return rows


def _on_a_terminal(bench: Bench, home: Path) -> list[Row]:
    """When the first row shows on a terminal, against when the last one does."""
    argv = [*bench.bp, "profiles", "list", "--verify", "--concurrency", str(SMALL_BOUND)]
    with terminal(argv, bench.env(home, {"TERM": "xterm"})) as term:
        first = term.expect(b"yes")
        last = term.finish()
    label = f"on a terminal, --concurrency {SMALL_BOUND}"
    return [
        info(NAME, f"{label}: first row shown", [first], note="rows print as checks finish"),
        info(NAME, f"{label}: last row shown", [last]),
    ]
