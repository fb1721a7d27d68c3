"""Audit one unit of input: every patient in it, and every claim line billed for a therapy.

Runs wherever the engine runs (a Dask worker process, or the CLI's own process); returns
entries ready for the trail and problems, never raises for bad input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel

from ..evaluator import Evaluator
from ..fhir import InputError
from ..fhir.record import PatientRecord
from .canonical import canonical, sha256
from .claims import ClaimItem, claim_items, orders_on, verdict
from .inputs import CLAIM_TYPES, Unit, tail
from .models import ClaimLine, Entry, Source


class UnitResult(BaseModel):
    label: str
    unit_key: str
    entries: list[Entry]
    problems: list[str]
    patients: int
    rulesets: dict[str, str]


@lru_cache(maxsize=4)
def knowledge_digest(folder: str) -> str:
    """sha256 over every file of the rulesets folder: value sets and terminology change results
    as much as the rulesets do, so a resumed batch re-audits after any of them changed."""
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def unit_key(input_hash: str, as_of: dt.date, therapies: Sequence[str], versions: dict[str, str], digest: str) -> str:
    """A batch unit's identity: the same input, date, therapies and rules are the same audit."""
    return sha256(canonical([input_hash, as_of.isoformat(), sorted(therapies), versions, digest]))


def audit_unit(evaluator: Evaluator, unit: Unit, key: str, as_of: dt.date, therapies: Sequence[str],
               source: Source) -> UnitResult:
    knowledge = evaluator.knowledge
    result = UnitResult(label=unit.label, unit_key=key, entries=[], problems=[], patients=unit.patients,
                        rulesets=knowledge.versions)
    try:
        records = evaluator.records(unit.entries, strict=True)
    except InputError as exc:
        result.problems.extend(f"{unit.label}: {p}" for p in exc.problems)
        return result
    for record in records:
        evaluation = evaluator.assess(record, as_of, therapies=therapies)
        result.entries.append(Entry.of(source=source, input_hash=unit.input_hash, assessment=evaluation.result,
                                       facts=evaluation.facts, unit_key=key, item_key=sha256(f"{key}|{record.reference}")))
    # Every code a therapy bills (a family's general code and the codes picked from the order).
    therapy_of = {code: t for t, r in knowledge.rulesets.items() if t in therapies for code in r.billing.all_codes}
    by_patient, problems = _claims_by_patient(unit, records, therapy_of)
    result.problems.extend(problems)
    for record in records:
        for n, item in enumerate(by_patient.get(record.reference, [])):
            result.entries.append(_claim_entry(evaluator, record, item, n, unit, key, source))
    return result


def _claims_by_patient(
    unit: Unit, records: list[PatientRecord], therapy_of: dict[str, str]
) -> tuple[dict[str, list[ClaimItem]], list[str]]:
    aliases: dict[str, str] = {}
    for entry in unit.entries:
        if entry.resource["resourceType"] == "Patient":
            own = f"Patient/{entry.resource.get('id')}"
            aliases[own] = own
            if entry.full_url:
                aliases[entry.full_url] = own
    found: dict[str, list[ClaimItem]] = defaultdict(list)
    problems: list[str] = []
    for entry in unit.entries:
        if entry.resource["resourceType"] not in CLAIM_TYPES:
            continue
        for item in claim_items(entry.resource, set(therapy_of)):
            line = f"{unit.label}: {item.claim} line {item.sequence}"
            patient = aliases.get(item.patient or "") or aliases.get(tail(item.patient) or "")
            if patient is None and len(records) == 1 and item.patient is None:
                patient = records[0].reference
            if patient is None:
                problems.append(f"{line}: its patient ({item.patient or 'missing'}) is not in the input")
            elif item.service_date is None:
                problems.append(f"{line}: no service date (servicedDate, servicedPeriod or billablePeriod)")
            else:
                found[patient].append(item.model_copy(update={"code": therapy_of[item.code]}))
    return found, problems


def _claim_entry(evaluator: Evaluator, record: PatientRecord, item: ClaimItem, n: int, unit: Unit, key: str,
                 source: Source) -> Entry:
    day = item.service_date
    assert day is not None
    evaluation = evaluator.assess(record, day, therapies=[item.code])
    orders = orders_on(evaluation.facts, evaluator.knowledge.rulesets[item.code], day)
    if orders:
        evaluation = evaluator.assess(record, day, orders=orders, therapies=[item.code])
    facts, assessment = evaluation.facts, evaluation.result
    assert assessment is not None  # the therapy named: always assessed
    judged, reasons = verdict(assessment.assessment(item.code))
    line = ClaimLine(claim=item.claim, sequence=item.sequence, code=item.code, service_date=day,
                     verdict=judged, reasons=reasons)
    return Entry.of(source=source, input_hash=unit.input_hash, assessment=assessment, facts=facts, claim=line,
                    unit_key=key, item_key=sha256(f"{key}|{record.reference}|{n}|{item.claim}|{item.sequence}"))
