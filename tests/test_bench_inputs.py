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


def test_the_rulesets_benchmark_inputs_are_bundles_with_a_patient() -> None:
    inputs = rulesets._inputs()
    assert "250-resource synthetic" in inputs
    for data in inputs.values():
        bundle = orjson.loads(data)
        assert any(e["resource"]["resourceType"] == "Patient" for e in bundle["entry"])


def test_the_in_process_benchmark_runs_its_stages() -> None:
    results = inprocess.run(patients=1, repeats=1)
    assert results and all(r["stages_ms"] for r in results.values())
