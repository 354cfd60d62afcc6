"""``Record``: ``typing.NamedTuple``'s class syntax, made by ``collections.namedtuple``.

For the modules every start loads (the command table, the parser, completion, the cache and
``.bp-profile`` readers): ``import typing`` is about 2.5 ms of a 26 ms ``bp --version`` on a
regular install (``python -X importtime``), and ``typing.NamedTuple`` type-checks every
field's annotation when the class is made. Type checkers see ``typing.NamedTuple`` itself;
at run time a class body gives ``collections.namedtuple`` (which ``re`` has loaded already)
its fields, in order, with the defaults given, then its methods, properties and docstring.
Those modules write ``TYPE_CHECKING = False`` for the same reason, which mypy reads as
``typing.TYPE_CHECKING``.
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    _NAMESPACE = frozenset({"__module__", "__qualname__", "__annotations__"})

    class _Maker(type):
        def __new__(cls, name: str, bases: tuple[type, ...], body: dict[str, object]) -> type:
            fields = tuple(body.get("__annotations__", ()))
            defaults = [body[field] for field in fields if field in body]
            module = body["__module__"]
            made = collections.namedtuple(name, fields, defaults=defaults, module=module)
            for key, value in body.items():
                if key not in _NAMESPACE and key not in fields:
                    setattr(made, key, value)
            return made

    Record = type.__new__(_Maker, "Record", (), {})

__all__ = ["Record"]
