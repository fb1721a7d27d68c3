"""The patient's Coverage resources, as the CRD `coverage` prefetch brings them.

Each Coverage is validated with fhir.resources (R4B); one that does not validate fails the call
with the problems (an OperationOutcome), because coverage information built on a Coverage the
client cannot read back would point at nothing. What the CRD error outcomes need is read here:
whether the coverage is in force on the as-of date and whether its beneficiary is the patient.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from fhir.resources.R4B.coverage import Coverage
from pydantic import ValidationError

from ..fhir import InputError, Problem
from ..fhir.dates import day

# The prefetch key and template of the CRD IG's discovery example (crd/examples/CRDServices-discovery.json).
PREFETCH_KEY = "coverage"
PREFETCH = "Coverage?patient={{context.patientId}}&status=active"

# Coverage.status codes of R4 (fm-status) other than active.
_OTHER_STATUSES = frozenset({"cancelled", "draft", "entered-in-error"})
# What the CRD IG's error outcomes distinguish (cards.md resp-44, resp-45).
Standing = Literal["active", "no-member-found", "no-active-coverage"]


@dataclass(frozen=True)
class CoverageOf:
    """One Coverage: how to refer to it, and whether it covers the patient on the as-of date."""

    reference: str          # the Bundle entry's fullUrl when absolute, else Coverage/<id>
    standing: Standing
    why: str                # for a standing other than active: what was found


def read_coverages(value: Any, patient_id: str, as_of: dt.date,
                   source: str = f"prefetch.{PREFETCH_KEY}") -> list[CoverageOf]:
    """Every Coverage of a prefetch value (a Bundle, one Coverage, or None for none)."""
    if value is None:
        return []
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InputError([Problem(source=source, message="not a FHIR resource or Bundle")])
    if value["resourceType"] != "Bundle":
        items: list[tuple[int | None, Any, Any]] = [(None, value, None)]
    else:
        entries = value.get("entry", [])
        if not isinstance(entries, list):
            raise InputError([Problem(source=source, element="Bundle.entry", message="must be an array")])
        items = [(n, e.get("resource"), e.get("fullUrl")) for n, e in enumerate(entries) if isinstance(e, dict)]
    found: list[CoverageOf] = []
    problems: list[Problem] = []
    for entry, resource, full_url in items:
        # A search may carry the server's notes (OperationOutcome) or included resources.
        if not isinstance(resource, dict) or resource.get("resourceType") != "Coverage":
            if entry is None:
                problems.append(Problem(source=source, message="not a Coverage or a Bundle of Coverages"))
            continue
        try:
            coverage = Coverage.model_validate(resource)
        except ValidationError as exc:
            problems += [Problem(source=source, entry=entry,
                                 element=".".join(["Coverage", *(str(p) for p in e["loc"])]),
                                 message="required" if e["type"] == "missing" else e["msg"])
                         for e in exc.errors()]
            continue
        if coverage.beneficiary is None or coverage.status is None:
            # The models let a null through where R4 requires the element.
            problems.append(Problem(source=source, entry=entry, message="a Coverage needs its status and beneficiary"))
            continue
        reference = _reference(coverage, full_url)
        if reference is None:
            problems.append(Problem(source=source, entry=entry, element="Coverage.id",
                                    message="a Coverage needs an id (or an absolute fullUrl) to be referred to"))
            continue
        found.append(CoverageOf(reference, *_standing(coverage, patient_id, as_of)))
    if problems:
        raise InputError(problems)
    return found


def _reference(coverage: Coverage, full_url: Any) -> str | None:
    if isinstance(full_url, str) and full_url.startswith(("http://", "https://")):
        return full_url
    return f"Coverage/{coverage.id}" if coverage.id else None


def _standing(coverage: Coverage, patient_id: str, as_of: dt.date) -> tuple[Standing, str]:
    beneficiary = coverage.beneficiary.reference or ""
    if beneficiary.rstrip("/").split("/")[-2:] != ["Patient", patient_id]:
        return "no-member-found", "the Coverage's beneficiary is not the patient of this order"
    if coverage.status != "active":
        # Named only when it is one of R4's codes: the element is the caller's (any string).
        if coverage.status in _OTHER_STATUSES:
            return "no-active-coverage", f"the Coverage's status is {coverage.status}, not active"
        return "no-active-coverage", "the Coverage's status is not active"
    period = coverage.period
    start = day(period.start, "first") if period is not None else None
    end = day(period.end, "last") if period is not None else None
    if (start is not None and as_of < start) or (end is not None and as_of > end):
        return "no-active-coverage", f"the Coverage's period does not include {as_of.isoformat()}"
    return "active", ""


