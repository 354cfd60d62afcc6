"""The admin API's answers as bpshell reads them: plain records, validated by pydantic_core.

Each answer bpshell reads has a :class:`Shape`: the core schema of the JSON it takes (unknown
keys ignored, as the API grows) and the records it makes. Names lose control and bidi
characters and are capped at :data:`MAX_NAME_CHARS` here, where they enter; PAT ids are
checked, since they become path segments and command-line words.

Built on pydantic's core engine directly, not on ``pydantic.BaseModel``: the models' module
and their schema build cost a login about 100 ms (``-X importtime``), more than its round
trip; a shape's validator is built the first time that answer is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from bpshell.config import check_token
from bpshell.errors import UsageError

if TYPE_CHECKING:
    from pydantic_core import CoreSchema, SchemaValidator

MAX_NAME_CHARS = 200

T = TypeVar("T")


def shown_name(value: str) -> str:
    """A name from a server as it may be shown: control characters (escape sequences, bidi
    overrides and isolates, marks, zero-width characters) dropped, other whitespace made a
    space, cut to :data:`MAX_NAME_CHARS` with an ellipsis."""
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in value)
    return value if len(value) <= MAX_NAME_CHARS else value[: MAX_NAME_CHARS - 1] + "…"


def checked_pat_id(value: str) -> str:
    """A PAT id as bpshell accepts it: it becomes a path segment and a command-line word."""
    allowed = all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    if not (allowed and 0 < len(value) <= 128):
        raise ValueError('a PAT id has only letters, digits, "_" and "-"')
    return value


def _pat_value(value: str) -> str:
    """A new token as bpshell would store it (no message shows it: it is the secret)."""
    try:
        check_token(value)
    except UsageError:
        raise ValueError("not a token") from None
    return value


class Account(NamedTuple):
    """The account a token belongs to."""

    id: str
    email: str
    displayName: str | None = None


class Workspace(NamedTuple):
    """A workspace, as much of it as bpshell shows."""

    id: str
    name: str
    handle: str | None = None


class Member(NamedTuple):
    """The caller's membership of a workspace: its role decides what the login can do."""

    role: str
    email: str = ""


class Bot(NamedTuple):
    """A bot of a workspace."""

    id: str
    name: str


class Pat(NamedTuple):
    """A Personal Access Token as the API lists it: never its value."""

    id: str
    createdAt: str
    note: str


class NewPat(NamedTuple):
    """A PAT just created: the one answer that carries its value (kept out of ``repr``)."""

    id: str
    createdAt: str
    note: str
    value: str

    def __repr__(self) -> str:
        return f"NewPat(id={self.id!r}, createdAt={self.createdAt!r}, note={self.note!r})"


class Page(NamedTuple, Generic[T]):
    """One page of a listing, and the token of the next (None: the last page)."""

    items: list[T]
    next_token: str | None


class ErrorBody(NamedTuple):
    """``{id, code, type, message}``, or the rate limiter's ``{type, description, status}``."""

    type: str = "Unknown"
    message: str = ""
    description: str = ""


class Shape(Generic[T]):
    """What one answer must look like (a core schema, made by ``schema`` when first used), and
    the record it becomes."""

    def __init__(self, schema: Callable[[], CoreSchema]) -> None:
        self._schema = schema
        self._validator: SchemaValidator | None = None

    def parse(self, body: bytes) -> T:
        """The record of a JSON body; raises pydantic_core.ValidationError."""
        if self._validator is None:
            from pydantic_core import SchemaValidator

            self._validator = SchemaValidator(self._schema())
        found: T = self._validator.validate_json(body)
        return found


def _record(make: Callable[..., Any], fields: dict[str, tuple[CoreSchema, bool]]) -> CoreSchema:
    """An object of ``fields`` (name: (schema, required)), unknown keys ignored, as ``make``'s
    keyword arguments (a missing optional field takes ``make``'s default)."""
    from pydantic_core import core_schema as cs

    typed = cs.typed_dict_schema(
        {
            name: cs.typed_dict_field(schema, required=needed)
            for name, (schema, needed) in fields.items()
        },
        extra_behavior="ignore",
    )
    return cs.no_info_after_validator_function(lambda data: make(**data), typed)


def _text() -> CoreSchema:
    from pydantic_core import core_schema as cs

    return cs.str_schema()


def _name() -> CoreSchema:
    from pydantic_core import core_schema as cs

    return cs.no_info_after_validator_function(shown_name, cs.str_schema())


def _optional(schema: CoreSchema) -> CoreSchema:
    from pydantic_core import core_schema as cs

    return cs.nullable_schema(schema)


def _checked(check: Callable[[str], str]) -> CoreSchema:
    from pydantic_core import core_schema as cs

    return cs.no_info_after_validator_function(check, cs.str_schema())


def _account() -> CoreSchema:
    return _record(
        Account,
        {
            "id": (_text(), True),
            "email": (_name(), True),
            "displayName": (_optional(_name()), False),
        },
    )


def _workspace() -> CoreSchema:
    return _record(
        Workspace,
        {"id": (_text(), True), "name": (_name(), True), "handle": (_optional(_name()), False)},
    )


def _pat_fields() -> dict[str, tuple[CoreSchema, bool]]:
    return {
        "id": (_checked(checked_pat_id), True),
        "createdAt": (_text(), True),
        "note": (_name(), True),
    }


def _page(key: str, item: Callable[[], CoreSchema]) -> CoreSchema:
    from pydantic_core import core_schema as cs

    meta = _record(dict, {"nextToken": (_optional(_text()), False)})

    def make(**data: Any) -> Page[Any]:
        return Page(data[key], data["meta"].get("nextToken"))

    return _record(make, {key: (cs.list_schema(item()), True), "meta": (meta, True)})


def _only(key: str, item: Callable[[], CoreSchema]) -> CoreSchema:
    """``{key: item}``, as the item."""
    return _record(lambda **data: data[key], {key: (item(), True)})


ACCOUNT: Shape[Account] = Shape(lambda: _only("account", _account))
WORKSPACE: Shape[Workspace] = Shape(_workspace)
MEMBER: Shape[Member] = Shape(
    lambda: _record(Member, {"role": (_name(), True), "email": (_name(), False)})
)
WORKSPACES: Shape[Page[Workspace]] = Shape(lambda: _page("workspaces", _workspace))
BOTS: Shape[Page[Bot]] = Shape(
    lambda: _page("bots", lambda: _record(Bot, {"id": (_text(), True), "name": (_name(), True)}))
)
PATS: Shape[list[Pat]] = Shape(
    lambda: _only("pats", lambda: _list(lambda: _record(Pat, _pat_fields())))
)
NEW_PAT: Shape[NewPat] = Shape(
    lambda: _only(
        "pat", lambda: _record(NewPat, {**_pat_fields(), "value": (_checked(_pat_value), True)})
    )
)
NOTHING: Shape[None] = Shape(lambda: _record(lambda **data: None, {}))
ERROR: Shape[ErrorBody] = Shape(
    lambda: _record(
        ErrorBody,
        {"type": (_text(), False), "message": (_text(), False), "description": (_text(), False)},
    )
)


def _list(item: Callable[[], CoreSchema]) -> CoreSchema:
    from pydantic_core import core_schema as cs

    return cs.list_schema(item())
