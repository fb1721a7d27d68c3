"""UCUM units the rulesets may name, the spellings records print them in, and the conversions
between them, from terminology.yaml `units`.

A unit is read in its UCUM code or one of its printed spellings ("lbs" is [lb_av],
"mL/min/1.73m2" is mL/min/{1.73_m2}: criteria README, "Units as written"). A value in a unit
the table does not name, or one that cannot be converted to the unit a condition names, is not
used (and is reported as a warning): criteria README, "Measurements".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ..fhir.errors import Problem


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
    # UCUM code -> the other ways records print it (lbs, mL/min/1.73m2); compared as fold does.
    spellings: dict[str, list[str]] = {}
    conversions: list[Conversion] = []
    sources: list[str]
    _codes: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _index(self) -> Units:
        codes = {fold(u): u for u in self.known}
        for code, spelled in self.spellings.items():
            if fold(code) not in codes:
                raise ValueError(f"units.spellings: {code!r} is not in units.known")
            for spelling in spelled:
                taken = codes.setdefault(fold(spelling), codes[fold(code)])
                if taken != codes[fold(code)]:
                    raise ValueError(f"units.spellings: {spelling!r} spells both {taken} and {code}")
        for conversion in self.conversions:
            for unit in (conversion.from_, conversion.to):
                if fold(unit) not in codes:
                    raise ValueError(f"units.conversions: {unit!r} is not in units.known")
        self._codes = codes
        return self

    def code(self, unit: str | None) -> str | None:
        """The UCUM code of a unit as written (its code or a spelling); None: a unit the table
        does not name (or none)."""
        return self._codes.get(fold(unit)) if unit else None

    def knows(self, unit: str) -> bool:
        return self.code(unit) is not None

    def convert(self, value: float, unit: str | None, to: str, valuesets: list[str]) -> float | None:
        """The value in `to`, or None when the unit is not one the table names or no declared
        conversion applies."""
        source, target = self.code(unit), self.code(to)
        if source is None or target is None:
            return None
        if source == target:
            return value
        for conversion in self.conversions:
            if conversion.for_ and not set(conversion.for_).intersection(valuesets):
                continue
            start, end = self.code(conversion.from_), self.code(conversion.to)
            if (start, end) == (source, target):
                return value * conversion.factor
            if (end, start) == (source, target):
                return value / conversion.factor
        return None

    def reading(self, ref: str, value: float, unit: str | None, to: str, valuesets: list[str],
                warnings: list[Problem]) -> float | None:
        """An observation's value in `to`; one that cannot be converted is not used, with a
        warning once (criteria README "Units as written")."""
        converted = self.convert(value, unit, to, valuesets)
        if converted is None:
            problem = Problem(source=ref, element="Observation.valueQuantity", severity="warning",
                              message=f"unit {unit or 'missing'} cannot be compared with {to}: value not used")
            if problem not in warnings:
                warnings.append(problem)
        return converted


def fold(unit: str) -> str:
    """A unit as compared: case, spaces and the micro sign do not count."""
    # Records write mEq/L and meq/L, mL and ml, "1.73 m2" and "1.73m2", µ and μ alike; UCUM's case
    # matters only for units no record here uses (e.g. Pa vs PA), so units are compared
    # case-insensitively, without spaces, with either micro sign read as u.
    return "".join(unit.split()).lower().replace("\u00b5", "u").replace("\u03bc", "u").replace("\u00b2", "2")
