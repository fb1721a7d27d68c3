"""What a clinician submits on /review, read into one patient's record or a message to show."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from ..fhir import InputError, Problem, RawEntry, read_document
from ..fhir.read import read_ndjson
from ..fhir.record import PatientRecord, build_records

Field = Literal["patient", "bundle", "upload", "fixture", "as_of"]
FORMATS = "a FHIR R4 Bundle, one resource, a JSON array of resources, or NDJSON"


class BadInput(Exception):
    """Input the page shows a message for, next to the control it came from."""

    def __init__(self, field: Field, headline: str, details: list[str] | None = None) -> None:
        self.field = field
        self.headline = headline
        self.details = details or []
        super().__init__(headline)


@dataclass(frozen=True)
class Submitted:
    record: PatientRecord
    resources: list[dict[str, Any]]


def read_text(text: str, source: str, field: Field) -> Submitted:
    """One patient's record from JSON or NDJSON text; BadInput says what is wrong with it."""
    if not text.strip():
        raise BadInput(field, f"{source.capitalize()} is empty: give {FORMATS}.")
    try:
        entries = _entries(text, source, field)
    except InputError as exc:
        headline = ("Some lines are not JSON:" if any("not JSON" in p.message for p in exc.problems)
                    else f"This is JSON, but not FHIR: give {FORMATS}.")
        raise BadInput(field, headline, _lines(exc.problems)) from None
    try:
        records = build_records(entries, strict=True)
    except InputError as exc:
        if any(p.element == "Patient" for p in exc.problems):
            raise BadInput(field, "No Patient resource: the assessment needs the patient the data is about.",
                           _lines(exc.problems)) from None
        raise BadInput(field, "Some resources are not valid FHIR R4:", _lines(exc.problems)) from None
    if len(records) != 1:
        raise BadInput(field, f"The data holds {len(records)} patients: give one patient's data at a time.",
                       [r.reference for r in records])
    return Submitted(record=records[0], resources=[e.resource for e in entries])


def read_as_of(value: str, default: dt.date) -> dt.date:
    if not value.strip():
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput("as_of", f"Not a date: {value.strip()!r}. Use the form YYYY-MM-DD, e.g. 2026-11-22.") from None


def _entries(text: str, source: str, field: Field) -> list[RawEntry]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines):
            return list(read_ndjson(text.encode(), source))
        raise BadInput(field, f"This is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
                       f"give {FORMATS}.") from None
    return read_document(document, source)


def _lines(problems: list[Problem]) -> list[str]:
    # A long list helps nobody at the bedside: the first few, and how many more.
    shown = [str(p) for p in problems[:8]]
    if len(problems) > 8:
        shown.append(f"... and {len(problems) - 8} more")
    return shown
