"""Batch input: files and folders into units, each a self-contained input to audit.

A Bundle file is one unit. Loose resources (NDJSON of a FHIR Bulk Data export, one file per
resource type, or single-resource JSON files) are pooled per folder and grouped by patient:
one unit per patient, with the Medications its requests refer to. Only the resource types the
rules and the claim audit read are kept, and a unit's input hash is taken over them, so the
same resources give the same hash whether they came as a Bundle or as NDJSON.

Bad input is reported per file and leaves the rest alone. A line of an NDJSON file that is
not JSON could belong to any patient of its export, so that export is not audited at all: an
audit over a record with a hole in it would be wrong without saying so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..fhir import InputError, RawEntry, expand_paths, read_file
from .canonical import input_hash

READ_TYPES = frozenset({"Patient", "Condition", "MedicationRequest", "Medication", "ServiceRequest",
                        "Claim", "ExplanationOfBenefit"})
CLAIM_TYPES = frozenset({"Claim", "ExplanationOfBenefit"})
# Audit records never name input files: file names (Synthea's, say) can carry patient names.
BUNDLE_LABEL = "bundle"


@dataclass
class Unit:
    """One input to audit: a Bundle file, or one patient's loose resources."""

    label: str                 # where it came from, for messages only (never stored)
    entries: list[RawEntry]
    patients: int
    input_hash: str


@dataclass
class Reading:
    units: list[Unit]
    problems: list[str]
    files: int


def read_units(paths: list[str | Path]) -> Reading:
    problems: list[str] = []
    files: list[Path] = []
    for path in paths:
        try:
            files.extend(expand_paths([path]))
        except InputError as exc:
            problems.extend(str(p) for p in exc.problems)
    units: list[Unit] = []
    loose: dict[Path, list[RawEntry]] = defaultdict(list)
    broken: dict[Path, list[str]] = defaultdict(list)
    for file in dict.fromkeys(files):
        try:
            entries = read_file(file)
        except InputError as exc:
            found = [str(p) for p in exc.problems]
            problems.extend(found)
            if file.suffix == ".ndjson":
                broken[file.parent].append(file.name)
            continue
        kept = [e for e in entries if e.resource["resourceType"] in READ_TYPES]
        if entries and entries[0].in_bundle:
            unit = _bundle_unit(file, kept)
            if unit is None:
                problems.append(f"{file}: no Patient resource: nothing to audit")
            else:
                units.append(unit)
        else:
            label = file.name if file.suffix == ".ndjson" else "input"
            loose[file.parent].extend(replace(e, source=label) for e in kept)
    for folder, entries in loose.items():
        if folder in broken:
            problems.append(f"{folder}: export not audited: {', '.join(broken[folder])} could not be read "
                            "line by line, so no patient's record in it is known to be complete")
            continue
        grouped, orphans = _by_patient(folder, entries)
        units.extend(grouped)
        problems.extend(orphans)
    return Reading(units=units, problems=problems, files=len(files))


def _bundle_unit(file: Path, entries: list[RawEntry]) -> Unit | None:
    patients = sum(e.resource["resourceType"] == "Patient" for e in entries)
    if not patients:
        return None
    relabelled = [replace(e, source=BUNDLE_LABEL) for e in entries]
    return Unit(label=str(file), entries=relabelled, patients=patients,
                input_hash=input_hash(e.resource for e in entries))


def _by_patient(folder: Path, entries: list[RawEntry]) -> tuple[list[Unit], list[str]]:
    groups: dict[str, list[RawEntry]] = defaultdict(list)
    medications: dict[str, RawEntry] = {}
    order: list[str] = []         # patients in the order of their Patient resources, as evaluate does
    for entry in entries:
        resource = entry.resource
        kind = resource["resourceType"]
        if kind == "Medication":
            medications[f"Medication/{resource.get('id')}"] = entry
        elif kind == "Patient":
            order.append(f"Patient/{resource.get('id')}")
            groups[order[-1]].append(entry)
        else:
            groups[patient_reference(resource) or "(no patient)"].append(entry)
    units: list[Unit] = []
    problems: list[str] = []
    for patient in dict.fromkeys([*order, *groups]):
        group = groups[patient]
        if not any(e.resource["resourceType"] == "Patient" for e in group):
            problems.append(f"{folder}: {len(group)} resource(s) refer to {patient}, which is not in the input")
            continue
        wanted = {tail(_reference(e.resource.get("medicationReference"))) for e in group
                  if e.resource["resourceType"] == "MedicationRequest"}
        group = group + [medications[w] for w in sorted(w for w in wanted if w in medications)]
        units.append(Unit(label=f"{folder}: {patient}", entries=group, patients=1,
                          input_hash=input_hash(e.resource for e in group)))
    return units, problems


def patient_reference(resource: dict[str, Any]) -> str | None:
    """"Patient/<id>" of a resource's subject (or patient, for claims), if it names one."""
    reference = _reference(resource.get("subject")) or _reference(resource.get("patient"))
    last = tail(reference)
    return last if last and last.startswith("Patient/") else None


def _reference(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return str(value["reference"])
    return None


def tail(reference: str | None) -> str | None:
    """The last two segments of a reference: http://x/fhir/Patient/1/_history/2 -> Patient/1."""
    if not reference:
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference
