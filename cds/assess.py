"""From what the rules decided to an assessment: status, findings, documents, alternatives.

The generic rules of ../shared/criteria/README.md live here (status precedence, when safety
findings count, how alternatives are ranked); what holds for a patient comes from the engine.
"""

from __future__ import annotations

from typing import Any

from .engine import CriterionOutcome, Matches, Outcome
from .engine.run import evidence, render
from .models import (AlternativeResult, Assessment, Billing, CriterionResult, DocumentationItem,
                     FindingResult, Status)
from .ruleset import Ruleset


def findings_apply(ruleset: Ruleset, results: dict[str, CriterionOutcome], has_order: bool) -> bool:
    """Safety findings count when the indication is met or an order is under evaluation."""
    return has_order or results[ruleset.indication.id].result == "met"


def decide_status(
    ruleset: Ruleset, results: dict[str, CriterionOutcome], matches: Matches, has_order: bool
) -> str:
    warned = findings_apply(ruleset, results, has_order) and any(
        matches.of(f) for f in ruleset.findings if f.severity == "warning")
    return Status.decide([results[c.id].result for c in ruleset.criteria if c.required], warned).value


def assess(ruleset: Ruleset, outcome: Outcome, has_order: bool, service_codes: list[str] | None = None,
           documented: frozenset[str] = frozenset(), adjuncts: list[str] | None = None) -> Assessment:
    """documented: documentation items already attested (DTR answers): not listed as needed.
    adjuncts: the orders serving this therapy's orders (criteria README "Adjunct orders"): the
    order criterion's evidence lists them with the orders they serve."""
    results = outcome.criteria
    matches = outcome.matches
    criteria = [
        CriterionResult(
            id=c.id, kind=c.kind, required=c.required, result=results[c.id].result,
            category=results[c.id].category, text=c.text.strip(), reason=results[c.id].reason,
            evidence=[*results[c.id].evidence, *(r for r in adjuncts or [] if r not in results[c.id].evidence)]
            if c.id == ruleset.routing.criterion else results[c.id].evidence,
        )
        for c in ruleset.criteria
    ]
    findings = []
    if findings_apply(ruleset, results, has_order):
        # `info_when` gives the finding at info severity when its `when` does not hold.
        findings = [
            FindingResult(id=f.id, severity=f.severity if matches.of(f) else "info", text=f.text,
                          evidence=evidence(held + cited),
                          reason=render(f.cites.reason, cited) if f.cites is not None and cited else None)
            for f in ruleset.findings
            if (held := matches.of(f) or matches.of(f, "info_when"))
            for cited in [matches.of(f.cites) if f.cites is not None else []]
        ]
        findings.sort(key=lambda f: f.severity != "warning")
    documentation = [
        DocumentationItem(id=d.id, text=" ".join([d.text, *(item.note for item in d.notes if matches.of(item))]))
        for d in ruleset.documentation
        if (d.when is None or matches.of(d)) and d.id not in documented
    ]
    return Assessment(
        therapy=ruleset.therapy, title=ruleset.title, status=outcome.status,  # type: ignore[arg-type]
        criteria=criteria, findings=findings, documentation=documentation,
        alternatives=rank_alternatives(ruleset, matches, outcome.status),
        billing=bill(ruleset, outcome, has_order, service_codes or []),
    )


def bill(ruleset: Ruleset, outcome: Outcome, has_order: bool, service_codes: list[str]) -> Billing:
    """The billing code (../shared/criteria/README.md, "Billing code picked from the order"):
    the code a ServiceRequest names; else the first of `billing.codes` whose condition holds
    for the order; else the family's general code, with a note when an order did not tell."""
    billing = ruleset.billing
    notes = list(billing.notes)
    refused = has_order and outcome.criteria[ruleset.routing.criterion].result == "not-met"
    if has_order and not refused:
        # What an order bills besides the per diem: nothing for a refused order, which is not billed.
        notes[0:0] = [item.note for item in billing.order_notes if outcome.matches.of(item)]
    code = billing.code
    if service_codes:
        code = service_codes[0]
    elif has_order and billing.codes:
        picked = next((c.code for c in billing.codes if outcome.matches.of(c)), None)
        if picked is not None:
            code = picked
        elif billing.untold:
            notes.insert(0, billing.untold)
    if refused:
        notes.insert(0, f"Not billed: the order does not meet {ruleset.routing.criterion}.")
    return Billing(code=code, unit=billing.unit, notes=notes)


def per_diems(ruleset: Ruleset, outcome: Outcome, assessment: Assessment, orders: list[str]) -> list[str]:
    """The per diem lines one therapy bills for its orders under evaluation: none when the
    order is refused (not billed); one, its billing code; with `billing.per_order`, one per
    order, each order's own code (the first of `codes` holding for it, else the general code),
    the billing code first."""
    if outcome.criteria[ruleset.routing.criterion].result == "not-met":
        return []
    if not ruleset.billing.per_order or len(orders) < 2:
        return [assessment.billing.code]
    own = {}
    for item in ruleset.billing.codes:
        for ref in evidence(outcome.matches.of(item)):
            own.setdefault(ref, item.code)
    codes = [own.get(ref, ruleset.billing.code) for ref in orders]
    main = assessment.billing.code
    rest = codes[:codes.index(main)] + codes[codes.index(main) + 1:] if main in codes else codes[1:]
    return [main, *rest]


# README "Billing code picked from the order": the second concurrent per diem carries modifier
# SH, the third and any later SJ.
_MODIFIERS = ("SH", "SJ")


def concurrent_notes(lines: dict[str, list[str]], assessments: list[Assessment]) -> None:
    """Several per diems on one day (therapies in code order, none named primary by a page;
    within one therapy its billing code first): each after the first gets a note naming its
    code with the modifier, on the assessment that bills it."""
    ordered = [(therapy, code) for therapy in sorted(lines) for code in lines[therapy]]
    if len(ordered) < 2:
        return
    by_therapy = {a.therapy: a for a in assessments}
    first = ordered[0][1]
    for n, (therapy, code) in enumerate(ordered[1:], start=2):
        modifier = _MODIFIERS[min(n - 2, len(_MODIFIERS) - 1)]
        which = "second" if n == 2 else "third" if n == 3 else f"{n}th"
        by_therapy[therapy].billing.notes.insert(
            0, f"{code}-{modifier}: the {which} home infusion per diem on the same day (first: {first}) "
               f"is billed with modifier {modifier}.")


def rank_alternatives(ruleset: Ruleset, matches: Matches, status: str) -> list[AlternativeResult]:
    """Offered alternatives in ruleset order; the best-priority lead that holds takes rank 1;
    one the record shows already tried and failed goes last, with that reason."""
    fresh: list[tuple[str, str, str]] = []
    tried: list[tuple[str, str, str]] = []
    leads: list[tuple[int, int]] = []
    for alternative in ruleset.alternatives:
        reason = _first(alternative.offered, matches)
        if reason is None:
            continue
        failed = _first(alternative.tried, matches)
        if failed is not None:
            tried.append((alternative.id, alternative.text, failed))
            continue
        for lead in alternative.lead:
            if matches.of(lead):
                leads.append((lead.priority, len(fresh)))
        fresh.append((alternative.id, alternative.text, reason))
    if leads:
        _, first = min(leads)
        fresh.insert(0, fresh.pop(first))
    return [
        AlternativeResult(id=alt_id, rank=rank, recommended=rank == 1 and status != "eligible",
                          text=text, reason=reason)
        for rank, (alt_id, text, reason) in enumerate(fresh + tried, start=1)
    ]


def _first(items: list[Any], matches: Matches) -> str | None:
    """The reason of the first item (offer or tried) whose condition holds."""
    for item in items:
        bindings = matches.of(item)
        if item.when is None or bindings:
            return render(item.reason, bindings or [])
    return None
