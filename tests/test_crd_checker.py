"""The CRD checker fails what the 2.0.1 definition and the invariants forbid, and the extension
builder's branches that no case reaches today (covered outright) pass it."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from cds import knowledge
from cds.davinci.coverage import CoverageOf
from cds.davinci.crd import EXTENSION_URL, coverage_information, decide
from cds.models import Assessment

from .conftest import needs_shared
from .hooks_support.crd import check_coverage_information, check_system_actions, definition

COVERAGE = CoverageOf("Coverage/c1", "active", "")


def _assessment(status: str, documentation: bool) -> Assessment:
    """An assessment of the first ruleset, as the engine would give it, with the status asked."""
    ruleset = next(iter(knowledge.default().rulesets.values()))
    criteria = [{"id": c.id, "kind": c.kind, "required": c.required, "result": "met", "text": c.text,
                 "reason": "met on record", "evidence": []} for c in ruleset.criteria]
    if status == "not-eligible":
        criteria[-1]["result"] = "not-met"
    return Assessment.model_validate({
        "therapy": ruleset.therapy, "title": ruleset.title, "status": status, "criteria": criteria, "findings": [],
        "documentation": [{"id": d.id, "text": d.text} for d in ruleset.documentation] if documentation else [],
        "alternatives": [], "billing": {"code": ruleset.billing.code, "unit": "per diem", "notes": []}})


def _extension(status: str = "eligible", documentation: bool = True) -> dict[str, Any]:
    decision = decide(_assessment(status, documentation), COVERAGE, "auth-needed")
    return coverage_information(decision, coverage=COVERAGE, billing_code="S9326", as_of=dt.date(2026, 11, 22),
                                assertion_id="a1", questionnaire="https://cds.example/fhir/Questionnaire/hit-s9326|1")


def _parts(extension: dict[str, Any]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for part in extension["extension"]:
        found.setdefault(part["url"], []).append(next(v for k, v in part.items() if k.startswith("value")))
    return found


def test_an_eligible_order_without_documentation_items_is_covered_outright() -> None:
    extension = _extension("eligible", documentation=False)
    check_coverage_information(extension)
    parts = _parts(extension)
    assert parts["covered"] == ["covered"] and parts["pa-needed"] == ["auth-needed"]
    assert not {"doc-needed", "doc-purpose", "info-needed", "questionnaire", "reason"} & set(parts)


def test_an_eligible_order_with_documentation_items_is_conditional_and_names_them() -> None:
    extension = _extension("eligible", documentation=True)
    check_coverage_information(extension)
    parts = _parts(extension)
    assert parts["covered"] == ["conditional"] and parts["doc-needed"] == ["clinical"]
    assert parts["questionnaire"] and all(r["text"].startswith("Documentation needed (") for r in parts["reason"])


def _without(extension: dict[str, Any], url: str) -> dict[str, Any]:
    return {**extension, "extension": [p for p in extension["extension"] if p["url"] != url]}


def _with(extension: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    return {**extension, "extension": [*extension["extension"], part]}


BROKEN = {
    "no date": lambda e: _without(e, "date"),
    "no coverage-assertion-id": lambda e: _without(e, "coverage-assertion-id"),
    "covered not in the value set": lambda e: {**e, "extension": [
        {"url": "covered", "valueCode": "indeterminate"} if p["url"] == "covered" else p for p in e["extension"]]},
    "q1 questionnaire without doc-needed": lambda e: _without(_without(e, "doc-needed"), "doc-purpose"),
    "q2 (2.0.1) covered without pa-needed": lambda e: _without(e, "pa-needed"),
    "q3 (2.2.1) conditional without info-needed": lambda e: _without(e, "info-needed"),
    "q5 satisfied-pa-id without satisfied": lambda e: _with(e, {"url": "satisfied-pa-id", "valueString": "x"}),
    "q8 doc-purpose without reason": lambda e: _without(e, "reason"),
    "unknown sub-extension": lambda e: _with(e, {"url": "colour", "valueString": "blue"}),
    "wrong value type": lambda e: _with(_without(e, "date"), {"url": "date", "valueString": "2026-11-22"}),
    "two doc-needed (2.0.1 max 1)": lambda e: _with(e, {"url": "doc-needed", "valueCode": "admin"}),
}


@needs_shared
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_checker_fails_a_broken_extension(name: str) -> None:
    good = _extension("eligible", documentation=True)
    check_coverage_information(good)
    with pytest.raises(AssertionError):
        check_coverage_information(BROKEN[name](copy.deepcopy(good)))


@needs_shared
def test_the_checker_reads_the_2_0_1_definition() -> None:
    sd = definition()
    assert sd is not None and sd["version"] == "2.0.1"
    elements = {e["id"]: e for e in sd["snapshot"]["element"]}
    assert elements["Extension.extension:coverage"]["min"] == 1 and elements["Extension.extension:doc-needed"]["max"] == "1"


def _action(resource: dict[str, Any]) -> dict[str, Any]:
    return {"type": "update", "description": "Coverage information", "resource": resource}


def test_the_checker_fails_an_update_that_changes_the_order() -> None:
    order = {"resourceType": "ServiceRequest", "id": "o1", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/p1"}}
    request = {"hook": "order-sign", "context": {"draftOrders": {"resourceType": "Bundle", "type": "collection",
                                                                "entry": [{"resource": order}]}}}
    good = {**order, "extension": [_extension()]}
    check_system_actions({"cards": [], "systemActions": [_action(good)]}, request)
    with pytest.raises(AssertionError, match="resp-37"):
        check_system_actions({"cards": [], "systemActions": [_action({**good, "status": "active"})]}, request)
    with pytest.raises(AssertionError, match="crd-respci1"):
        check_system_actions({"cards": [], "systemActions": [_action(order)]}, request)
    selected = {**request, "hook": "order-select"}
    selected["context"] = {**request["context"], "selections": ["ServiceRequest/o1"]}
    with pytest.raises(AssertionError, match="hook-19"):
        check_system_actions({"cards": [], "systemActions": [_action(good)]}, selected)


def test_the_checker_fails_two_coverages_sharing_an_assertion_id() -> None:
    first = _extension("not-eligible")
    second = copy.deepcopy(first)
    second["extension"][0] = {"url": "coverage", "valueReference": {"reference": "Coverage/c2"}}
    resource = {"resourceType": "ServiceRequest", "id": "o1", "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/p1"}, "extension": [first, second]}
    assert first["url"] == EXTENSION_URL
    with pytest.raises(AssertionError, match="resp-32"):
        check_system_actions({"cards": [], "systemActions": [_action(resource)]})
