"""Validation that reuses complex values already validated (cds/fhir/memo.py) answers exactly as
fhir.resources does: the same models for real records, the same errors for broken ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.quantity import Quantity
from pydantic import ValidationError

from cds.fhir import memo
from cds.fhir.registry import BY_NAME

from .conftest import ICD, REFERENCE, condition, needs_shared

SAMPLES = sorted([*(REFERENCE / "synthea-samples").glob("*.json"), *(REFERENCE / "us-core-examples").glob("*.json")])


def _resources(path: Path) -> Iterator[dict[str, Any]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("resourceType") == "Bundle":
        yield from (e["resource"] for e in document.get("entry", []) if "resource" in e)
    else:
        yield document


def _read(resource: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    registered = BY_NAME[resource["resourceType"]]
    return registered.model, {k: v for k, v in resource.items() if k in registered.elements}


def _plain(model: Any, data: dict[str, Any]) -> Any:
    return model.model_validate(data)


def _outcome(model: Any, data: dict[str, Any], validate: Any) -> Any:
    try:
        return validate(model, data).model_dump(mode="json")
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]


@needs_shared
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_real_records_validate_to_the_same_models(path: Path) -> None:
    resources = [r for r in _resources(path) if r.get("resourceType") in BY_NAME]
    assert resources or path.parent.name == "us-core-examples"
    for _ in range(2):  # the second pass reuses what the first validated
        for resource in resources:
            model, data = _read(resource)
            assert _outcome(model, data, memo.validate) == _outcome(model, data, _plain)


def test_a_broken_value_beside_known_ones_gives_the_errors_fhir_resources_gives() -> None:
    valid = condition("c1", ICD, "G89.4", "Chronic pain")
    memo.validate(Condition, valid)  # clinicalStatus, subject and the coding are now known
    broken = {**valid, "code": {"coding": [{"system": ICD, "code": "G89.4", "display": ""}, {"code": 5}]}}
    with pytest.raises(ValidationError) as plain:
        Condition.model_validate(broken)
    with pytest.raises(ValidationError) as reused:
        memo.validate(Condition, broken)
    assert [(e["loc"], e["type"]) for e in reused.value.errors()] == [(e["loc"], e["type"]) for e in plain.value.errors()]
    # And the broken value was not remembered: it fails again.
    with pytest.raises(ValidationError):
        memo.validate(Condition, broken)


def test_the_same_json_is_reused_only_where_the_same_type_is_expected() -> None:
    # Valid as a Coding and as a Quantity alike.
    shared = {"system": "http://unitsofmeasure.org", "code": "mg"}
    observation = {"resourceType": "Observation", "id": "o1", "status": "final",
                   "code": {"coding": [shared]}, "valueQuantity": shared}
    for _ in range(2):
        validated = memo.validate(Observation, observation)
        assert type(validated.code.coding[0]) is Coding
        assert type(validated.valueQuantity) is Quantity


def _texted(n: int, size: int) -> dict[str, Any]:
    resource = condition(f"c{n}", ICD, "G89.4", "Chronic pain")
    # A different text each time: the CodeableConcept is a new value on every call.
    return {**resource, "code": {**resource["code"], "text": f"{n:08d}" + "x" * size}}


def test_large_values_are_validated_but_not_kept() -> None:
    memo.validate(Condition, condition("c0", ICD, "G89.4", "Chronic pain"))
    before = memo.size()
    for n in range(20):
        result = memo.validate(Condition, _texted(n, 3 * 1024 * 1024))
        assert result.code.text.startswith(f"{n:08d}x")
    # 20 distinct 3 MB texts leave nothing behind (they once kept 60 MB, 80 of them 1.4 GB).
    assert memo.size() == before


def test_the_memo_is_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "MAX_BYTES", 256 * 1024)
    for n in range(200):
        memo.validate(Condition, _texted(n, memo.MAX_VALUE_BYTES - 200))
        assert memo.size()[1] <= memo.MAX_BYTES
    # Still reused where it can be: the last value is known.
    known = _texted(199, memo.MAX_VALUE_BYTES - 200)
    assert memo.validate(Condition, known).code is memo.validate(Condition, known).code
