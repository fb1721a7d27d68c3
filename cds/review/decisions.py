"""Accept or override an assessment from the review page, through the CDS Hooks feedback store.

A card's feedback is keyed by its uuid: the card uuid of a hook call's assessment (so both
channels name the same card), and for an assessment made on /review a uuid derived the same
way from its record id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..audit import AuditRecord, Source
from ..service.feedback import SERVICE_HOOKS, Coding, FeedbackItem, FeedbackStore, OverrideReason
from ..service.overrides import OVERRIDE_REASONS, OVERRIDE_SYSTEM, card_uuid

REVIEW_SERVICE = "review"
REASONS = dict(OVERRIDE_REASONS)
COMMENT_LIMIT = 2000


@dataclass(frozen=True)
class Decision:
    outcome: str          # "accepted" | "overridden"
    when: str             # "2026-11-22 21:40 UTC"
    reason: str | None
    comment: str | None


def card_for(record: AuditRecord, therapy: str) -> str:
    instance = record.source.hook_instance if record.source.kind == "hook" else None
    return card_uuid(instance or record.id, therapy, record.source.hook if record.source.kind == "hook" else None)


def service_for(source: Source) -> str:
    return next((sid for sid, hook in SERVICE_HOOKS.items() if source.kind == "hook" and hook == source.hook), REVIEW_SERVICE)


def record_decision(store: FeedbackStore, record: AuditRecord, therapy: str, outcome: str,
                    reason_code: str | None, comment: str | None) -> None:
    override = None
    if outcome == "overridden":
        if reason_code not in REASONS:
            raise ValueError(f"not an override reason: {reason_code!r}")
        override = OverrideReason(reason=Coding(system=OVERRIDE_SYSTEM, code=reason_code, display=REASONS[reason_code]),
                                  userComment=comment or None)
    item = FeedbackItem(card=card_for(record, therapy), outcome=outcome,  # type: ignore[arg-type]
                        overrideReason=override, outcomeTimestamp=dt.datetime.now(dt.UTC))
    store.add(service_for(record.source), [item])


def decisions(store: FeedbackStore, record: AuditRecord, therapy: str) -> list[Decision]:
    return [_decision(row) for row in store.for_cards([card_for(record, therapy)])]


def _decision(row: dict[str, Any]) -> Decision:
    when = dt.datetime.fromisoformat(row["outcome_timestamp"]).astimezone(dt.UTC)
    return Decision(outcome=row["outcome"], when=when.strftime("%Y-%m-%d %H:%M UTC"),
                    reason=row.get("override_display") or row.get("override_code"), comment=row.get("user_comment"))
