"""``bp profiles list --verify`` over 40 profiles against the same over 1, at 300 ms a request.

Targets (issue 15): 40 profiles within 1.3x the wall time of 1 (sequential would be 40x), over
plain HTTP and over HTTPS (the sandbox behind ``tls_front.py``, HTTP/1.1, a private CA trusted
through ``SSL_CERT_FILE``); requests in flight bounded, at least 32 by default, ``--concurrency
N`` to change it. The peak number of requests in flight is counted by the sandbox. Output is
piped, so rows come at the end.

The floor of each ratio is the same ratio for the least a Python program doing the same
requests can do: :data:`FLOOR`, httpx alone (one ``AsyncClient``, up to 64 connections, every
profile's request at once, no validation), reading the same config.json. Like bp, it asks for
each profile's workspace alone: that answer says whether the token is valid and may use it.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

from harness import (
    Bench,
    BenchError,
    Job,
    Row,
    Unavailable,
    base,
    file_profiles,
    info,
    judged,
    ratio,
    terminal,
    unavailable,
    write_config,
)

from scenarios.verify_tls import https_front

NAME = "verify"
LATENCY_MS = 300
PROFILES = 40
LIMIT = 1.3
DEFAULT_BOUND = 32
SMALL_BOUND = 8
WAVES = PROFILES // SMALL_BOUND
FLOOR = """\
import asyncio, json, os, ssl, sys
import httpx

async def main():
    with open(os.path.join(os.environ["BP_BOTPRESS_HOME"], "config.json"), "rb") as file:
        profiles = list(json.load(file)["profiles"].values())
    cafile = os.environ.get("SSL_CERT_FILE")
    verify = ssl.create_default_context(cafile=cafile) if cafile else True
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(verify=verify, limits=limits, trust_env=False) as client:
        async def check(profile):
            headers = {"authorization": "Bearer " + profile["token"]}
            url = profile["apiUrl"] + "/v1/admin/workspaces/" + profile["workspaceId"]
            answer = await client.get(url, headers=headers)
            return answer.status_code == 200
        checked = await asyncio.gather(*map(check, profiles))
    for ok in checked:
        print("yes" if ok else "no")
    sys.exit(0 if all(checked) else 1)

asyncio.run(main())
"""


def run(bench: Bench) -> list[Row]:
    sandbox = bench.sandbox(0)
    pairs = bench.accounts(PROFILES)
    rows, many = _scheme(bench, "http", sandbox.url, pairs, {})
    if not bench.quick:
        rows.extend(_concurrency(bench, many))
        rows.extend(_on_a_terminal(bench, many))
    try:
        with https_front(bench, "verify-tls") as front:
            extra = {"SSL_CERT_FILE": str(front.ca)}
            rows.extend(_scheme(bench, "https", front.url, pairs, extra)[0])
    except Unavailable as exc:
        rows.append(unavailable(NAME, f"https: verify {PROFILES} profiles", str(exc)))
    sandbox.set_latency(0)
    return rows


def _own_cpu() -> float:
    """User + system seconds of this process (the sandbox serves from a thread of it)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _counted(
    bench: Bench, peaks: list[float], rows: int
) -> Callable[[subprocess.CompletedProcess[str]], str | None]:
    """A check that the run verified ``rows`` profiles, keeping the peak requests in flight."""
    sandbox = bench.sandbox(LATENCY_MS)

    def check(done: subprocess.CompletedProcess[str]) -> str | None:
        peaks.append(sandbox.stats.max_in_flight)
        sandbox.reset_stats()
        yes = sum(line.rstrip().endswith("yes") for line in done.stdout.splitlines())
        return None if yes == rows else f"{yes} of {rows} profiles verified"

    return check


def _scheme(
    bench: Bench, scheme: str, url: str, pairs: list[tuple[str, str]], extra: dict[str, str]
) -> tuple[list[Row], Path]:
    """The rows of one scheme, and the home of 40 profiles."""
    one, many = bench.home(f"verify1-{scheme}"), bench.home(f"verify{PROFILES}-{scheme}")
    write_config(one, file_profiles(pairs[:1], url))
    write_config(many, file_profiles(pairs, url))
    bench.sandbox(LATENCY_MS)
    verify = (*bench.bp, "profiles", "list", "--verify")
    floor = (bench.python, "-c", FLOOR)
    peaks: dict[str, list[float]] = {"one": [], "many": [], "floor": []}
    env_one, env_many = bench.env(one, extra), bench.env(many, extra)
    cpu: list[float] = []  # the sandbox's CPU time in each run of 40 profiles

    def started() -> None:
        cpu.append(-_own_cpu())

    def finished(done: subprocess.CompletedProcess[str]) -> str | None:
        cpu[-1] += _own_cpu()
        return counted_many(done)

    counted_many = _counted(bench, peaks["many"], PROFILES)
    jobs = {
        "one": Job(verify, env_one, check=_counted(bench, peaks["one"], 1)),
        "many": Job(verify, env_many, prepare=started, check=finished),
        "floor one": Job(floor, env_one, check=_counted(bench, peaks["floor"], 1)),
        "floor many": Job(floor, env_many, check=_counted(bench, peaks["floor"], PROFILES)),
    }
    times, broken = bench.together(jobs)
    if broken:
        raise BenchError("; ".join(f"{scheme} {name}: {why}" for name, why in broken.items()))
    single, forty = times["one"], times["many"]
    floor_one, floor_many = times["floor one"], times["floor many"]
    serving = statistics.median(cpu[1:])
    rows = [
        base(NAME, f"{scheme}: verify 1 profile", single, f"sandbox latency {LATENCY_MS} ms"),
        judged(
            NAME,
            f"{scheme}: verify {PROFILES} profiles",
            forty,
            limit=LIMIT,
            target=f"<= {LIMIT:g}x",
            baseline=single,
            floor=ratio(floor_many, floor_one),
            note=f"sequential would be {PROFILES}x; floor: httpx alone, the same requests",
        ),
        info(
            NAME,
            f"{scheme}: floor: httpx alone, 1 profile",
            floor_one,
            baseline=single,
            note="python -c: one AsyncClient, one request, no validation",
        ),
        info(
            NAME, f"{scheme}: floor: httpx alone, {PROFILES} profiles", floor_many, baseline=single
        ),
        info(
            NAME,
            f"{scheme}: the sandbox's CPU per run of {PROFILES} profiles",
            [serving],
            note="CPU time of the bench process (the sandbox's thread) while bp ran: a share "
            "of the wall time neither bp nor its floor can go under on this machine",
        ),
    ]
    if scheme == "http":
        rows.append(
            judged(
                NAME,
                f"peak requests in flight, {PROFILES} profiles (default)",
                peaks["many"][1:],
                unit="req",
                limit=DEFAULT_BOUND,
                target=f">= {DEFAULT_BOUND}",
                value=min(peaks["many"][1:]),
                at_least=True,
                note=f"each profile makes 1 request; {PROFILES} profiles could have "
                f"{PROFILES} in flight",
            )
        )
    return rows, many


def _concurrency(bench: Bench, home: Path) -> list[Row]:
    """``--concurrency 8``: the bound holds."""
    peaks: list[float] = []
    small = bench.timed(
        [*bench.bp, "profiles", "list", "--verify", "--concurrency", str(SMALL_BOUND)],
        bench.env(home),
        check=_counted(bench, peaks, PROFILES),
        repeats=3,
        warm_up=False,
    )
    return [
        info(
            NAME,
            f"http: verify {PROFILES} profiles --concurrency {SMALL_BOUND}",
            small,
            note=f"{SMALL_BOUND} profiles (1 request each) at once: {WAVES} waves",
        ),
        judged(
            NAME,
            f"peak requests in flight, --concurrency {SMALL_BOUND}",
            peaks,
            unit="req",
            limit=SMALL_BOUND,
            target=f"<= {SMALL_BOUND}",
            value=max(peaks),
            note="the flag's help says: requests in flight at most N",
        ),
    ]


def _on_a_terminal(bench: Bench, home: Path) -> list[Row]:
    """When the first row shows on a terminal, against when the last one does."""
    bench.sandbox(LATENCY_MS)
    argv = [*bench.bp, "profiles", "list", "--verify", "--concurrency", str(SMALL_BOUND)]
    with terminal(argv, bench.env(home, {"TERM": "xterm"})) as term:
        first = term.expect(b"yes")
        last = term.finish()
    label = f"on a terminal, --concurrency {SMALL_BOUND}"
    return [
        info(NAME, f"{label}: first row shown", [first], note="rows print as checks finish"),
        info(NAME, f"{label}: last row shown", [last]),
    ]
