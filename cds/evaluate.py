"""The library entry point: FHIR in, one PatientAssessment per patient out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import knowledge as _knowledge
from .assess import assess, concurrent_notes, decide_status, per_diems
from .derive import derived_facts
from .facts import PatientFacts
from .fhir import InputError, Problem, RawEntry, read_document
from .fhir.read import PartlyUnreadable, read_paths
from .fhir.record import PatientRecord, build_records, validation_problems
from .models import PatientAssessment
from .routing import one_answer

Input = str | Path | dict[str, Any] | Sequence[dict[str, Any]]


def evaluate(
    source: Input,
    *,
    as_of: dt.date | str | None = None,
    therapies: Iterable[str] | None = None,
) -> PatientAssessment:
    """Assess one patient: a path, a Bundle dict, or a list of resources.

    Raises InputError (with every problem found) for bad input, and when the input holds
    more than one patient (use evaluate_all).
    """
    results = evaluate_all(source, as_of=as_of, therapies=therapies)
    if len(results) != 1:
        raise InputError([Problem(source=_name(source), element="Patient",
                                  message=f"{len(results)} patients in the input; use evaluate_all")])
    return results[0]


def evaluate_all(
    source: Input | Sequence[str | Path],
    *,
    as_of: dt.date | str | None = None,
    therapies: Iterable[str] | None = None,
    strict: bool = True,
) -> list[PatientAssessment]:
    """Assess every patient of the input, in input order."""
    try:
        entries = read_input(source)
    except PartlyUnreadable as exc:
        # Every problem at once: those of the files that were read come with those that were not.
        raise InputError(exc.problems + validation_problems(exc.entries, _knowledge.default().valuesets.screen)) from None
    records = patient_records(entries, strict=strict)
    return [evaluate_record(r, as_of=as_of, therapies=therapies) for r in records]


def patient_records(entries: Iterable[RawEntry], *, strict: bool = True) -> list[PatientRecord]:
    """Records with what the rules can read (cds.knowledge.Knowledge.screen)."""
    return build_records(entries, strict=strict, screen=_knowledge.default().screen)


def evaluate_record(
    record: PatientRecord,
    *,
    as_of: dt.date | str | None = None,
    therapies: Iterable[str] | None = None,
    order_refs: set[str] | None = None,
) -> PatientAssessment:
    return assess_record(record, _as_of(as_of), therapies, order_refs)[1]


def assess_record(
    record: PatientRecord,
    as_of: dt.date,
    therapies: Iterable[str] | None = None,
    order_refs: set[str] | None = None,
) -> tuple[PatientFacts, PatientAssessment]:
    """The one way into an assessment: facts built once for every therapy, then the rules.
    Also returns the facts (the audit trail stores them)."""
    knowledge = _knowledge.default()
    selected = _therapies(knowledge, therapies)
    facts = knowledge.facts(record, as_of, order_refs)
    return facts, assess_facts(facts, as_of, selected)


def assess_facts(facts: PatientFacts, as_of: dt.date, therapies: list[str]) -> PatientAssessment:
    """Run the rules over facts already built (the audit trail replays stored facts this way):
    every therapy's rules in one engine pass."""
    knowledge = _knowledge.default()
    warnings = list(facts.warnings)
    engine = knowledge.engine(therapies)
    memo: dict[Any, Any] = {}
    derived = {t: derived_facts(facts, t, knowledge.parsed[t].derived.values(), knowledge.terminology.units,
                                warnings, memo) for t in engine.parts}
    has_order = {t: facts.has_order(t) for t in engine.parts}
    outcomes = engine.run(
        facts.engine_facts(list(engine.parts)), derived, {"as_of": as_of.isoformat()},
        lambda t, results, matches: decide_status(knowledge.rulesets[t], results, matches, has_order[t]),
        unread_orders={t: unread for t in engine.parts if (unread := facts.unread_orders(t))},
    )
    assessments = [assess(knowledge.rulesets[t], outcomes[t], has_order[t], facts.service_codes(t),
                          frozenset(d.item for d in facts.documented)) for t in therapies]
    _concurrent(facts, assessments, outcomes, knowledge)
    return PatientAssessment(
        patient=facts.patient.ref, as_of=as_of,
        rulesets={t: knowledge.rulesets[t].full_version for t in therapies},
        assessments=assessments, warnings=[str(w) for w in warnings],
    )


def _concurrent(facts: PatientFacts, assessments: list[Any], outcomes: dict[str, Any],
                knowledge: _knowledge.Knowledge) -> None:
    """Billing notes for concurrent per diems: each order is billed by the one therapy shown for
    it (an IV opioid that a continuous and an intermittent page both claim is one per diem, README)."""
    by_therapy = {a.therapy: a for a in assessments}
    shown = {one_answer(claimed, knowledge.rulesets).therapy for therapies in facts.orders().values()
             if (claimed := [by_therapy[t] for t in therapies if t in by_therapy])}
    orders = facts.orders()
    lines = {t: per_diems(knowledge.rulesets[t], outcomes[t], by_therapy[t],
                          [ref for ref, claiming in orders.items() if t in claiming]) for t in shown}
    concurrent_notes({t: codes for t, codes in lines.items() if codes}, assessments)


def read_input(source: Input | Sequence[str | Path]) -> list[RawEntry]:
    if isinstance(source, (str, Path)):
        return read_paths([source])
    if isinstance(source, dict):
        return read_document(source, "input")
    items = list(source)
    if items and all(isinstance(i, (str, Path)) for i in items):
        return read_paths(items)  # type: ignore[arg-type]
    return read_document(items, "input")


def _as_of(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError([Problem(source="as-of", message=f"not a date (YYYY-MM-DD): {value!r}")]) from exc


def _therapies(knowledge: _knowledge.Knowledge, therapies: Iterable[str] | None) -> list[str]:
    if therapies is None:
        return list(knowledge.rulesets)
    chosen = list(therapies)
    unknown = [t for t in chosen if t not in knowledge.rulesets]
    if unknown:
        raise InputError([Problem(source="therapy", message=f"unknown therapy {', '.join(unknown)}; "
                                  f"known: {', '.join(knowledge.rulesets)}")])
    return chosen


def _name(source: Any) -> str:
    return str(source) if isinstance(source, (str, Path)) else "input"
