"""Issue #20, class 9: every observation a term reads is its evidence (cds/derive.py), not only
the one it picks: the first of a spread of dates, each one of a count, as parsed from a ruleset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cds.conditions import Derived
from cds.derive import derived_facts
from cds.facts import ObservationFact, PatientFact, PatientFacts
from cds.terminology import Terminology

AS_OF = dt.date(2026, 11, 22)
UNITS = Terminology.load(Path(__file__).parent.parent / "rulesets" / "terminology.yaml").units


def _facts() -> PatientFacts:
    weights = [("o1", "2026-06-01", 70.0, "kg"), ("o2", "2026-09-01", 160.0, "lbs"), ("o3", "2026-11-15", 68.0, "kg"),
               ("o4", "2026-11-16", None, None)]
    observations = [ObservationFact(ref=f"Observation/{ref}", vs=["weight"], date=dt.date.fromisoformat(day),
                                    value=value, unit=unit, display="Body weight")
                    for ref, day, value, unit in weights]
    return PatientFacts(patient=PatientFact(ref="Patient/p", as_of=AS_OF), conditions=[], medications=[],
                        observations=observations, courses={}, warnings=[])


def _evidence(spec: dict[str, object]) -> list[str]:
    [fact] = derived_facts(_facts(), "S0000", [Derived("observation:t", "observation", spec)], UNITS, [])
    return [fact["ref"], *fact.get("evidence", [])]


def test_a_spread_of_usable_values_cites_the_first_and_the_last() -> None:
    spec = {"in": ("weight",), "within_days": 183, "before": "as-of", "pick": "latest", "unit": "kg",
            "cite": "first-and-last"}
    assert _evidence(spec) == ["Observation/o3", "Observation/o1"]


def test_a_count_cites_every_observation_counted() -> None:
    spec = {"in": ("weight",), "within_days": 183, "before": "as-of", "pick": "latest", "cite": "all"}
    assert sorted(_evidence(spec)) == ["Observation/o1", "Observation/o2", "Observation/o3", "Observation/o4"]


def test_a_picked_value_cites_the_one_picked() -> None:
    spec = {"in": ("weight",), "within_days": 183, "before": "as-of", "pick": "latest", "unit": "kg"}
    assert _evidence(spec) == ["Observation/o3"]
