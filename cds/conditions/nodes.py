"""The parsed form of a condition: terms joined by all, any and none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Compare:
    """A number compared: `{lt: 16}`, `{ge: 2, le: 3}`; or `unknown` (the value is absent)."""

    bounds: tuple[tuple[str, float], ...] = ()
    unknown: bool = False


@dataclass(frozen=True)
class Term:
    kind: str
    spec: dict[str, Any]
    # A key shared by the terms that read one derived fact (a measurement picked in a
    # window, a count): computed once per evaluation (cds/derive.py).
    derived: str | None = None


@dataclass(frozen=True)
class Not:
    term: Term


@dataclass(frozen=True)
class All:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Any_:
    items: tuple["Node", ...]


Node = Union[Term, Not, All, Any_]


@dataclass(frozen=True)
class Derived:
    """A fact computed from the record before the rules run, shared by the terms naming it."""

    key: str
    kind: str           # the term kind that computes it (cds/conditions/kinds)
    spec: dict[str, Any]


def terms(node: Node) -> list[Term]:
    """Every term of a parsed condition, in order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return [node.term]
    return [t for item in node.items for t in terms(item)]
