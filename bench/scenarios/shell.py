"""``bp shell`` in a real pseudo-terminal: time to a usable prompt, and resident memory.

Targets (issue): the prompt is drawn within 2x the time of ``python -c "import
prompt_toolkit"``; with 10,000 cached workspaces the process stays under 80 MB resident. The
memory is read from /proc once completion has offered workspaces out of that cache (so the
search index is built), with the peak (VmHWM) beside it. ``probe.py structures`` adds what the
completion data alone costs in a bare interpreter.
"""

from __future__ import annotations

import importlib.util
import time

from harness import (
    Bench,
    Row,
    Terminal,
    Unavailable,
    base,
    info,
    judged,
    synthetic_workspaces,
    terminal,
    unavailable,
    write_config,
    write_workspace_cache,
)

NAME = "shell"
PROMPT = "›".encode()
AUTHENTICATED = b"authenticated as"
CRASHED = b"Unhandled exception"
LIMIT_BYTES = 80 * 2**20
WORKSPACES = 10_000
TTY_ENV = {"TERM": "xterm", "COLUMNS": "120", "LINES": "40"}


def run(bench: Bench) -> list[Row]:
    if importlib.util.find_spec("bpshell.shell") is None:
        return [unavailable(NAME, "bp shell", "bpshell.shell does not exist yet")]
    baseline = bench.timed([bench.python, "-c", "import prompt_toolkit"], bench.env())
    rows = [base(NAME, 'python -c "import prompt_toolkit"', baseline)]
    try:
        rows.extend(_startup(bench, baseline))
    except Unavailable as exc:
        rows.append(unavailable(NAME, "bp shell: prompt drawn", str(exc)))
    try:
        rows.extend(_memory(bench))
    except Unavailable as exc:
        rows.append(unavailable(NAME, f"bp shell RSS, {WORKSPACES:,} cached workspaces", str(exc)))
    try:
        found = bench.probe("structures")
    except Unavailable as exc:
        rows.append(unavailable(NAME, "completion data alone", str(exc)))
    else:
        rows.append(
            info(
                NAME,
                "python + prompt_toolkit + bpshell.completion",
                [found["imported"]],
                unit="MB",
                note="RSS of a bare interpreter",
            )
        )
        rows.append(
            info(
                NAME,
                f"  + search index of {WORKSPACES:,} workspaces",
                [found["built"] - found["imported"]],
                unit="MB",
            )
        )
    return rows


def _home(bench: Bench, workspaces: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    sandbox = bench.sandbox(0)
    ((token, workspace),) = bench.accounts(1)
    home = bench.home(f"shell{workspaces}")
    profile = {
        "apiUrl": sandbox.url,
        "workspaceId": workspace,
        "workspaceName": "acme",
        "token": token,
    }
    write_config(home, {"version": 1, "activeProfile": "default", "profiles": {"default": profile}})
    pairs = synthetic_workspaces(workspaces)
    write_workspace_cache(home, "default", sandbox.url, pairs)
    return bench.env(home, TTY_ENV), pairs


def _startup(bench: Bench, baseline: list[float]) -> list[Row]:
    env, _ = _home(bench, 47)
    drawn: list[float] = []
    echoed: list[float] = []
    for index in range(bench.repeats + 1):
        with terminal([*bench.bp, "shell"], env) as term:
            seen = term.expect(PROMPT)
            mark = len(term.output)
            sent = time.perf_counter()
            term.send("%")
            term.expect(b"%", after=mark)
            echo = time.perf_counter() - sent
            term.send("\x7f")
        if index:
            drawn.append(seen)
            echoed.append(echo)
    return [
        judged(
            NAME,
            "bp shell: prompt drawn",
            drawn,
            limit=2.0,
            target="<= 2x",
            baseline=baseline,
            note="from spawn to the prompt on a pty; profile on the sandbox",
        ),
        info(
            NAME,
            "  first keystroke echoed, sent right after",
            echoed,
            note="while the session loads its state in the background",
        ),
    ]


def _memory(bench: Bench) -> list[Row]:
    env, pairs = _home(bench, WORKSPACES)
    prefix = "wkspace_01H" + pairs[0][0][11]
    matching = sorted(i for i, _ in pairs if i.lower().startswith(prefix.lower()))
    if len(matching) < 2:
        raise Unavailable("synthetic workspaces: prefix too narrow")
    with terminal([*bench.bp, "shell"], env) as term:
        term.expect(PROMPT)
        term.expect(AUTHENTICATED)  # the session has loaded its state; the cache comes next
        time.sleep(1.0)
        term.send("login --workspaceId " + prefix)
        _until_offered(term, matching[1].encode())
        time.sleep(0.5)
        rss, peak = term.rss_bytes()
        term.send("\x1b\x15")  # Escape the menu, Ctrl-U the line, so Ctrl-D can exit
    return [
        judged(
            NAME,
            f"bp shell RSS, {WORKSPACES:,} cached workspaces",
            [rss],
            unit="MB",
            limit=LIMIT_BYTES,
            target="< 80 MB",
            note="after completion offered workspaces out of the 10,000",
        ),
        info(NAME, "  peak RSS (VmHWM)", [peak], unit="MB"),
    ]


def _until_offered(term: Terminal, needle: bytes, within: float = 15.0) -> None:
    """Press Tab until completion shows ``needle`` (the cache loads in the background)."""
    deadline = time.perf_counter() + within
    while True:
        mark = len(term.output)
        term.send("\t")
        try:
            term.expect(needle, timeout=1.0, after=mark)
            return
        except Unavailable:
            if CRASHED in term.output[mark:]:
                raise Unavailable(
                    "the shell crashed on Tab (prompt_toolkit: 'Unhandled exception in event "
                    "loop'); see the bench README's findings"
                ) from None
            if time.perf_counter() > deadline:
                raise Unavailable("completion never offered the cached workspaces") from None
