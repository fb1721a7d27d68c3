"""The services this package offers, one per hook, as the discovery endpoint lists them.

Titles and descriptions name the therapies of the loaded rulesets, and the prefetch asks for
every resource type those rulesets read (cds/fhir/registry.py): nothing here names a therapy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from ..fhir.registry import REGISTRY
from ..knowledge import Knowledge
from ..web.feedback import SERVICE_HOOKS as HOOKS


class Service(BaseModel):
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None


def prefetch(knowledge: Knowledge) -> dict[str, str]:
    """One template per resource type the rules read (only context.patientId is a token: the
    hook library forbids draftOrders and selections as prefetch tokens)."""
    wanted = knowledge.reads
    return {t.prefetch_key: t.prefetch for t in REGISTRY
            if t.name in wanted and t.prefetch_key and t.prefetch}


@lru_cache(maxsize=4)
def _services(knowledge: Knowledge) -> dict[str, Service]:
    therapies = "; ".join(f"{r.therapy} {r.short_title}" for r in knowledge.rulesets.values())
    templates = prefetch(knowledge)
    kinds = ", ".join(sorted(templates))
    usage = (f"Reads the patient's {kinds}; a key left out of the prefetch is read from fhirServer with "
             "the fhirAuthorization token.")
    described = {
        "home-infusion-patient-view": (
            "Home infusion therapy candidates",
            f"One card listing the home infusion therapies whose indication the record meets ({therapies}), "
            "each with its status, linking to the review page."),
        "home-infusion-order-select": (
            "Home infusion therapy order check (selection)",
            f"Checks the selected draft orders that start a home infusion therapy ({therapies}) against the "
            "coverage criteria: one card per order."),
        "home-infusion-order-sign": (
            "Home infusion therapy order check (signing)",
            f"Checks the draft orders about to be signed that start a home infusion therapy ({therapies}) "
            "against the coverage criteria, with the documentation a payer will ask for and ranked "
            "alternatives: one card per order."),
    }
    return {
        service_id: Service(id=service_id, hook=HOOKS[service_id], title=title, description=description,
                            prefetch=templates, usageRequirements=usage)
        for service_id, (title, description) in described.items()
    }


def services(knowledge: Knowledge) -> dict[str, Service]:
    return _services(knowledge)


def discovery(knowledge: Knowledge) -> dict[str, Any]:
    return {"services": [s.model_dump(exclude_none=True) for s in services(knowledge).values()]}
