"""Rulesets are validated at load: a bad file is an error naming file, line and problem."""

from __future__ import annotations

import re

import json
import shutil
from pathlib import Path

import pytest

from cds import knowledge
from cds.ruleset import RulesetError

from .cli_support import Ran, run_cds
from .conftest import ROOT


@pytest.fixture()
def rulesets(tmp_path: Path) -> Path:
    target = tmp_path / "rulesets"
    shutil.copytree(ROOT / "rulesets", target)
    return target


def _check(folder: Path) -> Ran:
    return run_cds("rulesets", "check", env={"CDS_RULESETS": str(folder)})


def test_unknown_value_set_names_file_line_and_criterion(rulesets: Path) -> None:
    path = rulesets / "S9326.yaml"
    text = path.read_text().replace("in: [homelessness]", "in: [homelesness]", 1)
    path.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "homelesness" in row)
    with pytest.raises(RulesetError) as caught:
        knowledge.load(rulesets)
    message = str(caught.value)
    assert "S9326.yaml" in message and "S9326.home-setting" in message and "homelesness" in message
    # The line of the branch that holds the condition (its mapping starts one or two lines up).
    assert any(f"line {n}:" in message for n in range(line - 3, line + 1)), message


def test_an_icd10cm_code_that_does_not_exist_is_a_load_error(rulesets: Path) -> None:
    path = rulesets / "valuesets" / "postoperative-pain.json"
    data = json.loads(path.read_text())
    data["compose"]["include"][0]["concept"].append({"code": "G89.99", "display": "invented"})
    path.write_text(json.dumps(data))
    with pytest.raises(RulesetError, match=r"postoperative-pain.json.*G89.99 does not exist in ICD-10-CM"):
        knowledge.load(rulesets)


def test_schema_errors_name_the_field(rulesets: Path) -> None:
    path = rulesets / "S9363.yaml"
    path.write_text(path.read_text().replace("severity: warning", "severity: severe", 1))
    with pytest.raises(RulesetError, match=r"S9363.yaml: line \d+: findings.0.severity"):
        knowledge.load(rulesets)


def test_a_key_written_twice_is_an_error_naming_its_line(rulesets: Path) -> None:
    # YAML keeps the last silently: a branch's `when` written twice would lose the first.
    path = rulesets / "S9363.yaml"
    path.write_text(path.read_text().replace("severity: warning", "severity: warning\n    severity: info", 1))
    with pytest.raises(RulesetError, match=r"(?s)S9363.yaml: not valid YAML: key 'severity' written twice.*line \d+"):
        knowledge.load(rulesets)


def test_a_criterion_logic_in_prose_is_a_load_error_pointing_to_why(rulesets: Path) -> None:
    # The catalog words the branches; prose beside them restated codes and drifted from them.
    path = rulesets / "S9363.yaml"
    path.write_text(path.read_text().replace("    kind: eligibility\n", "    kind: eligibility\n    logic: Met by age.\n", 1))
    with pytest.raises(RulesetError, match=r"S9363.yaml: line \d+: criteria.1: .*`logic` is no longer written.*`why`"):
        knowledge.load(rulesets)


def test_a_source_cited_but_not_listed_is_an_error(rulesets: Path) -> None:
    path = rulesets / "S9363.yaml"
    path.write_text(path.read_text().replace("sources: [criteria S9363, eviCore CMM-210]",
                                             "sources: [criteria S9363, Humana 2031]", 1))
    with pytest.raises(RulesetError, match="Humana 2031"):
        knowledge.load(rulesets)


def test_cli_check_exits_non_zero_naming_the_file(rulesets: Path) -> None:
    path = rulesets / "S9326.yaml"
    path.write_text(path.read_text().replace("class: [benzodiazepine]", "class: [benzos]", 1))
    done = _check(rulesets)
    assert done.returncode == 2
    assert "S9326.yaml" in done.stderr and "benzos" in done.stderr


def test_version_changes_with_the_content(rulesets: Path) -> None:
    before = knowledge.load(rulesets).versions
    path = rulesets / "S9363.yaml"
    path.write_text(path.read_text() + "\n# a comment changes the hash too\n")
    after = knowledge.load(rulesets).versions
    assert before["S9326"] == after["S9326"]
    assert before["S9363"] != after["S9363"]
    assert after["S9363"].startswith("2026.1+sha256:")


def test_every_criterion_of_the_specification_is_implemented() -> None:
    """Each loaded ruleset implements exactly the criteria its page lists, in the page's order."""
    pages = ROOT.parent / "shared" / "criteria"
    if not pages.is_dir():
        pytest.skip("../shared/criteria is not beside the checkout")
    spec: dict[str, list[str]] = {}
    for page in sorted(pages.glob("S*.md")):
        for match in re.finditer(r"^\| `((S\d{4})\.[a-z0-9.-]+)` \| (?:indication|eligibility) \|",
                                 page.read_text(encoding="utf-8"), flags=re.MULTILINE):
            spec.setdefault(match.group(2), []).append(match.group(1))
    loaded = knowledge.default()
    for therapy, ruleset in loaded.rulesets.items():
        assert [c.id for c in ruleset.criteria] == spec[therapy], therapy
