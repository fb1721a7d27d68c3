"""RSS of one process after 1,000 and after 100,000 evaluations.

Run in a fresh process (python -m bench.memory) so nothing else the benchmark did counts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson

import cds
from cds import knowledge, synth


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(total: int) -> dict[str, float]:
    documents = [orjson.dumps({"resourceType": "Bundle", "type": "collection",
                               "entry": [{"resource": r} for r in resources]})
                 for _, resources in synth.generate(50, knowledge.default(), size=10, seed=99)]
    marks: dict[str, float] = {}
    for n in range(1, total + 1):
        cds.evaluate(orjson.loads(documents[n % len(documents)]), as_of="2026-11-22")
        if n in (1000, total):
            marks[str(n)] = rss_kib() / 1024
    marks["growth_percent"] = (marks[str(total)] - marks["1000"]) / marks["1000"] * 100
    return marks


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)))
