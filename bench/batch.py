"""`cds audit run` over generated patients: patients per second with 1 and 2 Dask workers.

Each figure is the wall time of the whole command (cluster start included), next to the same
command over 20 patients measured once in the same run: its time is the fixed cost (processes,
imports, rules compiled per worker), and the rate without it is given too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cds.synth import write

from .stats import Figure

ROOT = Path(__file__).resolve().parent.parent
PATIENTS = int(os.environ.get("BENCH_BATCH_PATIENTS", "2000"))
SIZE = 150          # resources per patient: Synthea's sample bundles hold 115 to 176
REPEATS = int(os.environ.get("BENCH_BATCH_REPEATS", "2"))


def _audit_run(path: Path, workers: int, trail: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cds.cli", "audit", "run", str(path), "--as-of", "2026-11-22",
                    "--workers", str(workers), "--no-progress", "--audit-url", f"sqlite:///{trail}"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"patients": PATIENTS, "size": SIZE, "runs": {}, "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        corpora = {}
        for fmt in ("bundle", "ndjson"):
            corpora[fmt] = folder / fmt
            write(corpora[fmt], PATIENTS, size=SIZE, seed=7, fmt=fmt)
            corpora[f"{fmt}-small"] = folder / f"{fmt}-small"
            write(corpora[f"{fmt}-small"], 20, size=SIZE, seed=8, fmt=fmt)
        rates: dict[tuple[str, int], float] = {}
        n = 0
        for fmt in ("bundle", "ndjson"):
            for workers in (1, 2):
                walls: list[float] = []
                fixed = [_audit_run(corpora[f"{fmt}-small"], workers, folder / f"small-{fmt}-{workers}.sqlite")]
                for _ in range(REPEATS):
                    n += 1
                    walls.append(_audit_run(corpora[fmt], workers, folder / f"trail-{n}.sqlite"))
                wall = Figure.of(walls, "s")
                overhead = Figure.of(fixed, "s")
                rate = PATIENTS / wall.median
                net = (PATIENTS - 20) / max(wall.median - overhead.median, 1e-9)
                rates[(fmt, workers)] = rate
                results["runs"][f"{fmt}-{workers}"] = {"wall_s": wall.model_dump(), "fixed_s": overhead.model_dump(),
                                                      "patients_per_s": rate, "net_patients_per_s": net}
                budget = workers == 2
                results["rows"].append([
                    f"batch audit, {PATIENTS} {fmt} patients of {SIZE} resources, {workers} worker(s)",
                    f"{rate:.0f} patients/s ({wall}; fixed {overhead.median:.1f} s; {net:.0f}/s without it)",
                    ">= 300 patients/s" if budget else "", ("yes" if rate >= 300 else "NO") if budget else ""])
        for fmt in ("bundle", "ndjson"):
            scaling = rates[(fmt, 2)] / rates[(fmt, 1)]
            results["runs"][f"{fmt}-scaling"] = scaling
            results["rows"].append([f"batch scaling 1 -> 2 workers ({fmt})", f"{scaling:.2f} x", "", ""])
    return results
