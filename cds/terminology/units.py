"""UCUM units the rulesets may name, and the conversions between them, from terminology.yaml.

A value in a unit that cannot be converted to the one a condition names is not used (and is
reported as a warning): criteria README, "Measurements".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Conversion(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    factor: float
    # Analyte-specific conversions (mmol/L -> mg/dL for magnesium) hold only for these value sets.
    for_: list[str] = Field(default=[], alias="for")


class Units(BaseModel):
    model_config = ConfigDict(extra="forbid")
    known: list[str]
    conversions: list[Conversion] = []
    sources: list[str]

    def knows(self, unit: str) -> bool:
        return _fold(unit) in {_fold(u) for u in self.known}

    def convert(self, value: float, unit: str | None, to: str, valuesets: list[str]) -> float | None:
        """The value in `to`, or None when no declared conversion applies."""
        if unit is None:
            return None
        if _fold(unit) == _fold(to):
            return value
        for conversion in self.conversions:
            if conversion.for_ and not set(conversion.for_).intersection(valuesets):
                continue
            if _fold(conversion.from_) == _fold(unit) and _fold(conversion.to) == _fold(to):
                return value * conversion.factor
            if _fold(conversion.to) == _fold(unit) and _fold(conversion.from_) == _fold(to):
                return value / conversion.factor
        return None


def _fold(unit: str) -> str:
    # Records write mEq/L and meq/L, mL and ml alike; UCUM's case matters only for units no
    # record here uses (e.g. Pa vs PA), so units are compared case-insensitively.
    return unit.strip().lower()
