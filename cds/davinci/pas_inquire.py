"""`Claim/$inquire`: a PAS Inquiry Request Bundle in; a Parameters with one `return` PAS Inquiry
Response Bundle per kept request that matches, with its current decisions (IG 2.2.1: the
OperationDefinition's `return` 0..*, as the test kit's parameters_helper.rb reads it).

A request matches on the patient's member or subscriber id (identifier on Claim.patient, or
its Coverage) plus the provider's identifier, its NPI (spec-53); any authenticated system may
ask (spec-52). An inquiry Bundle that cannot be processed is a 4xx with one OperationOutcome.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

from ..fhir import Problem
from ..service.errors import HookError
from . import x12
from .pas_request import identifiers, as_list, unwrap
from .pas_store import PasStore

INQUIRY_REQUEST = x12.PAS + "profile-pas-inquiry-request-bundle"
INQUIRY_RESPONSE = x12.PAS + "profile-pas-inquiry-response-bundle"
CLAIM_INQUIRY = x12.PAS + "profile-claim-inquiry"
CLAIM_INQUIRY_RESPONSE = x12.PAS + "profile-claiminquiryresponse"


def _problem(status: int, message: str, element: str | None = None) -> HookError:
    return HookError(status, [Problem(source="Bundle", element=element, message=message)])


def inquire(body: Any, store: PasStore) -> dict[str, Any]:
    bundle = unwrap(body)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle" or bundle.get("type") != "collection":
        raise _problem(400, "the body must be a PAS Inquiry Request Bundle of type collection "
                            "(or a Parameters holding one as `resource`)")
    entries = [e for e in as_list(bundle.get("entry")) if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    if not entries or len(entries) != len(as_list(bundle.get("entry"))):
        raise _problem(400, "the Bundle has no entries or an entry without a resource: an inquiry holds a Claim "
                            "and what it references", "Bundle.entry")
    claim = entries[0]["resource"]
    if claim.get("resourceType") != "Claim":
        raise _problem(400, "the first entry of a PAS Inquiry Request Bundle must be the Claim", "Bundle.entry[0]")
    names = _names(entries)
    found = {element: names.get(_reference(claim.get(element))) for element in ("patient", "provider", "insurer")}
    for element, resource in found.items():
        if resource is None:
            raise _problem(422, f"the Claim's {element} is not an entry of the Bundle", f"Claim.{element}")
    members = set(identifiers(found["patient"]))
    for insurance in as_list(claim.get("insurance")):
        coverage = names.get(_reference(insurance.get("coverage"))) if isinstance(insurance, dict) else None
        if coverage is not None:
            members |= set(identifiers(coverage))
            if isinstance(coverage.get("subscriberId"), str):
                members.add(coverage["subscriberId"])
    providers = set(identifiers(found["provider"]))
    if not members or not providers:
        raise _problem(422, "an inquiry names the patient by member id and the provider by identifier (NPI): "
                            "spec-53", "Claim.patient")
    matched = [k for k in store.of_members(members) if providers & set(k.providers)]
    found = [{"name": "return", "resource": _inquiry_response(k.response)} for k in matched]
    # No match: a Parameters without parameters (FHIR has no empty arrays).
    return {"resourceType": "Parameters", **({"parameter": found} if found else {})}


def _inquiry_response(response: dict[str, Any]) -> dict[str, Any]:
    """The kept response Bundle as an Inquiry Response Bundle: the same decisions and entries,
    the ClaimResponse under the Claim Inquiry Response profile."""
    bundle = copy.deepcopy(response)
    bundle["id"] = str(uuid.uuid4())
    bundle["meta"] = {"profile": [INQUIRY_RESPONSE]}
    bundle["timestamp"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    bundle["entry"][0]["resource"]["meta"] = {"profile": [CLAIM_INQUIRY_RESPONSE]}
    return bundle


def _reference(value: Any) -> str:
    return str(value.get("reference")) if isinstance(value, dict) else ""


def _names(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names: dict[str, dict[str, Any]] = {}
    for entry in entries:
        resource = entry["resource"]
        if isinstance(entry.get("fullUrl"), str):
            names.setdefault(entry["fullUrl"], resource)
        if isinstance(resource.get("id"), str) and isinstance(resource.get("resourceType"), str):
            names.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
    return names
