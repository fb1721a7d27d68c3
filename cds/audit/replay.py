"""Replay a record: its stored facts through today's rulesets, and what came out differently."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..evaluator import Evaluator
from ..models import Assessment, PatientAssessment
from .authorization import CANCELLED, decision_code
from .claims import verdict
from .models import AuditRecord


class Replay(BaseModel):
    record: AuditRecord
    now: PatientAssessment | None
    # Ruleset versions that differ from the record's; results may still be the same.
    rules: list[str]
    # Differences in what the assessment says.
    changes: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def replay(record: AuditRecord, evaluator: Evaluator) -> Replay:
    knowledge = evaluator.knowledge
    before = record.patient_assessment()
    therapies = [a.therapy for a in before.assessments]
    gone = [t for t in therapies if t not in knowledge.rulesets]
    if gone:
        return Replay(record=record, now=None, rules=[],
                      changes=[f"{t}: no ruleset for this therapy any more" for t in gone])
    now = evaluator.assess(record.patient_facts(), before.as_of, therapies=therapies).result
    assert now is not None  # the therapies named: always assessed
    rules = [f"{t}: {before.rulesets.get(t)} -> {now.rulesets[t]}"
             for t in therapies if before.rulesets.get(t) != now.rulesets[t]]
    differences = []
    for old in before.assessments:
        differences += diff_assessment(old, now.assessment(old.therapy))
    if record.claim is not None:
        judged, reasons = verdict(now.assessment(record.claim.code))
        if judged != record.claim.verdict:
            differences.append(f"claim {record.claim.claim} line {record.claim.sequence}: verdict "
                               f"{record.claim.verdict} -> {judged} ({'; '.join(reasons)})")
        authorization = record.claim.authorization
        if authorization is not None and authorization.decision != CANCELLED:
            # A prior authorization record is re-decided: the review action code today's rules give.
            code = decision_code(now.assessment(record.claim.code), authorization.requested)
            if code != authorization.decision:
                differences.append(f"prior authorization {authorization.request} line {record.claim.sequence}: "
                                   f"{authorization.decision} -> {code}")
    return Replay(record=record, now=now, rules=rules, changes=differences)


def diff_assessment(old: Assessment, new: Assessment) -> list[str]:
    """What a reader would notice, one line each: status, criteria, findings, documents, alternatives."""
    t = old.therapy
    out: list[str] = []
    if old.status != new.status:
        out.append(f"{t} status: {old.status} -> {new.status}")
    out += _keyed(f"{t} criterion", {c.id: c for c in old.criteria}, {c.id: c for c in new.criteria},
                  lambda c: f"{c.result}" + (f" ({c.category})" if c.category else ""),
                  lambda a, b: a.reason != b.reason and f"reason now: {b.reason}")
    out += _keyed(f"{t} finding", {f.id: f for f in old.findings}, {f.id: f for f in new.findings},
                  lambda f: f.severity, lambda a, b: a.evidence != b.evidence and f"evidence now: {', '.join(b.evidence)}")
    out += _keyed(f"{t} documentation", {d.id: d for d in old.documentation}, {d.id: d for d in new.documentation},
                  lambda d: "listed", lambda a, b: a.text != b.text and f"text now: {b.text}")
    old_rank = [a.id for a in old.alternatives]
    new_rank = [a.id for a in new.alternatives]
    if old_rank != new_rank:
        out.append(f"{t} alternatives: {', '.join(old_rank) or '-'} -> {', '.join(new_rank) or '-'}")
    return out


def _keyed(label: str, old: dict[str, Any], new: dict[str, Any], show: Any, detail: Any) -> list[str]:
    out = []
    for key in old.keys() | new.keys():
        if key not in new:
            out.append(f"- {label} {key}: {show(old[key])} (no longer)")
        elif key not in old:
            out.append(f"+ {label} {key}: {show(new[key])} (new)")
        elif show(old[key]) != show(new[key]):
            out.append(f"  {label} {key}: {show(old[key])} -> {show(new[key])}")
        elif extra := detail(old[key], new[key]):
            out.append(f"  {label} {key}: {extra}")
    return sorted(out, key=lambda line: line[2:])
