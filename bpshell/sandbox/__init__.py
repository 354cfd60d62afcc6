"""A local Botpress Cloud admin API lookalike for tests, benchmarks and the demo mode.

``Sandbox`` is the server (see :mod:`bpshell.sandbox.server` for its pipeline, and beside it
:mod:`~bpshell.sandbox.routes`, :mod:`~bpshell.sandbox.operations`,
:mod:`~bpshell.sandbox.faults`, :mod:`~bpshell.sandbox.ratelimit` and
:mod:`~bpshell.sandbox.control`), ``World`` the data it serves (see
:mod:`bpshell.sandbox.world` for the file format), and the ``*_TOKEN`` constants are the fake
tokens of :meth:`World.demo`.
"""

from bpshell.sandbox.faults import ALL_OPERATIONS, FAULT_KINDS, Fault, FaultKind
from bpshell.sandbox.ratelimit import RateLimit
from bpshell.sandbox.routes import OPERATIONS
from bpshell.sandbox.server import Sandbox
from bpshell.sandbox.stats import RecordedRequest, Stats
from bpshell.sandbox.world import (
    ALICE_EMAIL,
    ALICE_TOKEN,
    BOB_EMAIL,
    BOB_TOKEN,
    DANA_EMAIL,
    DANA_TOKEN,
    DEMO_TOKENS,
    EXPIRED_TOKEN,
    HOOLI_WORKSPACE_ID,
    UMBRELLA_WORKSPACE_ID,
    Account,
    Bot,
    Member,
    Pat,
    Workspace,
    World,
)

__all__ = [
    "ALICE_EMAIL",
    "ALICE_TOKEN",
    "ALL_OPERATIONS",
    "BOB_EMAIL",
    "BOB_TOKEN",
    "DANA_EMAIL",
    "DANA_TOKEN",
    "DEMO_TOKENS",
    "EXPIRED_TOKEN",
    "FAULT_KINDS",
    "HOOLI_WORKSPACE_ID",
    "OPERATIONS",
    "UMBRELLA_WORKSPACE_ID",
    "Account",
    "Bot",
    "Fault",
    "FaultKind",
    "Member",
    "Pat",
    "RateLimit",
    "RecordedRequest",
    "Sandbox",
    "Stats",
    "Workspace",
    "World",
]
