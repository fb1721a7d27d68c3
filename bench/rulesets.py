"""cds.evaluate with every therapy page loaded, against the two starting rulesets and validation.

Issue 19's budgets: with every ruleset (the twenty-four pages of ../shared/criteria), cds.evaluate
at most 1.3x the time with the two starting rulesets (S9326, S9363), and at most 1.5x the time of
validating with fhir.resources R4B the resources the rules read (orjson.loads included in both),
on the largest Synthea patient of ../shared/reference/synthea-samples and on a 250-resource
synthetic patient. Pages whose ruleset has not landed yet are stood in for by copies of a shipped
ruleset under the page's id (placeholders), so the engine carries every page's rules either way.
Each ruleset's marginal cost: the time with every ruleset minus the time without that one.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import yaml

import cds
from cds import knowledge, synth

from .inprocess import floor
from .stats import Figure

AS_OF = "2026-11-22"
# The ruleset ids of the pages of ../shared/criteria (S9327-S9328.md is two rulesets).
PAGES = ("S9326", "S9327", "S9328", "S9330", "S9336", "S9338", "S9345", "S9346", "S9347", "S9348",
         "S9349", "S9351", "S9353", "S9355", "S9357", "S9359", "S9361", "S9363", "S9364", "S9373",
         "S9490", "S9494", "S9537", "S9538")
SYNTHEA = Path(__file__).resolve().parents[2] / "shared" / "reference" / "synthea-samples"


# The platform's starting point: the two rulesets built before the therapy pages.
STARTING = ("S9326", "S9363")


def _two_folder(source: Path, out: Path) -> Path:
    """The rulesets folder with only the two starting rulesets."""
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    for extra in out.glob("S*.yaml"):
        if extra.stem not in STARTING:
            extra.unlink()
    return out


def _all_folder(source: Path, out: Path) -> tuple[Path, list[str]]:
    """Every page's ruleset: the real one where it exists, else a copy of a shipped one."""
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shipped = sorted(p for p in out.glob("S*.yaml"))
    placeholders = []
    for n, page in enumerate(PAGES):
        if (out / f"{page}.yaml").exists():
            continue
        template = shipped[n % len(shipped)]
        data = yaml.safe_load(template.read_text(encoding="utf-8"))
        text = orjson.dumps(data).decode().replace(template.stem, page)
        (out / f"{page}.yaml").write_text(yaml.safe_dump(orjson.loads(text), sort_keys=False), encoding="utf-8")
        placeholders.append(page)
    return out, placeholders


def _inputs() -> dict[str, bytes]:
    inputs: dict[str, bytes] = {}
    if SYNTHEA.is_dir():
        largest = max(SYNTHEA.glob("*.json"), key=lambda p: p.stat().st_size)
        inputs[f"largest Synthea ({largest.stat().st_size // 1024} KiB)"] = largest.read_bytes()
    [(_, resources)] = synth.generate(1, knowledge.default(), size=250, seed=250)
    inputs["250-resource synthetic"] = orjson.dumps({
        "resourceType": "Bundle", "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]})
    return inputs


def _ms(run: Any) -> float:
    """CPU milliseconds of this process: the machine is shared, and its other work would be
    counted in wall-clock time (the evaluation runs on this thread, durable-rules included)."""
    start = time.process_time()
    run()
    return (time.process_time() - start) * 1e3


def _measure(folder: Path, data: bytes, repeats: int) -> tuple[Figure, Figure, int]:
    """cds.evaluate and the validation floor (orjson.loads and R4B validation of the resources
    the rules read: bench/inprocess.py `floor`), alternating, so drift hits both alike."""
    loaded = knowledge.cached(folder)
    for _ in range(3):
        cds.evaluate(orjson.loads(data), as_of=AS_OF, knowledge=loaded)  # warm, as a long-lived process is
    evaluations, floors = [], []
    for _ in range(repeats):
        evaluations.append(_ms(lambda: cds.evaluate(orjson.loads(data), as_of=AS_OF, knowledge=loaded)))
        floors.append(_ms(lambda: floor(data, loaded.reads)))
    return Figure.of(evaluations, "ms"), Figure.of(floors, "ms"), len(loaded.rulesets)


def marginal(data: bytes, repeats: int) -> dict[str, float]:
    """Each ruleset's marginal cost in ms, with the rulesets folder in use: cds.evaluate of every
    therapy minus cds.evaluate of every therapy but that one (its --therapy choice, an engine
    compiled for it), alternating, median of the differences."""
    therapies = list(knowledge.default().rulesets)
    found = {}
    for therapy in therapies:
        others = [t for t in therapies if t != therapy]
        cds.evaluate(orjson.loads(data), as_of=AS_OF, therapies=others)  # warm: its engine compiled
        differences = []
        for _ in range(repeats):
            every = _ms(lambda: cds.evaluate(orjson.loads(data), as_of=AS_OF))
            differences.append(every - _ms(lambda: cds.evaluate(orjson.loads(data), as_of=AS_OF, therapies=others)))
        found[therapy] = statistics.median(differences)
    return found


def run(repeats: int = 40, marginal_repeats: int = 10) -> dict[str, Any]:
    source = knowledge.default().folder
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        two = _two_folder(source, Path(tmp) / "two")
        every, placeholders = _all_folder(source, Path(tmp) / "every")
        results["placeholders"] = placeholders
        for name, data in _inputs().items():
            # Side by side, alternating, so drift in the machine hits both alike.
            two_eval, two_floor, _ = _measure(two, data, repeats)
            all_eval, all_floor, count = _measure(every, data, repeats)
            # The two starting rulesets read fewer resource types (no Observation, Procedure
            # or Immunization): their validation floor is lower, and the ratio of the floors
            # bounds how close every ruleset / two can come to 1.
            results[name] = {
                "rulesets": count, "two_rulesets_ms": two_eval.model_dump(),
                "all_rulesets_ms": all_eval.model_dump(), "validation_ms": all_floor.model_dump(),
                "two_validation_ms": two_floor.model_dump(),
                "over_validation": all_eval.median / all_floor.median,
                "two_over_validation": two_eval.median / two_floor.median,
                "over_two": all_eval.median / two_eval.median,
                "validation_over_two": all_floor.median / two_floor.median,
                "marginal_ms": marginal(data, marginal_repeats) if marginal_repeats else {},
            }
    return results


def rows(results: dict[str, Any]) -> list[list[str]]:
    found = []
    for name, r in results.items():
        if name == "placeholders":
            continue
        found.append([f"cds.evaluate, {r['rulesets']} rulesets, {name}", str(Figure(**r["all_rulesets_ms"])), "", ""])
        found.append(["  / R4B validation of the resources the rules read", f"{r['over_validation']:.2f} x",
                      "<= 1.5 x", "yes" if r["over_validation"] <= 1.5 else "NO"])
        found.append(["  / two-ruleset time", f"{r['over_two']:.2f} x", "<= 1.3 x",
                      "yes" if r["over_two"] <= 1.3 else "NO"])
        found.append(["  two rulesets / their validation floor", f"{r['two_over_validation']:.2f} x", "", ""])
        found.append(["  validation floor, every ruleset / two (types read)", f"{r['validation_over_two']:.2f} x", "", ""])
        if r.get("marginal_ms"):
            costs = sorted(r["marginal_ms"].items(), key=lambda item: -item[1])
            found.append(["  marginal ms per ruleset (all minus all but it)",
                          ", ".join(f"{t} {ms:.1f}" for t, ms in costs), "", ""])
    if results.get("placeholders"):
        found.append(["  placeholder rulesets (pages not yet landed)", ", ".join(results["placeholders"]), "", ""])
    return found


if __name__ == "__main__":
    import json
    import sys
    print(json.dumps(run(*(int(a) for a in sys.argv[1:3])), indent=1))
