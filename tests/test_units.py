"""Units as records print them (criteria README "Units as written"): the UCUM code and the
common spellings of every unit a page names read alike; any other unit is not used."""

from __future__ import annotations

from pathlib import Path

import pytest

from cds.terminology import Terminology
from cds.terminology.units import Units

UNITS = Terminology.load(Path(__file__).parent.parent / "rulesets" / "terminology.yaml").units


@pytest.mark.parametrize(("value", "unit", "to", "expected"), [
    (150, "[lb_av]", "kg", 68.0389),
    (150, "lb", "kg", 68.0389),
    (150, "lbs", "kg", 68.0389),
    (150, "LBS", "kg", 68.0389),
    (70, "kg", "kg", 70),
    (70, "Kg", "kg", 70),
    (20, "mL/min/{1.73_m2}", "mL/min/{1.73_m2}", 20),
    (20, "mL/min/1.73m2", "mL/min/{1.73_m2}", 20),
    (20, "mL/min/1.73 m2", "mL/min/{1.73_m2}", 20),
    (20, "mL/min/1.73m²", "mL/min/{1.73_m2}", 20),
    (3.2, "mg/dl", "mg/dL", 3.2),
    (32, "g/L", "g/dL", 3.2),
    (150, "x10^9/L", "10*9/L", 150),
    (150, "K/uL", "10*9/L", 150),
    (0.8, "BU/mL", "[beth'U]/mL", 0.8),
    (15, "mcg/mL", "ug/mL", 15),
    (15, "µg/mL", "ug/mL", 15),
    (45, "percent", "%", 45),
])
def test_printed_spellings_read_as_their_ucum_code(value: float, unit: str, to: str, expected: float) -> None:
    converted = UNITS.convert(value, unit, to, [])
    assert converted == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("unit", ["[stone_av]", "st", "", None, "mL/min"])
def test_a_unit_the_table_does_not_name_is_not_used(unit: str | None) -> None:
    assert UNITS.convert(70, unit, "kg", []) is None
    assert UNITS.convert(20, unit, "mL/min/{1.73_m2}", []) is None


def test_a_spelling_of_two_units_is_a_load_error() -> None:
    with pytest.raises(ValueError, match="spells both"):
        Units(known=["kg", "[lb_av]"], spellings={"kg": ["k"], "[lb_av]": ["K"]}, sources=["UCUM"])
    with pytest.raises(ValueError, match="not in units.known"):
        Units(known=["kg"], spellings={"[lb_av]": ["lbs"]}, sources=["UCUM"])


@pytest.mark.parametrize(("code", "spelling"), [(code, spelling) for code, spellings in UNITS.spellings.items()
                                                for spelling in spellings])
def test_every_spelling_of_the_table_reads_as_its_ucum_code(code: str, spelling: str) -> None:
    # Every accepted printed form of every unit a page names (terminology.yaml units.spellings).
    assert UNITS.convert(12.5, spelling, code, []) == pytest.approx(12.5)
    assert UNITS.convert(12.5, spelling.upper(), code, []) == pytest.approx(12.5)
