"""The output contract (DESIGN.md): one PatientAssessment per patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Result = Literal["met", "not-met", "unknown", "not-applicable"]


class Status(StrEnum):
    """An assessment's status: its value is the output contract's string (DESIGN.md), its
    label the words a clinician reads. Listed from eligible to not eligible, the order reports
    and tables show them in."""

    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs-review"
    INSUFFICIENT_INFORMATION = "insufficient-information"
    NOT_ELIGIBLE = "not-eligible"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def decide(cls, required: Iterable[str], warned: bool) -> Status:
        """The generic precedence (../shared/criteria/README.md): a required criterion not met,
        then one unknown, then a warning finding that counts, decides; else eligible."""
        results = set(required)
        if "not-met" in results:
            return cls.NOT_ELIGIBLE
        if "unknown" in results:
            return cls.INSUFFICIENT_INFORMATION
        return cls.NEEDS_REVIEW if warned else cls.ELIGIBLE


_LABELS = {Status.ELIGIBLE: "eligible", Status.NEEDS_REVIEW: "needs review",
           Status.INSUFFICIENT_INFORMATION: "information missing", Status.NOT_ELIGIBLE: "not eligible"}


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class CriterionResult(_Model):
    id: str
    kind: Literal["indication", "eligibility"]
    required: bool
    result: Result
    # Which way the criterion was met or not (e.g. cancer-related-pain, intermittent).
    category: str | None = None
    text: str
    reason: str
    evidence: list[str]


class FindingResult(_Model):
    id: str
    severity: Literal["warning", "info"]
    text: str
    evidence: list[str]
    # What the record shows beside the finding (the latest trough and its date), when the
    # ruleset's `cites` names something the record holds.
    reason: str | None = None


class DocumentationItem(_Model):
    id: str
    text: str


class AlternativeResult(_Model):
    id: str
    rank: int
    recommended: bool
    text: str
    reason: str


class Billing(_Model):
    code: str
    unit: str
    notes: list[str]


class Assessment(_Model):
    therapy: str
    title: str
    status: Status
    criteria: list[CriterionResult]
    findings: list[FindingResult]
    documentation: list[DocumentationItem]
    alternatives: list[AlternativeResult]
    billing: Billing

    def criterion(self, criterion_id: str) -> CriterionResult:
        return next(c for c in self.criteria if c.id == criterion_id)

    def main_reason(self) -> str:
        """The reason behind the status: the first criterion or finding that decided it."""
        required = [c for c in self.criteria if c.required]
        deciding = {
            Status.NOT_ELIGIBLE: next((c.reason for c in required if c.result == "not-met"), None),
            Status.INSUFFICIENT_INFORMATION: next((c.reason for c in required if c.result == "unknown"), None),
            Status.NEEDS_REVIEW: next((f.text for f in self.findings if f.severity == "warning"), None),
        }.get(self.status)
        indication = next((c.reason for c in self.criteria if c.kind == "indication"), "")
        return deciding or indication


class PatientAssessment(_Model):
    patient: str
    as_of: dt.date = Field(alias="asOf")
    rulesets: dict[str, str]
    assessments: list[Assessment]
    # Problems in the input that did not stop the evaluation (e.g. unknown ICD-10-CM codes).
    warnings: list[str] = []

    def assessment(self, therapy: str) -> Assessment:
        return next(a for a in self.assessments if a.therapy == therapy)

    def narrowed(self, assessments: list[Assessment]) -> "PatientAssessment":
        """The evaluation narrowed to some of its therapies (what one card, package or decision
        was made from), with their ruleset versions."""
        return self.model_copy(update={"assessments": assessments,
                                       "rulesets": {a.therapy: self.rulesets[a.therapy] for a in assessments}})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
