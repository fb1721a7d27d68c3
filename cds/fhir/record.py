"""Group validated resources into one record per patient and resolve references."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.immunization import Immunization
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest

from .errors import InputError, Problem
from .limits import limits, over
from .read import RawEntry
from .registry import BY_NAME
from .validate import validate


@dataclass
class PatientRecord:
    """What the rules may read about one patient, as validated R4B models."""

    patient: Patient
    reference: str
    conditions: list[tuple[str, Condition]] = field(default_factory=list)
    medication_requests: list[tuple[str, MedicationRequest]] = field(default_factory=list)
    service_requests: list[tuple[str, ServiceRequest]] = field(default_factory=list)
    observations: list[tuple[str, Observation]] = field(default_factory=list)
    procedures: list[tuple[str, Procedure]] = field(default_factory=list)
    immunizations: list[tuple[str, Immunization]] = field(default_factory=list)
    # Medications by every name a reference may use: "Medication/1" or a fullUrl. Contained
    # ones are resolved from their MedicationRequest.
    medications: dict[str, Medication] = field(default_factory=dict)
    # Conditions by every name a reference may use ("Condition/1" or a fullUrl) -> their own
    # reference: an order's reasonReference (criteria README "Context").
    condition_names: dict[str, str] = field(default_factory=dict)
    # Problems in resources the rules could not use; reported, never fatal on their own.
    warnings: list[Problem] = field(default_factory=list)
    # Documentation items attested in a DTR QuestionnaireResponse (cds/davinci/answers.py):
    # (the answer's reference, the documentation item's id).
    documented: list[tuple[str, str]] = field(default_factory=list)


Screen = Callable[[dict[str, Any]], bool]


def build_records(
    entries: Iterable[RawEntry], *, strict: bool = True, screen: Screen | None = None
) -> list[PatientRecord]:
    """One record per Patient. Bundles are self-contained; loose resources pool by patient id.

    strict: any invalid resource the rules read fails the whole input (CLI, batch).
    Not strict: invalid resources are left out and reported as warnings (CDS Hooks prefetch).
    screen: False for a resource no rule can read (e.g. a Condition whose codes are in no
    value set): it is neither validated nor kept.
    """
    entries = list(entries)
    check_resource_count(entries)
    problems: list[Problem] = []
    validated: list[tuple[RawEntry, Resource]] = []
    for entry in entries:
        if screen is not None and not screen(entry.resource):
            continue
        model, found = validate(entry)
        problems.extend(found)
        if model is not None:
            validated.append((entry, model))
    if problems and strict:
        raise InputError(problems)
    return group_records(entries, validated, problems)


def validation_problems(entries: Iterable[RawEntry], screen: Screen | None = None) -> list[Problem]:
    """What validation finds in these entries (to report beside problems found earlier)."""
    return [p for e in entries if screen is None or screen(e.resource) for p in validate(e)[1]]


def check_resource_count(entries: list[RawEntry]) -> None:
    """Refuse a patient with more resources than the cap, before any costly validation."""
    cap = limits().max_resources
    if len(entries) <= cap:
        return
    counts: dict[tuple[str, str], int] = {}
    for entry in entries:
        counts[_owner(entry)] = counts.get(_owner(entry), 0) + 1
    (scope, owner), count = max(counts.items(), key=lambda item: item[1])
    if count > cap:
        raise over(scope or owner, f"resources for {owner}", count, cap, "max resources per patient, $CDS_MAX_RESOURCES")


def _owner(entry: RawEntry) -> tuple[str, str]:
    """Whose resource this is, cheaply, from the raw JSON: (scope, patient reference)."""
    resource = entry.resource
    if resource.get("resourceType") == "Patient":
        return _scope(entry), f"Patient/{resource.get('id')}"
    registered = BY_NAME.get(resource.get("resourceType"))  # type: ignore[arg-type]
    subject = resource.get(registered.subject if registered is not None else "subject")
    ref = subject.get("reference") if isinstance(subject, dict) else None
    return _scope(entry), ref if isinstance(ref, str) else "the patient"


def group_records(
    entries: list[RawEntry], validated: list[tuple[RawEntry, Resource]], problems: list[Problem]
) -> list[PatientRecord]:
    """Records from resources already validated (problems: what was left out, as warnings)."""
    records: dict[tuple[str, str], PatientRecord] = {}
    aliases: dict[tuple[str, str], tuple[str, str]] = {}
    for entry, model in validated:
        if isinstance(model, Patient):
            key = (_scope(entry), f"Patient/{model.id}")
            record = records.get(key) or PatientRecord(patient=model, reference=key[1])
            records[key] = record
            for name in _names(entry, "Patient", model.id):
                aliases[(_scope(entry), name)] = key
    if not records:
        sources = sorted({e.source for e in entries}) or ["input"]
        raise InputError([
            Problem(source=s, element="Patient", message="no Patient resource: cannot assess without the patient")
            for s in sources
        ])

    medications: dict[str, dict[str, Medication]] = {}
    for entry, model in validated:
        if isinstance(model, Medication):
            scope_meds = medications.setdefault(_scope(entry), {})
            for name in _names(entry, "Medication", model.id):
                scope_meds[name] = model

    for entry, model in validated:
        if isinstance(model, (Patient, Medication)):
            continue
        subject_element = BY_NAME[model.get_resource_type()].subject
        subject = getattr(model, subject_element, None)
        ref = subject.reference if subject is not None else None
        key = aliases.get((_scope(entry), ref or ""))
        if key is None:
            scoped = [k for k in records if k[0] == _scope(entry)]
            if len(scoped) == 1 and ref is None:
                key = scoped[0]
            else:
                problems.append(Problem(
                    source=entry.source, entry=entry.entry, element=f"{model.get_resource_type()}.{subject_element}",
                    message=f"refers to no Patient in the input ({ref or 'missing'})", severity="warning",
                ))
                continue
        record = records[key]
        own_ref = f"{model.get_resource_type()}/{model.id}" if model.id else f"{model.get_resource_type()}/{entry.source}#{entry.entry}"
        target = BY_NAME[model.get_resource_type()].record_list
        if target is not None:
            getattr(record, target).append((own_ref, model))
        if model.get_resource_type() == "Condition":
            record.condition_names.update(dict.fromkeys(_names(entry, "Condition", model.id), own_ref))

    for (scope, _), record in records.items():
        record.medications.update(medications.get(scope, {}))
        # Strict inputs have raised on errors already; what is left are warnings.
        record.warnings.extend(problems)
    return list(records.values())



def _scope(entry: RawEntry) -> str:
    return entry.source if entry.in_bundle else ""


def _names(entry: RawEntry, kind: str, resource_id: str | None) -> list[str]:
    names = []
    if resource_id:
        names += [f"{kind}/{resource_id}"]
    if entry.full_url:
        names.append(entry.full_url)
        # A fullUrl like http://server/fhir/Patient/1 is also referenced as Patient/1.
        tail = "/".join(entry.full_url.rstrip("/").split("/")[-2:])
        if tail.startswith(f"{kind}/"):
            names.append(tail)
    return names
