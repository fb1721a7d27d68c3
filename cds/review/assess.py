"""An evaluation asked for on /review: assessed, then appended to the audit trail."""

from __future__ import annotations

import datetime as dt

from ..audit import AuditTrail, Source, assess_record, input_hash
from .inputs import Submitted


def assess_and_record(trail: AuditTrail, submitted: Submitted, as_of: dt.date) -> str:
    """The id of the stored record (the assessment's permalink)."""
    facts, result = assess_record(submitted.record, as_of)
    stored = trail.append(source=Source(kind="review"), input_hash=input_hash(submitted.resources),
                          assessment=result, facts=facts)
    return stored.id
