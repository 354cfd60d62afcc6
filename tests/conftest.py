"""Shared fixtures: the sandbox over loopback, a throwaway botpress home, and ``bp`` runners.

``bp`` runs a command line in-process through :func:`bpshell.cli.run` with string streams
and an in-memory token store (fast; used by most tests). ``bp_process`` runs the real ``bp``
in a subprocess (for what only a process shows: exit codes of ``main``, stdin, keyrings).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bpshell.cli import run
from bpshell.commands import GlobalOptions
from bpshell.env import Env
from bpshell.sandbox import Sandbox
from bpshell.tokens import InMemoryTokens

if TYPE_CHECKING:
    from bpshell.tokens import TokenStore

pytest_plugins = ["tests.conftest_keyring"]


def in_ci() -> bool:
    """``CI=true``: every guarantee must be tested, so nothing may skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI, a skipped test is a failed one: a check that needs root, a mount or a tool
    must get it from .ci/test, never go quiet on a runner that lacks it."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is a failure: {reason}"


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """One sandbox per test process."""
    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[Sandbox]:
    """The sandbox with no faults, no latency and fresh stats, before and after the test."""
    sandbox_server.reset()
    sandbox_server.set_latency(0)
    sandbox_server.set_fail_rate(0.0)
    yield sandbox_server
    sandbox_server.reset()
    sandbox_server.set_latency(0)
    sandbox_server.set_fail_rate(0.0)


@dataclass
class Outcome:
    """What a run of ``bp`` showed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class ScriptedPrompter:
    """Answers prompts from a list; records the questions asked."""

    def __init__(self, answers: Sequence[Any]) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []

    def _next(self, kind: str, label: str) -> Any:
        self.asked.append((kind, label))
        if not self.answers:
            raise AssertionError(f"unexpected {kind} prompt: {label}")
        return self.answers.pop(0)

    async def secret(self, label: str) -> str:
        return str(self._next("secret", label))

    async def choose(
        self,
        label: str,
        choices: Sequence[tuple[str, str]],
        default: str | None,
        *,
        rows: Sequence[Sequence[str]] | None = None,
    ) -> str:
        answer = self._next("choose", label)
        return str(answer(choices) if callable(answer) else answer)

    async def confirm(self, question: str, default: bool = False) -> bool:
        return bool(self._next("confirm", question))


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@dataclass
class Bp:
    """In-process ``bp`` over a throwaway home."""

    home: Path
    tokens: TokenStore = field(default_factory=InMemoryTokens)
    environ: dict[str, str] = field(default_factory=dict)
    browsed: list[str] = field(default_factory=list)

    def __call__(
        self,
        *words: str,
        stdin: str = "",
        interactive: bool = False,
        answers: Sequence[Any] = (),
        env: Mapping[str, str] | None = None,
    ) -> Outcome:
        environ = {**self.environ, **(env or {})}
        out, err = io.StringIO(), io.StringIO()
        prompter = ScriptedPrompter(answers)
        stdin_stream = _Tty(stdin) if interactive else io.StringIO(stdin)

        def make(opts: GlobalOptions) -> Env:
            return Env(
                environ=environ,
                home=Path(opts.home) if opts.home else self.home,
                interactive=interactive,
                tokens=self.tokens,
                prompter=prompter,
                browser=self._browse,
                stdin_stream=stdin_stream,
                stdout_stream=out,
                stderr_stream=err,
                verbose=opts.verbose,
            )

        code = run(list(words), environ, make)
        assert not prompter.answers, f"unused answers: {prompter.answers}"
        return Outcome(code, out.getvalue(), err.getvalue())

    def _browse(self, url: str) -> bool:
        self.browsed.append(url)
        return False

    @property
    def config_path(self) -> Path:
        return self.home / "config.json"

    def config(self, raw: bool = False) -> Any:
        """config.json as JSON. Unless ``raw``, each profile's ``tokenKey`` (random per login)
        is checked (``<profile>:<8 hex>``, and present in an in-memory keyring) and left out,
        and so is its ``accountId``, so that tests can compare whole files."""
        data = json.loads(self.config_path.read_text())
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if raw or not isinstance(profiles, dict):
            return data
        for name, entry in profiles.items():
            if isinstance(entry, dict) and "accountId" in entry:  # the API's, per login
                assert isinstance(entry.pop("accountId"), str)
            key = entry.pop("tokenKey", None) if isinstance(entry, dict) else None
            if key is None:
                continue
            assert re.fullmatch(rf"{re.escape(name)}:[0-9a-f]{{8}}", key), key
            if isinstance(self.tokens, InMemoryTokens):
                assert key in self.tokens.entries, f"{key} is not in the keyring"
        return data

    def config_bytes(self) -> bytes | None:
        return self.config_path.read_bytes() if self.config_path.exists() else None


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "botpress"


@pytest.fixture
def bp(home: Path) -> Bp:
    return Bp(home)


def _proxy(name: str) -> bool:
    """The machine's proxy variables: a test's loopback sandbox is never behind them (the
    network tests set their own)."""
    return name.lower() in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


# The caller's colour choice must not colour what tests compare (tests/test_colour.py sets them).
COLOUR_VARIABLES = frozenset({"NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"})


def process_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A child environment: no inherited BP_* variables, no real keyring unless given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BP_") and not _proxy(k) and k not in COLOUR_VARIABLES
    }
    env.update(
        BP_BOTPRESS_HOME=str(home),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra or {})
    return env


def bp_process(
    home: Path,
    *words: str,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> Outcome:
    """Run ``python -m bpshell WORDS`` as a real process (in ``cwd``, default the checkout)."""
    done = subprocess.run(
        [sys.executable, "-m", "bpshell", *words],
        input=stdin,
        capture_output=True,
        text=True,
        env=process_env(home, env),
        timeout=timeout,
        cwd=cwd or ROOT,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def fresh_sandbox() -> Iterator[Sandbox]:
    """A sandbox of the test's own (slow, faulty, or a redirect target), stopped after the test.

    Stopping drops pending delayed answers at once, so a slow request never outlives its test
    and skews the shared sandbox's stats.
    """
    with Sandbox() as server:
        yield server


def closed_port_url() -> str:
    """``http://127.0.0.1:PORT`` where nothing listens: connecting is refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def seed(bp: Bp, config: Mapping[str, Any], keyring: Mapping[str, str] | None = None) -> bytes:
    """Write ``config`` as config.json (0600 in a 0700 home) and put ``keyring`` entries in
    ``bp.tokens``, as earlier runs would have left them; returns the bytes written."""
    bp.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = (json.dumps(config, indent=2) + "\n").encode()
    bp.config_path.write_bytes(data)
    bp.config_path.chmod(0o600)
    entries: dict[str, str] = bp.tokens.entries  # type: ignore[attr-defined]
    entries.update(keyring or {})
    return data


class KeyringView(MutableMapping[str, str]):
    """The in-memory keyring of ``bp`` by profile name: each entry under the key config.json
    gives it (``tokenKey``, or the name for older logins). Two entries of one profile (a token
    left behind) fail the test as soon as the view is listed or compared."""

    def __init__(self, bp: Bp) -> None:
        store = bp.tokens
        assert isinstance(store, InMemoryTokens)
        self._bp, self._raw = bp, store.entries

    def _key(self, name: str) -> str:
        profiles = (
            self._bp.config(raw=True).get("profiles", {}) if self._bp.config_path.exists() else {}
        )
        entry = profiles.get(name) if isinstance(profiles, dict) else None
        key = entry.get("tokenKey") if isinstance(entry, dict) else None
        return key if isinstance(key, str) and key in self._raw else name

    def __getitem__(self, name: str) -> str:
        return self._raw[self._key(name)]

    def __setitem__(self, name: str, token: str) -> None:
        self._raw[self._key(name)] = token

    def __delitem__(self, name: str) -> None:
        del self._raw[self._key(name)]

    def __iter__(self) -> Iterator[str]:
        names = [key.split(":")[0] for key in self._raw]
        assert len(set(names)) == len(names), (
            f"two keyring entries of one profile: {list(self._raw)}"
        )
        return iter(names)

    def __len__(self) -> int:
        return len(list(iter(self)))

    def __repr__(self) -> str:
        return repr(dict(self.items()))


from tests.users import AsUser, UnixUser  # noqa: E402  (beside the fixtures that make them)


@pytest.fixture(scope="session")
def second_user() -> Iterator[UnixUser]:
    """Another Unix user (see ``tests/users.py``), for one test session; one per process, so
    parallel sessions never share or remove each other's. Needs root: skipped without it, but
    under ``CI=true`` that is a failure."""
    from tests.users import added_user, cannot_add_users

    missing = cannot_add_users()
    if missing is not None:
        if in_ci():
            pytest.fail(f"{missing}; CI=true, so this is an error, not a skip", pytrace=False)
        pytest.skip(missing)
    with added_user(f"bpshell-u{os.getpid()}") as user:
        yield user


@pytest.fixture(scope="session")
def as_second_user(second_user: UnixUser) -> Iterator[AsUser]:
    """``bp`` run as :func:`second_user` (``tests/users.py``): needs /usr/bin/python3, which
    .ci/test installs; skipped without it, but under ``CI=true`` that is a failure."""
    from tests.users import SYSTEM_PYTHON, bp_as

    if not SYSTEM_PYTHON.exists():
        if in_ci():
            pytest.fail(f"{SYSTEM_PYTHON} is missing (.ci/test installs python3)", pytrace=False)
        pytest.skip(f"{SYSTEM_PYTHON} is missing")
    with bp_as(second_user, ROOT) as runner:
        yield runner


@pytest.fixture(scope="session", autouse=True)
def sandbox_answers_conform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every answer of every sandbox of this test process (and of its children, which inherit
    ``BPSHELL_SANDBOX_ANSWER_LOG``) is logged, and checked against the OpenAPI document when
    the session ends (``tests/conformance.py``): a bad answer is an error at the teardown of
    the last test. Each xdist worker has its own log and check."""
    from bpshell.sandbox.answers import ANSWER_LOG_ENV
    from tests.conformance import check_log

    log = tmp_path_factory.mktemp("sandbox-answers") / "answers.jsonl"
    previous = os.environ.get(ANSWER_LOG_ENV)
    os.environ[ANSWER_LOG_ENV] = str(log)
    try:
        yield log
    finally:
        if previous is None:
            os.environ.pop(ANSWER_LOG_ENV, None)
        else:
            os.environ[ANSWER_LOG_ENV] = previous
    report = check_log(log)
    if report.problems:
        pytest.fail(report.summary(), pytrace=False)
