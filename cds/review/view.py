"""One stored assessment as the review page shows it: plain data for the templates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from ..audit import AuditRecord
from ..catalog import build as build_catalog
from ..facts import PatientFacts
from ..knowledge import Knowledge
from ..models import Assessment, CriterionResult, FindingResult, Status
from .decisions import Decision
from .evidence import Evidence, resolve

# Never colour alone: each status and result has a word and a symbol too.
STATUS_SYMBOLS = {Status.ELIGIBLE: "✓", Status.NEEDS_REVIEW: "!", Status.INSUFFICIENT_INFORMATION: "?",
                  Status.NOT_ELIGIBLE: "✕"}
RESULTS = {"met": ("Met", "✓"), "not-met": ("Not met", "✕"), "unknown": ("Unknown", "?"),
           "not-applicable": ("Not applicable", "–")}
SEVERITIES = [("warning", "Warnings"), ("info", "For information")]


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str
    required: bool
    result: str
    result_label: str
    result_symbol: str
    reason: str
    evidence: list[Evidence]
    catalog_url: str | None


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    text: str
    evidence: list[Evidence]
    catalog_url: str | None


@dataclass(frozen=True)
class Therapy:
    therapy: str
    name: str
    title: str
    status: str
    status_label: str
    status_symbol: str
    main_reason: str
    ruleset: str
    criteria: list[Criterion]
    findings: list[tuple[str, str, list[Finding]]]   # (severity, heading, findings)
    assessment: Assessment
    decisions: list[Decision]


def therapies(record: AuditRecord, root: str, decided: dict[str, list[Decision]],
              knowledge: Knowledge) -> list[Therapy]:
    facts = record.patient_facts()
    result = record.patient_assessment()
    views = []
    for a in result.assessments:
        ruleset = knowledge.rulesets.get(a.therapy)
        label, symbol = a.status.label.capitalize(), STATUS_SYMBOLS[a.status]
        findings = [_finding(f, a.therapy, root, facts, result.as_of, knowledge) for f in a.findings]
        views.append(Therapy(
            therapy=a.therapy, name=ruleset.short_title if ruleset else a.title, title=a.title,
            status=a.status, status_label=label, status_symbol=symbol, main_reason=a.main_reason(),
            ruleset=result.rulesets.get(a.therapy, ""),
            criteria=[_criterion(c, a.therapy, root, facts, result.as_of, knowledge) for c in a.criteria],
            findings=[(s, heading, [f for f in findings if f.severity == s]) for s, heading in SEVERITIES
                      if any(f.severity == s for f in findings)],
            assessment=a, decisions=decided.get(a.therapy, []),
        ))
    return views


def _criterion(c: CriterionResult, therapy: str, root: str, facts: PatientFacts, as_of: dt.date,
               knowledge: Knowledge) -> Criterion:
    label, symbol = RESULTS[c.result]
    return Criterion(id=c.id, text=c.text, required=c.required, result=c.result, result_label=label,
                     result_symbol=symbol, reason=c.reason,
                     evidence=[resolve(e, facts, as_of) for e in c.evidence],
                     catalog_url=_catalog_url(root, therapy, c.id, knowledge))


def _finding(f: FindingResult, therapy: str, root: str, facts: PatientFacts, as_of: dt.date,
             knowledge: Knowledge) -> Finding:
    return Finding(id=f.id, severity=f.severity, text=f"{f.text} {f.reason}" if f.reason else f.text,
                   evidence=[resolve(e, facts, as_of) for e in f.evidence],
                   catalog_url=_catalog_url(root, therapy, f.id, knowledge))


def _catalog_url(root: str, therapy: str, item: str, knowledge: Knowledge) -> str | None:
    return f"{root}/criteria/{therapy}#{item}" if item in _catalog_ids(knowledge).get(therapy, set()) else None


@lru_cache(maxsize=4)
def _catalog_ids(knowledge: Knowledge) -> dict[str, set[str]]:
    """The criterion and finding ids the catalog has an entry for, per therapy (its ids only: no
    test cases loaded as evidence)."""
    views = build_catalog(knowledge).rulesets
    return {r.therapy: {c.id for c in r.criteria} | {f.id for f in r.findings} for r in views}
