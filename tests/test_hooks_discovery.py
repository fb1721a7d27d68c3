"""GET /cds-services: one service per hook, each with its prefetch templates."""

from __future__ import annotations

import re
from pathlib import Path

from cds import knowledge

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
    loaded = knowledge.default()
    for service in services.values():
        assert service["title"] and service["description"]
        # The therapies come from the rulesets, every one of them named.
        assert all(therapy in service["description"] for therapy in loaded.rulesets)
        # One template per resource type the loaded rulesets read, nothing else.
        expected = {"patient", "conditions", "medications"}
        expected |= {"observations"} if "Observation" in loaded.reads else set()
        expected |= {"procedures"} if "Procedure" in loaded.reads else set()
        expected |= {"immunizations"} if "Immunization" in loaded.reads else set()
        if service["hook"] in ("order-select", "order-sign"):
            # Da Vinci CRD: the patient's active Coverages, and the coverage-info option.
            assert service["prefetch"]["coverage"] == "Coverage?patient={{context.patientId}}&status=active"
            expected.add("coverage")
            [option] = service["extension"]["davinci-crd.configuration-options"]
            assert {k: option[k] for k in ("code", "type", "default")} == \
                {"code": "coverage-info", "type": "boolean", "default": True}
        else:
            assert "extension" not in service
        assert set(service["prefetch"]) == expected


def test_prefetch_templates_use_only_the_patient_id_token(tmp_path: Path) -> None:
    # Hook library: draftOrders and selections must not be prefetch tokens.
    with make_client(tmp_path) as client:
        services = client.get("/cds-services").json()["services"]
    for service in services:
        for template in service["prefetch"].values():
            assert re.findall(r"\{\{(.*?)\}\}", template) == ["context.patientId"]
    assert services[0]["prefetch"]["patient"] == "Patient/{{context.patientId}}"
