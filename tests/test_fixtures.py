"""Test cases (fixtures/cases/<ruleset>.yaml) against their expected assessments, and the meta-tests.

Each case is built into a FHIR R4 Bundle by cds.cases, validated with fhir.resources R4B and
evaluated; its pytest id is its name (`S9326.oral-trial/short-trial`), so
`pytest -k S9363.oral-trial` runs the cases of one criterion. The expectation keys are described
in fixtures/cases/README.md. The meta-tests iterate over whatever rulesets the knowledge base
loads: they fail when a ruleset has no case file, or a branch, finding (reported and absent),
alternative, lead, tried rule, status or boundary (a threshold or window edge: a case at it and one
just past it, tests/case_boundaries.py) of a ruleset has no (passing) case, when a case names an id
no ruleset defines, or when an input shape the spec names is missing. The per-case checks are parametrised by case name
too, so deselecting a case deselects all that concerns it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

import cds
from cds import cases
from cds.evaluate import read_input
from cds.evaluator import Evaluator
from cds.knowledge import default
from cds.conditions import All, Any_, Node, Not
from cds.engine.compile import pattern
from cds.models import Assessment, PatientAssessment
from cds.ruleset import Ruleset

from .case_boundaries import Boundary, CaseFacts, boundaries, matches, sides
from .case_support import all_cases, routes

pytestmark = pytest.mark.heavy

STATUSES = ("eligible", "needs-review", "insufficient-information", "not-eligible")
RESULTS = ("met", "not-met", "unknown", "not-applicable")
BLOCK_KEYS = {"status", "criteria", "categories", "findings", "documentation", "alternatives", "gated_findings",
              "tried", "billing", "order_notes", "concurrent", "input_warnings",
              "doc_notes", "evidence", "reasons"}
# A billing note naming a concurrent per diem: "<code>-<modifier>" (criteria README: SH, SJ).
CONCURRENT = re.compile(r"\b(S\d{4}-S[HJ])\b")
ICD10CM = cases.SYSTEMS["icd10"]
SNOMED = cases.SYSTEMS["snomed"]

Expected = dict[str, Any]


_cases = all_cases
_routes = routes


@cache
def _bundle(name: str) -> dict[str, Any]:
    return cases.build(_cases()[name], _routes())


@cache
def _evaluated(name: str) -> PatientAssessment:
    """The case evaluated alone, once per session (test_case checks it; the thread test compares)."""
    return cds.evaluate(_bundle(name), as_of=_cases()[name].as_of)


def _rulesets() -> dict[str, Ruleset]:
    return default().rulesets


def _passing() -> dict[str, cases.Case]:
    """Cases the engine is expected to pass (known gaps prove no coverage)."""
    return {name: case for name, case in _cases().items() if not case.known_gap}


def _blocks(chosen: dict[str, cases.Case]) -> Iterator[tuple[str, str, Expected]]:
    for name, case in chosen.items():
        for therapy, block in case.expect.items():
            yield name, therapy, block


def _params(gaps_fail: bool) -> list[Any]:
    params = []
    for name, case in _cases().items():
        marks = [pytest.mark.xfail(strict=True, reason=case.known_gap)] if case.known_gap and gaps_fail else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


# The runner ------------------------------------------------------------------------------------


def _compare(therapy: str, block: Expected, actual: Assessment) -> list[str]:
    problems: list[str] = []

    def check(what: str, want: Any, got: Any) -> None:
        if want != got:
            problems.append(f"{therapy} {what}: expected {want!r}, got {got!r}")

    check("status", block["status"], actual.status)
    check("criteria", block["criteria"], {c.id: c.result for c in actual.criteria})
    if "categories" in block:
        want = {c.id: (block["categories"] or {}).get(c.id) for c in actual.criteria}
        check("categories", want, {c.id: c.category for c in actual.criteria})
    check("findings", sorted(block["findings"]), sorted(f.id for f in actual.findings))
    if "documentation" in block:
        check("documentation", sorted(block["documentation"]), sorted(d.id for d in actual.documentation))
    check("alternatives", block["alternatives"], [a.id for a in actual.alternatives])
    check("ranks", list(range(1, len(actual.alternatives) + 1)), [a.rank for a in actual.alternatives])
    recommended = [a.rank == 1 and actual.status != "eligible" for a in actual.alternatives]
    check("recommended", recommended, [a.recommended for a in actual.alternatives])
    if "billing" in block:
        check("billing code", block["billing"], actual.billing.code)
    if "order_notes" in block:
        # Exact: the billing.order_notes (by id) whose text the assessment's notes carry.
        order_notes = {n.id: n.note for n in _rulesets()[therapy].billing.order_notes}
        check("order notes", sorted(block["order_notes"]),
              sorted(i for i, note in order_notes.items() if note in actual.billing.notes))
    if "concurrent" in block:
        # Exact: the concurrent per diems (code-modifier) the billing notes name.
        check("concurrent per diems", sorted(block["concurrent"]),
              sorted(m for note in actual.billing.notes for m in CONCURRENT.findall(note)))
    if "doc_notes" in block:
        # Exact: the documentation notes (`<doc id>/<note id>`) whose text the listed items carry.
        listed = {d.id: d.text for d in actual.documentation}
        doc_notes = {f"{d.id}/{n.id}": (d.id, n.note) for d in _rulesets()[therapy].documentation for n in d.notes}
        check("documentation notes", sorted(block["doc_notes"]),
              sorted(i for i, (doc, note) in doc_notes.items() if note in listed.get(doc, "")))
    return problems


def _cited(name: str, block: Expected, actual: Assessment) -> list[str]:
    """`evidence`: per criterion or finding id, exactly the case's resources it cites, by the
    suffix of their ids (`o1`, `order`, `m1`: fixtures/cases/README.md); `reasons`: per id, a text
    its reason holds."""
    prefix = name.replace("/", "--") + "-"
    items = {**{c.id: (c.evidence, c.reason) for c in actual.criteria},
             **{f.id: (f.evidence, f.reason or "") for f in actual.findings}}
    problems: list[str] = []
    for item, want in (block.get("evidence") or {}).items():
        refs = items.get(item, ([], ""))[0]
        got = sorted(r.split("/", 1)[-1].removeprefix(prefix) for r in refs)
        if sorted(want) != got:
            problems.append(f"{item} evidence: expected {sorted(want)!r}, got {got!r}")
    for item, text in (block.get("reasons") or {}).items():
        reason = items.get(item, ([], ""))[1]
        if text not in reason:
            problems.append(f"{item} reason: expected it to say {text!r}, got {reason!r}")
    return problems


@pytest.mark.parametrize("name", _params(gaps_fail=True))
def test_case(name: str) -> None:
    case = _cases()[name]
    bundle = _bundle(name)
    Bundle.model_validate(bundle)  # a case builds valid FHIR R4, or this raises naming the element
    result = _evaluated(name)
    problems: list[str] = []
    for therapy, block in case.expect.items():
        problems += _compare(therapy, block, result.assessment(therapy))
        # Each phrase is in one of the input warnings (a bad reference is reported, not silent).
        problems += [f"no input warning saying {w!r}: {result.warnings}" for w in block.get("input_warnings", [])
                     if not any(w in got for got in result.warnings)]
        problems += _cited(name, block, result.assessment(therapy))
    # Every reason a person reads is filled in: no template placeholder left.
    reasons = [c.reason for a in result.assessments for c in a.criteria] + [
        alt.reason for a in result.assessments for alt in a.alternatives] + [
        f.reason for a in result.assessments for f in a.findings if f.reason]
    problems += [f"unfilled reason: {r}" for r in reasons if "{" in r or "}" in r]
    assert not problems, "\n".join([case.description, *problems])


def test_four_threads_give_exactly_the_sequential_results() -> None:
    """shared/DESIGN.md: one engine serves concurrent evaluations. Every case once more, four at
    a time (each evaluation contends with three others), against its evaluation alone (test_case's)."""
    names = list(_cases())

    def alone(name: str) -> str:
        return json.dumps(_evaluated(name).to_json())

    def contended(name: str) -> str:
        return json.dumps(cds.evaluate(_bundle(name), as_of=_cases()[name].as_of).to_json())

    sequential = [alone(name) for name in names]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(contended, names))
    assert threaded == sequential


# Meta-tests: the case files name real ids ---------------------------------------------------------


def test_every_ruleset_has_a_case_file() -> None:
    files = {path.stem for path in cases.DEFAULT_FOLDER.glob("*.yaml")}
    assert files, "no case files"
    missing = sorted(set(_rulesets()) - files)
    assert not missing, f"rulesets without fixtures/cases/<ruleset>.yaml: {missing}"
    stray = sorted(files - set(_rulesets()))
    assert not stray, f"case files for no ruleset: {stray}"


def test_case_bundles_have_one_patient_each() -> None:
    owners: dict[str, str] = {}
    for name in _cases():
        bundle = _bundle(name)
        patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
        assert bundle["resourceType"] == "Bundle" and len(patients) == 1, f"{name}: one Patient in a Bundle"
        pid = patients[0]["id"]
        assert pid not in owners, f"{name}: Patient id {pid} also used by {owners.get(pid)}"
        owners[pid] = name


def _subjects(ruleset: Ruleset) -> set[str]:
    """What a case name may start with: a criterion, finding or alternative of its ruleset, or status."""
    return ({c.id for c in ruleset.criteria} | {f.id for f in ruleset.findings}
            | {f"{ruleset.therapy}.{a.id}" for a in ruleset.alternatives} | {f"{ruleset.therapy}.status"})


@pytest.mark.parametrize("name", _params(gaps_fail=False))
def test_case_names_real_ids(name: str) -> None:
    rulesets = _rulesets()
    case = _cases()[name]
    problems: list[str] = []
    subject = name.split("/", 1)[0]
    if case.ruleset in rulesets and subject not in _subjects(rulesets[case.ruleset]):
        problems.append(f"the name must start with a criterion, finding, `{case.ruleset}.<alternative>` or "
                        f"`{case.ruleset}.status` of {case.ruleset}, not {subject}")
    if case.ruleset not in case.expect:
        problems.append(f"no expectation for the file's ruleset {case.ruleset}")
    for therapy, block in case.expect.items():
        ruleset = rulesets.get(therapy)
        if ruleset is None:
            problems.append(f"unknown ruleset {therapy}")
            continue
        problems += [f"{therapy}: {p}" for p in _block_problems(ruleset, block)]
    assert not problems, "\n".join(problems)


def _block_problems(ruleset: Ruleset, block: Expected) -> list[str]:
    problems: list[str] = []
    if set(block) - BLOCK_KEYS:
        problems.append(f"unknown keys {sorted(set(block) - BLOCK_KEYS)}")
    if block.get("status") not in STATUSES:
        problems.append(f"status {block.get('status')!r}")
    criteria = {c.id: c for c in ruleset.criteria}
    given = block.get("criteria") or {}
    if set(given) != set(criteria):
        problems.append(f"criteria must be exactly {sorted(criteria)}, got {sorted(given)}")
    problems += [f"{cid}: result {r!r}" for cid, r in given.items() if r not in RESULTS]
    for cid, category in (block.get("categories") or {}).items():
        known = {b.category for b in criteria[cid].branches} if cid in criteria else set()
        if category is not None and category not in known:
            problems.append(f"{cid}: category {category!r} is not one of {sorted(k for k in known if k)}")
    kinds: list[tuple[str, set[str]]] = [
        ("findings", {f.id for f in ruleset.findings}),
        ("gated_findings", {f.id for f in ruleset.findings}),
        ("documentation", {d.id for d in ruleset.documentation}),
        ("alternatives", {a.id for a in ruleset.alternatives}),
        ("tried", {a.id for a in ruleset.alternatives if a.tried}),
        ("order_notes", {n.id for n in ruleset.billing.order_notes}),
        ("doc_notes", {f"{d.id}/{n.id}" for d in ruleset.documentation for n in d.notes}),
    ]
    cited = {c.id for c in ruleset.criteria} | {f.id for f in ruleset.findings}
    for key in ("evidence", "reasons"):
        problems += [f"{key}: unknown criterion or finding {i}" for i in block.get(key) or {} if i not in cited]
    for key, known_ids in kinds:
        ids = block.get(key) or []
        problems += [f"{key}: unknown id {i}" for i in ids if i not in known_ids]
        if len(set(ids)) != len(ids):
            problems.append(f"{key}: repeated ids")
    return problems


# Meta-tests: coverage ----------------------------------------------------------------------------


def _outcomes(ruleset: Ruleset) -> list[tuple[str, str, str | None]]:
    """(criterion, result, category) of every branch and every otherwise."""
    found: list[tuple[str, str, str | None]] = []
    for criterion in ruleset.criteria:
        outcomes = [(b.result, b.category) for b in criterion.branches] + [(criterion.otherwise.result, None)]
        found += [(criterion.id, r, c) for r, c in dict.fromkeys(outcomes)]
    return found


def test_every_branch_has_a_case() -> None:
    seen: set[tuple[str, str, str | None]] = set()
    for _, _, block in _blocks(_passing()):
        if "categories" not in block:
            continue
        categories = block["categories"] or {}
        seen |= {(cid, result, categories.get(cid)) for cid, result in block["criteria"].items()}
    missing = [f"{cid}: {result}" + (f" ({category})" if category else "")
               for ruleset in _rulesets().values() for cid, result, category in _outcomes(ruleset)
               if (cid, result, category) not in seen]
    assert not missing, "criterion outcomes without a case:\n" + "\n".join(missing)


def test_every_finding_has_a_case() -> None:
    seen = {f for _, _, block in _blocks(_passing()) for f in block["findings"]}
    missing = [f.id for r in _rulesets().values() for f in r.findings if f.id not in seen]
    assert not missing, f"findings no case reports: {missing}"


def _findings_apply(ruleset: Ruleset, block: Expected) -> bool:
    """Whether the expected block is one where findings count: the indication met or an order
    evaluated (an order criterion, one with a not-applicable branch, is not not-applicable)."""
    order_criteria = [c.id for c in ruleset.criteria if any(b.result == "not-applicable" for b in c.branches)]
    return block["criteria"][ruleset.indication.id] == "met" or any(
        block["criteria"][cid] != "not-applicable" for cid in order_criteria)


def test_every_finding_has_an_absent_case() -> None:
    """Each finding's other outcome: a passing case of its ruleset where findings count (the
    indication met or an order evaluated) and it is not reported."""
    rulesets = _rulesets()
    seen = {(t, f) for _, t, block in _blocks(_passing()) if _findings_apply(rulesets[t], block)
            for f in {f.id for f in rulesets[t].findings} - set(block["findings"])}
    missing = [f.id for t, r in rulesets.items() for f in r.findings if (t, f.id) not in seen]
    assert not missing, f"findings no case shows absent where findings count: {missing}"


def test_finding_gating_has_a_case() -> None:
    """Findings count only with the indication met or an order evaluated (criteria README)."""
    rulesets = _rulesets()
    gated: set[str] = set()
    problems: list[str] = []
    for name, therapy, block in _blocks(_passing()):
        if not block.get("gated_findings"):
            continue
        ruleset = rulesets[therapy]
        if _findings_apply(ruleset, block) or block["findings"]:
            problems.append(f"{name} {therapy}: gated findings need no indication, no order and no findings")
        gated.add(therapy)
    assert not problems, "\n".join(problems)
    missing = sorted(t for t, r in rulesets.items() if r.findings and t not in gated)
    assert not missing, f"rulesets without a case showing findings gated: {missing}"


def test_every_alternative_is_offered() -> None:
    seen = {(t, a) for _, t, block in _blocks(_passing()) for a in block["alternatives"]}
    missing = [f"{t}: {a.id}" for t, r in _rulesets().items() for a in r.alternatives if (t, a.id) not in seen]
    assert not missing, f"alternatives no case offers: {missing}"


def reachable(therapy: str) -> list[str]:
    """The statuses a ruleset can reach: a required fixed rule (criteria README "Fixed rules", no
    branches) that is always not-met leaves only not-eligible (README status rule 1)."""
    fixed = [c.otherwise.result for c in default().rulesets[therapy].criteria if c.required and not c.branches]
    if "not-met" in fixed:
        return ["not-eligible"]
    return list(STATUSES)


def test_every_status_has_a_case() -> None:
    seen = {(t, block["status"]) for _, t, block in _blocks(_passing())}
    missing = [f"{t}: {s}" for t in _rulesets() for s in reachable(t) if (t, s) not in seen]
    assert not missing, f"statuses no case reaches: {missing}"


def _holds(node: Node, block: Expected, name: str, therapy: str) -> bool:
    """A lead's condition judged on an expected block: results and the status as the case expects
    them; a data term (S9345's rank-1 rules read conditions, the order's class and the history) on
    the facts the engine is given for the case, each term on its own as tests/case_boundaries.py
    reads a boundary's terms."""
    if isinstance(node, All):
        return all(_holds(c, block, name, therapy) for c in node.items)
    if isinstance(node, Any_):
        return any(_holds(c, block, name, therapy) for c in node.items)
    if isinstance(node, Not):
        return not _holds(node.term, block, name, therapy)
    if node.kind == "status":
        return block["status"] in node.spec["is"]
    if node.kind == "result":
        cid = node.spec["criterion"]
        if "is" in node.spec and block["criteria"][cid] not in node.spec["is"]:
            return False
        if "category" in node.spec:
            return "categories" in block and (block["categories"] or {}).get(cid) in node.spec["category"]
        return True
    compiled = pattern(node, therapy)
    return any(matches(compiled, fact) for fact in _case_facts(name).engine(therapy))


def _lead_winner(ruleset: Ruleset, block: Expected, name: str) -> tuple[str, int] | None:
    """(alternative, lead index) that takes rank 1 among the offered alternatives, if any."""
    offered = set(block["alternatives"])
    parsed = default().parsed[ruleset.therapy]
    claims = [
        (lead.priority, position, alternative.id, number)
        for position, alternative in enumerate(a for a in ruleset.alternatives if a.id in offered)
        for number, lead in enumerate(alternative.lead)
        if _holds(parsed.node(f"l|{alternative.id}|{number}"), block, name, ruleset.therapy)
    ]
    if not claims:
        return None
    _, _, alternative_id, number = min(claims)
    return alternative_id, number


def test_every_lead_gives_rank_one() -> None:
    rulesets = _rulesets()
    won: set[tuple[str, str, int]] = set()
    for name, therapy, block in _blocks(_passing()):
        winner = _lead_winner(rulesets[therapy], block, name)
        if winner and block["alternatives"] and block["alternatives"][0] == winner[0]:
            won.add((therapy, *winner))
    missing = [f"{t}: {a.id} lead {n + 1} (priority {lead.priority})"
               for t, r in rulesets.items() for a in r.alternatives for n, lead in enumerate(a.lead)
               if (t, a.id, n) not in won]
    assert not missing, "leads that never give rank 1 in a case:\n" + "\n".join(missing)


def test_every_tried_rule_has_a_case() -> None:
    """An alternative the record shows tried and failed is ranked last: each such rule is shown."""
    seen = {(t, a) for _, t, block in _blocks(_passing()) for a in block.get("tried") or []}
    missing = [f"{t}: {a.id}" for t, r in _rulesets().items() for a in r.alternatives
               if a.tried and (t, a.id) not in seen]
    assert not missing, f"tried-and-failed rules no case shows: {missing}"


@cache
def _case_facts(name: str) -> CaseFacts:
    """The facts the engine is given for a case (no rules run): built once per session."""
    record, = Evaluator(default()).records(read_input(_bundle(name)))
    return CaseFacts(default(), default().facts(record, _cases()[name].as_of))


@cache
def _boundaries(therapy: str) -> list[Boundary]:
    return boundaries(default(), therapy)


@pytest.mark.parametrize("therapy", sorted(default().rulesets))
def test_every_boundary_has_a_case(therapy: str) -> None:
    """Each number a criterion, finding or billing code compares has a passing case at it and one
    just past it, each window a case on its edge and one a day outside (tests/case_boundaries.py
    and fixtures/cases/README.md say how a case's record is read)."""
    found = _boundaries(therapy)
    seen: dict[int, set[str]] = {n: set() for n in range(len(found))}
    for name, case in _passing().items():
        if therapy not in case.expect:
            continue
        facts = _case_facts(name)
        for n, boundary in enumerate(found):
            if len(seen[n]) < 2:
                seen[n] |= sides(boundary, facts.values(boundary))
    missing = [f"{b.label}: no case {' or '.join(s for s in ('at', 'past') if s not in seen[n])}"
               for n, b in enumerate(found) if len(seen[n]) < 2]
    assert not missing, f"{therapy} boundaries without a case:\n" + "\n".join(missing)


@pytest.mark.parametrize(("name", "expected"), [
    ("S9494.safety.nephrotoxic-renal/egfr-30", {"at"}),
    ("S9494.safety.nephrotoxic-renal/egfr-29", {"past"}),
    ("S9494.safety.nephrotoxic-renal/egfr-low", set()),          # 25: not near 30
    ("S9494.safety.nephrotoxic-renal/aki-condition", set()),     # no eGFR at all
])
def test_a_boundary_is_read_from_the_value_the_rule_compares(name: str, expected: set[str]) -> None:
    """The definition the coverage test rests on, on cases whose eGFR is known: 30 is at the
    `lt: 30` threshold, 29 just past it, 25 neither (a case that proves nothing there)."""
    renal, = [b for b in _boundaries("S9494") if b.item == "S9494.safety.nephrotoxic-renal" and b.field == "value"]
    assert sides(renal, _case_facts(name).values(renal)) == expected


@pytest.mark.parametrize("name", _params(gaps_fail=False))
def test_case_alternatives_follow_the_rank_rule(name: str) -> None:
    """Expectations agree with the ruleset's leads: the winning lead first, the rest in file order."""
    rulesets = _rulesets()
    problems: list[str] = []
    for therapy, block in _cases()[name].expect.items():
        ruleset = rulesets[therapy]
        tried = [a.id for a in ruleset.alternatives if a.id in (block.get("tried") or [])]
        fresh = {**block, "alternatives": [a for a in block["alternatives"] if a not in tried]}
        winner = _lead_winner(ruleset, fresh, name)
        order = [a.id for a in ruleset.alternatives if a.id in fresh["alternatives"]]
        if winner:
            order.remove(winner[0])
            order.insert(0, winner[0])
        order += tried
        if order != block["alternatives"]:
            problems.append(f"{therapy}: expected alternatives {block['alternatives']}, rank rule gives {order}")
    assert not problems, "\n".join(problems)


# Meta-test: input shapes named by the brief and ../shared/criteria/README.md ----------------------


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _condition_systems(bundle: dict[str, Any]) -> list[set[str]]:
    return [{c.get("system") for c in r.get("code", {}).get("coding", [])} for r in _resources(bundle, "Condition")]


def _condition_codes(bundle: dict[str, Any]) -> list[str]:
    return [c.get("code", "") for r in _resources(bundle, "Condition") for c in r.get("code", {}).get("coding", [])
            if c.get("system") == ICD10CM]


def _drafts(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in _resources(bundle, "MedicationRequest") if r["status"] == "draft"]


def _draft_route(name: str) -> Callable[[dict[str, Any]], bool]:
    def shape(bundle: dict[str, Any]) -> bool:
        return any(c.get("system") == SNOMED and c.get("code") == _routes()[name]
                   for r in _drafts(bundle) for d in r.get("dosageInstruction", [])
                   for c in d.get("route", {}).get("coding", []))
    return shape


def _dose_and_rate(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [x for r in _drafts(bundle) for d in r.get("dosageInstruction", []) for x in d.get("doseAndRate", [])]


def _intermittent(bundle: dict[str, Any]) -> bool:
    return any("frequency" in d.get("timing", {}).get("repeat", {})
               and not any("rateQuantity" in x or "rateRatio" in x for x in d.get("doseAndRate", []))
               for r in _drafts(bundle) for d in r.get("dosageInstruction", []))


SHAPES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "condition coded only in SNOMED CT": lambda b: {SNOMED} in _condition_systems(b),
    "condition coded only in ICD-10-CM": lambda b: {ICD10CM} in _condition_systems(b),
    "ICD-10-CM code without the dot": lambda b: any(len(c) > 3 and "." not in c for c in _condition_codes(b)),
    "ICD-10-CM code with a 7th character": lambda b: any(len(c.replace(".", "")) == 7 for c in _condition_codes(b)),
    "resolved condition": lambda b: any(c.get("code") == "resolved" for r in _resources(b, "Condition")
                                        for c in r.get("clinicalStatus", {}).get("coding", [])),
    "homelessness Z59.0x": lambda b: any(c.replace(".", "").startswith("Z590") for c in _condition_codes(b)),
    "medication known only by text": lambda b: any(
        "coding" not in r.get("medicationCodeableConcept", {"coding": []}) for r in _resources(b, "MedicationRequest")),
    "medicationReference to a contained Medication": lambda b: any(
        r.get("medicationReference", {}).get("reference", "").startswith("#") for r in _resources(b, "MedicationRequest")),
    "medicationReference to a Medication in the bundle": lambda b: bool(_resources(b, "Medication")) and any(
        not r.get("medicationReference", {}).get("reference", "#").startswith("#")
        for r in _resources(b, "MedicationRequest")),
    "patient without birthDate": lambda b: any("birthDate" not in p for p in _resources(b, "Patient")),
    "draft order by IV route": _draft_route("intravenous"),
    "draft order by SC route": _draft_route("subcutaneous"),
    "draft order by intrathecal route": _draft_route("intrathecal"),
    "draft order by epidural route": _draft_route("epidural"),
    "continuous order by rateQuantity": lambda b: any("rateQuantity" in x for x in _dose_and_rate(b)),
    "intermittent order by frequency without a rate": _intermittent,
    "order by ServiceRequest only": lambda b: bool(_resources(b, "ServiceRequest")) and not _drafts(b),
    "history dated by validityPeriod": lambda b: any(
        "validityPeriod" in r.get("dispenseRequest", {}) for r in _resources(b, "MedicationRequest")),
    "history dated by expectedSupplyDuration": lambda b: any(
        "expectedSupplyDuration" in r.get("dispenseRequest", {}) for r in _resources(b, "MedicationRequest")),
    "request stopped with a statusReason": lambda b: any(
        r["status"] == "stopped" and "statusReason" in r for r in _resources(b, "MedicationRequest")),
}


def test_every_input_shape_has_a_case() -> None:
    bundles = [_bundle(name) for name in _cases()]
    missing = [shape for shape, holds in SHAPES.items() if not any(holds(b) for b in bundles)]
    assert not missing, f"input shapes no case shows: {missing}"

