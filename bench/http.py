"""order-sign over HTTP against `cds serve` on 127.0.0.1: latency percentiles and throughput.

The server runs as its own process (1 or 2 uvicorn workers); the load comes from another
process (bench/loadgen.py, async httpx). The prefetch holds the patient, their conditions and
their medication requests, padded with unrelated Conditions to 50 or 500 resources.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from cds import knowledge, synth
from cds.davinci.coverage import PREFETCH_KEY as COVERAGE_KEY
from cds.hooks import discovery

from .stats import percentile

ROOT = Path(__file__).resolve().parent.parent
SIZES = (50, 500)
WORKERS = (1, 2)
CONCURRENCY = (1, 8, 32)
REQUESTS = int(os.environ.get("BENCH_HTTP_REQUESTS", "300"))


def order_sign_body(size: int) -> bytes:
    """An order-sign call for the first synthetic scenario (continuous IV morphine)."""
    [(_, resources)] = list(synth.generate(1, knowledge.default(), size=10, seed=size))
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    conditions = [r for r in resources if r["resourceType"] == "Condition"]
    requests = [r for r in resources if r["resourceType"] == "MedicationRequest"]
    drafts = [r for r in requests if r["status"] == "draft"]
    history = [r for r in requests if r["status"] != "draft"]
    # Padding as a long problem list looks: conditions no ruleset reads (synth filler).
    filler = synth.Scenarios.load().filler.conditions
    while 1 + len(conditions) + len(history) < size:
        coded = filler[len(conditions) % len(filler)]
        conditions.append({
            "resourceType": "Condition", "id": f"{patient['id']}-filler-{len(conditions)}",
            "clinicalStatus": {"coding": [{"system": synth.CLINICAL_STATUS, "code": "active"}]},
            "code": {"coding": [{"system": synth.SNOMED, "code": coded.code, "display": coded.display}]},
            "subject": {"reference": f"Patient/{patient['id']}"}, "onsetDateTime": "2020-01-01"})

    def searchset(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset", "total": len(items),
                "entry": [{"fullUrl": f"http://ehr.example/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                          for r in items]}

    # Every key the service's discovery asks for (the resource types the rules read): those the
    # scenario does not fill are empty, as an EHR answers a search that finds nothing.
    every = {key: searchset([]) for key in discovery.prefetch(knowledge.default())}
    prefetch = {**every, "patient": patient, "conditions": searchset(conditions), "medications": searchset(history),
                # The CRD key: one active Coverage, so that the coverage information is built too.
                COVERAGE_KEY: searchset([{"resourceType": "Coverage", "id": f"{patient['id']}-cov", "status": "active",
                                          "beneficiary": {"reference": f"Patient/{patient['id']}"},
                                          "payor": [{"display": "Bench Health Plan"}]}])}
    return json.dumps({
        "hook": "order-sign", "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": patient["id"],
                    "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                    "entry": [{"resource": r} for r in drafts]}},
        "prefetch": prefetch,
    }).encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(workers: int, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "CDS_AUDIT_URL": os.environ.get("CDS_AUDIT_URL_OVERRIDE") or f"sqlite:///{folder / f'audit-{workers}.sqlite'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "cds.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--feedback-db", str(folder / f"feedback-{workers}.sqlite"), "--as-of", "2026-11-22",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/cds-services", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("cds serve did not start within 60 s")


def _load(url: str, body: Path, concurrency: int, requests: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.loadgen", url, str(body), str(concurrency), str(requests)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"runs": [], "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bodies = {}
        for size in SIZES:
            bodies[size] = folder / f"order-sign-{size}.json"
            bodies[size].write_bytes(order_sign_body(size))
        for workers in WORKERS:
            server, base = _start(workers, folder)
            try:
                url = f"{base}/cds-services/home-infusion-order-sign"
                for size in SIZES:
                    _load(url, bodies[size], 4, 40)  # warm every worker
                    for concurrency in CONCURRENCY:
                        out = _load(url, bodies[size], concurrency, REQUESTS)
                        lat = out["latencies_ms"]
                        run = {"size": size, "workers": workers, "concurrency": concurrency,
                               "requests": REQUESTS, "errors": len(out["errors"]),
                               "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95),
                               "p99_ms": percentile(lat, 99), "throughput_rps": len(lat) / out["seconds"]}
                        results["runs"].append(run)
                        budget = size == 50 and workers == 2 and concurrency == 8
                        met = run["p95_ms"] <= 50 and run["errors"] == 0
                        results["rows"].append([
                            f"order-sign HTTP, {size} resources, {workers} worker(s), concurrency {concurrency}",
                            f"p50 {run['p50_ms']:.1f} / p95 {run['p95_ms']:.1f} / p99 {run['p99_ms']:.1f} ms, "
                            f"{run['throughput_rps']:.0f} req/s, {run['errors']} errors"
                            + (f" ({', '.join(sorted(set(out['errors'])))})" if out["errors"] else ""),
                            "p95 <= 50 ms, 0 errors" if budget else "", ("yes" if met else "NO") if budget else ""])
            finally:
                server.terminate()
                server.wait(timeout=30)
    return results
