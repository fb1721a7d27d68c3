"""The services this package offers, one per hook, as the discovery endpoint lists them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..fhir.registry import prefetch_templates

# What every service needs about the patient: one template per resource type the rules read.
PREFETCH = prefetch_templates()


class Service(BaseModel):
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None


_USAGE = ("Needs the patient's conditions and medication requests; without prefetch it reads "
          "them from fhirServer with the fhirAuthorization token.")

SERVICES: dict[str, Service] = {
    s.id: s for s in [
        Service(
            id="home-infusion-patient-view", hook="patient-view",
            title="Home infusion therapy candidates",
            description=("Shows a card for each home infusion therapy (HCPCS S9326 continuous pain "
                         "infusion, S9363 anti-spasmodic therapy) whose indication the record meets: "
                         "eligibility, safety findings, documentation needed and alternatives."),
            prefetch=PREFETCH, usageRequirements=_USAGE,
        ),
        Service(
            id="home-infusion-order-select", hook="order-select",
            title="Home infusion therapy order check (selection)",
            description=("Checks the selected draft orders that start a home infusion therapy (a "
                         "parenteral opioid for S9326, a parenteral anti-spasmodic for S9363, or a "
                         "ServiceRequest for S9326/S9363) against the coverage criteria."),
            prefetch=PREFETCH, usageRequirements=_USAGE,
        ),
        Service(
            id="home-infusion-order-sign", hook="order-sign",
            title="Home infusion therapy order check (signing)",
            description=("Checks the draft orders about to be signed that start a home infusion "
                         "therapy (S9326, S9363) against the coverage criteria, with the "
                         "documentation a payer will ask for and ranked alternatives."),
            prefetch=PREFETCH, usageRequirements=_USAGE,
        ),
    ]
}


def discovery() -> dict[str, Any]:
    return {"services": [s.model_dump(exclude_none=True) for s in SERVICES.values()]}
