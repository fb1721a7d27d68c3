"""The test evidence beside each criterion: the cases (fixtures/cases) that exercise a branch or a
finding, each with the result it expects.

A case exercises a branch when it expects the branch's result and category for that criterion;
one expecting a result without saying the category counts for the branch when that result has
one category only. Cases named after the criterion or finding (`<criterion id>/<label>`) were written
for it and are listed by name; the others are counted. Known gaps (the engine disagrees with the
spec; tests/test_fixtures.py expects them to fail) are listed as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ..cases import Case
from ..ruleset import Criterion, Finding

# Cases not named after the item shown by name when none is (the rest are counted).
SHOWN_OTHERS = 3


class CaseRef(BaseModel):
    name: str
    expected: str             # "met (same-ingredient)", "reported (warning)", "not reported"
    known_gap: bool = False


class Evidence(BaseModel):
    cases: list[CaseRef] = []
    others: int = 0           # further cases expecting the same, not listed


def _subject(case: Case) -> str:
    return case.name.split("/", 1)[0]


def _evidence(named: list[CaseRef], others: list[CaseRef]) -> Evidence:
    shown = named or others[:SHOWN_OTHERS]
    return Evidence(cases=shown, others=len(others) - (0 if named else len(shown)))


def branch_evidence(therapy: str, criterion: Criterion, cases: Mapping[str, Case]) -> list[Evidence]:
    """Per branch of the criterion, and last for `otherwise`, the cases expecting its outcome."""
    outcomes = [(b.result, b.category) for b in criterion.branches] + [(criterion.otherwise.result, None)]
    categories: dict[str, set[str | None]] = {}
    for result, category in outcomes:
        categories.setdefault(result, set()).add(category)
    found: dict[tuple[str, str | None], tuple[list[CaseRef], list[CaseRef]]] = {o: ([], []) for o in outcomes}
    for case in cases.values():
        block: dict[str, Any] | None = case.expect.get(therapy)
        if block is None or criterion.id not in (block.get("criteria") or {}):
            continue
        result = block["criteria"][criterion.id]
        if "categories" in block:
            category = (block["categories"] or {}).get(criterion.id)
        elif len(categories.get(result, ())) == 1:
            category = next(iter(categories[result]))
        else:
            continue  # which branch cannot be told
        if (result, category) not in found:
            continue
        ref = CaseRef(name=case.name, expected=result + (f" ({category})" if category else ""),
                      known_gap=bool(case.known_gap))
        found[(result, category)][0 if _subject(case) == criterion.id else 1].append(ref)
    return [_evidence(*found[o]) for o in outcomes]


def finding_evidence(therapy: str, finding: Finding, cases: Mapping[str, Case]) -> Evidence:
    """The cases written for a finding (reported, not reported or gated) and those reporting it."""
    named: list[CaseRef] = []
    others: list[CaseRef] = []
    for case in cases.values():
        block = case.expect.get(therapy)
        if block is None:
            continue
        if finding.id in (block.get("findings") or []):
            expected = f"reported ({finding.severity})"
        elif finding.id in (block.get("gated_findings") or []):
            expected = "not reported (no indication, no order)"
        else:
            expected = "not reported"
        ref = CaseRef(name=case.name, expected=expected, known_gap=bool(case.known_gap))
        if _subject(case) == finding.id:
            named.append(ref)
        elif expected.startswith("reported"):
            others.append(ref)
    return _evidence(named, others)
