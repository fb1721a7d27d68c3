"""The pieces of durable-rules patterns the terms are built from.

Facts are flattened for the engine (cds/engine/run.py `engine_view`): a list property becomes one
flag per item, present only when true, so "in the set" tests a flag and "not in" its absence.
"""

from __future__ import annotations

from typing import Any

from ..compare import OPERATORS
from .nodes import Compare

Pattern = dict[str, Any]


def one_of(field: str, values: list[Any] | tuple[Any, ...]) -> Pattern:
    if len(values) == 1:
        return {field: values[0]}
    return {"$or": [{field: v} for v in values]}


def one_of_flags(flags: list[str]) -> Pattern:
    if len(flags) == 1:
        return {flags[0]: True}
    return {"$or": [{flag: True} for flag in flags]}


def flag(field: str, value: str) -> str:
    """The flag that stands for `value in fact[field]` (see run.engine_view)."""
    return f"{field}__{value}"


def any_item(field: str, values: list[str] | tuple[str, ...]) -> Pattern:
    return one_of_flags([flag(field, v) for v in values])


def absent(field: str, value: str) -> Pattern:
    """`value` is not in the fact's list `field` (its flag is absent)."""
    return {"$nex": {flag(field, value): 1}}


def compared(field: str, compare: Compare) -> list[Pattern]:
    """The field in the comparison; `unknown`: the field is absent."""
    if compare.unknown:
        return [{"$nex": {field: 1}}]
    return [{field: number} if op == "eq" else {OPERATORS[op].durable: {field: number}}
            for op, number in compare.bounds]


def bounded(compare: Compare, prefix: str = "") -> list[Pattern]:
    """A measured value compared through its bounds (cds/conditions/measured.py `bounds`): "below X"
    holds when the upper bound is under X, or is X and open ("<1 %" is below 1 %); "at most X"
    when the upper bound is at most X; "above" and "at least" alike on the lower bound; "equal"
    when both bounds are X. A value that is only a bound never decides the other side: it matches
    neither branch."""
    if compare.unknown:
        return [{"$nex": {f"{prefix}upper": 1}}, {"$nex": {f"{prefix}lower": 1}}] if prefix else [{"$nex": {"value": 1}}]
    parts: list[Pattern] = []
    upper, lower = f"{prefix}upper", f"{prefix}lower"
    for op, number in compare.bounds:
        if op == "eq":
            parts += [{upper: number}, {lower: number}]
        elif op in ("lt", "gt"):
            side = upper if op == "lt" else lower
            strict, reached = ("$lt", "$lte") if op == "lt" else ("$gt", "$gte")
            parts.append({"$or": [{strict: {side: number}},
                                  {"$and": [{f"{side}_open": True}, {reached: {side: number}}]}]})
        else:
            parts.append({OPERATORS[op].durable: {upper if op == "le" else lower: number}})
    return parts


def derived(key: str | None, therapy: str, *parts: Pattern) -> Pattern:
    """A derived fact is computed for one therapy (its windows may end at that therapy's order)."""
    return {"$and": [{"t": "derived"}, {"key": key}, {"therapy": therapy}, *parts]}
