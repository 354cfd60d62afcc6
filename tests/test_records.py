"""``bpshell.records.Record`` behaves as ``typing.NamedTuple`` does for what bpshell uses."""

from __future__ import annotations

import pickle
from typing import NamedTuple

import pytest

from bpshell.records import Record


class Point(Record):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None

    @property
    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    def moved(self, by: int) -> Point:
        return self._replace(x=self.x + by)

    def __repr__(self) -> str:
        return f"<{self.x},{self.y}>"


class TypedPoint(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None


def test_fields_defaults_and_the_tuple_are_typing_s() -> None:
    assert Point._fields == TypedPoint._fields == ("x", "y", "label")
    assert Point._field_defaults == TypedPoint._field_defaults == {"y": 0, "label": None}
    assert Point(1) == TypedPoint(1) == (1, 0, None)
    assert Point(1, label="a") == (1, 0, "a")
    assert isinstance(Point(1), tuple)


def test_methods_properties_docstring_and_repr_are_kept() -> None:
    point = Point(2, -3)
    assert (point.norm1, point.moved(1), repr(point)) == (5, (3, -3, None), "<2,-3>")
    assert Point.__doc__ == "A point."
    assert Point.__module__ == __name__


def test_records_are_immutable_and_picklable() -> None:
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(point)) == point


def test_a_missing_argument_is_refused_as_typing_refuses_it() -> None:
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
