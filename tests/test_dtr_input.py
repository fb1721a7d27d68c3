"""`$questionnaire-package` input of the wrong kind (issue 24, defect 4): every resource a
Parameters carries is validated with the R4B models before it is read, so a wrongly typed
element is a 400 OperationOutcome naming it, never a 500 or a reset connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .hooks_support.checks import CheckedClient, make_client
from .test_dtr import PACKAGE, coverage, dobutamine_infusion
from .test_hooks_robustness import WRONG, _paths, _replaced

QUESTIONNAIRE = {"name": "questionnaire", "valueCanonical": "http://testserver/fhir/Questionnaire/hit-s9348"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("dtr-input")) as test_client:
        yield test_client


def _order(**changes: Any) -> dict[str, Any]:
    return {**dobutamine_infusion("d1", "p1"), **changes}


def _nested_coding(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"coding": [{"system": "urn:x", "code": "c"}]}
    for _ in range(depth):
        value = {"coding": [value]}
    return value


def _package(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


CASES = {
    "subject-5": _package({"name": "order", "resource": _order(subject=5)}),
    "subject-true": _package({"name": "order", "resource": _order(subject=True)}),
    "subject-list": _package({"name": "order", "resource": _order(subject=[{"reference": "Patient/p1"}])}),
    "subject-reference-list": _package({"name": "order", "resource": _order(subject={"reference": ["Patient/p1"]})}),
    "route-coding-nested-30": _package({"name": "order", "resource": _order(
        dosageInstruction=[{"route": _nested_coding(30)}])}),
    "beneficiary-5": _package({"name": "coverage", "resource": {**coverage("p1"), "beneficiary": 5}}, QUESTIONNAIRE),
    "beneficiary-reference-5": _package({"name": "coverage", "resource": {**coverage("p1"),
                                                                           "beneficiary": {"reference": 5}}},
                                        {"name": "order", "resource": _order()}),
    "status-list": _package({"name": "coverage", "resource": {**coverage("p1"), "status": ["active"]}},
                            QUESTIONNAIRE),
    "referenced-patient-birth-date-5": _package({"name": "order", "resource": _order()},
                                                {"name": "referenced", "resource": {
                                                    "resourceType": "Patient", "id": "p1", "birthDate": 5}}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_wrongly_typed_element_is_a_400_naming_it(client: CheckedClient, name: str) -> None:
    response = client.post(PACKAGE, json=CASES[name])   # the client checks: never 500
    assert response.status_code == 400, response.text
    issues = response.json()["issue"]
    assert all(i["code"] == "invalid" for i in issues)
    assert any("Parameters.parameter, entry" in i["diagnostics"] for i in issues), issues


def test_nesting_past_the_limit_is_a_400(client: CheckedClient) -> None:
    body = _package({"name": "order", "resource": _order(dosageInstruction=[{"route": _nested_coding(300)}])})
    response = client.post(PACKAGE, json=body)
    assert response.status_code == 400
    assert "nested deeper than 100 levels" in response.text


def _valid() -> dict[str, Any]:
    return _package({"name": "order", "resource": dobutamine_infusion("d1", "p1")},
                    {"name": "coverage", "resource": coverage("p1")})


@pytest.mark.parametrize("path", [p for p in _paths(_valid()) if len(p) <= 6], ids=lambda p: ".".join(map(str, p)))
def test_no_package_element_of_the_wrong_kind_gives_a_500(client: CheckedClient, path: tuple[Any, ...]) -> None:
    for value in WRONG:
        response = client.post(PACKAGE, json=_replaced(_valid(), path, value))  # the client checks: never 500
        assert response.status_code in (200, 400, 404, 422), (path, value, response.text)
