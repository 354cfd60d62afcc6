"""Hostile values at a Tab: nothing the completion scripts put on the line ever runs or expands.

Profile names (config.json can be hand-edited) and workspace IDs (the cache keeps what a
server sent) are written straight into the files here, past every rule that would keep them
out, then completed by the real bash, zsh and fish in a pty: type, Tab, Enter. The ``bp`` on
PATH records its argv, so each case sees the exact words the shell ran it with; the shells
run in a folder of the test, and that folder must hold only what the test put there (every
hostile value would create ``PWNED`` in it if any part of it ran).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bpshell.cache import cache_path
from bpshell.complete import complete
from tests.conftest import ROOT
from tests.test_completions_shells import needs, shell_env

URL = "https://api.botpress.cloud"

# Workspace IDs, each the only one its profile (t0, t1, …) has, so a Tab inserts it whole.
WORKSPACE_IDS = [
    "ws_$(>PWNED)",
    "ws_`>PWNED`",
    "ws_;>PWNED",
    "ws_&>PWNED",
    "ws_|>PWNED",
    "ws_*",
    "ws_?[x]",
    "ws_'q\"q\\q",
    "ws_!!",
    "ws_{x,y}",
    "ws_$HOME",
    "ws_%s%n",
    "ws_a:b=c",
    "ws_x\\",
    "~root",
    "#x",
    "=ls",
]
# Profile names, each completed from a prefix no other name has.
PROFILE_NAMES = {
    "pa": "pa$(>PWNED)",
    "pb": "pb`>PWNED`",
    "pc": "pc;>PWNED",
    "pd": "pd*",
    "pe": "pe?[x]",
    "pf": "pf'\"\\",
    "pg": "pg!!",
    "ph": "ph{x,y}",
    "pi": "pi:j=k",
}
# Names `bp __complete` never offers (no valid name has a blank, a control or a non-ASCII
# character, and a newline could not travel in its answer of one value a line).
DROPPED_NAMES = {
    "sp": "sp ace$(>PWNED)",
    "nl": "nl\n$(>PWNED)",
    "ta": "ta\t$(>PWNED)",
    "un": "un\u00efcode$(>PWNED)",
}
# Files a glob in a value would match, were it expanded.
SEEDS = ["ws_1", "ws_ax", "pd1", "pex"]


def write_home(home: Path) -> None:
    """config.json and caches holding the hostile values, written as plain JSON."""
    profiles: dict[str, dict[str, str]] = {
        "default": {"apiUrl": URL, "workspaceId": "ws_d1", "workspaceName": "$(>PWNED)\nnext"},
    }
    caches: dict[str, list[str]] = {"default": ["ws_d1", "ws_d2"]}
    for index, workspace_id in enumerate(WORKSPACE_IDS):
        name = f"t{index}"
        profiles[name] = {"apiUrl": URL, "workspaceId": workspace_id, "workspaceName": "`x`"}
        caches[name] = [workspace_id]
    for name in [*PROFILE_NAMES.values(), *DROPPED_NAMES.values()]:
        profiles[name] = {"apiUrl": URL, "workspaceId": "ws_of_" + name[:2]}
    caches[PROFILE_NAMES["pa"]] = ["ws_only_pa"]
    profiles[PROFILE_NAMES["pa"]]["workspaceId"] = "ws_only_pa"
    home.mkdir(parents=True)
    config = {"version": 1, "activeProfile": "default", "profiles": profiles}
    (home / "config.json").write_text(json.dumps(config))
    (home / "cache").mkdir()
    for name, ids in caches.items():
        data = {
            "version": 1,
            "profile": name,
            "apiUrl": URL,
            "fetchedAt": time.time(),
            "workspaces": [{"id": i, "name": "$(>PWNED)\n;x"} for i in ids],
        }
        cache_path(home, name).write_text(json.dumps(data))


RECORDER = """\
#!{python}
import json, os, sys
sys.path.insert(0, {root!r})
args = sys.argv[1:]
answer = os.environ.get("BPSHELL_TEST_ANSWER")
if args[:1] == ["__complete"] and answer:
    current = args[-1] if len(args) > 1 else ""
    with open(answer, encoding="utf-8") as handle:
        pairs = json.load(handle)
    sys.stdout.write("".join(f"{{v}}\\t{{d}}\\n" for v, d in pairs if v.startswith(current)))
elif args[:1] == ["__complete"]:
    from bpshell.cli import main
    sys.exit(main())
else:
    with open(os.environ["BPSHELL_TEST_ARGV"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(args) + "\\n")
"""


class Session:
    """An interactive shell in a pty, in ``cwd``, with bpshell's completion loaded.

    Every new prompt prints ``ESC]2;ready-N BEL`` with N counting up, so keys are sent only
    once the line editor of the next prompt is up (typed earlier, a terminal switching to raw
    mode may drop them), and a redraw of the same prompt is never taken for a new one.
    """

    READY = re.compile(r"\x1b\]2;ready-(\d+)\x07")

    def __init__(self, shell: str, tmp_path: Path, **extra: str) -> None:
        import pexpect

        self.shell = shell
        self.log = tmp_path / "argv.jsonl"
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir()
        for seed in SEEDS:
            (self.cwd / seed).write_text("")
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "bp").write_text(RECORDER.format(python=sys.executable, root=str(ROOT)))
        (bin_dir / "bp").chmod(0o755)
        home = tmp_path / "botpress"
        write_home(home)
        env = shell_env(
            home,
            bin_dir,
            TERM="dumb",
            BPSHELL_TEST_ARGV=str(self.log),
            HISTFILE=str(tmp_path / "history"),
            XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
            XDG_DATA_HOME=str(tmp_path / "xdg-data"),
            **extra,
        )
        program, args, setup = self._start(shell)
        self.child = pexpect.spawn(
            needs(program), args, env=env, cwd=str(self.cwd), encoding="utf-8",
            timeout=20, dimensions=(60, 250),
        )  # fmt: skip
        self.seen = 0
        self.child.sendline(setup)
        self._ready()

    @staticmethod
    def _start(shell: str) -> tuple[str, list[str], str]:
        scripts = ROOT / "completions"
        if shell == "bash":
            setup = (
                "PROMPT_COMMAND='((++n))'; PS1='\\[\\e]2;ready-$n\\a\\]% '; "
                f"source {scripts / 'bp.bash'}"
            )
            return "bash", ["--norc", "--noprofile", "-i"], setup
        if shell == "zsh":
            setup = (
                f"PS1='%% '; fpath=({scripts} $fpath); autoload -U compinit; compinit -u -D; "
                'zle-line-init() { print -n "\\e]2;ready-$((++n))\\a" }; zle -N zle-line-init'
            )
            return "zsh", ["-f"], setup
        setup = (
            "function fish_prompt; printf '%% '; end; set -g n 0; "
            "function ready --on-event fish_prompt; set n (math $n + 1); "
            "printf '\\e]2;ready-%s\\a' $n; end; "
            f"source {scripts / 'bp.fish'}"
        )
        return "fish", ["--no-config"], setup

    def _ready(self, timeout: float = 20) -> None:
        while True:
            self.child.expect(self.READY, timeout=timeout)
            number = int(self.child.match[1])
            if number > self.seen:
                self.seen = number
                return

    def run(self, line: str, tabs: int = 1) -> list[str]:
        """Type ``line``, press Tab ``tabs`` times, then Enter: the argv ``bp`` was run with.

        A line that does not run (an open quote, a syntax error) is cancelled with Ctrl-C and
        reads as ``["(never ran)", what the terminal showed]``.
        """
        import pexpect

        done = len(self.log.read_text().splitlines()) if self.log.exists() else 0
        self.child.send(line + "\t" * tabs)
        self.child.send("\r")
        deadline = time.monotonic() + 10
        while not self.log.exists() or len(self.log.read_text().splitlines()) == done:
            if time.monotonic() > deadline:
                self.child.sendcontrol("c")
                with contextlib.suppress(pexpect.TIMEOUT):
                    self._ready(timeout=5)
                return ["(never ran)", self.child.before]
            time.sleep(0.02)
        self._ready()
        argv: list[str] = json.loads(self.log.read_text().splitlines()[done])
        return argv

    def close(self) -> None:
        self.child.close(force=True)


SHELLS = ["bash", "zsh", "fish"]


@pytest.fixture(params=SHELLS)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    shell = Session(request.param, tmp_path)
    yield shell
    shell.close()


def runs(session: Session, cases: Sequence[tuple[str, int, list[str]]]) -> None:
    """Each line runs ``bp`` with exactly its argv, and nothing else ran at all."""
    seen = {line: session.run(line, tabs) for line, tabs, _ in cases}
    files = sorted(p.name for p in session.cwd.iterdir())
    assert (seen, files) == ({line: argv for line, _, argv in cases}, sorted(SEEDS))


def test_hostile_workspace_ids_go_in_as_one_inert_word(session: Session) -> None:
    def argv(index: int, value: str) -> list[str]:
        # fish never escapes a leading `~` (so that `~/` works): bp.fish offers no such value
        dropped = session.shell == "fish" and value.startswith("~")
        return ["-p", f"t{index}", "login", "--workspaceId", *([] if dropped else [value])]

    runs(
        session,
        [
            (f"bp -p t{i} login --workspaceId ", 1, argv(i, value))
            for i, value in enumerate(WORKSPACE_IDS)
        ],
    )


def test_hostile_workspace_ids_after_an_equals_sign(session: Session) -> None:
    runs(
        session,
        [
            (f"bp -p t{i} login --workspaceId=", 1, ["-p", f"t{i}", "login", f"--workspaceId={v}"])
            for i, v in enumerate(WORKSPACE_IDS)
            if v[:1] not in "~#="  # after `=` these are plain text for every shell anyway
        ],
    )


def test_hostile_profile_names_go_in_as_one_inert_word(session: Session) -> None:
    runs(
        session,
        [
            (f"bp profiles use {prefix}", 1, ["profiles", "use", name])
            for prefix, name in PROFILE_NAMES.items()
        ],
    )


def test_a_word_typed_with_quotes_completes_to_the_exact_value(session: Session) -> None:
    pa, pf = PROFILE_NAMES["pa"], PROFILE_NAMES["pf"]
    own = ["login", "--workspaceId", "ws_only_pa"]
    runs(
        session,
        [
            ("bp profiles use 'pa", 1, ["profiles", "use", pa]),
            ('bp profiles use "pa', 1, ["profiles", "use", pa]),
            ("bp profiles use pa\\$", 1, ["profiles", "use", pa]),
            ("bp profiles use pf\\'", 1, ["profiles", "use", pf]),
            ("bp profiles use 'pf'\\'", 1, ["profiles", "use", pf]),
            ("bp -p 'pa$(>PWNED)' login --workspaceId ", 1, ["-p", pa, *own]),
            ("bp -p pa\\$\\(\\>PWNED\\) login --workspaceId ", 1, ["-p", pa, *own]),
        ],
    )


def test_names_no_line_can_hold_are_never_offered(session: Session) -> None:
    runs(
        session,
        [(f"bp profiles use {prefix}", 1, ["profiles", "use", prefix]) for prefix in DROPPED_NAMES],
    )


def test_a_listing_of_hostile_values_runs_nothing(session: Session) -> None:
    tabs = 2 if session.shell == "bash" else 1  # bash lists at the second Tab
    runs(session, [("bp profiles use p", tabs, ["profiles", "use", "p"])])


ANSWER = [
    ("sa b$(touch PWNED)", "$(touch PWNED)"),
    ("sb `touch PWNED`", "`touch PWNED`"),
    ("sc ; touch PWNED", "; touch PWNED"),
    ("sd *", "*"),
    ("se ?[x] {a,b}", ""),
    ("sf 'q' \"q\" \\q", "'"),
    ("sg !! $HOME ~", ""),
    ("sh a:b=c", "a:b"),
]


@pytest.fixture(params=SHELLS)
def answering(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """A session whose ``bp __complete`` answers ANSWER: the scripts alone, no filter of bp."""
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(ANSWER))
    shell = Session(request.param, tmp_path, BPSHELL_TEST_ANSWER=str(answer))
    yield shell
    shell.close()


def test_the_scripts_alone_quote_whatever_bp_answers(answering: Session) -> None:
    runs(
        answering,
        [(f"bp profiles use {value[:2]}", 1, ["profiles", "use", value]) for value, _ in ANSWER],
    )


def test_bp_complete_passes_hostile_values_on_verbatim(tmp_path: Path) -> None:
    write_home(tmp_path / "home")
    environ = {"BP_BOTPRESS_HOME": str(tmp_path / "home")}
    assert complete(["-p", "t0", "login", "--workspaceId", ""], environ) == [
        "ws_$(>PWNED)\t$(>PWNED) ;x"
    ]
    assert complete(["profiles", "use", "p"], environ) == [
        f"{name}\tws_of_{name[:2]}" if prefix != "pa" else f"{name}\tws_only_pa"
        for prefix, name in sorted(PROFILE_NAMES.items(), key=lambda item: item[1])
    ]
    for prefix in DROPPED_NAMES:
        assert complete(["profiles", "use", prefix], environ) == []
    assert complete(["login", "--workspaceId", ""], environ) == [
        "ws_d1\t$(>PWNED) ;x",
        "ws_d2\t$(>PWNED) ;x",
    ]
