"""The services this package offers, one per hook, as the discovery endpoint lists them.

Titles and descriptions name the therapies of the loaded rulesets, and the prefetch asks for
every resource type those rulesets read (cds/fhir/registry.py): nothing here names a therapy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from ..davinci.coverage import PREFETCH as COVERAGE_PREFETCH
from ..davinci.coverage import PREFETCH_KEY as COVERAGE_KEY
from ..fhir.registry import REGISTRY
from ..knowledge import Knowledge
from ..service.feedback import SERVICE_HOOKS as HOOKS
from .coverage_info import CONFIGURATION_OPTIONS

# The hooks that return CRD coverage information (order-sign primary, order-select secondary).
CRD_HOOKS = ("order-select", "order-sign")


class Service(BaseModel):
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None
    extension: dict[str, Any] | None = None


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
        service_id: _service(service_id, title, description, templates, usage)
        for service_id, (title, description) in described.items()
    }


def _service(service_id: str, title: str, description: str, templates: dict[str, str], usage: str) -> Service:
    """The order hooks also speak Da Vinci CRD: the Coverage prefetch of the IG's discovery
    example, and the coverage-info configuration option (cds/hooks/coverage_info.py)."""
    hook = HOOKS[service_id]
    if hook not in CRD_HOOKS:
        return Service(id=service_id, hook=hook, title=title, description=description, prefetch=templates,
                       usageRequirements=usage)
    return Service(id=service_id, hook=hook, title=title,
                   description=description + " Da Vinci CRD: coverage information on each order as a systemAction.",
                   prefetch={**templates, COVERAGE_KEY: COVERAGE_PREFETCH},
                   usageRequirements=usage.replace("Reads the patient's ", f"Reads the patient's {COVERAGE_KEY}, "),
                   extension={"davinci-crd.configuration-options": CONFIGURATION_OPTIONS})


def services(knowledge: Knowledge) -> dict[str, Service]:
    return _services(knowledge)


def discovery(knowledge: Knowledge) -> dict[str, Any]:
    return {"services": [s.model_dump(exclude_none=True) for s in services(knowledge).values()]}
