"""Medians with min and max, and how they are printed."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel


class Figure(BaseModel):
    """A measure over repeated runs."""

    median: float
    min: float
    max: float
    runs: int
    unit: str

    @classmethod
    def of(cls, values: Sequence[float], unit: str) -> "Figure":
        return cls(median=statistics.median(values), min=min(values), max=max(values), runs=len(values), unit=unit)

    def __str__(self) -> str:
        return f"{_num(self.median)} {self.unit} ({_num(self.min)}-{_num(self.max)})"


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
