"""What card feedback refers to, shared by the CDS Hooks cards and the review page's decisions:
card uuids and the override reasons a clinician can give."""

from __future__ import annotations

import uuid

# Card and suggestion uuids are derived, not random: the same hookInstance and therapy give
# the same card, so a client's feedback and our logs name one card across retries.
_NAMESPACE = uuid.UUID("6f7c1a52-2b1e-4e0a-9a55-0c1d3b9e8f21")
OVERRIDE_SYSTEM = "urn:home-infusion-cds:override-reason"
OVERRIDE_REASONS = [
    ("clinical-judgement", "Clinical judgement: the benefit outweighs the criteria not met"),
    ("documented-elsewhere", "The missing information is documented outside the EHR record"),
    ("payer-approved", "Already authorised by the payer"),
    ("patient-preference", "Patient or caregiver preference"),
]
# patient-view shows one card for all candidate therapies: its uuid is keyed by the hook.
CANDIDATES_CARD = "patient-view"


def card_uuid(hook_instance: str, therapy: str, hook: str | None = None) -> str:
    """A card's uuid: per therapy, except patient-view's one card (keyed by the hook)."""
    key = CANDIDATES_CARD if hook == CANDIDATES_CARD else therapy
    return str(uuid.uuid5(_NAMESPACE, f"{hook_instance}|{key}"))


