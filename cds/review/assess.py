"""An evaluation asked for on /review: assessed, then appended to the audit trail."""

from __future__ import annotations

import datetime as dt

from ..audit import AuditTrail, Source, input_hash
from ..evaluator import Evaluator
from .inputs import Submitted


def assess_and_record(evaluator: Evaluator, trail: AuditTrail, submitted: Submitted, as_of: dt.date) -> str:
    """The id of the stored record (the assessment's permalink)."""
    evaluation = evaluator.assess(submitted.record, as_of)
    stored = trail.append(source=Source(kind="review"), input_hash=input_hash(submitted.resources),
                          assessment=evaluation.result, facts=evaluation.facts)
    return stored.id
