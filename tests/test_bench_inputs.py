"""`make bench` builds its inputs from the synthetic corpus and the rulesets: a change to the
library's calls must not leave the benchmarks broken until someone times them (the timing itself
stays in bench/, never in a test)."""

from __future__ import annotations

import orjson

from bench import http, inprocess, rulesets


def test_the_order_sign_benchmark_body_is_an_order_sign_call_with_a_draft() -> None:
    body = orjson.loads(http.order_sign_body(50))
    assert body["hook"] == "order-sign"
    assert body["context"]["draftOrders"]["entry"]


def test_the_order_sign_benchmark_body_is_answered_with_cards() -> None:
    """The service refuses a call missing a prefetch key its discovery declares (412): the
    benchmark's body must carry every one, or it times errors (it did, once Immunizations were read)."""
    from fastapi.testclient import TestClient

    from cds.web.app import create_app

    with TestClient(create_app()) as client:
        answer = client.post("/cds-services/home-infusion-order-sign", content=http.order_sign_body(50),
                             headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["cards"]


def test_the_rulesets_benchmark_inputs_are_bundles_with_a_patient() -> None:
    inputs = rulesets._inputs()
    assert "250-resource synthetic" in inputs
    for data in inputs.values():
        bundle = orjson.loads(data)
        assert any(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"])


def test_the_in_process_benchmark_runs_its_stages() -> None:
    results = inprocess.run(patients=1, repeats=1)
    assert results and all(r["stages_ms"] for r in results.values())
