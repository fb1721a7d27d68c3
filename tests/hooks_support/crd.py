"""The Da Vinci CRD checker: every hook response carrying systemActions is held to the CRD
"Coverage Information" response type and the 2.0.1 ext-coverage-information definition.

Cardinalities, value types and required bindings are checked against the 2.0.1
StructureDefinition and ValueSets in ../shared/reference/davinci/crd-2.0.1-json (what the Inferno
CRD kit validates against) by the shared checker (profiles.py); the invariants' FHIRPath is
restated in Python, for 2.0.1 (q1-q5) and for 2.2.1
(q1-q9, crd/StructureDefinition-ext-coverage-information.fsh), and the set of 2.0.1 keys is
checked against the StructureDefinition so that a changed definition fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from . import profiles

CRD = "http://hl7.org/fhir/us/davinci-crd"
EXTENSION_URL = f"{CRD}/StructureDefinition/ext-coverage-information"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
QUESTIONNAIRE = re.compile(r"^https?://[^|]+/fhir/Questionnaire/hit-s\d{4}\|[^|]+$")
# crd/ValueSets-coverage-information.fsh, coverageAssertionReasons (2.2.1).
REASONS_2_2 = {("http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp", code) for code in
               ("gold-card", "no-member-found", "no-active-coverage", "coverage-not-found", "auth-out-network",
                "technical")}
CHECKED_INVARIANTS = {"crd-ci-q1", "crd-ci-q2", "crd-ci-q3", "crd-ci-q4", "crd-ci-q5"}


def definition() -> dict[str, Any] | None:
    """The 2.0.1 StructureDefinition; None when ../shared is absent (a user's clone): the
    invariants are still checked. Its invariants are the ones restated here."""
    found = profiles.pack()
    sd = found.definition(EXTENSION_URL) if found is not None else None
    if sd is not None:
        keys = {c["key"] for e in sd["snapshot"]["element"] for c in e.get("constraint", [])
                if c["key"].startswith("crd-ci-")}
        assert keys == CHECKED_INVARIANTS, f"the 2.0.1 definition's invariants changed: {sorted(keys)}"
    return sd


def _values(parts: list[dict[str, Any]], url: str) -> list[Any]:
    return [next(v for k, v in p.items() if k.startswith("value")) for p in parts if p["url"] == url]


def check_coverage_information(extension: dict[str, Any]) -> None:
    """One ext-coverage-information against the 2.0.1 definition and both versions' invariants."""
    assert extension["url"] == EXTENSION_URL and "value" not in "".join(extension)
    parts = extension["extension"]
    urls = [p["url"] for p in parts]
    definition()
    # Cardinality, value types and required bindings: the shared StructureDefinition checker.
    profiles.check(extension, EXTENSION_URL)
    for part in parts:
        if part["url"] == "reason":
            # Extensible: a coding outside the value set is allowed only with text (2.2.1 q7).
            codes = profiles.pack().codes(f"{CRD}/ValueSet/coverageAssertionReasons") if profiles.pack() else None
            for coding in part["valueCodeableConcept"].get("coding", []) if codes is not None else []:
                assert codes.has(coding.get("system"), coding.get("code")) or part["valueCodeableConcept"].get("text")
    # Required in both versions, whatever the pack holds.
    for url in ("coverage", "covered", "date", "coverage-assertion-id"):
        assert urls.count(url) == 1, f"{url} exactly once"
    dt.date.fromisoformat(_values(parts, "date")[0])
    _invariants(parts)
    for coding in _values(parts, "billingCode"):
        assert coding["system"] == HCPCS and re.fullmatch(r"[A-Z]\d{4}", coding["code"]), coding
    for canonical in _values(parts, "questionnaire"):
        assert QUESTIONNAIRE.match(canonical), canonical


def _invariants(parts: list[dict[str, Any]]) -> None:
    def values(url: str) -> list[Any]:
        return _values(parts, url)

    covered, pa, doc, purpose = values("covered"), values("pa-needed"), values("doc-needed"), values("doc-purpose")
    info, reasons = values("info-needed"), values("reason")
    conditional = [v for v in covered + pa + doc if v == "conditional"]
    # 2.0.1 (the JSON's FHIRPath).
    if values("questionnaire") or values("response"):
        assert doc and all(v != "no-doc" for v in doc), "2.0.1 crd-ci-q1"
    if any(v != "not-covered" for v in covered):
        assert pa, "2.0.1 crd-ci-q2: pa-needed unless not covered"
    if info:
        assert conditional, "2.0.1 crd-ci-q3: info-needed only with a conditional"
    if "satisfied" in pa and purpose:
        assert "PA" not in purpose, "2.0.1 crd-ci-q4"
    assert ("satisfied" in pa) == bool(values("satisfied-pa-id")), "crd-ci-q5"
    # 2.2.1 (the FSH's FHIRPath).
    if values("questionnaire"):
        assert doc, "2.2.1 crd-ci-q1"
    if "not-covered" in covered:
        assert not pa, "2.2.1 crd-ci-q2: no pa-needed when not covered"
    if conditional:
        assert info, "2.2.1 crd-ci-q3: info-needed with a conditional"
    if set(pa) & {"satisfied", "noauth", "no-auth", "not-covered"} and purpose:
        assert "withpa" not in purpose, "2.2.1 crd-ci-q4"
    if "OTH" in info:
        assert reasons, "2.2.1 crd-ci-q6"
    for reason in reasons:
        codings = {(c.get("system"), c.get("code")) for c in reason.get("coding", [])}
        assert reason.get("text") or (codings and codings <= REASONS_2_2), "2.2.1 crd-ci-q7"
    if any(v != "conditional" for v in purpose):
        assert reasons, "2.2.1 crd-ci-q8"
    if "indeterminate" in covered + pa + doc:
        assert reasons, "2.2.1 crd-ci-q9"


def check_system_actions(body: dict[str, Any], request: Any = None) -> list[dict[str, Any]]:
    """Every systemAction of a hook response: a CRD coverage-information update of a draft order
    of the request, changed in nothing but those extensions. Returns the actions."""
    actions = body.get("systemActions", [])
    assert isinstance(actions, list) and (actions or "systemActions" not in body)
    drafts, selections, hook = _request_orders(request)
    seen: set[str] = set()
    for action in actions:
        assert action["type"] == "update", "coverage information is an update"
        assert isinstance(action.get("description"), str) and action["description"], "a description"
        assert "resourceId" not in action
        resource = action["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        ref = f"{resource['resourceType']}/{resource['id']}"
        assert ref not in seen, "one systemAction per order (resp-29)"
        seen.add(ref)
        ours = [e for e in resource.get("extension", []) if e.get("url") == EXTENSION_URL]
        assert ours, "the order carries coverage information (crd-respci1)"
        for extension in ours:
            check_coverage_information(extension)
        by_coverage: dict[str, set[str]] = {}
        for extension in ours:
            coverage = _values(extension["extension"], "coverage")[0]["reference"]
            by_coverage.setdefault(coverage, set()).update(_values(extension["extension"], "coverage-assertion-id"))
        ids = [next(iter(v)) for v in by_coverage.values()]
        assert all(len(v) == 1 for v in by_coverage.values()), "one assertion id per coverage"
        assert len(ids) == len(set(ids)), "differing coverages, distinct assertion ids (resp-32)"
        if drafts is None:
            continue
        assert ref in drafts, "only an order of the request is updated"
        assert _without_ours(resource) == _without_ours(drafts[ref]), "nothing but the extension changes (resp-37)"
        if hook == "order-select":
            assert ref in selections, "order-select: only the selections (hook-34)"
            for extension in ours:
                urls = {p["url"] for p in extension["extension"]}
                assert not urls & {"doc-needed", "info-needed"}, "order-select asks for no information (hook-19)"
    return actions


def _request_orders(request: Any) -> tuple[dict[str, dict[str, Any]] | None, set[str], str | None]:
    if not isinstance(request, dict) or not isinstance(request.get("context"), dict):
        return None, set(), None
    bundle = request["context"].get("draftOrders")
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    resources = [e.get("resource") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    drafts = {f"{r.get('resourceType')}/{r['id']}": r for r in resources
              if isinstance(r, dict) and isinstance(r.get("id"), str)}
    chosen = request["context"].get("selections")
    selections = {"/".join(s.split("/")[-2:]) for s in chosen if isinstance(s, str)} if isinstance(chosen, list) else set()
    return drafts, selections, request.get("hook")


def _without_ours(resource: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in resource.items() if k != "extension"}
    others = [e for e in resource.get("extension", []) if e.get("url") != EXTENSION_URL]
    return {**rest, "extension": others} if others else rest


def coverage_information(action: dict[str, Any]) -> list[dict[str, Any]]:
    """The extensions of an action, each as {url: [values]}: what the tests read."""
    found = []
    for extension in action["resource"].get("extension", []):
        if extension.get("url") == EXTENSION_URL:
            parts: dict[str, list[Any]] = {}
            for part in extension["extension"]:
                parts.setdefault(part["url"], []).append(next(v for k, v in part.items() if k.startswith("value")))
            found.append(parts)
    return found
