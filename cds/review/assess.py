"""An evaluation asked for on /review: assessed, then appended to the audit trail."""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from ..audit import AuditTrail, Source, assess_with_facts, input_hash
from .inputs import Submitted


def review_source() -> Source:
    """Who asked: the review page."""
    try:
        return Source.model_validate({"kind": "review"})
    except ValidationError:
        # cds.audit's Source does not know the review page yet: recorded as a person's own
        # evaluation, like the CLI's, until it does.
        return Source(kind="cli")


def assess_and_record(trail: AuditTrail, submitted: Submitted, as_of: dt.date) -> str:
    """The id of the stored record (the assessment's permalink)."""
    facts, result = assess_with_facts(submitted.record, as_of)
    stored = trail.append(source=review_source(), input_hash=input_hash(submitted.resources),
                          assessment=result, facts=facts)
    return stored.id
