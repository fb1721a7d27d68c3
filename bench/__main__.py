"""`make bench`: every benchmark, a table on stdout, bench/results/<date>.json.

Parts can be chosen: python -m bench inprocess rulesets scaling bigrecord memory http batch pas
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import inprocess
from .stats import Figure, table

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("inprocess", "rulesets", "scaling", "bigrecord", "memory", "http", "batch", "pas")


def _memory() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.memory", os.environ.get("BENCH_MEMORY_EVALS", "100000")],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout)


def _rows(results: dict[str, Any]) -> list[list[str]]:
    rows = [["what", "figure", "budget", "met"]]
    for size, r in results.get("inprocess", {}).items():
        total = Figure(**r["total_ms"])
        budget = "p50 <= 5 ms" if size == "250" else ""
        met = ("yes" if total.median <= 5 else "NO") if size == "250" else ""
        rows.append([f"in-process, {size} resources, every therapy", str(total), budget, met])
        stages = ", ".join(f"{k} {Figure(**v).median:.2f}" for k, v in r["stages_ms"].items())
        rows.append([f"  stages (median ms)", stages, "", ""])
        ratio = Figure(**r["engine_assess_over_floor"])
        rows.append([f"  engine+assess / parse+validate floor", str(ratio), "<= 1", "yes" if ratio.median <= 1 else "NO"])
        rows.append([f"  end-to-end / floor", str(Figure(**r["end_to_end_over_floor"])), "", ""])
    if "rulesets" in results:
        from . import rulesets
        rows += rulesets.rows(results["rulesets"])
    if "memory" in results:
        m = results["memory"]
        growth = m["growth_percent"]
        rows.append(["RSS after 1,000 / after last evaluation", f"{m['1000']:.1f} / {m[[k for k in m if k not in ('1000', 'growth_percent')][0]]:.1f} MiB",
                     "", ""])
        rows.append(["RSS growth", f"{growth:.2f} %", "< 10 %", "yes" if growth < 10 else "NO"])
    for key in ("scaling", "bigrecord", "http", "batch", "pas"):
        for row in results.get(key, {}).get("rows", []):
            rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    parts = argv or list(PARTS)
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    if "inprocess" in parts:
        results["inprocess"] = inprocess.run()
    if "rulesets" in parts:
        from . import rulesets
        results["rulesets"] = rulesets.run()
    if "scaling" in parts:
        from . import scaling
        results["scaling"] = scaling.run()
    if "bigrecord" in parts:
        from . import bigrecord
        results["bigrecord"] = bigrecord.run()
    if "memory" in parts:
        results["memory"] = _memory()
    if "http" in parts:
        from . import http
        results["http"] = http.run()
    if "batch" in parts:
        from . import batch
        results["batch"] = batch.run()
    if "pas" in parts:
        from . import pas
        results["pas"] = pas.run()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{dt.date.today().isoformat()}.json"
    out.write_text(json.dumps(results, indent=2))
    print(table(_rows(results)))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
