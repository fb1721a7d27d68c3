"""Third-party records evaluate without error and as the specification says.

Synthea R4 bundles (SMART generated-sample-data) and US Core 9.0.0 examples, read from
../shared/reference/; skipped where that folder is absent.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import cds
from cds import knowledge
from cds.evaluate import read_input
from cds.facts import PatientFacts, build_facts
from cds.fhir.record import build_records

from .conftest import REFERENCE, needs_shared

pytestmark = needs_shared
AS_OF = "2026-11-22"
SYNTHEA = REFERENCE / "synthea-samples"


def _synthea(prefix: str) -> Path:
    return next(SYNTHEA.glob(f"{prefix}_*.json"))


def _facts(source: Any) -> PatientFacts:
    loaded = knowledge.default()
    [record] = build_records(read_input(source))
    return build_facts(record, dt.date.fromisoformat(AS_OF), list(loaded.rulesets.values()),
                       loaded.classifier, loaded.valuesets)


def test_every_synthea_bundle_evaluates() -> None:
    results = cds.evaluate_all(SYNTHEA, as_of=AS_OF)
    assert len(results) == 5
    for result in results:
        # Every loaded ruleset assesses every patient (more therapies are added as data).
        assert [a.therapy for a in result.assessments] == sorted(knowledge.default().rulesets)
        # None of them has an indication of a shipped therapy (reference README).
        assert {a.status for a in result.assessments} == {"not-eligible"}


def test_rudolf_weber_opioid_history_counts_as_an_oral_trial() -> None:
    s9326 = cds.evaluate(_synthea("Rudolf_Weber"), as_of=AS_OF).assessment("S9326")
    trial = s9326.criterion("S9326.oral-trial")
    assert trial.result == "met"
    # 1049221 is in the RxNorm table; 1310197 [Vicodin] is not and is read from its display.
    assert "oxycodone" in trial.reason and "HYDROcodone" in trial.reason
    assert len(trial.evidence) == 2
    assert s9326.criterion("S9326.indication").result == "not-met"
    assert s9326.alternatives[0].id == "pain-clinic-referral" and s9326.alternatives[0].recommended


def test_darin_skiles_resolved_colon_cancer_is_not_an_active_malignancy() -> None:
    facts = _facts(_synthea("Darin_Skiles"))
    cancer = [c for c in facts.conditions if "malignant-neoplasm-snomed" in c.vs]
    assert cancer and not any(c.active for c in cancer)
    s9326 = cds.evaluate(_synthea("Darin_Skiles"), as_of=AS_OF).assessment("S9326")
    assert s9326.criterion("S9326.indication").result == "not-met"


def test_delbert_williamson_snomed_only_seizure_disorder_is_read() -> None:
    facts = _facts(_synthea("Delbert_Williamson"))
    seizure = [c for c in facts.conditions if "seizure-disorder" in c.vs]
    assert {tuple(c.codes) for c in seizure} == {("84757009",), ("128613002",)}
    diazepam = next(m for m in facts.medications if "diazepam" in m.ingredients)
    assert diazepam.classes["benzodiazepine"] and diazepam.classes["antispasmodic"]
    # "Diazepam [Valium]" names no dose form and diazepam has injectable forms: route unknown.
    assert diazepam.route_class == "unknown"


def test_delbert_williamson_with_an_intrathecal_baclofen_order_gets_seizure_findings() -> None:
    bundle = json.loads(_synthea("Delbert_Williamson").read_text())
    patient_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    order = {
        "resourceType": "MedicationRequest", "id": "it-baclofen", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"text": "baclofen 2000 MCG/ML intrathecal"},
        "subject": {"reference": patient_url},
        "dosageInstruction": [{"route": {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]}}],
    }
    with_order = copy.deepcopy(bundle)
    with_order["entry"].append({"fullUrl": "urn:uuid:it-baclofen", "resource": order})
    s9363 = cds.evaluate(with_order, as_of=AS_OF).assessment("S9363")
    assert s9363.criterion("S9363.infusion-order").result == "met"
    found = {f.id for f in s9363.findings}
    assert {"S9363.safety.seizure", "S9363.safety.withdrawal", "S9363.safety.cns-depressant"} <= found
    assert "S9363.doc.screening-trial" in {d.id for d in s9363.documentation}
    # Without the indication it stays not eligible, findings or not.
    assert s9363.status == "not-eligible"


def test_raymon_kris_oral_meperidine_is_an_opioid_trial() -> None:
    facts = _facts(_synthea("Raymon_Kris"))
    meperidine = next(m for m in facts.medications if "meperidine" in m.ingredients)
    assert meperidine.classes["opioid"] and meperidine.classes["meperidine"]
    assert meperidine.route == "oral" and meperidine.status == "stopped"
    trial = cds.evaluate(_synthea("Raymon_Kris"), as_of=AS_OF).assessment("S9326").criterion("S9326.oral-trial")
    assert trial.result == "met" and trial.evidence == [meperidine.ref]


def test_oralia_stark_stopped_benzodiazepines_raise_no_findings() -> None:
    result = cds.evaluate(_synthea("Oralia_Stark"), as_of=AS_OF)
    for assessment in result.assessments:
        assert assessment.findings == []
    trial = result.assessment("S9363").criterion("S9363.oral-trial")
    assert trial.result == "not-met" and "route not recorded" in trial.reason


def test_us_core_examples_resolve_contained_and_referenced_medications() -> None:
    folder = REFERENCE / "us-core-examples"
    facts = _facts(folder)
    assert facts.patient.ref == "Patient/example"
    names = {m.ref: m.display for m in facts.medications}
    assert names["MedicationRequest/medicationrequest-contained-oral-axid"].startswith("Nizatidine")
    assert names["MedicationRequest/medicationrequest-referenced-oral-axid"].startswith("Nizatidine")
    assert {m.route for m in facts.medications if m.display.startswith("Nizatidine")} == {"oral"}
    resolved = next(c for c in facts.conditions if c.ref == "Condition/condition-duodenal-ulcer-res")
    assert not resolved.active
    result = cds.evaluate(folder, as_of=AS_OF)
    assert {a.therapy: a.status for a in result.assessments} == \
        {therapy: "not-eligible" for therapy in knowledge.default().rulesets}


@pytest.mark.parametrize("name", sorted(p.name for p in (REFERENCE / "us-core-examples").glob("*.json"))
                         if (REFERENCE / "us-core-examples").is_dir() else [])
def test_each_us_core_example_validates(name: str) -> None:
    entries = read_input(REFERENCE / "us-core-examples" / name)
    assert entries and entries[0].resource["resourceType"]
