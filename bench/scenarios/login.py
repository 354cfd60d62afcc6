"""``bp login`` checks the token and the workspace in one round trip of wall time, not two.

The same login (token on stdin, ``-y``, ``--insecure-storage``) runs with the sandbox
answering at once and then after 300 ms. The time the latency adds, divided by the latency,
is the number of round trips the user waits for: the target is one (<= 1.5 allows for noise;
two sequential requests would show 2). The ratio column stays empty: the round trips, in the
note, are what is judged.
"""

from __future__ import annotations

import statistics

from harness import Bench, Row, base, info, judged, write_config

NAME = "login"
LATENCY_MS = 300


def run(bench: Bench) -> list[Row]:
    sandbox = bench.sandbox(0)
    (token, workspace), (other_token, other_workspace) = bench.accounts(2)
    home = bench.home("login")
    other = {"apiUrl": sandbox.url, "workspaceId": other_workspace, "token": other_token}

    def logged_out() -> None:
        write_config(home, {"version": 1, "activeProfile": "other", "profiles": {"other": other}})

    argv = [
        *bench.bp,
        "login",
        "-p",
        "bench",
        "--token",
        "-",
        "--workspaceId",
        workspace,
        "--apiUrl",
        sandbox.url,
        "-y",
        "--insecure-storage",
    ]
    env = bench.env(home)
    peaks: list[float] = []

    def record_peak(done: object) -> None:
        peaks.append(sandbox.stats.max_in_flight)

    def fresh() -> None:
        logged_out()
        sandbox.reset_stats()

    at_zero = bench.timed(argv, env, stdin=token, prepare=logged_out)
    sandbox.set_latency(LATENCY_MS)
    slow = bench.timed(argv, env, stdin=token, prepare=fresh, check=record_peak)
    sandbox.set_latency(0)
    added = statistics.median(slow) - statistics.median(at_zero)
    trips = added / (LATENCY_MS / 1000)
    return [
        base(NAME, "bp login, sandbox answers at once", at_zero),
        judged(
            NAME,
            f"bp login, sandbox answers after {LATENCY_MS} ms",
            slow,
            limit=1.5,
            target="<= 1.5 RT",
            value=trips,
            note=f"latency added {added * 1000:.0f} ms = {trips:.2f} round trips of "
            f"{LATENCY_MS} ms (target 1)",
        ),
        info(
            NAME,
            "requests in flight at peak during login",
            peaks[1:],
            unit="req",
            note="3 = account, workspace and role (membership) checked at the same time",
        ),
    ]
