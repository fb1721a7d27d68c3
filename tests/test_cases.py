"""The case builder (cds/cases.py) and `cds fixtures build`: what a case author and a reader see."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fhir.resources.R4B.bundle import Bundle

from cds import cases, knowledge
from cds.cli import main
from cds.review.fixtures import fixtures

ROOT = Path(__file__).resolve().parent.parent
ROUTES = cases.route_codes(knowledge.default().terminology.routes.snomed)
EXPECT = {"X1": {"status": "eligible"}}


def _case_file(tmp_path: Path, body: dict[str, Any], name: str = "X1.a/b", stem: str = "X1") -> Path:
    path = tmp_path / f"{stem}.yaml"
    path.write_text(yaml.safe_dump({"cases": {name: body}}), encoding="utf-8")
    return path


def _one(tmp_path: Path, record: dict[str, Any]) -> dict[str, Any]:
    body = {"description": "d", "as_of": "2026-11-22", "expect": EXPECT, **record}
    path = _case_file(tmp_path, body)
    path.write_text(path.read_text().replace("'2026-11-22'", "2026-11-22"))
    [case] = cases.load_file(path)
    return cases.build(case, ROUTES)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_a_full_record_builds_valid_fhir_with_stable_ids(tmp_path: Path) -> None:
    bundle = _one(tmp_path, {
        "patient": {"birthDate": "1960-01-01", "gender": "female"},
        "conditions": [{"code": "icd10:G89.4", "display": "Chronic pain syndrome", "onset": "2025-01-01"}],
        "observations": [{"loinc": "2160-0", "value": "1.2 mg/dL", "date": "2026-11-01"},
                         {"loinc": "11350-6", "code": "snomed:1234", "status": "final"}],
        "procedures": [{"code": "cpt:36561", "date": "2026-10-01", "display": "Port"}],
        "medications": [{"drug": "oxycodone 5 MG Oral Tablet", "rxnorm": "1", "status": "stopped",
                         "status_reason": "nausea", "start": "2026-01-01", "end": "2026-02-01", "reference": True},
                        {"drug": "baclofen 10 MG Oral Tablet", "contained": True, "supply_days": 30}],
        "order": {"drug": "morphine 1 MG/ML Injectable Solution", "route": "intravenous", "rate": "1 mg/h",
                  "frequency": 1, "period": "1 d", "duration": "24 h", "dose": "24 mg", "timing_code": "continuous"},
    })
    Bundle.model_validate(bundle)
    ids = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]]
    assert ids == ["Patient/X1.a--b", "Condition/X1.a--b-c1", "Observation/X1.a--b-o1", "Observation/X1.a--b-o2",
                   "Procedure/X1.a--b-p1", "Medication/X1.a--b-m1-drug", "MedicationRequest/X1.a--b-m1",
                   "MedicationRequest/X1.a--b-m2", "MedicationRequest/X1.a--b-order"]
    order = _resources(bundle, "MedicationRequest")[-1]
    assert order["status"] == "draft"
    assert order["dosageInstruction"][0]["route"]["coding"][0]["code"] == ROUTES["intravenous"]
    assert order["dosageInstruction"][0]["timing"]["repeat"] == {
        "frequency": 1, "period": 1, "periodUnit": "d", "duration": 24, "durationUnit": "h"}
    assert _one(tmp_path, {"patient": "none"})["entry"][0]["resource"].get("birthDate") is None


def test_a_service_order_is_coded_in_hcpcs(tmp_path: Path) -> None:
    bundle = _one(tmp_path, {"order": {"service": "X1", "display": "Home infusion", "authored": "2026-11-20"}})
    [request] = _resources(bundle, "ServiceRequest")
    Bundle.model_validate(bundle)
    assert request["code"]["coding"][0] == {"system": cases.SYSTEMS["hcpcs"], "code": "X1", "display": "Home infusion"}


@pytest.mark.parametrize(("record", "message"), [
    ({"conditions": [{"code": "G89.4"}]}, "code 'G89.4': write `<icd10|snomed"),
    ({"conditions": [{"code": "icd10:G89.4", "severity": "x"}]}, "conditions: unknown keys ['severity']"),
    ({"order": {"drug": "x", "route": "nasal"}}, "route 'nasal' is not one of"),
    ({"order": {"drug": "x", "rate": "fast"}}, "'fast': write a number and a unit"),
    ({"medications": [{"rxnorm": "1"}]}, "a medication needs `drug:`"),
    ({"patient": {"age": 3}}, "patient: {birthDate, gender, name} or none"),
    ({"conditions": {"code": "icd10:G89.4"}}, "conditions: a list of mappings"),
])
def test_a_record_the_builder_cannot_say_gets_a_clear_error(tmp_path: Path, record: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(cases.CaseError) as raised:
        _one(tmp_path, record)
    assert str(raised.value).startswith("X1.a/b: ") and message in str(raised.value)


@pytest.mark.parametrize(("name", "body", "message"), [
    ("a/b", {"description": "d", "as_of": "2026-11-22", "expect": EXPECT}, "a case name is `X1.<criterion"),
    ("X1.a/b", {"as_of": "2026-11-22", "expect": EXPECT}, "needs a description and an as_of date"),
    ("X1.a/b", {"description": "d", "as_of": "2026-11-22"}, "`expect:` maps ruleset ids"),
    ("X1.a/b", {"description": "d", "as_of": "2026-11-22", "expect": EXPECT, "labs": []}, "unknown keys ['labs']"),
    ("X1." + "a" * 60 + "/b", {"description": "d", "as_of": "2026-11-22", "expect": EXPECT}, "longer than 58"),
])
def test_a_malformed_case_gets_a_clear_error(tmp_path: Path, name: str, body: dict[str, Any], message: str) -> None:
    path = _case_file(tmp_path, body, name)
    path.write_text(path.read_text().replace("'2026-11-22'", "2026-11-22"))
    with pytest.raises(cases.CaseError, match="^X1.yaml ") as raised:
        cases.load_file(path)
    assert message in str(raised.value)


def test_cds_fixtures_build_writes_one_bundle_per_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["fixtures", "build", "--out", str(out), str(cases.DEFAULT_FOLDER / "S9326.yaml")]) == 0
    names = [c.name for c in cases.load([cases.DEFAULT_FOLDER / "S9326.yaml"]).values()]
    assert sorted(p.name for p in out.glob("*.json")) == sorted(n.replace("/", "--") + ".json" for n in names)
    assert f"{len(names)} bundles in {out}" in capsys.readouterr().out
    bundle = json.loads((out / "S9326.indication--cancer-related-pain.json").read_text())
    assert bundle["entry"][0]["resource"]["id"] == "S9326.indication--cancer-related-pain"


@pytest.mark.parametrize(("content", "message"), [
    (None, "cds: case error: no such case file:"),
    ("cases: [1]", "cds: case error: X1.yaml: needs a mapping `cases:` of named cases"),
    ("cases: {", "cds: case error: X1.yaml: not YAML"),
    # YAML would keep the second silently: the first case would vanish from the tests.
    ("cases:\n  X1.a/b: {}\n  X1.a/b: {}\n", "cds: case error: X1.yaml: not YAML: key 'X1.a/b' written twice"),
])
def test_cds_fixtures_build_reports_bad_case_files_with_exit_code_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str) -> None:
    path = tmp_path / "X1.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["fixtures", "build", "--out", str(tmp_path / "out"), str(path)]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_the_review_picker_lists_the_cases_and_nothing_without_the_folder(tmp_path: Path) -> None:
    listed = fixtures(knowledge.default())
    assert set(listed) == set(cases.load())
    one = listed["S9326.indication/cancer-related-pain"]
    assert one.group == "S9326" and one.label.startswith("S9326.indication/cancer-related-pain: ")
    assert json.loads(one.text())["resourceType"] == "Bundle"
    assert fixtures(knowledge.default(), tmp_path / "absent") == {}


# Defaults (fixtures/cases/README.md, Defaults): what a case is once the file's defaults apply.

DEFAULTS = {
    "as_of": "2026-11-22",
    "patient": {"birthDate": "1960-01-01", "gender": "female"},
    "conditions": [{"code": "icd10:M46.26"}],
    "order": {"drug": "cefazolin 2000 MG Injection", "rxnorm": "1665060", "route": "intravenous"},
    "expect": {"X1": {"status": "eligible", "criteria": {"X1.a": "met", "X1.b": "met"},
                      "categories": {"X1.a": "bone"}, "findings": [], "alternatives": ["p", "q"]},
               "X2": {"status": "not-eligible", "criteria": {"X2.a": "not-met"}, "findings": []}},
}


@pytest.mark.parametrize(("body", "record", "expect"), [
    pytest.param({}, {k: v for k, v in DEFAULTS.items() if k not in {"as_of", "expect"}}, DEFAULTS["expect"],
                 id="nothing-written-is-the-defaults"),
    # A record key replaces: the order is the case's whole order, not mixed with the usual one.
    pytest.param({"order": {"drug": "meropenem 1 g"}, "conditions": [{"code": "icd10:A41.9"}, {"code": "icd10:B25.9"}]},
                 {"patient": DEFAULTS["patient"], "conditions": [{"code": "icd10:A41.9"}, {"code": "icd10:B25.9"}],
                  "order": {"drug": "meropenem 1 g"}}, DEFAULTS["expect"], id="record-keys-replace"),
    # `~` removes: no order (a candidate), no conditions.
    pytest.param({"order": None, "conditions": None}, {"patient": DEFAULTS["patient"]}, DEFAULTS["expect"],
                 id="null-removes-a-record-key"),
    # expect merges key by key: one criterion, the rest as usual; a list replaces; `~` drops a
    # category and the other therapy.
    pytest.param({"expect": {"X1": {"status": "not-eligible", "criteria": {"X1.b": "not-met"},
                                    "categories": {"X1.a": None}, "alternatives": ["q"]}, "X2": None}},
                 {k: v for k, v in DEFAULTS.items() if k not in {"as_of", "expect"}},
                 {"X1": {"status": "not-eligible", "criteria": {"X1.a": "met", "X1.b": "not-met"}, "categories": {},
                         "findings": [], "alternatives": ["q"]}}, id="expect-merges"),
])
def test_a_case_is_its_defaults_with_its_own_keys_written_over(
        tmp_path: Path, body: dict[str, Any], record: dict[str, Any], expect: dict[str, Any]) -> None:
    path = tmp_path / "X1.yaml"
    path.write_text(yaml.safe_dump({"defaults": DEFAULTS, "cases": {"X1.a/b": {"description": "d", **body}}}))
    path.write_text(path.read_text().replace("'2026-11-22'", "2026-11-22"))
    [case] = cases.load_file(path)
    assert (case.record, case.expect, case.as_of.isoformat()) == (record, expect, "2026-11-22")
    assert cases.build(case, ROUTES)["entry"][0]["resource"]["birthDate"] == "1960-01-01"


@pytest.mark.parametrize(("content", "message"), [
    ("defaults:\n  labs: []\ncases:\n  X1.a/b: {description: d, as_of: 2026-11-22, expect: {X1: {}}}\n",
     "X1.yaml line 1: defaults: unknown keys ['labs']"),
    ("defaults:\n  as_of: 2026-11-22\n  expect: {X1: {}}\ncases:\n  X1.a/b: {description: d}\n"
     "  X1.a/c: {expect: {X1: {}}}\n", "X1.yaml line 6: X1.a/c: needs a description and an as_of date"),
    ("defaults:\n  as_of: 2026-11-22\ncases:\n  X1.a/b: {description: d, expect: [X1]}\n",
     "X1.yaml line 4: X1.a/b: `expect:` maps ruleset ids to expected assessments"),
    ("default:\n  as_of: 2026-11-22\ncases: {}\n", "X1.yaml line 1: a case file holds `defaults:`, `cases:`"),
])
def test_a_bad_default_or_case_is_named_with_its_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "X1.yaml"
    path.write_text(content)
    with pytest.raises(cases.CaseError) as raised:
        cases.load_file(path)
    assert str(raised.value).startswith(message)


def test_cds_fixtures_show_prints_a_case_with_its_defaults_applied(capsys: pytest.CaptureFixture[str]) -> None:
    case = cases.load()["S9494.indication/cns-ceftriaxone-daily"]
    assert main(["fixtures", "show", case.name]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"# S9494.yaml line {case.line}, with the file's defaults applied\n")
    assert case.name in case.file.read_text().splitlines()[case.line - 1]
    shown = yaml.safe_load(printed)[case.name]
    # The whole record, written out: the patient and history the file's defaults give it.
    assert shown == case.expanded() and {"patient", "procedures", "observations", "order"} <= set(shown)
    assert main(["fixtures", "show", "--bundle", case.name]) == 0
    assert json.loads(capsys.readouterr().out) == cases.build(case, ROUTES)


def test_cds_fixtures_show_names_close_cases_and_does_not_echo_an_unknown_name(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixtures", "show", "S9494.indication/cns-ceftriaxone-<script>"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("cds: case error: 1 of the 1 names given is no case of the case files; the closest: ")
    assert "S9494.indication/cns-ceftriaxone-daily" in error and "<script>" not in error


def _old_style(name: str, condition: str, expect: str) -> str:
    """A case as written before defaults: the whole record every time."""
    return (f"  X1.a/{name}:\n    description: {name}\n    as_of: 2026-11-22\n    patient: {{birthDate: 1960-01-01}}\n"
            f"    conditions: [{{code: 'icd10:{condition}'}}]\n    expect:\n      X1:{expect}\n")


USUAL = " {status: eligible, criteria: {X1.a: met, X1.b: met}, findings: [], billing: X1}"
OLD_STYLE = "".join([
    "# Cases of X1, the header kept.\ncases:\n",
    _old_style("usual", "M46.26", USUAL),
    _old_style("no-b", "M46.26", "\n        status: not-eligible  # spec change: the note stays beside it\n"
                                 "        criteria: {X1.a: met, X1.b: not-met}\n        findings: []\n        billing: X1"),
    "  # A section heading between cases.\n",
    _old_style("other-condition", "A41.9", USUAL),
])


def test_tools_case_defaults_rewrites_a_file_with_defaults_and_the_same_cases(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("case_defaults", ROOT / "tools" / "case_defaults.py")
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    path = tmp_path / "X1.yaml"
    path.write_text(OLD_STYLE)
    before = cases.load_file(path)
    assert tool.main([str(path)]) == 0
    assert cases.load_file(path) == before
    text = path.read_text()
    assert text.startswith("# Cases of X1, the header kept.\n") and "\ndefaults:\n" in text
    assert "  # A section heading between cases.\n  X1.a/other-condition:" in text
    assert "        # spec change: the note stays beside it\n        status: not-eligible\n" in text
    assert text.count("birthDate") == 1 and text.count("icd10:M46.26") == 1   # written once, in the defaults
