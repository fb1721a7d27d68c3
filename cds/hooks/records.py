"""One patient's record from a hook call: prefetch data plus the draft orders.

Everything is read as loose resources pooled by patient reference (not per Bundle), because
the prefetch keys arrive as separate Bundles that refer to one Patient. Only resources about
the context's patient reach the record; a Patient resource for anyone else fails the call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from fhir.resources.R4B.resource import Resource

from ..fhir import InputError, Problem, RawEntry
from ..fhir.limits import limits, over
from ..fhir.record import PatientRecord, group_records
from ..fhir.validate import validate
from ..service.errors import HookError
from .lenient import salvage
from .requests import OrderSignContext, ParsedCall

DRAFTS_SOURCE = "context.draftOrders"


def build_record(call: ParsedCall, prefetch: dict[str, Any],
                 screen: Callable[[dict[str, Any]], bool]) -> tuple[PatientRecord, set[str]]:
    """The patient's record and the references of the draft orders in it; screen: whether a
    rule can read a resource (Knowledge.screen)."""
    patient_id = call.context.patientId
    warnings: list[Problem] = []
    drafts = _entries(call.context.draftOrders, DRAFTS_SOURCE, warnings) \
        if isinstance(call.context, OrderSignContext) else []
    draft_keys = {_key(e.resource) for e in drafts} - {None}
    entries: list[RawEntry] = []
    for key, value in prefetch.items():
        # The draft order is newer than the copy a search may also return.
        entries += [e for e in _entries(value, f"prefetch.{key}", warnings)
                    if _key(e.resource) not in draft_keys]
    entries += drafts
    if len(entries) > limits().max_resources:
        raise over("prefetch", "resources", len(entries), limits().max_resources,
                   "max resources per patient, $CDS_MAX_RESOURCES")

    patients = [e for e in entries if e.resource["resourceType"] == "Patient"]
    if any(e.resource.get("id") != patient_id for e in patients):
        raise HookError(400, [Problem(source="prefetch", element="Patient.id",
                                      message="a Patient resource is not the patient of context.patientId")])
    if not patients:
        # prefetch.patient was null: assess on what the record holds; criteria that need the
        # patient's details (age) come out unknown.
        entries.insert(0, RawEntry(source="context", entry=None,
                                   resource={"resourceType": "Patient", "id": patient_id}))
    if call.request.fhirServer:
        # Resources may refer to the patient by absolute URL on the client's server.
        absolute = f"{call.request.fhirServer.rstrip('/')}/Patient/{patient_id}"
        entries = [dataclasses.replace(e, full_url=absolute) if e.resource["resourceType"] == "Patient"
                   and e.full_url is None else e for e in entries]

    # Resources no rule can read (a Condition no value set holds) are neither salvaged nor kept:
    # on a long problem list they are most of the prefetch, and validating them most of the time.
    salvaged: list[RawEntry] = []
    validated: list[tuple[RawEntry, Resource]] = []
    left_out: list[Problem] = []
    for entry in entries:
        if not screen(entry.resource):
            continue
        kept, problems, model = salvage(entry)
        salvaged.append(kept)
        warnings += problems
        if model is not None:
            validated.append((kept, model))
        else:
            # Beyond salvage (a required element missing): left out, with validation's reasons.
            left_out += validate(kept)[1]
    try:
        records = group_records(salvaged, validated, left_out)
    except InputError as exc:
        raise HookError(400, exc.problems) from None
    record = next((r for r in records if r.reference == f"Patient/{patient_id}"), None)
    if record is None:
        raise HookError(400, [Problem(source="prefetch", element="Patient",
                                      message="the Patient resource is not valid")])
    record.warnings.extend(warnings)
    # The names group_records gives: Type/id, or Type/source#entry for a resource without id.
    draft_refs = {f"{e.resource['resourceType']}/{e.resource['id']}" if isinstance(e.resource.get("id"), str)
                  else f"{e.resource['resourceType']}/{e.source}#{e.entry}" for e in drafts}
    return record, draft_refs


def _entries(value: Any, source: str, warnings: list[Problem]) -> list[RawEntry]:
    if value is None:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise HookError(400, [Problem(source=source, message="not a FHIR resource or Bundle")])
    if value["resourceType"] != "Bundle":
        return [RawEntry(source=source, entry=None, resource=value)]
    items = value.get("entry", [])
    if not isinstance(items, list):
        raise HookError(400, [Problem(source=source, element="Bundle.entry", message="must be an array")])
    entries = []
    for index, item in enumerate(items):
        resource = item.get("resource") if isinstance(item, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            warnings.append(Problem(source=source, entry=index, message="entry without a resource: ignored",
                                    severity="warning"))
            continue
        if resource["resourceType"] == "OperationOutcome":
            # The server's note on a search (e.g. results left out): show it, assess the rest.
            warnings.append(Problem(source=source, entry=index, severity="warning",
                                    message="the FHIR server reported a problem with this search"))
            continue
        full_url = item.get("fullUrl")
        entries.append(RawEntry(source=source, entry=index, resource=resource,
                                full_url=full_url if isinstance(full_url, str) else None))
    return entries


def _key(resource: dict[str, Any]) -> tuple[str, str] | None:
    resource_id = resource.get("id")
    return (resource["resourceType"], resource_id) if isinstance(resource_id, str) else None
