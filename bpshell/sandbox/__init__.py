"""A local Botpress Cloud admin API lookalike for tests, benchmarks and the demo mode.

``Sandbox`` is the server (see :mod:`bpshell.sandbox.server` for its behaviour and fault
knobs), ``World`` the data it serves (see :mod:`bpshell.sandbox.world` for the file format),
and the ``*_TOKEN`` constants are the fake tokens of :meth:`World.demo`.
"""

from bpshell.sandbox.server import (
    ALL_OPERATIONS,
    FAULT_KINDS,
    OPERATIONS,
    Fault,
    FaultKind,
    RecordedRequest,
    Sandbox,
    Stats,
)
from bpshell.sandbox.world import (
    ALICE_EMAIL,
    ALICE_TOKEN,
    BOB_EMAIL,
    BOB_TOKEN,
    DEMO_TOKENS,
    EXPIRED_TOKEN,
    Account,
    Bot,
    Member,
    Workspace,
    World,
)

__all__ = [
    "ALICE_EMAIL",
    "ALICE_TOKEN",
    "ALL_OPERATIONS",
    "BOB_EMAIL",
    "BOB_TOKEN",
    "DEMO_TOKENS",
    "EXPIRED_TOKEN",
    "FAULT_KINDS",
    "OPERATIONS",
    "Account",
    "Bot",
    "Fault",
    "FaultKind",
    "Member",
    "RecordedRequest",
    "Sandbox",
    "Stats",
    "Workspace",
    "World",
]
