"""``python -m bpshell.sandbox``: serve a sandbox until SIGINT or SIGTERM.

Prints ``Botpress sandbox listening on <url>`` as its first line, then each valid token of
the world with the workspace ids it reaches and each refused token, flushes, and serves.
Exits 0 on SIGINT/SIGTERM, 2 on bad arguments, 1 if the world file or the port is unusable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import types
from collections.abc import Sequence

from bpshell.sandbox.banner import for_screen, token_lines
from bpshell.sandbox.server import Sandbox
from bpshell.sandbox.world import World


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a port: {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bpshell.sandbox",
        description="Serve a local Botpress Cloud admin API lookalike (demo world by default).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port to bind (0: any free port)")
    parser.add_argument("--world", metavar="FILE", help="world JSON file (default: demo world)")
    parser.add_argument("--latency-ms", type=_non_negative_int, default=0, metavar="N")
    parser.add_argument("--fail-rate", type=_rate, default=0.0, metavar="R")
    parser.add_argument("--page-size", type=_positive_int, default=20, metavar="N")
    parser.add_argument("--seed", type=int, default=None, help="seed for --fail-rate draws")
    parser.add_argument(
        "--rate-limit",
        type=_positive_int,
        default=None,
        metavar="N",
        help="answer 429 past N requests per token in any --rate-window (default: no limit)",
    )
    parser.add_argument(
        "--rate-window", type=_positive_float, default=60.0, metavar="S", help="seconds (60)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        world = World.from_file(args.world) if args.world else World.demo()
    except (OSError, ValueError) as exc:
        print(f"error: cannot load world {args.world}: {exc}", file=sys.stderr)
        return 1
    sandbox = Sandbox(
        world,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        page_size=args.page_size,
        seed=args.seed,
        rate_limit=args.rate_limit,
        rate_window_s=args.rate_window,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sandbox.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        banner = [
            f"Botpress sandbox listening on {sandbox.url}",
            "Tokens (fake, for this sandbox only):",
            *token_lines(world),
        ]
        for line in for_screen(banner, sys.stdout):
            print(line)
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
