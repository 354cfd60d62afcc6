"""Hostile and broken input: config files, command lines, API bodies, names with escapes.

Property-based (hypothesis) over what a user or a server can throw at ``bp``. Whatever comes
in, a run never shows a traceback, exits 0, 1 (remote) or 2 (input), writes nothing raw to the
terminal (no control or escape characters but newlines), and leaves config.json as it was
unless the command succeeded. Runs are in-process (the ``Bp`` runner) with name resolution
limited to loopback, so nothing here can reach a real network.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import bpshell.api
from bpshell.commands import COMMANDS
from bpshell.official.delegation import OFFICIAL_COMMANDS
from bpshell.sandbox import ALICE_TOKEN, BOB_TOKEN, Sandbox, World
from bpshell.tokens import InMemoryTokens
from tests.conftest import ROOT, Bp, Outcome, process_env, seed

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    # In CI the same examples every run, so that a failure there reproduces anywhere.
    derandomize=os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"},
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ESCAPES = ["\x1b[2J", "\x1b]0;pwned\x07", "\x9b31m", "\r", "\x00", "\u202e", "\x7f", "\t", "\x08"]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any name but loopback fails to resolve: a generated URL never leaves the machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry-After and back-off waits are skipped (their bounds are tested in test_api)."""
    import anyio

    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(anyio, "sleep", no_sleep)


def raw_characters(text: str) -> list[str]:
    """Characters a terminal could act on: every non-printable one but the newline."""
    return sorted({ch for ch in text if not ch.isprintable() and ch != "\n"})


def check(result: Outcome, before: bytes | None, after: bytes | None) -> None:
    """The contract of every run, whatever its input."""
    assert result.code in (0, 1, 2), result
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    assert raw_characters(result.out) == [], result.out
    assert raw_characters(result.err) == [], result.err
    if result.code != 0:
        assert after == before, "a failed command changed config.json"
        assert result.err.strip() or result.out.strip(), "a failure without a word"


@pytest.fixture
def fresh_home() -> Callable[[], Iterator[Bp]]:
    """A new throwaway home per hypothesis example."""

    def make() -> Iterator[Bp]:
        with tempfile.TemporaryDirectory() as tmp:
            yield Bp(Path(tmp) / "botpress")

    return make


# --- the config file ---------------------------------------------------------------------


def json_values(leaves: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    base = leaves or (
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    )
    return st.recursive(
        base,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )


hostile_text = st.text() | st.sampled_from(ESCAPES).map(lambda e: f"a{e}b") | st.just("x" * 5000)


def valid_config(url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "activeProfile": "default",
        "profiles": {
            "default": {"apiUrl": url, "workspaceId": "ws_acme", "workspaceName": "acme"},
            "ci": {"apiUrl": url, "workspaceId": "ws_initech", "token": BOB_TOKEN},
        },
    }


FIELDS = [
    ("version",),
    ("activeProfile",),
    ("profiles",),
    ("profiles", "default"),
    ("profiles", "default", "apiUrl"),
    ("profiles", "default", "workspaceId"),
    ("profiles", "default", "workspaceName"),
    ("profiles", "default", "token"),
    ("profiles", "ci", "token"),
]
TOKENS = [ALICE_TOKEN, "bp_pat_x\x1b[2J", "bp_pat_a\nX-Evil: 1", "tök", "a b", "", "x" * 5000]


@st.composite
def one_field_changed(draw: st.DrawFn, url: str) -> bytes:
    """The valid config with one field, or one profile's name, made odd."""
    config = valid_config(url)
    odd = hostile_text | json_values()
    if draw(st.booleans()):
        name = draw(hostile_text)
        profiles = config["profiles"]
        profiles[name] = profiles.pop("default")
        config["activeProfile"] = name
    else:
        *parents, key = draw(st.sampled_from(FIELDS))
        where = config
        for parent in parents:
            where = where[parent]
        where[key] = draw(st.sampled_from(TOKENS) | odd if key == "token" else odd)
    return json.dumps(config).encode()


def config_texts(url: str) -> st.SearchStrategy[bytes]:
    """Mostly a valid file with one odd part; else any JSON, or any bytes."""
    any_json = json_values().map(lambda v: json.dumps(v).encode())
    return one_field_changed(url) | any_json | st.binary(max_size=200)


DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"profiles": ' + b'{"a": ' * 5_000 + b"{}" + b"}" * 5_001
HUGE = b'{"profiles": {}, "pad": "' + b"x" * (17 * 2**20) + b'"}'

CONFIG_COMMANDS: list[tuple[str, ...]] = [
    ("profiles", "list"),
    ("profiles", "list", "--verify"),
    ("profiles", "list", "--displayToken", "--json"),
    ("profiles", "active"),
    ("profiles", "get"),
    ("profiles", "get", "--displayToken"),
    ("profiles", "use", "ci"),
    ("profiles", "rm", "ci"),
    ("profiles", "rename", "ci", "renamed"),
    ("logout",),
    ("logout", "--all"),
    ("workspaces", "list"),
    ("env",),
    ("login", "--token", "-", "--workspaceId", "ws_acme", "-y"),
]


def run_every_command(raw: bytes, url: str, make: Callable[[], Iterator[Bp]]) -> None:
    """Each command of :data:`CONFIG_COMMANDS` on its own copy of ``raw``."""
    for words in CONFIG_COMMANDS:
        for bp in make():
            bp.home.mkdir(mode=0o700)
            bp.config_path.write_bytes(raw)
            bp.config_path.chmod(0o600)
            entries: dict[str, str] = bp.tokens.entries  # type: ignore[attr-defined]
            entries.update(default=ALICE_TOKEN)
            extra = ("--apiUrl", url) if words[0] == "login" else ()
            result = bp(*words, *extra, stdin=ALICE_TOKEN)
            check(result, raw, bp.config_bytes())
            shown = "--displayToken" in words or words == ("env",)
            assert ALICE_TOKEN not in result.out + result.err or shown


@settings(SETTINGS, max_examples=50)
@given(data=st.data())
def test_any_config_file(
    data: st.DataObject, sandbox: Sandbox, fresh_home: Callable[[], Iterator[Bp]]
) -> None:
    run_every_command(data.draw(config_texts(sandbox.url)), sandbox.url, fresh_home)


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT, HUGE], ids=["deep-list", "deep-object", "huge"])
def test_deep_and_huge_config_files(
    raw: bytes, sandbox: Sandbox, fresh_home: Callable[[], Iterator[Bp]]
) -> None:
    run_every_command(raw, sandbox.url, fresh_home)


# --- command lines -----------------------------------------------------------------------

VOCABULARY = [
    "login", "logout", "profiles", "list", "ls", "active", "use", "get", "rm", "rename",
    "workspaces", "env", "completion", "bash", "zsh", "fish", "--json", "-v", "-y", "-p",
    "--profile", "--help", "-h", "--version", "--token", "-", "--workspaceId", "--apiUrl",
    "--insecure-storage", "--no-browser", "--all", "--verify", "--displayToken", "--concurrency",
    "--timeout", "--shell", "--", "default", "ci", "ws_acme", "0", "-1", "nan", "1e999",
    ALICE_TOKEN, "--token=", "--timeout=", "--apiUrl=http://example.com", "--all=1",
]  # fmt: skip
FORBIDDEN_WORDS = {"exec", "shell", "--botpressHome", "--botpress-home"} | OFFICIAL_COMMANDS

COMMAND_PATHS = [c.path for c in COMMANDS if c.path[0] not in FORBIDDEN_WORDS]
any_words = st.lists(
    st.sampled_from(VOCABULARY) | hostile_text | st.sampled_from(ESCAPES), max_size=8
)
words_strategy = (
    st.tuples(st.sampled_from(COMMAND_PATHS), any_words).map(lambda t: [*t[0], *t[1]]) | any_words
).filter(lambda ws: not any(w in FORBIDDEN_WORDS or w.startswith("--botpress") for w in ws))


@SETTINGS
@given(words=words_strategy)
@example(words=["profiles", "use", "\x1b[2Jevil"])
@example(words=["login", "--token", "x" * 10_000])
@example(words=["--timeout", "1e999", "profiles", "list", "--verify"])
@example(words=["profiles", "list", "--concurrency", "0"])
@example(words=["login", "-p", "a\x00b"])
@example(words=["--unknown\x1b[31m"])
def test_any_command_line(
    words: list[str], sandbox: Sandbox, fresh_home: Callable[[], Iterator[Bp]]
) -> None:
    for bp in fresh_home():
        before = seed(
            bp,
            {
                "version": 1,
                "activeProfile": "default",
                "profiles": {
                    "default": {"apiUrl": sandbox.url, "workspaceId": "ws_acme"},
                    "ci": {"apiUrl": sandbox.url, "workspaceId": "ws_initech", "token": BOB_TOKEN},
                },
            },
            {"default": ALICE_TOKEN},
        )
        result = bp(*words, stdin=ALICE_TOKEN, env={"BP_API_URL": sandbox.url})
        check(result, before, bp.config_bytes())
        if result.code == 2:
            assert result.out == ""


# --- API bodies --------------------------------------------------------------------------

STATUSES = [200, 200, 200, 201, 204, 301, 302, 400, 401, 403, 404, 418, 429, 500, 503]
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/html", "", "json"]


def shaped_bodies() -> st.SearchStrategy[Any]:
    """Bodies of (nearly) the spec's shapes, with any values."""
    value = hostile_text | json_values()
    account = st.fixed_dictionaries({"id": value, "email": value}, optional={"displayName": value})
    workspace = st.fixed_dictionaries({"id": value, "name": value}, optional={"handle": value})
    meta = st.fixed_dictionaries({}, optional={"nextToken": st.none() | hostile_text})
    return st.one_of(
        st.fixed_dictionaries({"account": account}),
        workspace,
        st.fixed_dictionaries({"workspaces": st.lists(workspace, max_size=3), "meta": meta}),
        st.fixed_dictionaries({"account": account, "id": value, "name": value}),
        st.fixed_dictionaries({"type": value, "message": value}),
    )


answers = st.fixed_dictionaries(
    {
        "status": st.just(200) | st.sampled_from(STATUSES),
        "content_type": st.just("application/json") | st.sampled_from(CONTENT_TYPES),
        "body": shaped_bodies().map(lambda v: json.dumps(v).encode())
        | st.binary(max_size=300)
        | json_values().map(lambda v: json.dumps(v).encode()),
    },
    optional={
        "retry_after": st.sampled_from(["0", "-1", "nan", "inf", "1e999", "soon", "5"]),
        "location": hostile_text,
    },
)

API_COMMANDS: list[tuple[str, ...]] = [
    ("login", "-p", "new", "--token", "-", "--workspaceId", "ws_acme", "-y"),
    ("profiles", "active"),
    ("profiles", "list", "--verify"),
    ("workspaces", "list"),
]
API_URL = "https://api.example.test"


def mock_client(answer: dict[str, Any]) -> Callable[..., httpx.AsyncClient]:
    real = bpshell.api.new_http_client

    def respond(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": answer["content_type"]} if answer["content_type"] else {}
        for key in ("retry_after", "location"):
            if key in answer:
                value = answer[key].encode("ascii", "replace").decode()
                headers[key.replace("_", "-")] = "".join(c for c in value if c.isprintable())
        return httpx.Response(answer["status"], headers=headers, content=answer["body"])

    def make(debug: Any = None, transport: Any = None) -> httpx.AsyncClient:
        return real(debug, transport=httpx.MockTransport(respond))

    return make


@SETTINGS
@given(answer=answers)
@example(
    answer={
        "status": 200,
        "content_type": "application/json",
        "body": json.dumps(
            {"account": {"id": "a", "email": "e\x1b[2J"}, "id": "ws_other", "name": "\x9bn\x1b]0"}
        ).encode(),
    },
)
def test_any_api_answer(
    answer: dict[str, Any], fresh_home: Callable[[], Iterator[Bp]], no_retry_waits: None
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bpshell.api, "new_http_client", mock_client(answer))
        for words in API_COMMANDS:
            for bp in fresh_home():
                config = {
                    "version": 1,
                    "activeProfile": "default",
                    "profiles": {"default": {"apiUrl": API_URL, "workspaceId": "ws_acme"}},
                }
                before = seed(bp, config, {"default": ALICE_TOKEN})
                extra = ("--apiUrl", API_URL) if words[0] == "login" else ()
                result = bp(*words, *extra, stdin=ALICE_TOKEN)
                check(result, before, bp.config_bytes())
                assert ALICE_TOKEN not in result.out + result.err
                if result.code == 0 and words[0] == "login":  # what was checked is what is saved
                    assert bp.config()["profiles"]["new"]["workspaceId"] == "ws_acme"


# --- escape sequences in names, from the file and from the API ---------------------------

EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


@pytest.fixture
def evil_world() -> Iterator[Sandbox]:
    """alice may use ``ws_evil``, whose name is a string of escape sequences."""
    world = World.demo()
    alice = world.tokens[ALICE_TOKEN]
    world.add_workspace("ws_evil", f"evil{EVIL}", [alice])
    with Sandbox(world) as server:
        yield server


def test_names_with_escapes_are_never_written_raw(bp: Bp, evil_world: Sandbox) -> None:
    url = evil_world.url
    name = f"p{EVIL}"
    seed(
        bp,
        {
            "version": 1,
            "activeProfile": name,
            "profiles": {
                name: {"apiUrl": url, "workspaceId": "ws_evil", "workspaceName": f"w{EVIL}"},
                "bad": {
                    "apiUrl": f"{url}/{EVIL}",
                    "workspaceId": f"ws{EVIL}",
                    "token": f"bp_pat_{EVIL}",
                },
            },
        },
        {name: ALICE_TOKEN},
    )
    runs = [
        ("login", "--token", "-", "--apiUrl", url, "--workspaceId", "ws_evil", "-y"),
        ("login", "--apiUrl", url, "-p", "interactive"),
        ("profiles", "list"),
        ("profiles", "list", "--verify"),
        ("profiles", "list", "--displayToken"),
        ("profiles", "active"),
        ("profiles", "active", "--displayToken"),
        ("profiles", "get"),
        ("profiles", "get", "bad"),
        ("profiles", "get", "bad", "--displayToken"),
        ("-p", "bad", "profiles", "active"),
        ("-p", "bad", "workspaces", "list"),
        ("-p", "bad", "env"),
        ("workspaces", "list"),
        ("profiles", "list", "--json"),
        ("profiles", "use", name),
        ("profiles", "use", f"missing{EVIL}"),
        ("profiles", "rename", name, "plain"),
        ("shell", "-c", "profiles list; profiles active; workspaces list"),
        ("logout", "--all"),
    ]
    broken = InMemoryTokens(broken=f"keyring {EVIL} failed")
    for words in runs:
        interactive = "interactive" in words
        answers: list[Any] = [lambda choices: "ws_evil"] if interactive else []
        result = bp(
            *words,
            stdin=ALICE_TOKEN,
            interactive=interactive,
            answers=answers,
            env={"BP_TOKEN": ALICE_TOKEN} if interactive else {},
        )
        assert result.code in (0, 1, 2), (words, result)
        assert raw_characters(result.out + result.err) == [], (words, result)
        assert "internal error" not in result.err, (words, result)
    bp.tokens = broken  # warnings name the profile too
    seed(bp, {"version": 1, "activeProfile": name, "profiles": {name: {"apiUrl": url,
         "workspaceId": "ws_evil"}}})  # fmt: skip
    for words in [("profiles", "list", "--verify"), ("profiles", "get"), ("logout",)]:
        result = bp(*words)
        assert raw_characters(result.out + result.err) == [], (words, result)


# --- a closed stdout ---------------------------------------------------------------------


@pytest.mark.parametrize("words", [("--help",), ("profiles", "list"), ("completion", "bash")])
def test_output_to_a_closed_pipe_is_not_a_traceback(tmp_path: Path, words: tuple[str, ...]) -> None:
    """``bp … | head -1``: the reader is gone before ``bp`` writes."""
    home = tmp_path / "botpress"
    home.mkdir(mode=0o700)
    (home / "config.json").write_text(
        json.dumps({"version": 1, "profiles": {"a": {"apiUrl": "https://x", "workspaceId": "w"}}})
    )
    (home / "config.json").chmod(0o600)
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bpshell", *words],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=process_env(home),
            cwd=ROOT,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 1


# --- the shell's first frame -------------------------------------------------------------


def _peek(raw: bytes) -> None:
    from bpshell.session import peek

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_bytes(raw)
        view, _ = peek(path, {}, None)
        assert view.profile is None or isinstance(view.profile, str)


@SETTINGS
@given(raw=config_texts("http://127.0.0.1:9"))
def test_the_shell_first_frame_reads_any_config_file(raw: bytes) -> None:
    """The REPL's first frame peeks at config.json as plain JSON: anything odd reads as empty."""
    _peek(raw)


def test_the_shell_first_frame_reads_a_deeply_nested_config_file() -> None:
    _peek(DEEP)
