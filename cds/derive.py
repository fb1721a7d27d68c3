"""Derived facts: what a condition reads that is computed over many entries of the record.

A measurement picked in a window (the most recent, the lowest, the highest), a count of
observations, of drug classes in the medication history or of active conditions: durable-rules
does not aggregate, so each distinct one (cds/conditions `Derived`) is computed once per
evaluation by its term kind (cds/conditions/kinds) and asserted as one fact that the rules compare.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from .conditions import REGISTRY, Derived
from .facts import PatientFacts
from .fhir.errors import Problem
from .terminology.units import Units


def derived_facts(facts: PatientFacts, therapy: str, specs: Iterable[Derived], units: Units,
                  warnings: list[Problem], memo: dict[Any, dict[str, Any] | None] | None = None) -> list[dict[str, Any]]:
    """One fact per spec that found something (a count is asserted even when 0). `memo`, shared by
    the therapies of one evaluation: a spec that several rulesets read is computed once per order
    date (its only dependence on the therapy, unless it reads the therapy's own orders; warnings
    are kept once anyway)."""
    order = facts.order_date(therapy)
    anchors: dict[str, dt.date | None] = {"as-of": facts.patient.as_of, "order": order,
                                          "order-or-as-of": order or facts.patient.as_of}
    memo = {} if memo is None else memo
    found: list[dict[str, Any]] = []
    for spec in specs:
        kind = REGISTRY[spec.kind]
        if kind.per_therapy:
            fact = kind.compute(facts, spec, anchors, units, warnings, therapy)
        elif (spec.key, order) in memo:
            fact = memo[(spec.key, order)]
        else:
            fact = memo[(spec.key, order)] = kind.compute(facts, spec, anchors, units, warnings, therapy)
        if fact is not None:
            found.append({"t": "derived", "key": spec.key, "therapy": therapy, **fact})
    return found
