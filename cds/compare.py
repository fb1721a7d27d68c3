"""The comparisons a ruleset may write (`{lt: 16}`, `{ge: 2, le: 3}`), once for every reader.

The condition language compiles them into durable-rules patterns, derived facts and routing claims
test them in Python, and the catalog says them in words: one table, so the three cannot drift.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    name: str                                   # as written in a ruleset
    durable: str                                # the durable-rules operator ("=": a plain match)
    holds: Callable[[float, float], bool]       # value `op` limit
    words: str                                  # "below 16"


OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("lt", "$lt", operator.lt, "below"),
    Operator("le", "$lte", operator.le, "at most"),
    Operator("gt", "$gt", operator.gt, "above"),
    Operator("ge", "$gte", operator.ge, "at least"),
    Operator("eq", "=", operator.eq, "equal to"),
)}


def holds(value: float | None, bounds: dict[str, float] | tuple[tuple[str, float], ...]) -> bool:
    """Every bound holds of the value; a value that cannot be read holds none (no bounds: true)."""
    pairs = bounds.items() if isinstance(bounds, dict) else bounds
    if not pairs:
        return True
    return value is not None and all(OPERATORS[op].holds(float(value), float(limit)) for op, limit in pairs)


def in_words(bounds: dict[str, float] | tuple[tuple[str, float], ...], unit: str = "") -> str:
    """`{ge: 2, le: 3}` in words: "at least 2 mg and at most 3 mg"."""
    pairs = bounds.items() if isinstance(bounds, dict) else bounds
    suffix = f" {unit}" if unit else ""
    return " and ".join(f"{OPERATORS[op].words} {float(limit):g}{suffix}" for op, limit in pairs)
