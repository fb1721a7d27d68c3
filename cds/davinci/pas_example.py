"""A PAS Request Bundle made from a test case (fixtures/cases): the case's record, a Claim for
its order with the HCPCS code the case expects billed, and the payer and provider it names.
`cds pas example THERAPY` prints one; the PAS tests submit them."""

from __future__ import annotations

import uuid
from typing import Any

from .. import cases
from ..knowledge import Knowledge
from ..terminology.valuesets import HCPCS
from . import x12
from .pas_codes import pas_codes

_NAMESPACE = uuid.UUID("6f1f8f55-3c1e-4f35-9d7e-6a9f3f1e0a11")
# Synthetic organisations: an example request names a payer and a provider, never a real one.
INSURER = {"resourceType": "Organization", "id": "example-payer", "meta": {"profile": [x12.PAS + "profile-insurer"]},
           "active": True, "name": "Example home infusion payer (synthetic)"}
PROVIDER = {"resourceType": "Organization", "id": "example-provider",
            "meta": {"profile": [x12.PAS + "profile-requestor"]},
            "active": True, "name": "Example home infusion provider (synthetic)"}


def _url(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def example_request(case: cases.Case, knowledge: Knowledge, code: str | None = None) -> dict[str, Any]:
    """The request for the case's order; `code`: the HCPCS code asked (default the billing code
    the case expects of its ruleset)."""
    record = cases.build(case, cases.route_codes(knowledge.terminology.routes.snomed))
    entries = record["entry"]
    patient = entries[0]
    order = next((e for e in entries if e["resource"].get("id") == f"{case.slug}-order"), None)
    asked = code or case.expect.get(case.ruleset, {}).get("billing") or case.ruleset
    given = pas_codes(knowledge.folder).example_item
    item: dict[str, Any] = {
        "extension": [{"url": x12.PAS + "extension-serviceItemRequestType",
                       "valueCodeableConcept": {"coding": [given.request_type.fhir()]}},
                      {"url": x12.PAS + "extension-certificationType",
                       "valueCodeableConcept": {"coding": [given.certification_type.fhir()]}}],
        "sequence": 1, "category": {"coding": [given.category.fhir()]},
        "productOrService": {"coding": [{"system": HCPCS, "code": asked}]},
        "servicedDate": case.as_of.isoformat(), "locationCodeableConcept": {"coding": [given.location.fhir()]}}
    if order is not None:
        item["extension"].append({"url": x12.REQUESTED_SERVICE, "valueReference": {"reference": order["fullUrl"]}})
    claim = {
        "resourceType": "Claim", "id": f"{case.slug}-claim", "meta": {"profile": [x12.PAS + "profile-claim"]},
        "identifier": [{"system": "urn:example:pas:claim", "value": case.slug}],
        "status": "active", "use": "preauthorization",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": patient["fullUrl"]}, "created": case.as_of.isoformat(),
        "insurer": {"reference": _url("insurer")}, "provider": {"reference": _url("provider")},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": _url(f"coverage/{case.slug}")}}],
        "item": [item],
    }
    coverage = {"resourceType": "Coverage", "id": f"{case.slug}-coverage",
                "meta": {"profile": [x12.PAS + "profile-coverage"]}, "status": "active",
                "beneficiary": {"reference": patient["fullUrl"]}, "payor": [{"reference": _url("insurer")}]}
    return {"resourceType": "Bundle", "meta": {"profile": [x12.REQUEST_BUNDLE]},
            "identifier": {"system": "urn:example:pas:request", "value": case.slug},
            "type": "collection", "timestamp": f"{case.as_of.isoformat()}T00:00:00Z",
            "entry": [{"fullUrl": _url(f"claim/{case.slug}"), "resource": claim},
                      {"fullUrl": _url("insurer"), "resource": INSURER},
                      {"fullUrl": _url("provider"), "resource": PROVIDER},
                      {"fullUrl": _url(f"coverage/{case.slug}"), "resource": coverage}, *entries]}


def example_case(loaded: dict[str, cases.Case], therapy: str) -> cases.Case | None:
    """The therapy's first case with an order that the case expects eligible, else its first with an order."""
    own = [c for c in loaded.values() if c.ruleset == therapy and isinstance(c.record.get("order"), dict)
           and not c.known_gap]
    eligible = [c for c in own if c.expect.get(therapy, {}).get("status") == "eligible"]
    return (eligible or own or [None])[0]
