"""What one audit record holds, as data at the module's boundary."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..facts import PatientFacts
from ..models import PatientAssessment

Verdict = Literal["supported", "not supported", "needs documentation"]
VERDICTS: tuple[Verdict, ...] = ("supported", "not supported", "needs documentation")


class Source(BaseModel):
    """Who asked for the evaluation: a CDS Hooks call, the CLI, a batch run, or the review page."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    kind: Literal["hook", "cli", "batch", "review"]
    hook: str | None = None
    hook_instance: str | None = Field(default=None, alias="hookInstance")
    # The batch run that wrote the record.
    run: str | None = None

    def label(self) -> str:
        if self.kind == "hook":
            return f"hook {self.hook} ({self.hook_instance})"
        if self.kind == "batch":
            return f"batch {self.run}"
        return self.kind


class PriorAuthorization(BaseModel):
    """A prior authorization decision on a claim line (Da Vinci PAS `Claim/$submit`): what was
    asked, what was answered, and the earlier decision of the same request it follows (a pended
    request decided later). Records written before this existed have none; they still verify, as
    the hash covers each row as stored."""

    model_config = ConfigDict(frozen=True)

    decision: str            # X12 306 review action code A1, A3, A4 or A6; "cancelled": withdrawn, no decision
    requested: str | None    # the HCPCS code asked
    request: str             # the request's key in the PAS store (its authorization number)
    follows: str | None = None   # the record id of the decision this one replaces


class ClaimLine(BaseModel):
    """One claim line coded with a therapy's HCPCS code, judged on its service date."""

    model_config = ConfigDict(frozen=True)

    claim: str               # "Claim/123" or "ExplanationOfBenefit/9"
    sequence: int | None     # item.sequence
    code: str                # the therapy (ruleset id) the line's HCPCS code belongs to
    service_date: dt.date
    verdict: Verdict
    reasons: list[str]
    authorization: PriorAuthorization | None = None


class Entry(BaseModel):
    """A record before it is chained: what the caller hands to the trail."""

    model_config = ConfigDict(frozen=True)

    source: Source
    patient: str
    input_hash: str
    as_of: dt.date
    rulesets: dict[str, str]
    assessment: dict[str, Any]
    facts: dict[str, Any]
    claim: ClaimLine | None = None
    # Batch runs only: the key of the input unit (resume skips it) and of this record
    # within it (the store refuses a second record with the same key).
    unit_key: str | None = None
    item_key: str | None = None

    @classmethod
    def of(cls, *, source: Source, input_hash: str, assessment: PatientAssessment,
           facts: PatientFacts, claim: ClaimLine | None = None,
           unit_key: str | None = None, item_key: str | None = None) -> "Entry":
        return cls(
            source=source, patient=assessment.patient, input_hash=input_hash,
            as_of=assessment.as_of, rulesets=dict(assessment.rulesets),
            assessment=assessment.to_json(), facts=facts.model_dump(mode="json"),
            claim=claim, unit_key=unit_key, item_key=item_key,
        )


class AuditRecord(Entry):
    """A record as stored: its place in the chain and the hashes that seal it."""

    seq: int
    id: str
    time: str                # ISO 8601, UTC
    prev_hash: str
    hash: str

    def patient_assessment(self) -> PatientAssessment:
        return PatientAssessment.model_validate(self.assessment)

    def patient_facts(self) -> PatientFacts:
        return PatientFacts.model_validate(self.facts)
