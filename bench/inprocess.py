"""In-process evaluation per patient, split by stage, against the parse+validate floor.

Stages are the library's own functions called in the order cds.evaluate calls them.
The floor, measured on the same inputs in the same run: orjson.loads, and R4B validation of
the whole resources the rules read (what validating "everything we use" would cost).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection
from typing import Any

import orjson

from cds import knowledge, synth
from cds.fhir.read import read_document
from cds.evaluator import Evaluator
from cds.fhir.registry import BY_NAME

from .stats import Figure

AS_OF = dt.date(2026, 11, 22)
SIZES = (10, 100, 250, 1000)


def _bundle(resources: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"resourceType": "Bundle", "type": "collection",
                         "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]})


def evaluate_in_stages(data: bytes) -> dict[str, float]:
    """One evaluation of every therapy, in milliseconds per stage (the library's own path)."""
    loaded = knowledge.default()
    evaluator = Evaluator(loaded)
    marks = [time.perf_counter()]
    entries = read_document(orjson.loads(data), "bench")
    marks.append(time.perf_counter())
    [record] = evaluator.records(entries)
    marks.append(time.perf_counter())
    facts = loaded.facts(record, AS_OF)
    marks.append(time.perf_counter())
    evaluator.assess(facts, AS_OF)
    marks.append(time.perf_counter())
    return {"read+parse": (marks[1] - marks[0]) * 1e3, "validate": (marks[2] - marks[1]) * 1e3,
            "facts+terminology": (marks[3] - marks[2]) * 1e3, "rules+assess": (marks[4] - marks[3]) * 1e3}


def floor(data: bytes, types: Collection[str] | None = None) -> dict[str, float]:
    """orjson.loads and R4B validation of the whole resources of the types the rules read
    (`types`: those of the rulesets in use, Knowledge.reads; default every type cds reads)."""
    start = time.perf_counter()
    document = orjson.loads(data)
    parsed = time.perf_counter()
    for entry in document["entry"]:
        registered = BY_NAME.get(entry["resource"]["resourceType"])
        if registered is not None and (types is None or registered.name in types):
            registered.model.model_validate(entry["resource"])
    done = time.perf_counter()
    return {"orjson.loads": (parsed - start) * 1e3, "R4B validation": (done - parsed) * 1e3}


def run(patients: int = 20, repeats: int = 5) -> dict[str, Any]:
    knowledge.default()
    results: dict[str, Any] = {}
    for size in SIZES:
        inputs = [_bundle(r) for _, r in synth.generate(patients, knowledge.default(), size=size, seed=size)]
        for data in inputs[:3]:
            evaluate_in_stages(data)  # warm caches (ICD lineage, pydantic) as a long-lived process has
        stage_runs: dict[str, list[float]] = {}
        totals: list[float] = []
        floors: list[float] = []
        parse_validate: list[float] = []
        engine_assess: list[float] = []
        for _ in range(repeats):
            for data in inputs:
                stages = evaluate_in_stages(data)
                base = floor(data)
                for name, value in stages.items():
                    stage_runs.setdefault(name, []).append(value)
                totals.append(sum(stages.values()))
                floors.append(sum(base.values()))
                parse_validate.append(sum(base.values()))
                engine_assess.append(stages["rules+assess"])
        ratios = [t / f for t, f in zip(totals, floors)]
        results[str(size)] = {
            "patients": patients, "repeats": repeats,
            "total_ms": Figure.of(totals, "ms").model_dump(),
            "stages_ms": {name: Figure.of(values, "ms").model_dump() for name, values in stage_runs.items()},
            "floor_ms": Figure.of(floors, "ms").model_dump(),
            "end_to_end_over_floor": Figure.of(ratios, "x").model_dump(),
            "engine_assess_over_floor": Figure.of([e / f for e, f in zip(engine_assess, parse_validate)], "x").model_dump(),
        }
    return results
