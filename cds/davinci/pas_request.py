"""A PAS Request Bundle read and checked: the Claim, its patient, its items and the orders
they name (`Claim/$submit`, PAS IG 2.2.1).

A Bundle that cannot be processed (not a collection, empty, no Claim first, a Claim of another
profile or purpose, a Claim whose patient is not in the Bundle, an order of another patient) is a
4xx HookError with one OperationOutcome; no message quotes the request. An item naming an order
the Bundle does not hold is a business error of that item, answered in the response. A PAS Claim
Update with certificationType 3 (Cancel) on the Claim cancels the whole request it names and needs
no items (specification.md, "Updating authorization requests": "No items are needed to be sent to
cancel the entire authorization").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fhir import Problem
from ..service.errors import HookError
from ..terminology.valuesets import HCPCS_SYSTEMS
from . import x12

ORDER_TYPES = frozenset({"MedicationRequest", "ServiceRequest"})


def _problem(status: int, message: str, element: str | None = None) -> HookError:
    return HookError(status, [Problem(source="Bundle", element=element, message=message)])


@dataclass(frozen=True)
class Item:
    """One Claim.item: what the response echoes and the orders it asks for."""

    index: int
    sequence: int
    code: str | None                 # the requested HCPCS code
    trace: dict[str, Any] | None     # the itemTraceNumber identifier, when sent
    orders: tuple[str, ...]          # "MedicationRequest/<id>": the named order, else the draft orders
    named: bool                      # whether the item named its order (requestedService)
    serviced: dict[str, Any] | None  # the requested service period, as a Period
    cancelled: bool = False          # an update cancels it (modifierExtension infoCancelled: spec-69)
    # The FHIRPath (from the Bundle) of a requestedService naming no order of the Bundle: a
    # business error of this item (ClaimResponse.error), not of the request.
    unknown_order: str | None = None


@dataclass(frozen=True)
class PasRequest:
    bundle: dict[str, Any]
    claim: dict[str, Any]
    claim_ref: str                   # "Claim/<id>": the audit trail's claim line
    request_ref: str                 # how the response refers to the Claim entry (its fullUrl)
    patient_ref: str                 # "Patient/<id>"
    items: tuple[Item, ...]
    resources: dict[str, tuple[str, dict[str, Any]]]   # every name of an entry -> (fullUrl, resource)
    # A Claim Update cancelling the whole request it names (certificationType 3 on the Claim).
    cancel_all: bool = False

    def entry(self, reference: Any) -> tuple[str, dict[str, Any]] | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        return self.resources.get(reference["reference"])

    def order(self, ref: str) -> dict[str, Any]:
        return self.resources[ref][1]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def identifiers(resource: dict[str, Any] | None) -> list[str]:
    """The identifier values of a resource (member ids, NPIs)."""
    if resource is None:
        return []
    return [i["value"] for i in as_list(resource.get("identifier"))
            if isinstance(i, dict) and isinstance(i.get("value"), str)]


def _ref(value: Any) -> str | None:
    """The reference string of a Reference, None for anything else."""
    found = value.get("reference") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _profiles(resource: dict[str, Any]) -> list[Any]:
    meta = resource.get("meta")
    return as_list(meta.get("profile")) if isinstance(meta, dict) else []


def unwrap(body: Any) -> Any:
    """The Bundle of a Parameters wrapper (the operation's `resource` parameter), else the body."""
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        found = [p.get("resource") for p in as_list(body.get("parameter")) if isinstance(p, dict)
                 and p.get("name") == "resource"]
        if len(found) != 1:
            raise _problem(400, "a Parameters body needs exactly one `resource` parameter holding the PAS Request Bundle",
                           "Parameters.parameter")
        return found[0]
    return body


def read_request(body: Any) -> PasRequest:
    bundle = unwrap(body)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise _problem(400, "the body must be a PAS Request Bundle (or a Parameters holding one as `resource`)")
    profiles = _profiles(bundle)
    if profiles and x12.REQUEST_BUNDLE not in profiles:
        raise _problem(422, "the Bundle declares a profile other than the PAS Request Bundle", "Bundle.meta.profile")
    if bundle.get("type") != "collection":
        raise _problem(400, "a PAS Request Bundle is of type collection", "Bundle.type")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise _problem(400, "the Bundle has no entries: a PAS request holds a Claim and what it references",
                       "Bundle.entry")
    if not all(isinstance(e, dict) and isinstance(e.get("resource"), dict)
               and isinstance(e["resource"].get("resourceType"), str) for e in entries):
        raise _problem(400, "every entry must carry a FHIR resource", "Bundle.entry")
    claim = entries[0]["resource"]
    if claim["resourceType"] != "Claim":
        raise _problem(400, "the first entry of a PAS Request Bundle must be the Claim (ClaimFirst)", "Bundle.entry[0]")
    claim_profiles = _profiles(claim)
    if claim_profiles and not x12.CLAIM_PROFILES.intersection(p for p in claim_profiles if isinstance(p, str)):
        raise _problem(422, "the Claim declares a profile other than PAS Claim or PAS Claim Update",
                       "Claim.meta.profile")
    if claim.get("use") != "preauthorization":
        raise _problem(422, "the Claim's use must be preauthorization", "Claim.use")
    if not isinstance(claim.get("type"), dict):
        raise _problem(422, "the Claim needs its type (the ClaimResponse repeats it)", "Claim.type")
    resources = _names(entries)
    patient = resources.get(str(_ref(claim.get("patient"))))
    if patient is None or patient[1]["resourceType"] != "Patient" or not isinstance(patient[1].get("id"), str):
        raise _problem(422, "the Claim's patient is not a Patient entry of the Bundle", "Claim.patient")
    patient_ref = f"Patient/{patient[1]['id']}"
    for element in ("insurer", "provider"):
        # Every reference of the Claim resolves within the Bundle (the test kit's request check).
        if resources.get(str(_ref(claim.get(element)))) is None:
            raise _problem(422, f"the Claim's {element} is not an entry of the Bundle", f"Claim.{element}")
    cancel_all = _cancels(claim.get("extension"))
    if cancel_all and not is_update(claim):
        raise _problem(422, "certificationType 3 (Cancel) on the Claim cancels a request this service holds: send it "
                            "in a PAS Claim Update naming that request in related.claim", "Claim.extension")
    items = claim.get("item", []) if cancel_all else claim.get("item")
    if not isinstance(items, list) or not (items or cancel_all) or not all(isinstance(i, dict) for i in items):
        # An item that is not an object cannot be answered either.
        raise _problem(400, "the Claim has no items: nothing to authorize", "Claim.item")
    drafts = tuple(sorted(ref for ref, (_, r) in resources.items() if "/" in ref and not ref.startswith(("urn:", "http"))
                          and r["resourceType"] in ORDER_TYPES and r.get("status") == "draft"))
    read = tuple(_item(n, item, resources, drafts, patient_ref) for n, item in enumerate(items))
    if len({i.sequence for i in read}) != len(read):
        raise _problem(400, "item sequence numbers must be unique", "Claim.item.sequence")
    claim_url = entries[0].get("fullUrl")
    claim_ref = f"Claim/{claim['id']}" if isinstance(claim.get("id"), str) else str(claim_url or "Claim")
    return PasRequest(bundle=bundle, claim=claim, claim_ref=claim_ref, request_ref=str(claim_url or claim_ref),
                      patient_ref=patient_ref, items=read, resources=resources, cancel_all=cancel_all)


def is_update(claim: dict[str, Any]) -> bool:
    """A PAS Claim Update: its profile, or a related.claim naming the Claim it updates (spec-65)."""
    return x12.CLAIM_UPDATE in _profiles(claim) or any(isinstance(r, dict) and r.get("claim")
                                                       for r in as_list(claim.get("related")))


def _cancels(extensions: Any) -> bool:
    """Whether these extensions carry certificationType 3 (Cancel)."""
    for extension in as_list(extensions):
        if isinstance(extension, dict) and extension.get("url") == x12.CERTIFICATION_TYPE:
            concept = extension.get("valueCodeableConcept")
            codings = as_list(concept.get("coding")) if isinstance(concept, dict) else []
            if any(isinstance(c, dict) and (c.get("system"), c.get("code")) == (x12.CERTIFICATION_TYPE_SYSTEM, x12.CANCEL)
                   for c in codings):
                return True
    return False


def _names(entries: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each entry by every name a reference may use: its fullUrl and `Type/id`."""
    names: dict[str, tuple[str, dict[str, Any]]] = {}
    for entry in entries:
        resource = entry["resource"]
        local = f"{resource['resourceType']}/{resource['id']}" if isinstance(resource.get("id"), str) else None
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        url = full_url or local
        if url is None:
            continue
        for name in (full_url, local):
            if name is not None:
                names.setdefault(name, (url, resource))
    return names


def _item(index: int, item: dict[str, Any], resources: dict[str, tuple[str, dict[str, Any]]],
          drafts: tuple[str, ...], patient_ref: str) -> Item:
    where = f"Claim.item[{index}]"
    sequence = item.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise _problem(400, "every item needs a positive sequence", f"{where}.sequence")
    extensions = [e for e in as_list(item.get("extension")) if isinstance(e, dict)]
    named = [e.get("valueReference") for e in extensions if e.get("url") == x12.REQUESTED_SERVICE]
    traces = [e.get("valueIdentifier") for e in extensions if e.get("url") == x12.ITEM_TRACE_NUMBER]
    orders: tuple[str, ...] = drafts
    if named:
        found = [resources.get(str(_ref(r))) for r in named]
        bad = [n for n, f in enumerate(found) if f is None or f[1]["resourceType"] not in ORDER_TYPES
               or not isinstance(f[1].get("id"), str)]
        if bad:
            position = [n for n, e in enumerate(as_list(item.get("extension")))
                        if isinstance(e, dict) and e.get("url") == x12.REQUESTED_SERVICE][bad[0]]
            return Item(index=index, sequence=sequence, code=_hcpcs(item.get("productOrService")),
                        trace=traces[0] if traces and isinstance(traces[0], dict) else None, orders=(), named=True,
                        serviced=_period(item),
                        unknown_order=f"Bundle.entry[0].resource.item[{index}].extension[{position}].valueReference")
        orders = tuple(f"{f[1]['resourceType']}/{f[1]['id']}" for f in found if f is not None)
    for ref in orders:
        order = resources[ref][1]
        owner = resources.get(str(_ref(order.get("subject"))))
        if owner is None or f"Patient/{owner[1].get('id')}" != patient_ref:
            raise _problem(422, "an order of the request is for another patient than the Claim's", f"{where}.extension")
    return Item(index=index, sequence=sequence, code=_hcpcs(item.get("productOrService")),
                trace=traces[0] if traces and isinstance(traces[0], dict) else None,
                orders=orders, named=bool(named), serviced=_period(item), cancelled=_cancelled(item))


def _cancelled(item: dict[str, Any]) -> bool:
    return any(isinstance(e, dict) and e.get("url") == x12.INFO_CANCELLED and e.get("valueBoolean") is True
               for e in as_list(item.get("modifierExtension")))


def _hcpcs(concept: Any) -> str | None:
    for coding in as_list(concept.get("coding")) if isinstance(concept, dict) else []:
        if isinstance(coding, dict) and coding.get("system") in HCPCS_SYSTEMS and isinstance(coding.get("code"), str):
            return coding["code"].strip().upper()
    return None


def _period(item: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(item.get("servicedPeriod"), dict):
        return {k: v for k, v in item["servicedPeriod"].items() if k in ("start", "end") and isinstance(v, str)} or None
    if isinstance(item.get("servicedDate"), str):
        return {"start": item["servicedDate"], "end": item["servicedDate"]}
    return None
