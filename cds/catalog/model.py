"""The criteria catalog as data: every ruleset, value set and the terminology, as the engine
loaded them (cds.knowledge), with versions, content hashes and provenance."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel

from ..cases import Case
from ..davinci.canonical import questionnaire_url
from ..knowledge import Knowledge
from ..ruleset import Adjunct, Ruleset
from ..terminology import icd10cm
from ..conditions import ParsedRuleset
from .evidence import Evidence, branch_evidence, finding_evidence
from .words import Words, adjunct_words, claim_words, describe, drug_classes_in, services_words, valuesets_in


class Cited(BaseModel):
    key: str
    citation: str


class BranchView(BaseModel):
    result: str
    category: str | None
    reason: str
    when: Words | None        # None: "otherwise"
    # The test cases expecting this outcome (fixtures/cases): the evidence a payer reads beside it.
    evidence: Evidence = Evidence()


class CriterionView(BaseModel):
    id: str
    kind: str
    required: bool
    text: str
    # What the branches (shown in words) do not say: a reason, a curated choice, a source.
    why: str | None
    sources: list[Cited]
    branches: list[BranchView]
    line: int | None


class FindingView(BaseModel):
    id: str
    severity: str
    text: str
    sources: list[Cited]
    when: Words
    info_when: Words | None = None
    # What the finding names beside it when the record holds it (never deciding it).
    cites: Words | None = None
    line: int | None
    evidence: Evidence = Evidence()


class DocumentView(BaseModel):
    id: str
    text: str
    sources: list[Cited]
    when: Words | None        # None: always asked for
    line: int | None
    # What the record suggests: (note, when) added to the text when the condition holds.
    notes: list[tuple[str, Words]] = []


class OfferView(BaseModel):
    reason: str
    when: Words | None


class AlternativeView(BaseModel):
    id: str
    text: str
    sources: list[Cited]
    offered: list[OfferView]
    lead: list[tuple[int, Words]]


class CourseView(BaseModel):
    id: str
    drug_class: str
    route_class: str
    statuses: list[str]
    sources: list[Cited]


class BillingView(BaseModel):
    code: str
    unit: str
    notes: list[str]
    sources: list[Cited]
    # Codes picked from the order, first that holds wins; `code` otherwise.
    codes: list[tuple[str, Words]] = []
    untold: str | None = None
    # Notes added when an order is evaluated and the condition holds.
    order_notes: list[tuple[str, Words]] = []


class RulesetView(BaseModel):
    therapy: str
    title: str
    version: str
    full_version: str
    content_hash: str
    file: str
    summary: str
    sources: list[Cited]
    routing: list[str]        # the draft orders it claims, one line per claim
    courses: list[CourseView]
    criteria: list[CriterionView]
    findings: list[FindingView]
    documentation: list[DocumentView]
    alternatives: list[AlternativeView]
    billing: BillingView
    valuesets: list[str]      # every value set the ruleset reads, directly or by drug class
    # The therapy's Da Vinci DTR Questionnaire on the service (path under its base URL) and
    # its version (the ruleset's declared version): `cds questionnaire THERAPY` prints it.
    questionnaire: str = ""
    questionnaire_version: str = ""


class Concept(BaseModel):
    system: str
    code: str
    display: str | None
    # An ICD-10-CM is-a group: the code and every code below it.
    group: bool = False


class ValueSetView(BaseModel):
    id: str
    title: str
    url: str
    version: str | None
    identifiers: list[str]
    publisher: str | None
    purpose: str | None
    file: str
    sha256: str
    concepts: list[Concept]
    used_by: list[str]        # criterion/finding/document ids and drug classes


class Catalog(BaseModel):
    rulesets: list[RulesetView]
    valuesets: list[ValueSetView]
    terminology: dict[str, Any]
    terminology_sha256: str

    def ruleset(self, therapy: str) -> RulesetView:
        return next(r for r in self.rulesets if r.therapy == therapy)

    @property
    def versions(self) -> list[tuple[str, str, str]]:
        """(therapy, version, content sha256) for the header of every page."""
        return [(r.therapy, r.full_version, r.content_hash) for r in self.rulesets]


def build(knowledge: Knowledge, cases: dict[str, Case] | None = None) -> Catalog:
    """cases: the test cases shown as evidence under each branch and finding (none: no evidence)."""
    class_sets = {name: c.valuesets for name, c in knowledge.terminology.drug_classes.items()}
    used: dict[str, list[str]] = {}
    rulesets = [_ruleset(r, knowledge.parsed[t], class_sets, used, cases or {}, knowledge.adjuncts)
                for t, r in knowledge.rulesets.items()]
    for name, sets in class_sets.items():
        for valueset in sets:
            used.setdefault(valueset, []).append(f"drug class {name}")
    folder = knowledge.folder
    valuesets = [_valueset(info, folder / "valuesets" / info.file, used.get(info.id, []))
                 for info in sorted(knowledge.valuesets.by_id.values(), key=lambda i: i.id)]
    terminology_file = folder / "terminology.yaml"
    return Catalog(rulesets=rulesets, valuesets=valuesets, terminology=knowledge.terminology.model_dump(),
                   terminology_sha256=hashlib.sha256(terminology_file.read_bytes()).hexdigest())


def _ruleset(ruleset: Ruleset, parsed: ParsedRuleset, class_sets: dict[str, list[str]],
             used: dict[str, list[str]], cases: dict[str, Case], adjuncts: list[Adjunct]) -> RulesetView:
    """The page of a ruleset, its conditions in words from the form the engine compiles."""
    def cite(keys: list[str]) -> list[Cited]:
        return [Cited(key=k, citation=ruleset.sources[k]) for k in keys]

    def words(key: str, condition: Any) -> Words | None:
        return describe(parsed.node(key)) if condition is not None else None

    reads: list[str] = []

    def note(item_id: str, *keys: str) -> None:
        for key in keys:
            node = parsed.node(key)
            sets = valuesets_in(node) + [v for c in drug_classes_in(node) for v in class_sets.get(c, [])]
            for valueset in sets:
                if item_id not in used.setdefault(valueset, []):
                    used[valueset].append(item_id)
                if valueset not in reads:
                    reads.append(valueset)

    criteria = []
    for c in ruleset.criteria:
        note(c.id, *(f"c|{c.id}|{n}" for n in range(len(c.branches))))
        evidence = branch_evidence(ruleset.therapy, c, cases)
        branches = [BranchView(result=b.result, category=b.category, reason=b.reason,
                               when=words(f"c|{c.id}|{n}", b.when), evidence=evidence[n])
                    for n, b in enumerate(c.branches)]
        # A criterion without branches is a fixed rule (criteria README "Fixed rules"): always its result.
        fixed = None if c.branches else Words(text="always: a fixed rule that reads no record data")
        branches.append(BranchView(result=c.otherwise.result, category=None, reason=c.otherwise.reason, when=fixed,
                                   evidence=evidence[-1]))
        criteria.append(CriterionView(id=c.id, kind=c.kind, required=c.required, text=c.text.strip(),
                                      why=c.why.strip() if c.why else None, sources=cite(c.sources), branches=branches, line=c.line))
    findings = []
    for f in ruleset.findings:
        note(f.id, f"f|{f.id}", *([f"fi|{f.id}"] if f.info_when is not None else []),
             *([f"fc|{f.id}"] if f.cites is not None else []))
        findings.append(FindingView(id=f.id, severity=f.severity, text=f.text, sources=cite(f.sources),
                                    when=describe(parsed.node(f"f|{f.id}")),
                                    info_when=describe(parsed.node(f"fi|{f.id}")) if f.info_when is not None else None,
                                    cites=describe(parsed.node(f"fc|{f.id}")) if f.cites is not None else None,
                                    line=f.line, evidence=finding_evidence(ruleset.therapy, f, cases)))
    documents = []
    for d in ruleset.documentation:
        note(d.id, f"d|{d.id}", *(f"dn|{d.id}|{n}" for n in range(len(d.notes))))
        documents.append(DocumentView(id=d.id, text=d.text, sources=cite(d.sources), when=words(f"d|{d.id}", d.when),
                                      line=d.line, notes=[(item.note, describe(parsed.node(f"dn|{d.id}|{n}")))
                                                          for n, item in enumerate(d.notes)]))
    for course in ruleset.courses:
        for valueset in class_sets.get(course.drug_class, []):
            if valueset not in reads:
                reads.append(valueset)
    alternatives = [
        AlternativeView(id=a.id, text=a.text, sources=cite(a.sources),
                        offered=[OfferView(reason=o.reason, when=words(f"o|{a.id}|{n}", o.when))
                                 for n, o in enumerate(a.offered)],
                        lead=[(lead.priority, describe(parsed.node(f"l|{a.id}|{n}"))) for n, lead in enumerate(a.lead)])
        for a in ruleset.alternatives
    ]
    return RulesetView(
        therapy=ruleset.therapy, title=ruleset.title, version=ruleset.version, full_version=ruleset.full_version,
        content_hash=ruleset.content_hash, file=ruleset.file, summary=ruleset.summary.strip(),
        sources=cite(list(ruleset.sources)), routing=[*(claim_words(c) for c in ruleset.routing.claims), *services_words(ruleset.routing.services),
                                                     *adjunct_words(ruleset.therapy, adjuncts)],
        courses=[CourseView(id=c.id, drug_class=c.drug_class + "".join(f" (not {n})" for n in c.not_drug_classes),
                            route_class=c.route_class, statuses=c.statuses,
                            sources=cite(c.sources)) for c in ruleset.courses],
        criteria=criteria, findings=findings, documentation=documents, alternatives=alternatives,
        billing=BillingView(code=ruleset.billing.code, unit=ruleset.billing.unit, notes=ruleset.billing.notes,
                            sources=cite(ruleset.billing.sources),
                            codes=[(c.code, describe(parsed.node(f"b|{n}"))) for n, c in enumerate(ruleset.billing.codes)],
                            untold=ruleset.billing.untold,
                            order_notes=[(item.note, describe(parsed.node(f"n|{n}")))
                                         for n, item in enumerate(ruleset.billing.order_notes)]),
        valuesets=reads,
        questionnaire=questionnaire_url("", ruleset.therapy), questionnaire_version=ruleset.version,
    )


def _valueset(info: Any, path: Any, used_by: list[str]) -> ValueSetView:
    data = path.read_bytes()
    raw = orjson.loads(data)
    identifiers = [i.get("value", "") for i in raw.get("identifier", []) if isinstance(i, dict)]
    concepts = [Concept(system=s, code=c, display=d) for s, c, d in info.concepts]
    concepts += [Concept(system=s, code=c, display=icd10cm.description(c), group=True) for s, c in info.groups]
    return ValueSetView(id=info.id, title=info.title, url=info.url, version=info.version, identifiers=identifiers,
                        publisher=info.publisher, purpose=info.purpose, file=info.file,
                        sha256=hashlib.sha256(data).hexdigest(), concepts=concepts, used_by=used_by)
