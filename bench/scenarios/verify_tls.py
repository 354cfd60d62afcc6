"""``bp profiles list --verify`` through HTTPS: HTTP/1.1 against HTTP/2, and what TLS costs.

The sandbox is served over TLS by ``tls_front.py`` (its own process; a certificate of a CA made
here with ``trustme``, trusted through ``SSL_CERT_FILE``). Each variant runs the same command
through the same launcher (``python -c``, so the variants differ only in what they set):

- ``http``: the sandbox without TLS (the baseline of the wall-time ratios);
- ``https, HTTP/1.1``: what bp does;
- ``https, HTTP/2``: ``bpshell.network.HTTP2 = True`` (needs ``h2`` in bp's interpreter and
  the bench's; its rows say "n/a" without it);
- ``https, HTTP/1.1, h2 not installed``: what an installed ``h2`` costs every online command
  (httpcore imports it whenever it is there);
- ``https, HTTP/1.1, truststore``: the system store through truststore on Linux too; the
  launcher hides ``SSL_CERT_FILE``/``SSL_CERT_DIR`` from OpenSSL (not from bp, which still
  adds the test CA), so OpenSSL's own default, the distribution's bundle, is what truststore
  loads for each connection, as on a machine where neither is set.

Over 40 profiles at the verify scenario's 300 ms of latency and at none (where only CPU
shows), and over 1 profile at none (the cost of a command that makes one connection, or two).
Rows give wall time, the CPU time of the ``bp`` process, and the TLS connections the front
accepted a run. No target: the figures decided whether HTTP/2 stays (bench/README.md).
"""

from __future__ import annotations

import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from harness import Bench, BenchError, Row, Unavailable, file_profiles, info, write_config

NAME = "verify_tls"
PROFILES = 40
FRONT = Path(__file__).with_name("tls_front.py")
LAUNCH = """\
import os, sys
variant = os.environ["BPBENCH_TLS"]
if variant == "no-h2":
    sys.modules["h2"] = None  # as if h2 were not installed: httpcore imports it when it is
import bpshell.network as network
network.HTTP2 = variant == "h2"
if variant == "truststore":
    import ssl, truststore
    os.unsetenv("SSL_CERT_FILE"), os.unsetenv("SSL_CERT_DIR")
    network._system_context = lambda: (truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT), "truststore")
from bpshell.cli import main
sys.exit(main())
"""
VARIANTS = (
    ("http", "http", "h1"),
    ("https, HTTP/1.1", "https", "h1"),
    ("https, HTTP/2", "https", "h2"),
    ("https, HTTP/1.1, truststore", "https", "truststore"),
)
NO_H2 = ("https, HTTP/1.1, h2 not installed", "https", "no-h2")
# (profiles, latency in ms, the variants timed)
SETTINGS = (
    (PROFILES, 300, VARIANTS),
    (PROFILES, 0, VARIANTS),
    (1, 0, (*VARIANTS[:3], NO_H2)),
)


class Front(NamedTuple):
    """A running HTTPS front of the sandbox: its URL, the CA that signed it, its stats file."""

    url: str
    ca: Path
    stats: Path


@contextlib.contextmanager
def https_front(bench: Bench, label: str = "tls") -> Iterator[Front]:
    """``tls_front.py`` in a process of its own, in front of the run's sandbox, with a
    certificate of a CA made here (trusted by bp through ``SSL_CERT_FILE``). Raises
    :class:`Unavailable` without ``trustme`` (the test extra)."""
    try:
        import trustme
    except ImportError as exc:
        raise Unavailable("trustme is not installed (pip install -e '.[test]')") from exc
    sandbox = bench.sandbox(0)
    folder = bench.work / label
    folder.mkdir()
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server = ca.issue_cert("127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    server.private_key_pem.write_to_path(str(folder / "key.pem"))
    stats = folder / "stats.json"
    front = subprocess.Popen(
        [sys.executable, str(FRONT), str(sandbox.port), *(str(folder / n) for n in ("cert.pem",
         "key.pem")), str(stats)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert front.stdout is not None
        port = front.stdout.readline().strip()
        if not port:
            raise BenchError("the HTTPS front did not start")
        yield Front(f"https://127.0.0.1:{port}", folder / "ca.pem", stats)
    finally:
        if front.stdin is not None:
            front.stdin.close()
        front.wait(10)


def run(bench: Bench) -> list[Row]:
    sandbox = bench.sandbox(0)
    pairs = bench.accounts(PROFILES)
    with https_front(bench) as front:
        urls = {"http": sandbox.url, "https": front.url}
        rows: list[Row] = []
        for profiles, latency, variants in SETTINGS:
            homes = {}
            for scheme, url in urls.items():
                homes[scheme] = bench.home(f"verify-{scheme}-{profiles}")
                write_config(homes[scheme], file_profiles(pairs[:profiles], url))
            sandbox.set_latency(latency)
            where = Where(homes, front.ca, front.stats, profiles, latency)
            rows.extend(_variants(bench, where, variants))
        sandbox.set_latency(0)
        return rows


@dataclass(frozen=True)
class Where:
    """What one setting runs against."""

    homes: dict[str, Path]
    ca: Path
    stats: Path
    profiles: int
    latency: float


def _variants(bench: Bench, where: Where, variants: tuple[tuple[str, str, str], ...]) -> list[Row]:
    """Each variant once per round, round after round, so that the load of a shared machine
    falls on all of them alike; the first round warms up and is not counted."""
    argv = [bench.python, "-c", LAUNCH, "profiles", "list", "--verify"]
    runs: dict[str, tuple[list[float], list[float], list[float]]] = {}
    broken: dict[str, str] = {}
    for round_ in range(bench.repeats + 1):
        for label, scheme, variant in variants:
            if label in broken:
                continue
            extra = {"SSL_CERT_FILE": str(where.ca), "BPBENCH_TLS": variant}
            try:
                got = _run_once(argv, bench.env(where.homes[scheme], extra), where)
            except BenchError as exc:
                broken[label] = str(exc)[:90]
                continue
            if round_:
                for found, value in zip(runs.setdefault(label, ([], [], [])), got, strict=True):
                    found.append(value)
    rows: list[Row] = []
    baseline = runs.get(variants[0][0], ([], [], []))[0] or None
    for label, scheme, _ in variants:
        name = f"{label}, {where.profiles} profiles, latency {where.latency:g} ms"
        if label in broken:
            rows.append(Row(NAME, name, unit="", verdict="n/a", note=broken[label]))
            continue
        walls, cpus, connections = runs[label]
        tls = f"{statistics.median(connections):g} TLS connections a run"
        rows.append(
            info(
                NAME,
                f"{name}: wall",
                walls,
                baseline=baseline,
                note=tls if scheme == "https" else "",
            )
        )
        rows.append(info(NAME, f"{name}: CPU of bp", cpus, note="user + system"))
    return rows


def _run_once(argv: list[str], env: dict[str, str], where: Where) -> tuple[float, float, float]:
    """Wall and CPU seconds of one run, and the TLS connections the front accepted."""
    before = json.loads(where.stats.read_text())
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    yes = sum(line.rstrip().endswith("yes") for line in done.stdout.splitlines())
    if done.returncode != 0 or yes != where.profiles:
        others = sorted({line.split()[-1] for line in done.stdout.splitlines()[1:]} - {"yes"})
        said = f"the others: {', '.join(others)}" if others else done.stderr.strip()[-60:]
        raise BenchError(f"exit {done.returncode}, {yes} of {where.profiles} verified; {said}")
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    now = json.loads(where.stats.read_text())
    return wall, cpu, sum(now.values()) - sum(before.values())
