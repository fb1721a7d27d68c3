"""`cds audit replay`: a record's stored facts through today's rulesets, and what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cds import cases
from cds.audit import AuditTrail
from cds.knowledge import DEFAULT_RULESETS, default

from .audit_support import AS_OF, bundles, cds, scenario_number, sqlite_url
from .case_support import all_cases

MS = scenario_number("multiple-sclerosis-intrathecal-baclofen")


def _audited(tmp_path: Path) -> tuple[str, str]:
    """A trail with one CLI record of a patient with multiple sclerosis, eligible for S9363."""
    folder = bundles(tmp_path, 1, start=MS)
    url = sqlite_url(tmp_path)
    done = cds("evaluate", str(folder), "--as-of", AS_OF.isoformat(), "--audit", "--audit-url", url)
    assert done.returncode == 0, done.stderr
    with AuditTrail.open(url) as trail:
        record = trail.get("#1")
    assert record is not None and record.patient_assessment().assessment("S9363").status == "eligible"
    return url, record.id


def test_replay_with_the_same_rulesets_changes_nothing(tmp_path: Path) -> None:
    url, record_id = _audited(tmp_path)
    done = cds("audit", "replay", record_id, "--audit-url", url)
    assert done.returncode == 0, done.stderr
    assert f"record #1 {record_id}: Patient/synth-{MS:06d} as of {AS_OF.isoformat()}" in done.stdout
    assert "no change: today's rulesets give the same assessment" in done.stdout
    assert "rules changed" not in done.stdout


def test_replay_with_changed_rulesets_prints_what_changed(tmp_path: Path) -> None:
    url, record_id = _audited(tmp_path)
    rulesets = tmp_path / "rulesets"
    shutil.copytree(DEFAULT_RULESETS, rulesets)
    text = (rulesets / "S9363.yaml").read_text()
    assert "age_at_least: 4}" in text and "age_below: 4}" in text
    (rulesets / "S9363.yaml").write_text(text.replace("age_at_least: 4}", "age_at_least: 90}")
                                         .replace("age_below: 4}", "age_below: 90}"))
    done = cds("audit", "replay", record_id, "--audit-url", url, env={"CDS_RULESETS": str(rulesets)})
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("rules changed: S9363: 2026.1+sha256:") for line in lines)
    assert "S9363 status: eligible -> not-eligible" in lines
    assert "  S9363 criterion S9363.age: met -> not-met" in lines
    assert not any("S9326" in line for line in lines[1:])
    # The trail is untouched by a replay.
    with AuditTrail.open(url) as trail:
        assert len(trail) == 1 and trail.verify().intact


def test_an_unresolved_medication_reference_is_kept_in_the_trail(tmp_path: Path) -> None:
    # Issue 20, class 10: the warning is part of the audited assessment, and the stored facts
    # replay to the same assessment (the order's unknown drug is in the facts, not re-read).
    name = "S9494.infusion-order/missing-contained-medication"
    case = all_cases()[name]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(cases.build(case, cases.route_codes(default().terminology.routes.snomed))))
    url = sqlite_url(tmp_path)
    done = cds("evaluate", str(bundle), "--as-of", case.as_of.isoformat(), "--audit", "--audit-url", url)
    assert done.returncode == 0, done.stderr
    with AuditTrail.open(url) as trail:
        record = trail.get("#1")
    assert record is not None
    stored = record.patient_assessment()
    assert any("medicationReference #med1 resolves to no contained Medication" in w for w in stored.warnings)
    assert stored.assessment("S9494").status == "insufficient-information"
    done = cds("audit", "replay", record.id, "--audit-url", url)
    assert done.returncode == 0, done.stderr
    assert "no change: today's rulesets give the same assessment" in done.stdout


def test_a_prior_authorization_record_is_decided_again_under_todays_rules(tmp_path: Path) -> None:
    """`cds pas submit` records each decision (A1 here); replayed under rules that no longer
    count the patient's heart failure, the decision is re-made: A1 -> A3."""
    example = cds("pas", "example", "S9348")
    assert example.returncode == 0, example.stderr
    request = tmp_path / "request.json"
    request.write_text(example.stdout)
    url = sqlite_url(tmp_path)
    # The case's as-of date is the Claim's created date.
    created = json.loads(example.stdout)["entry"][0]["resource"]["created"]
    done = cds("pas", "submit", str(request), "--as-of", created, "--audit-url", url)
    assert done.returncode == 0, done.stderr
    with AuditTrail.open(url) as trail:
        record = trail.get("#1")
    assert record is not None and record.claim is not None and record.claim.authorization is not None
    assert record.claim.authorization.decision == "A1"
    rulesets = tmp_path / "rulesets"
    shutil.copytree(DEFAULT_RULESETS, rulesets)
    text = (rulesets / "S9348.yaml").read_text()
    met = "when: {condition: {in: [heart-failure, heart-failure-vsac]}}"
    assert met in text
    (rulesets / "S9348.yaml").write_text(text.replace(met, "when: {condition: {in: [cardiogenic-shock]}}"))
    again = cds("audit", "replay", record.id, "--audit-url", url, env={"CDS_RULESETS": str(rulesets)})
    assert again.returncode == 1, again.stderr
    number = record.claim.authorization.request
    assert f"prior authorization {number}: A1" in again.stdout
    assert f"prior authorization {number} line 1: A1 -> A3" in again.stdout.splitlines()
