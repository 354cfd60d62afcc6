"""The data a sandbox serves: accounts, tokens, workspaces, memberships and bots.

A :class:`World` is plain, mutable data guarded by one re-entrant lock (:attr:`World.lock`).
Every mutating method takes the lock, so a world may be changed while a sandbox serves it;
readers that need a consistent view of several fields hold the lock themselves.

World file format (``World.to_json`` writes it, ``World.from_file`` reads it), version 1::

    {
      "version": 1,
      "accounts": [
        {"id": "<uuid>", "email": "alice@example.com", "displayName": "Alice",
         "emailVerified": true, "createdAt": "<ISO 8601>", "profilePicture": "<url>"}
      ],
      "tokens": {"<token>": "<account id>"},
      "pats": {"<token>": {"id": "<PAT id>", "note": "laptop", "createdAt": "<ISO 8601>"}},
      "invalidTokens": ["<token>"],
      "workspaces": [
        {"id": "ws_acme", "name": "acme", "ownerId": "<account id>",
         "createdAt": "<ISO 8601>", "updatedAt": "<ISO 8601>",
         "billingVersion": "v4", "plan": "team", "blocked": false, "spendingLimit": 100,
         "activeTrialId": null, "handle": "acme", "about": "", "profilePicture": "",
         "contactEmail": "", "website": "", "socialAccounts": [], "isPublic": false,
         "members": [{"accountId": "<account id>", "role": "owner",
                      "id": "<member id>", "createdAt": "<ISO 8601>"}],
         "bots": [{"id": "<28-36 chars>", "name": "support", "createdAt": "<ISO 8601>",
                   "updatedAt": "<ISO 8601>", "deployedAt": "<ISO 8601>",
                   "tags": {"key": "value"}, "type": "studio", "dev": false}]}
      ]
    }

Only ``version``, account ``id``/``email``, workspace ``id``/``name``/``ownerId``, member
``accountId``/``role`` and bot ``id``/``name`` are required; every other key has the default
shown by :class:`Account`, :class:`Workspace`, :class:`Member`, :class:`Bot` and :class:`Pat`.
Workspace keys are those of the API's ``getWorkspace`` response (``botCount`` is derived from
``bots``).  Every valid token is a Personal Access Token of its account; ``pats`` (optional,
also per token) gives its id, note and creation date.  ``invalidTokens`` are expired or revoked
tokens: the sandbox answers them 401 everywhere.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args

Role = Literal["viewer", "billing", "developer", "manager", "administrator", "owner"]
Plan = Literal["community", "team", "enterprise", "plus"]
BillingVersion = Literal["v1", "v2", "v3", "v4"]
BotType = Literal["studio", "adk", "desk"]

ROLES: tuple[Role, ...] = get_args(Role)
PLANS: tuple[Plan, ...] = get_args(Plan)
BILLING_VERSIONS: tuple[BillingVersion, ...] = get_args(BillingVersion)
BOT_TYPES: tuple[BotType, ...] = get_args(BotType)

FORMAT_VERSION = 1
DEFAULT_TIMESTAMP = "2024-01-15T09:30:00.000Z"

_ID_NAMESPACE = uuid.UUID("6f1c3a52-9a4e-4c1b-8d3e-5b0a7c2e9f10")
_TOKEN_ALPHABET = string.ascii_letters + string.digits

ALICE_TOKEN = "bp_pat_sandboxalice00000000000000000000000001"
BOB_TOKEN = "bp_pat_sandboxbob0000000000000000000000000002"
EXPIRED_TOKEN = "bp_pat_sandboxexpired000000000000000000000003"
DANA_TOKEN = "bp_pat_sandboxdana000000000000000000000000004"
DEMO_TOKENS: dict[str, str] = {
    "alice": ALICE_TOKEN,
    "bob": BOB_TOKEN,
    "dana": DANA_TOKEN,
    "expired": EXPIRED_TOKEN,
}
ALICE_EMAIL = "alice@example.com"
BOB_EMAIL = "bob@example.com"
CAROL_EMAIL = "carol@example.com"
DANA_EMAIL = "dana@example.com"
DEMO_TEAM_WORKSPACES = 45
# Real workspace ids are UUIDs; the demo's ws_* ids stay for readable tests and demos.
HOOLI_WORKSPACE_ID = "6d1f8a1e-3c5b-4f7a-9e2d-8b4c0a7f5e31"
UMBRELLA_WORKSPACE_ID = "b2e4c6a8-1d3f-4b5a-8c7e-9f0a1b2c3d4e"


def stable_id(*parts: str) -> str:
    """Return a UUID string derived only from ``parts``: the same parts give the same id."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


@dataclass
class Account:
    """A Botpress account, as ``getAccount`` returns it."""

    id: str
    email: str
    display_name: str | None = None
    email_verified: bool = True
    created_at: str = DEFAULT_TIMESTAMP
    profile_picture: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Return the ``account`` object of a ``getAccount`` response."""
        body: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "emailVerified": self.email_verified,
            "createdAt": self.created_at,
        }
        if self.display_name is not None:
            body["displayName"] = self.display_name
        if self.profile_picture is not None:
            body["profilePicture"] = self.profile_picture
        return body


@dataclass
class Pat:
    """What the API shows of a Personal Access Token: never its value."""

    id: str
    note: str = ""
    created_at: str = DEFAULT_TIMESTAMP

    def to_api(self) -> dict[str, Any]:
        """Return this PAT as an item of ``listPersonalAccessTokens`` (also the file format)."""
        return {"id": self.id, "createdAt": self.created_at, "note": self.note}


@dataclass
class Member:
    """One account's membership of one workspace."""

    account_id: str
    role: Role
    id: str
    created_at: str = DEFAULT_TIMESTAMP

    def to_file(self) -> dict[str, Any]:
        """Return this membership in the world file format."""
        return {
            "accountId": self.account_id,
            "role": self.role,
            "id": self.id,
            "createdAt": self.created_at,
        }

    def to_api(self, account: Account) -> dict[str, Any]:
        """Return this membership as ``getWorkspaceMember`` and ``listWorkspaceMembers`` do."""
        body: dict[str, Any] = {"id": self.id, "userId": account.id, "email": account.email}
        if account.display_name is not None:
            body["displayName"] = account.display_name
        if account.profile_picture is not None:
            body["profilePicture"] = account.profile_picture
        body["createdAt"] = self.created_at
        body["role"] = self.role
        return body


@dataclass
class Bot:
    """A bot of a workspace, as ``listBots`` returns it; ``id`` is 28 to 36 characters.

    ``dev`` bots run locally (``bp dev``): ``listBots`` shows them only when asked for with
    ``dev=true``, and then only them.
    """

    id: str
    name: str
    created_at: str = DEFAULT_TIMESTAMP
    updated_at: str = DEFAULT_TIMESTAMP
    deployed_at: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    type: BotType = "studio"
    dev: bool = False

    def to_api(self) -> dict[str, Any]:
        """Return this bot as an item of a ``listBots`` response."""
        body: dict[str, Any] = {
            "id": self.id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "name": self.name,
            "tags": dict(self.tags),
            "type": self.type,
        }
        if self.deployed_at is not None:
            body["deployedAt"] = self.deployed_at
        return body

    def to_file(self) -> dict[str, Any]:
        """Return this bot in the world file format."""
        return {**self.to_api(), "dev": self.dev}


@dataclass
class Workspace:
    """A workspace with its members (by account id) and its bots, in listing order."""

    id: str
    name: str
    owner_id: str
    created_at: str = DEFAULT_TIMESTAMP
    updated_at: str = DEFAULT_TIMESTAMP
    billing_version: BillingVersion = "v4"
    plan: Plan = "team"
    blocked: bool = False
    spending_limit: float = 100
    active_trial_id: str | None = None
    handle: str | None = None
    about: str = ""
    profile_picture: str = ""
    contact_email: str = ""
    website: str = ""
    social_accounts: list[str] = field(default_factory=list)
    is_public: bool = False
    members: dict[str, Member] = field(default_factory=dict)
    bots: list[Bot] = field(default_factory=list)

    @property
    def bot_count(self) -> int:
        """The number of bots, as the API's ``botCount`` reports it."""
        return len(self.bots)

    def to_api(self) -> dict[str, Any]:
        """Return this workspace as ``getWorkspace`` and ``listWorkspaces`` return it."""
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "ownerId": self.owner_id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "botCount": self.bot_count,
            "billingVersion": self.billing_version,
            "plan": self.plan,
            "blocked": self.blocked,
            "spendingLimit": self.spending_limit,
            "about": self.about,
            "profilePicture": self.profile_picture,
            "contactEmail": self.contact_email,
            "website": self.website,
            "socialAccounts": list(self.social_accounts),
            "isPublic": self.is_public,
            "activeTrialId": self.active_trial_id,
        }
        if self.handle is not None:
            body["handle"] = self.handle
        return body

    def to_file(self) -> dict[str, Any]:
        """Return this workspace in the world file format."""
        body = self.to_api()
        del body["botCount"]
        body["members"] = [member.to_file() for member in self.members.values()]
        body["bots"] = [bot.to_file() for bot in self.bots]
        return body


@dataclass
class World:
    """Everything a sandbox knows; insertion order of ``workspaces`` is the listing order.

    ``tokens`` maps a valid token to its account id, in creation order; each is a Personal
    Access Token whose id, note and date are in ``pats`` (by token; :meth:`pat` gives a
    default for a token added to ``tokens`` directly).  ``invalid_tokens`` holds expired or
    revoked tokens, which are always refused.  Mutators raise ``ValueError`` when asked to
    create something that already exists and ``KeyError`` when they refer to an unknown
    account or workspace.
    """

    accounts: dict[str, Account] = field(default_factory=dict)
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    pats: dict[str, Pat] = field(default_factory=dict)
    invalid_tokens: set[str] = field(default_factory=set)
    lock: threading.RLock = field(
        default_factory=threading.RLock, init=False, repr=False, compare=False
    )

    def add_account(
        self,
        email: str,
        display_name: str | None = None,
        *,
        account_id: str | None = None,
        email_verified: bool = True,
        created_at: str = DEFAULT_TIMESTAMP,
    ) -> str:
        """Add an account and return its id (by default a UUID derived from ``email``)."""
        new_id = account_id if account_id is not None else stable_id("account", email)
        with self.lock:
            if new_id in self.accounts:
                raise ValueError(f"account {new_id!r} already exists")
            self.accounts[new_id] = Account(
                id=new_id,
                email=email,
                display_name=display_name,
                email_verified=email_verified,
                created_at=created_at,
            )
        return new_id

    def add_token(
        self,
        token: str,
        account_id: str,
        *,
        note: str = "",
        pat_id: str | None = None,
        created_at: str | None = None,
    ) -> Pat:
        """Make ``token`` a PAT of ``account_id`` (replacing any earlier binding); return it.

        The PAT id defaults to a UUID derived from the token, the date to the account's.
        """
        with self.lock:
            account = self._account(account_id)
            self.invalid_tokens.discard(token)
            self.tokens[token] = account_id
            pat = Pat(
                id=pat_id if pat_id is not None else stable_id("pat", token),
                note=note,
                created_at=created_at if created_at is not None else account.created_at,
            )
            self.pats[token] = pat
        return pat

    def add_invalid_token(self, token: str) -> None:
        """Register ``token`` as expired or revoked: it gets 401 from every operation."""
        with self.lock:
            self.tokens.pop(token, None)
            self.pats.pop(token, None)
            self.invalid_tokens.add(token)

    def pat(self, token: str) -> Pat:
        """The PAT of a valid token (``KeyError`` if it is not valid)."""
        with self.lock:
            account_id = self.tokens[token]
            pat = self.pats.get(token)
            if pat is None:
                created = self.accounts[account_id].created_at
                pat = Pat(id=stable_id("pat", token), created_at=created)
            return pat

    def pats_of(self, account_id: str) -> list[Pat]:
        """The PATs of ``account_id``, oldest first."""
        with self.lock:
            return [self.pat(token) for token, owner in self.tokens.items() if owner == account_id]

    def create_pat(self, account_id: str, note: str, created_at: str) -> tuple[Pat, str]:
        """Make a new random PAT for ``account_id``; return it and its value."""
        token = "bp_pat_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(38))
        pat = self.add_token(
            token, account_id, note=note, pat_id=str(uuid.uuid4()), created_at=created_at
        )
        return pat, token

    def delete_pat(self, account_id: str, pat_id: str) -> bool:
        """Revoke the PAT ``pat_id`` of ``account_id``; False if it has no such PAT."""
        with self.lock:
            for token, owner in list(self.tokens.items()):
                if owner == account_id and self.pat(token).id == pat_id:
                    self.add_invalid_token(token)
                    return True
        return False

    def revoke_token(self, token: str) -> None:
        """Turn a valid token into a revoked one; ``KeyError`` if it is not valid."""
        with self.lock:
            if token not in self.tokens:
                raise KeyError(token)
            self.add_invalid_token(token)

    def add_workspace(
        self,
        workspace_id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        owner_id: str | None = None,
        role: Role = "administrator",
        handle: str | None = None,
        plan: Plan = "team",
        billing_version: BillingVersion = "v4",
        created_at: str = DEFAULT_TIMESTAMP,
    ) -> Workspace:
        """Add a workspace and return it.

        The owner is ``owner_id`` or else the first of ``members``; it is a member with role
        ``owner``, every other member gets ``role``.  A workspace needs an owner: with neither
        ``owner_id`` nor ``members`` this raises ``ValueError``.
        """
        member_ids = list(members)
        owner = owner_id if owner_id is not None else (member_ids[0] if member_ids else None)
        if owner is None:
            raise ValueError(f"workspace {workspace_id!r} needs an owner or a member")
        with self.lock:
            if workspace_id in self.workspaces:
                raise ValueError(f"workspace {workspace_id!r} already exists")
            for account_id in [owner, *member_ids]:
                self._account(account_id)
            workspace = Workspace(
                id=workspace_id,
                name=name,
                owner_id=owner,
                handle=handle,
                plan=plan,
                billing_version=billing_version,
                created_at=created_at,
                updated_at=created_at,
            )
            self.workspaces[workspace_id] = workspace
            self.add_member(workspace_id, owner, "owner")
            for account_id in member_ids:
                if account_id != owner:
                    self.add_member(workspace_id, account_id, role)
        return workspace

    def add_member(self, workspace_id: str, account_id: str, role: Role) -> Member:
        """Make ``account_id`` a member of ``workspace_id`` with ``role`` (or change its role)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self.lock:
            workspace = self._workspace(workspace_id)
            account = self._account(account_id)
            member = Member(
                account_id=account_id,
                role=role,
                id=stable_id("member", workspace_id, account_id),
                created_at=account.created_at,
            )
            workspace.members[account_id] = member
        return member

    def add_bot(
        self,
        workspace_id: str,
        name: str,
        *,
        bot_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        deployed: bool = True,
        bot_type: BotType = "studio",
        dev: bool = False,
    ) -> Bot:
        """Add a bot to a workspace and return it; the default id is a UUID (36 characters)."""
        new_id = bot_id if bot_id is not None else stable_id("bot", workspace_id, name)
        if not 28 <= len(new_id) <= 36:
            raise ValueError(f"bot id {new_id!r} must be 28 to 36 characters")
        with self.lock:
            workspace = self._workspace(workspace_id)
            if any(bot.id == new_id for bot in workspace.bots):
                raise ValueError(f"bot {new_id!r} already exists")
            bot = Bot(
                id=new_id,
                name=name,
                created_at=workspace.created_at,
                updated_at=workspace.updated_at,
                deployed_at=workspace.updated_at if deployed else None,
                tags=dict(tags or {}),
                type=bot_type,
                dev=dev,
            )
            workspace.bots.append(bot)
        return bot

    def workspaces_of(self, account_id: str) -> list[Workspace]:
        """Return the workspaces ``account_id`` is a member of, in listing order."""
        with self.lock:
            return [ws for ws in self.workspaces.values() if account_id in ws.members]

    def generate(
        self, n_profiles: int, *, prefix: str = "bench", bots_per_workspace: int = 1
    ) -> list[tuple[str, str]]:
        """Add ``n_profiles`` accounts, each with one token and one workspace of its own.

        Tokens look like the demo ones (``bp_pat_`` + 38 characters) and workspace ids are
        ``ws_<prefix><index>``.  Returns the ``(token, workspace_id)`` pairs in order; a
        second call needs another ``prefix``.
        """
        if n_profiles < 0 or bots_per_workspace < 0:
            raise ValueError("n_profiles and bots_per_workspace must not be negative")
        if not prefix.isalnum():
            raise ValueError("prefix must be alphanumeric")
        width = 38 - len(prefix)
        if width < len(str(n_profiles)):
            raise ValueError("prefix is too long")
        pairs: list[tuple[str, str]] = []
        with self.lock:
            for index in range(1, n_profiles + 1):
                label = f"{prefix}{index:05d}"
                account_id = self.add_account(f"{label}@example.com", f"Profile {label}")
                token = f"bp_pat_{prefix}{index:0{width}d}"
                if token in self.tokens or token in self.invalid_tokens:
                    raise ValueError(f"token for {label!r} already exists")
                self.add_token(token, account_id)
                workspace_id = f"ws_{label}"
                self.add_workspace(workspace_id, f"Workspace {label}", [account_id], handle=label)
                for bot_index in range(1, bots_per_workspace + 1):
                    self.add_bot(workspace_id, f"bot-{bot_index}")
                pairs.append((token, workspace_id))
        return pairs

    @classmethod
    def demo(cls) -> World:
        """Return a fresh demo world.

        * ``ALICE_TOKEN``: alice@example.com ("Alice"), owner of ``ws_acme`` ("acme", 3 bots),
          administrator of ``ws_globex`` ("Globex Corp", 2 bots) and developer of
          ``ws_team01`` .. ``ws_team45`` ("Team 01" ..): 47 workspaces, 3 pages of 20.
        * ``BOB_TOKEN``: bob@example.com ("Bob"), owner of ``ws_initech`` ("initech", 2 bots)
          only; ``ws_acme`` is forbidden to him.
        * ``DANA_TOKEN``: dana@example.com ("Dana"), manager of ``ws_globex``, viewer of Hooli
          (``HOOLI_WORKSPACE_ID``, a UUID as real ids are: one bot, one dev bot) and billing
          member of Umbrella (``UMBRELLA_WORKSPACE_ID``, no bots).
        * ``EXPIRED_TOKEN``: refused (401) everywhere.
        * carol@example.com owns globex, Hooli, Umbrella and the team workspaces; she has no
          token.

        Each token is a PAT of its account, noted ``demo``.
        """
        world = cls()
        alice = world.add_account(ALICE_EMAIL, "Alice", created_at="2023-03-01T08:00:00.000Z")
        bob = world.add_account(BOB_EMAIL, "Bob", created_at="2023-06-12T14:20:00.000Z")
        carol = world.add_account(CAROL_EMAIL, "Carol", created_at="2023-01-20T11:00:00.000Z")
        dana = world.add_account(DANA_EMAIL, "Dana", created_at="2023-09-05T16:45:00.000Z")
        world.add_token(ALICE_TOKEN, alice, note="demo")
        world.add_token(BOB_TOKEN, bob, note="demo")
        world.add_token(DANA_TOKEN, dana, note="demo")
        world.add_invalid_token(EXPIRED_TOKEN)

        world.add_workspace("ws_acme", "acme", [alice], handle="acme", plan="team")
        for name in ("support-bot", "sales-assistant", "onboarding"):
            world.add_bot("ws_acme", name, tags={"team": "acme"})
        world.add_workspace(
            "ws_globex",
            "Globex Corp",
            [alice],
            owner_id=carol,
            handle="globex",
            plan="enterprise",
            created_at="2023-04-02T10:00:00.000Z",
        )
        for name in ("helpdesk", "hr-faq"):
            world.add_bot("ws_globex", name)
        world.add_member("ws_globex", dana, "manager")
        world.add_workspace(
            "ws_initech",
            "initech",
            [bob],
            handle="initech",
            plan="community",
            billing_version="v3",
            created_at="2023-07-01T09:15:00.000Z",
        )
        for name in ("tps-reports", "printer-support"):
            world.add_bot("ws_initech", name, deployed=name == "tps-reports")
        for index in range(1, DEMO_TEAM_WORKSPACES + 1):
            world.add_workspace(
                f"ws_team{index:02d}",
                f"Team {index:02d}",
                [alice],
                owner_id=carol,
                role="developer",
                handle=f"team{index:02d}",
                plan="community",
            )
        world.add_workspace(
            HOOLI_WORKSPACE_ID,
            "Hooli",
            [dana],
            owner_id=carol,
            role="viewer",
            handle="hooli",
            plan="plus",
            created_at="2023-10-10T10:10:00.000Z",
        )
        world.add_bot(HOOLI_WORKSPACE_ID, "nucleus", tags={"team": "search"})
        world.add_bot(HOOLI_WORKSPACE_ID, "nucleus-dev", bot_type="adk", dev=True, deployed=False)
        world.add_workspace(
            UMBRELLA_WORKSPACE_ID,
            "Umbrella",
            [dana],
            owner_id=carol,
            role="billing",
            handle="umbrella",
            created_at="2023-11-11T11:11:00.000Z",
        )
        return world

    def to_dict(self) -> dict[str, Any]:
        """Return the world in the file format described in the module docstring."""
        with self.lock:
            accounts: list[dict[str, Any]] = []
            for account in self.accounts.values():
                entry = account.to_api()
                if account.display_name is None:
                    entry["displayName"] = None
                accounts.append(entry)
            return {
                "version": FORMAT_VERSION,
                "accounts": accounts,
                "tokens": dict(self.tokens),
                "pats": {token: self.pat(token).to_api() for token in self.tokens},
                "invalidTokens": sorted(self.invalid_tokens),
                "workspaces": [ws.to_file() for ws in self.workspaces.values()],
            }

    def to_json(self) -> str:
        """Return :meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: object) -> World:
        """Build a world from the file format; ``ValueError`` names the first bad field."""
        root = _obj(data, "world")
        if root.get("version") != FORMAT_VERSION:
            raise ValueError(f"world: version must be {FORMAT_VERSION}")
        world = cls()
        for index, raw in enumerate(_list(root.get("accounts", []), "accounts")):
            where = f"accounts[{index}]"
            item = _obj(raw, where)
            account = Account(
                id=_str(item, "id", where),
                email=_str(item, "email", where),
                display_name=_opt_str(item, "displayName", where),
                email_verified=_bool(item, "emailVerified", where, True),
                created_at=_str(item, "createdAt", where, DEFAULT_TIMESTAMP),
                profile_picture=_opt_str(item, "profilePicture", where),
            )
            if account.id in world.accounts:
                raise ValueError(f"{where}: duplicate id {account.id!r}")
            world.accounts[account.id] = account
        pats = _obj(root.get("pats", {}), "pats")
        for token, account_id in _obj(root.get("tokens", {}), "tokens").items():
            if not isinstance(account_id, str) or account_id not in world.accounts:
                raise ValueError(f"tokens: unknown account {account_id!r}")
            where = f"pats[{token!r}]"
            pat = _obj(pats.get(token, {}), where)
            world.add_token(
                token,
                account_id,
                note=_str(pat, "note", where, ""),
                pat_id=_str(pat, "id", where, stable_id("pat", token)),
                created_at=_str(pat, "createdAt", where, world.accounts[account_id].created_at),
            )
        unknown = set(pats) - set(world.tokens)
        if unknown:
            raise ValueError(f"pats: {len(unknown)} entries of no token in 'tokens'")
        for index, token in enumerate(_list(root.get("invalidTokens", []), "invalidTokens")):
            if not isinstance(token, str):
                raise ValueError(f"invalidTokens[{index}]: must be a string")
            world.add_invalid_token(token)
        for index, raw in enumerate(_list(root.get("workspaces", []), "workspaces")):
            workspace = _workspace_from_file(raw, f"workspaces[{index}]", world.accounts)
            if workspace.id in world.workspaces:
                raise ValueError(f"workspaces[{index}]: duplicate id {workspace.id!r}")
            world.workspaces[workspace.id] = workspace
        return world

    @classmethod
    def from_json(cls, text: str) -> World:
        """Parse :meth:`to_json` output; ``ValueError`` on bad JSON or a bad shape."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"world: invalid JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_file(cls, path: str | Path) -> World:
        """Read a world file; ``OSError`` if unreadable, ``ValueError`` if malformed."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def _account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise KeyError(f"unknown account {account_id!r}") from None

    def _workspace(self, workspace_id: str) -> Workspace:
        try:
            return self.workspaces[workspace_id]
        except KeyError:
            raise KeyError(f"unknown workspace {workspace_id!r}") from None


def _workspace_from_file(raw: object, where: str, accounts: Mapping[str, Account]) -> Workspace:
    item = _obj(raw, where)
    workspace_id = _str(item, "id", where)
    created_at = _str(item, "createdAt", where, DEFAULT_TIMESTAMP)
    updated_at = _str(item, "updatedAt", where, created_at)
    workspace = Workspace(
        id=workspace_id,
        name=_str(item, "name", where),
        owner_id=_str(item, "ownerId", where),
        created_at=created_at,
        updated_at=updated_at,
        billing_version=_choice(item, "billingVersion", where, BILLING_VERSIONS, "v4"),
        plan=_choice(item, "plan", where, PLANS, "team"),
        blocked=_bool(item, "blocked", where, False),
        spending_limit=_number(item, "spendingLimit", where, 100),
        active_trial_id=_opt_str(item, "activeTrialId", where),
        handle=_opt_str(item, "handle", where),
        about=_str(item, "about", where, ""),
        profile_picture=_str(item, "profilePicture", where, ""),
        contact_email=_str(item, "contactEmail", where, ""),
        website=_str(item, "website", where, ""),
        social_accounts=_str_list(item, "socialAccounts", where),
        is_public=_bool(item, "isPublic", where, False),
    )
    for index, raw_member in enumerate(_list(item.get("members", []), f"{where}.members")):
        at = f"{where}.members[{index}]"
        member_item = _obj(raw_member, at)
        account_id = _str(member_item, "accountId", at)
        if account_id not in accounts:
            raise ValueError(f"{at}: unknown account {account_id!r}")
        workspace.members[account_id] = Member(
            account_id=account_id,
            role=_choice(member_item, "role", at, ROLES, None),
            id=_str(member_item, "id", at, stable_id("member", workspace_id, account_id)),
            created_at=_str(member_item, "createdAt", at, DEFAULT_TIMESTAMP),
        )
    for index, raw_bot in enumerate(_list(item.get("bots", []), f"{where}.bots")):
        at = f"{where}.bots[{index}]"
        bot_item = _obj(raw_bot, at)
        bot = Bot(
            id=_str(bot_item, "id", at),
            name=_str(bot_item, "name", at),
            created_at=_str(bot_item, "createdAt", at, created_at),
            updated_at=_str(bot_item, "updatedAt", at, updated_at),
            deployed_at=_opt_str(bot_item, "deployedAt", at),
            tags=_str_map(bot_item, "tags", at),
            type=_choice(bot_item, "type", at, BOT_TYPES, "studio"),
            dev=_bool(bot_item, "dev", at, False),
        )
        if not 28 <= len(bot.id) <= 36:
            raise ValueError(f"{at}: id must be 28 to 36 characters")
        workspace.bots.append(bot)
    return workspace


_MISSING: Any = object()
_Choice = TypeVar("_Choice", bound=str)


def _obj(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"{where}: must be an object")
    return cast(dict[str, Any], value)


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be a list")
    return value


def _get(item: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    if key in item:
        return item[key]
    if default is _MISSING:
        raise ValueError(f"{where}: missing {key!r}")
    return default


def _str(item: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> str:
    value = _get(item, key, where, default)
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: must be a string")
    return value


def _opt_str(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}.{key}: must be a string or null")
    return value


def _bool(item: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{key}: must be a boolean")
    return value


def _number(item: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}.{key}: must be a number")
    return value


def _str_list(item: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = _list(item.get(key, []), f"{where}.{key}")
    if not all(isinstance(entry, str) for entry in value):
        raise ValueError(f"{where}.{key}: must be a list of strings")
    return list(value)


def _str_map(item: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = _obj(item.get(key, {}), f"{where}.{key}")
    if not all(isinstance(entry, str) for entry in value.values()):
        raise ValueError(f"{where}.{key}: values must be strings")
    return dict(value)


def _choice(
    item: Mapping[str, Any],
    key: str,
    where: str,
    choices: tuple[_Choice, ...],
    default: _Choice | None,
) -> _Choice:
    value = item.get(key, default)
    if value not in choices:
        raise ValueError(f"{where}.{key}: must be one of {', '.join(choices)}")
    return cast(_Choice, value)
