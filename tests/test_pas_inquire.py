"""`Claim/$inquire` (issue #23 item 3): a PAS Inquiry Request Bundle in; a Parameters with one
`return` Inquiry Response Bundle per kept request matching the member id and the provider's
NPI (spec-53), with its current decisions; a Bundle that cannot be processed is a 4xx with one
OperationOutcome (the test kit's inquiry error test)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.parameters import Parameters

from cds.davinci.pas_example import example_request, inquiry_for
from cds.davinci.pas_inquire import CLAIM_INQUIRY_RESPONSE, INQUIRY_RESPONSE

from .hooks_support.checks import CheckedClient, make_client
from .readme_script import ROOT, run_serve_example
from .hooks_support.pas import review_code as _review_code
from .test_pas import ELIGIBLE, KNOWLEDGE, SUBMIT

INQUIRE = "/fhir/Claim/$inquire"


@pytest.fixture(scope="module")
def submitted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CheckedClient, dict[str, Any], str]]:
    with make_client(tmp_path_factory.mktemp("pas-inquire"), as_of=ELIGIBLE[0].as_of) as client:
        request = example_request(ELIGIBLE[0], KNOWLEDGE)
        response = client.post(SUBMIT, json=request).json()["entry"][0]["resource"]
        yield client, request, response["preAuthRef"]


def test_an_inquiry_finds_the_request_with_its_current_decision(submitted: Any) -> None:
    client, request, number = submitted
    answer = client.post(INQUIRE, json=inquiry_for(request))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/fhir+json")
    body = answer.json()
    Parameters.model_validate(body)
    [found] = body["parameter"]
    assert found["name"] == "return"
    bundle = found["resource"]
    Bundle.model_validate(bundle)
    assert bundle["meta"]["profile"] == [INQUIRY_RESPONSE] and bundle["type"] == "collection" and bundle["timestamp"]
    response = bundle["entry"][0]["resource"]
    assert response["meta"]["profile"] == [CLAIM_INQUIRY_RESPONSE]
    assert response["preAuthRef"] == number and _review_code(response["item"][0]["adjudication"][0]) == "A1"
    # Wrapped in Parameters as the operation's `resource`, the same answer.
    wrapped = client.post(INQUIRE, json={"resourceType": "Parameters",
                                         "parameter": [{"name": "resource", "resource": inquiry_for(request)}]})
    assert [p["resource"]["entry"][0]["resource"]["preAuthRef"] for p in wrapped.json()["parameter"]] == [number]


def test_another_provider_finds_nothing(submitted: Any) -> None:
    client, request, _ = submitted
    body = client.post(INQUIRE, json=inquiry_for(request, npi="1111111112")).json()
    assert body == {"resourceType": "Parameters"}


def _broken(request: dict[str, Any], change: str) -> dict[str, Any]:
    bundle = inquiry_for(request)
    if change == "empty":
        return {"resourceType": "Bundle", "type": "collection", "entry": []}
    if change == "no-claim-first":
        bundle["entry"].append(bundle["entry"].pop(0))
    elif change == "provider-missing":
        bundle["entry"][0]["resource"]["provider"] = {"reference": "Organization/marker-secret-7"}
    elif change == "no-member-id":
        for entry in bundle["entry"][1:]:
            entry["resource"].pop("identifier", None)
            entry["resource"].pop("subscriberId", None)
    elif change == "not-a-bundle":
        return {"resourceType": "Claim", "id": "marker-secret-7"}
    return bundle


@pytest.mark.parametrize("change", ["empty", "no-claim-first", "provider-missing", "no-member-id", "not-a-bundle"])
def test_an_inquiry_that_cannot_be_processed_gets_one_operation_outcome(submitted: Any, change: str) -> None:
    client, request, _ = submitted
    answer = client.post(INQUIRE, json=_broken(request, change))
    assert 400 <= answer.status_code < 500
    assert answer.json()["resourceType"] == "OperationOutcome" and "marker-secret" not in answer.text


def test_the_readme_example_inquires_and_subscribes(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n### Example: an inquiry and a Subscription\n"):]
    script = re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    script = script.replace("/tmp/pas-request.json", str(tmp_path / "request.json"))
    out = run_serve_example(script.replace("/tmp/pas-inquiry.json", str(tmp_path / "inquiry.json")), tmp_path)
    inquired, subscribed = (orjson.loads(line) for line in out.strip().splitlines())
    [found] = inquired["parameter"]
    response = found["resource"]["entry"][0]["resource"]
    assert _review_code(response["item"][0]["adjudication"][0]) == "A1" and response["preAuthRef"]
    assert subscribed["resourceType"] == "Subscription" and subscribed["status"] == "requested" and subscribed["id"]
