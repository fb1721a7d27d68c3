"""20,000 Conditions of one ICD-10-CM code (distinct ids) with every ruleset, in-process.

Issue 19's budgets: the cost per Condition at 20,000 at most 1.5x that at 2,000 (the work is
linear), and the whole cds.evaluate at most the time of validating those Conditions with
fhir.resources R4B (orjson.loads included in both: bench/inprocess.py `floor`), in CPU time.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

import cds

from .bigrecord import CODES, ICD
from .inprocess import floor
from .stats import Figure

AS_OF = "2026-11-22"
COUNTS = (2_000, 20_000)


def bundle(conditions: int) -> bytes:
    """A Patient and `conditions` active Conditions of one code a rule reads, each its own id."""
    entries = [{"resource": {"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01"}}]
    entries += [{"resource": {
        "resourceType": "Condition", "id": f"c{n}",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": ICD, "code": CODES[0]}]},
        "subject": {"reference": "Patient/p1"}}} for n in range(conditions)]
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def _cpu_ms(run: Any) -> float:
    """CPU milliseconds of this process (the machine is shared: wall-clock time counts its other work)."""
    start = time.process_time()
    run()
    return (time.process_time() - start) * 1e3


def _evaluate_ms(data: bytes) -> float:
    return _cpu_ms(lambda: cds.evaluate(orjson.loads(data), as_of=AS_OF))


def run(repeats: int = 5) -> dict[str, Any]:
    data = {count: bundle(count) for count in COUNTS}
    _evaluate_ms(data[COUNTS[0]])  # warm: rulesets loaded and compiled
    times: dict[int, list[float]] = {count: [] for count in COUNTS}
    floors: list[float] = []
    for _ in range(repeats):
        # Side by side, alternating, so drift in the machine hits every figure alike.
        for count in COUNTS:
            times[count].append(_evaluate_ms(data[count]))
        floors.append(_cpu_ms(lambda: floor(data[COUNTS[-1]])))
    small, large = (Figure.of(times[count], "ms") for count in COUNTS)
    validation = Figure.of(floors, "ms")
    per_condition = (large.median / COUNTS[1]) / (small.median / COUNTS[0])
    over_validation = large.median / validation.median
    return {"small_ms": small.model_dump(), "large_ms": large.model_dump(), "validation_ms": validation.model_dump(),
            "per_condition_ratio": per_condition, "over_validation": over_validation,
            "rows": [[f"cds.evaluate, {COUNTS[1]:,} Conditions of one code", str(large), "", ""],
                     [f"  per Condition / that at {COUNTS[0]:,}", f"{per_condition:.2f} x", "<= 1.5 x",
                      "yes" if per_condition <= 1.5 else "NO"],
                     ["  / R4B validation of those Conditions", f"{over_validation:.2f} x", "<= 1 x",
                      "yes" if over_validation <= 1 else "NO"]]}


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=1))
