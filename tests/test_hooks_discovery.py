"""GET /cds-services: one service per hook, each with its prefetch templates."""

from __future__ import annotations

import re
from pathlib import Path

from .hooks_support.checks import make_client


def test_one_service_per_hook_with_required_fields(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        response = client.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert {s: services[s]["hook"] for s in services} == {
        "home-infusion-patient-view": "patient-view",
        "home-infusion-order-select": "order-select",
        "home-infusion-order-sign": "order-sign",
    }
    for service in services.values():
        assert service["title"] and service["description"]
        assert set(service["prefetch"]) == {"patient", "conditions", "medications", "observations", "procedures"}


def test_prefetch_templates_use_only_the_patient_id_token(tmp_path: Path) -> None:
    # Hook library: draftOrders and selections must not be prefetch tokens.
    with make_client(tmp_path) as client:
        services = client.get("/cds-services").json()["services"]
    for service in services:
        for template in service["prefetch"].values():
            assert re.findall(r"\{\{(.*?)\}\}", template) == ["context.patientId"]
    assert services[0]["prefetch"]["patient"] == "Patient/{{context.patientId}}"
