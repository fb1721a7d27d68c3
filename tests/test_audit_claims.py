"""Claim lines billed S9326 or S9363: each judged for its therapy on its service date."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson

from cds.audit import AuditTrail
from cds.audit.batch import run_batch
from cds.knowledge import DEFAULT_RULESETS

from .audit_support import AS_OF, cds, scenario_number, scenario_patient, sqlite_url

CMS_HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
# Scenarios of fixtures/synth/scenarios.yaml, by id.
CANCER = "cancer-pain-morphine-infusion"
BENZODIAZEPINE = "cancer-pain-with-benzodiazepine"
NO_TRIAL = "chronic-pain-no-oral-trial"
ROUTE_UNKNOWN = "chronic-pain-trial-route-unknown"
MS = "multiple-sclerosis-intrathecal-baclofen"
SHORT_TRIAL = "cerebral-palsy-short-trial"
NO_BIRTH_DATE = "paraplegia-no-birth-date"


def _write(folder: Path, *groups: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, resources in enumerate(groups):
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "entry": [{"resource": r} for r in resources]}
        (folder / f"b{n}.json").write_bytes(orjson.dumps(bundle))
    return folder


def _claims(tmp_path: Path, *groups: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    with AuditTrail.open(sqlite_url(tmp_path)) as trail:
        run_batch([_write(tmp_path / "in", *groups)], trail, as_of=AS_OF, workers=0, progress=False,
                  problem=problems.append)
        lines = {f"{r.patient} {r.claim.claim}": r for r in trail.records() if r.claim}
    return lines, problems


def test_each_claim_line_gets_a_verdict_with_reasons(tmp_path: Path) -> None:
    names = [CANCER, NO_TRIAL, BENZODIAZEPINE, ROUTE_UNKNOWN, MS, SHORT_TRIAL, NO_BIRTH_DATE]
    lines, problems = _claims(tmp_path, *(scenario_patient(n) for n in names))
    assert problems == []
    assert len(lines) == len(names)
    by_patient = {r.patient: r for r in lines.values()}
    by_scenario = {n: by_patient[f"Patient/synth-{scenario_number(n):06d}"] for n in names}
    verdicts = {n: (r.claim.code, r.claim.verdict) for n, r in by_scenario.items()}
    assert verdicts == {
        CANCER: ("S9326", "supported"),
        NO_TRIAL: ("S9326", "not supported"),
        BENZODIAZEPINE: ("S9326", "needs documentation"),
        ROUTE_UNKNOWN: ("S9326", "needs documentation"),
        MS: ("S9363", "supported"),
        SHORT_TRIAL: ("S9363", "not supported"),
        NO_BIRTH_DATE: ("S9363", "needs documentation"),
    }
    reasons = {n: " ".join(r.claim.reasons) for n, r in by_scenario.items()}
    assert reasons[NO_TRIAL].startswith("S9326.oral-trial: No earlier oral or transdermal opioid")
    assert "S9326.safety.benzodiazepine" in reasons[BENZODIAZEPINE]
    assert reasons[ROUTE_UNKNOWN].startswith("S9326.oral-trial: Earlier opioid therapy on record, but its route")
    assert reasons[SHORT_TRIAL].startswith("S9363.oral-trial: Oral anti-spasmodic therapy for only 20 days")
    assert reasons[NO_BIRTH_DATE] == "S9363.age: No birth date on record."
    assert "S9326.infusion-order: Continuous parenteral opioid ordered" in reasons[CANCER]


def test_a_line_is_assessed_for_its_therapy_on_its_service_date(tmp_path: Path) -> None:
    cancer = scenario_patient(CANCER)
    lines, _ = _claims(tmp_path, cancer, scenario_patient(MS))
    claim = next(r for r in lines.values() if r.claim.code == "S9326")
    assert claim.as_of == claim.claim.service_date == AS_OF.fromordinal(AS_OF.toordinal() - 30)
    assert [a.therapy for a in claim.patient_assessment().assessments] == ["S9326"]
    # The infusion given that day (an active request, not a draft) is the order judged.
    [infusion] = [r for r in cancer if r["resourceType"] == "MedicationRequest" and r["status"] == "active"]
    assert any(r["resourceType"] == "MedicationRequest" and r["status"] == "draft" for r in cancer)
    order = claim.patient_assessment().assessment("S9326").criterion("S9326.infusion-order")
    assert order.result == "met" and order.evidence == [f"MedicationRequest/{infusion['id']}"]
    assert infusion["id"] == "synth-000000-medicationrequest-3"
    period = next(r for r in lines.values() if r.claim.code == "S9363")
    assert period.claim.service_date == AS_OF.fromordinal(AS_OF.toordinal() - 50)  # servicedPeriod.start


def test_only_therapy_lines_of_real_claims_are_audited(tmp_path: Path) -> None:
    resources = scenario_patient(CANCER)
    claim = next(r for r in resources if r["resourceType"] == "Claim")
    claim["item"][0]["productOrService"]["coding"][0]["system"] = CMS_HCPCS
    claim["item"].append({"sequence": 2, "productOrService": {"coding": [{"system": CMS_HCPCS, "code": "J2270"}]},
                          "servicedDate": "2026-10-20"})
    claim["item"].append({"sequence": 3, "productOrService": {"coding": [{"system": "http://example.org/other",
                                                                          "code": "S9326"}]}})
    void = {**claim, "id": "void", "status": "entered-in-error"}
    undated = {**claim, "id": "undated", "item": [{"sequence": 1, "productOrService": claim["item"][0]["productOrService"]}]}
    lines, problems = _claims(tmp_path, resources + [void, undated])
    assert [(r.claim.claim, r.claim.sequence) for r in lines.values()] == [(f"Claim/{claim['id']}", 1)]
    assert len(problems) == 1 and "Claim/undated line 1: no service date" in problems[0]


def test_therapy_codes_come_from_the_rulesets(tmp_path: Path) -> None:
    rulesets = tmp_path / "rulesets"
    shutil.copytree(DEFAULT_RULESETS, rulesets)
    text = (rulesets / "S9326.yaml").read_text()
    (rulesets / "S9326.yaml").write_text(text.replace("billing:\n  code: S9326", "billing:\n  code: S9999"))
    resources = scenario_patient(CANCER)
    second = {**next(r for r in resources if r["resourceType"] == "Claim"), "id": "renamed"}
    second["item"] = [{**second["item"][0], "productOrService": {"coding": [{"system": CMS_HCPCS, "code": "S9999"}]}}]
    folder = _write(tmp_path / "in", resources + [second])
    url = sqlite_url(tmp_path)
    done = cds("audit", "run", str(folder), "--as-of", AS_OF.isoformat(), "--workers", "0", "--audit-url", url,
               "--no-progress", env={"CDS_RULESETS": str(rulesets)})
    assert done.returncode == 0, done.stderr
    with AuditTrail.open(url) as trail:
        claims = [r.claim for r in trail.records() if r.claim]
    assert [(c.claim, c.code) for c in claims] == [("Claim/renamed", "S9326")]
