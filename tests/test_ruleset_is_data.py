"""A therapy is data: a new ruleset file in a rulesets folder shows up everywhere, with no Python.

A throwaway ruleset (a copy of the first ruleset under another id, with one branch changed) is
written into a copy of rulesets/, and CDS_RULESETS points at it: the CLI, the criteria catalog,
CDS Hooks discovery and cards and the review page all show it. And the package's Python names
no therapy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from cds.knowledge import default

from .cli_support import Ran, run_cds
from .hooks_support.crd import check_system_actions
from .hooks_support.patients import hook_request, morphine_infusion, pain_patient, searchset

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
# Every HCPCS S-code of the family (S9325-S9379, S9490-S9504, S9537, S9538...).
THERAPY_ID = re.compile(r"S9[0-9]{3}")
# The changed branch's reason: seen only when the copy's rules run.
CHANGED = "Copied ruleset: no homelessness on record."


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A rulesets folder holding every ruleset plus a copy of the first one under a new id that
    sorts first (so that it is the one card for an order both claim)."""
    knowledge = default()
    source = next(iter(knowledge.rulesets.values()))
    new_id = "S9300"
    assert new_id not in knowledge.rulesets
    folder = tmp_path_factory.mktemp("rulesets") / "rulesets"
    shutil.copytree(knowledge.folder, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    data = yaml.safe_load((knowledge.folder / source.file).read_text(encoding="utf-8"))
    text = json.dumps(data).replace(source.therapy, new_id)
    data = json.loads(text)
    data["title"] = "Home infusion therapy, copied continuous infusion for the data test, per diem"
    home = next(c for c in data["criteria"] if c["otherwise"]["result"] == "met" and c["branches"]
                and c["branches"][0]["result"] == "not-met")
    home["otherwise"]["reason"] = CHANGED
    (folder / f"{new_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder, new_id


def _cds(folder: Path, *args: str) -> Ran:
    return run_cds(*args, env={"CDS_RULESETS": str(folder)})


def test_the_package_names_no_therapy() -> None:
    named = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "cds").rglob("*"))
             if path.suffix in {".py", ".j2", ".js", ".css"}
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if THERAPY_ID.search(line)]
    assert named == []


def test_rulesets_check_and_evaluate_see_the_new_therapy(copy: tuple[Path, str], tmp_path: Path) -> None:
    folder, new_id = copy
    checked = _cds(folder, "rulesets", "check")
    assert checked.returncode == 0, checked.stderr
    assert f"{new_id}.yaml: ok" in checked.stdout
    bundle = tmp_path / "patient.json"
    prefetch = pain_patient("pt-copy")
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": prefetch["patient"]},
        *prefetch["conditions"]["entry"], *prefetch["medications"]["entry"],
        {"resource": morphine_infusion("order-copy", "pt-copy")},
    ]}))
    done = _cds(folder, "evaluate", str(bundle), "--as-of", "2026-11-22", "--therapy", new_id)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assessment = next(a for a in result["assessments"] if a["therapy"] == new_id)
    assert CHANGED in [c["reason"] for c in assessment["criteria"]]
    assert assessment["billing"]["code"] == new_id


def test_the_criteria_catalog_lists_the_new_therapy(copy: tuple[Path, str], tmp_path: Path) -> None:
    folder, new_id = copy
    done = _cds(folder, "criteria", "--format", "json", "--out", str(tmp_path / "catalog"))
    assert done.returncode == 0, done.stderr
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "catalog").rglob("*") if p.is_file())
    assert new_id in text and CHANGED in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(copy: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder, _ = copy
    work = tmp_path_factory.mktemp("serve")
    port = _free_port()
    with (work / "server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cds.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--as-of", "2026-11-22", "--feedback-db", str(work / "hooks.sqlite"),
             "--audit-url", f"sqlite:///{work / 'audit.sqlite'}"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "CDS_RULESETS": str(folder)})
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/cds-services", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, (work / "server.log").read_text()
                assert time.monotonic() < deadline, "cds serve did not become ready"
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_discovery_cards_and_review_page_show_the_new_therapy(copy: tuple[Path, str], server: str) -> None:
    _, new_id = copy
    services = httpx.get(f"{server}/cds-services").json()["services"]
    assert all(new_id in s["description"] for s in services)
    # Rulesets that read Observations, Procedures and Immunizations make those prefetch keys; empty means none.
    prefetch = {**pain_patient("pt-copy"), "observations": searchset(), "procedures": searchset(),
                "immunizations": searchset()}
    call = hook_request("order-sign", "pt-copy", prefetch, orders=[morphine_infusion("order-copy", "pt-copy")])
    answer = httpx.post(f"{server}/cds-services/home-infusion-order-sign", json=call, timeout=30)
    assert answer.status_code == 200, answer.text
    # The CRD coverage information names the copy's own billing code and Questionnaire.
    [action] = check_system_actions(answer.json(), call)
    assert f"/fhir/Questionnaire/hit-{new_id.lower()}|" in str(action)
    cards = answer.json()["cards"]
    # Both the original and the copy claim the morphine order: one card, the copy's (first by code).
    assert len(cards) == 1
    assert cards[0]["source"]["topic"]["code"] == new_id
    page = httpx.get(cards[0]["links"][0]["url"], timeout=30)
    assert page.status_code == 200
    assert new_id in page.text and CHANGED in page.text
