"""A PAS Request Bundle made from a test case (fixtures/cases): the case's record, a Claim for
its order with the HCPCS code the case expects billed, and the payer and provider it names.
`cds pas example THERAPY` prints one; the PAS tests submit them."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from .. import cases
from ..service.errors import HookError
from ..knowledge import Knowledge
from ..terminology.valuesets import HCPCS
from . import x12
from .pas_codes import pas_codes

_NAMESPACE = uuid.UUID("6f1f8f55-3c1e-4f35-9d7e-6a9f3f1e0a11")
# Synthetic organisations: an example request names a payer and a provider, never a real one.
INSURER = {"resourceType": "Organization", "id": "example-payer", "meta": {"profile": [x12.PAS + "profile-insurer"]},
           "active": True, "name": "Example home infusion payer (synthetic)"}
# The provider's NPI is the IG's own example value (Subscription-PASSubscriptionExample's filter).
EXAMPLE_NPI = "1234567893"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
PROVIDER = {"resourceType": "Organization", "id": "example-provider",
            "meta": {"profile": [x12.PAS + "profile-requestor"]},
            "identifier": [{"system": NPI_SYSTEM, "value": EXAMPLE_NPI}],
            "active": True, "name": "Example home infusion provider (synthetic)"}

IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
MEMBER_SYSTEM = "urn:example:pas:member"


def _url(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, name)}"


def example_request(case: cases.Case, knowledge: Knowledge, code: str | None = None) -> dict[str, Any]:
    """The request for the case's order; `code`: the HCPCS code asked (default the billing code
    the case expects of its ruleset)."""
    record = cases.build(case, cases.route_codes(knowledge.terminology.routes.snomed))
    entries = record["entry"]
    order = next((e for e in entries if e["resource"].get("id") == f"{case.slug}-order"), None)
    asked = code or case.expect.get(case.ruleset, {}).get("billing") or case.ruleset
    return request_for(entries, order, case.slug, case.as_of, asked, knowledge)


def request_for(entries: list[dict[str, Any]], order: dict[str, Any] | None, name: str, as_of: dt.date,
                code: str, knowledge: Knowledge) -> dict[str, Any]:
    """A PAS Request Bundle asking `code` for the order entry (None: the record's draft orders)
    of a patient's record entries (the Patient first), named `name` (the Claim's identifier and
    the member id given to a patient without one); the item's request type, certification type,
    category and place of service from rulesets/davinci/pas.yaml."""
    patient = entries[0]
    if not patient["resource"].get("identifier"):
        patient = {**patient, "resource": {**patient["resource"], "identifier": [
            {"type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MB"}]}, "system": MEMBER_SYSTEM, "value": name}]}}
    given = pas_codes(knowledge.folder).example_item
    item: dict[str, Any] = {
        "extension": [{"url": x12.PAS + "extension-serviceItemRequestType",
                       "valueCodeableConcept": {"coding": [given.request_type.fhir()]}},
                      {"url": x12.CERTIFICATION_TYPE,
                       "valueCodeableConcept": {"coding": [given.certification_type.fhir()]}}],
        "sequence": 1, "category": {"coding": [given.category.fhir()]},
        "productOrService": {"coding": [{"system": HCPCS, "code": code}]},
        "servicedDate": as_of.isoformat(), "locationCodeableConcept": {"coding": [given.location.fhir()]}}
    if order is not None:
        item["extension"].append({"url": x12.REQUESTED_SERVICE, "valueReference": {"reference": order["fullUrl"]}})
    claim = {
        "resourceType": "Claim", "id": f"{name}-claim", "meta": {"profile": [x12.PAS + "profile-claim"]},
        "identifier": [{"system": "urn:example:pas:claim", "value": name}],
        "status": "active", "use": "preauthorization",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "patient": {"reference": patient["fullUrl"]}, "created": as_of.isoformat(),
        "insurer": {"reference": _url("insurer")}, "provider": {"reference": _url("provider")},
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": _url(f"coverage/{name}")}}],
        "item": [item],
    }
    coverage = {"resourceType": "Coverage", "id": f"{name}-coverage",
                "meta": {"profile": [x12.PAS + "profile-coverage"]}, "status": "active",
                "beneficiary": {"reference": patient["fullUrl"]}, "payor": [{"reference": _url("insurer")}]}
    return {"resourceType": "Bundle", "meta": {"profile": [x12.REQUEST_BUNDLE]},
            "identifier": {"system": "urn:example:pas:request", "value": name},
            "type": "collection", "timestamp": f"{as_of.isoformat()}T00:00:00Z",
            "entry": [{"fullUrl": _url(f"claim/{name}"), "resource": claim},
                      # Copies: a caller may change its request without changing the next one's.
                      {"fullUrl": _url("insurer"), "resource": copy.deepcopy(INSURER)},
                      {"fullUrl": _url("provider"), "resource": copy.deepcopy(PROVIDER)},
                      {"fullUrl": _url(f"coverage/{name}"), "resource": coverage}, patient, *entries[1:]]}


def inquiry_for(request: dict[str, Any], npi: str = EXAMPLE_NPI) -> dict[str, Any]:
    """A PAS Inquiry Request Bundle about a request made here: a Claim Inquiry naming its patient
    (member id), its payer and its provider by NPI, as the IG's PASClaimInquiryBundleExample."""
    claim = request["entry"][0]["resource"]
    by_url = {e["fullUrl"]: e for e in request["entry"]}
    coverage = claim["insurance"][0]["coverage"]
    provider = {"fullUrl": claim["provider"]["reference"],
                "resource": {**copy.deepcopy(PROVIDER), "identifier": [{"system": NPI_SYSTEM, "value": npi}]}}
    inquiry = {
        "resourceType": "Claim", "id": f"{claim['id']}-inquiry", "meta": {"profile": [x12.PAS + "profile-claim-inquiry"]},
        "identifier": [{"system": "urn:example:pas:inquiry", "value": claim["id"]}],
        "status": "active", "type": claim["type"], "use": "preauthorization", "patient": claim["patient"],
        "created": claim["created"], "insurer": claim["insurer"], "provider": claim["provider"],
        "insurance": [{"sequence": 1, "focal": True, "coverage": coverage}]}
    return {"resourceType": "Bundle", "meta": {"profile": [x12.PAS + "profile-pas-inquiry-request-bundle"]},
            "identifier": {"system": "urn:example:pas:inquiry", "value": claim["id"]}, "type": "collection",
            "timestamp": request["timestamp"],
            "entry": [{"fullUrl": _url(f"inquiry/{claim['id']}"), "resource": inquiry},
                      by_url[claim["patient"]["reference"]], provider, by_url[claim["insurer"]["reference"]],
                      by_url[coverage["reference"]]]}


def record_request(record: dict[str, Any], knowledge: Knowledge, as_of: dt.date) -> dict[str, Any] | None:
    """A PAS Request Bundle for a patient's record Bundle (the Patient first, e.g. from `cds
    synth`): one item for its draft orders, asking the code the rules pick for them, as a
    provider who read the CRD card would. None when the record has no draft order or no
    therapy claims it."""
    from .pas import decide
    from .pas_errors import therapy_codes
    from .pas_request import read_request

    entries = [e for e in record.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    if not entries or entries[0]["resource"].get("resourceType") != "Patient":
        return None
    name = str(entries[0]["resource"].get("id") or "patient")
    # Asked with any code a therapy bills: the decision carries the code the rules pick (A1 or A6).
    asked = min(therapy_codes(knowledge))
    try:
        first = decide(read_request(request_for(entries, None, name, as_of, asked, knowledge)), knowledge, "", as_of)
    except HookError:
        return None
    assessment = first.decisions[0].assessment
    return request_for(entries, None, name, as_of, assessment.billing.code, knowledge) if assessment is not None else None


def example_case(loaded: dict[str, cases.Case], therapy: str) -> cases.Case | None:
    """The therapy's first case with an order that the case expects eligible, else its first with an order."""
    own = [c for c in loaded.values() if c.ruleset == therapy and isinstance(c.record.get("order"), dict)
           and not c.known_gap]
    eligible = [c for c in own if c.expect.get(therapy, {}).get("status") == "eligible"]
    return (eligible or own or [None])[0]
