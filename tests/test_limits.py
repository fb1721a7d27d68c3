"""Bounded work: a huge record is answered (linear work), one over a cap is refused clearly."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cds
from cds.engine import host

from .cli_support import run_cds
from .conftest import ICD, bundle, condition, patient
from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.patients import hook_request

VIEW = "/cds-services/home-infusion-patient-view"


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def _big_view(conditions: int) -> dict[str, Any]:
    # Chronic pain (read by the rules) and type 2 diabetes (in no value set), alternating.
    resources = [condition(f"c{n}", ICD, ("G89.4", "E11.9")[n % 2], "", pid="p1") for n in range(conditions)]
    prefetch = {"patient": patient("p1"), "conditions": _searchset(resources), "medications": None,
                "observations": None, "procedures": None, "immunizations": None}
    return hook_request("patient-view", "p1", prefetch, hook_instance="big-1")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("limits"), max_body_bytes=16 * 1024 * 1024) as test_client:
        yield test_client


def test_a_patient_view_with_20000_conditions_answers_with_its_card(client: CheckedClient) -> None:
    response = client.post(VIEW, json=_big_view(20_000))
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    assert card["summary"].startswith("Home infusion candidate (") and "S9326" in card["summary"]
    # Every matching condition is evidence, once, in record order; the card names the first
    # few and how many more, not 10,000 references.
    assert "Condition/c0, Condition/c2" in card["detail"]
    assert "and 9,995 more" in card["detail"]
    assert len(card["detail"]) < 20_000


@pytest.fixture
def asserted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every fact asserted into a durable-rules session, in order."""
    seen: list[dict[str, Any]] = []
    original = host.Session.assert_fact

    def spy(self: host.Session, fact: dict[str, Any]) -> None:
        seen.append(fact)
        original(self, fact)

    monkeypatch.setattr(host.Session, "assert_fact", spy)
    return seen


def test_repeated_entries_are_all_evidence_and_the_engine_sees_each_distinct_fact_once(
        asserted: list[dict[str, Any]]) -> None:
    # Twelve entries of one diagnosis, told apart only by id and text, and one with another onset.
    same = [condition(f"c{n}", ICD, "G89.4", f"Chronic pain, entry {n}") for n in range(12)]
    other = {**condition("c-onset", ICD, "G89.4", "Chronic pain"), "onsetDateTime": "2024-01-01"}
    result = cds.evaluate(bundle(patient("p1"), *same, other), as_of="2026-11-22", therapies=["S9326"])
    [indication] = [c for c in result.assessment("S9326").criteria if c.id == "S9326.indication"]
    assert indication.result == "met"
    assert indication.evidence == [f"Condition/c{n}" for n in range(12)] + ["Condition/c-onset"]
    assert indication.reason.endswith("and 8 more.") or "and 8 more" in indication.reason
    conditions = [f for f in asserted if f.get("t") == "condition"]
    # The twelve equal entries and the one with another onset (which no rule reads) are one fact.
    assert len(conditions) == 1


@pytest.mark.parametrize("count", [10, 400])
def test_conditions_each_with_its_own_onset_cost_the_engine_one_fact_not_one_each(
        asserted: list[dict[str, Any]], count: int) -> None:
    # The engine matches each asserted fact against those already in its session: 400 distinct
    # condition facts cost it 400 x 400 comparisons (the 20,000-condition call took 12 s). Facts
    # equal in what the rules test are one fact, however many onsets the entries carry.
    dated = [{**condition(f"c{n}", ICD, "G89.4", "Chronic pain"),
              "onsetDateTime": (dt.date(1950, 1, 1) + dt.timedelta(days=n)).isoformat()} for n in range(count)]
    result = cds.evaluate(bundle(patient("p1"), *dated), as_of="2026-11-22", therapies=["S9326"])
    [indication] = [c for c in result.assessment("S9326").criteria if c.id == "S9326.indication"]
    assert indication.result == "met"
    assert indication.evidence == [f"Condition/c{n}" for n in range(count)]
    assert len([f for f in asserted if f.get("t") == "condition"]) == 1


@pytest.mark.parametrize(("variable", "cap", "named"), [
    ("CDS_MAX_RESOURCES", "100", "max resources per patient"),
    ("CDS_MAX_FACTS", "100", "max facts per evaluation"),
])
def test_a_call_over_a_cap_is_a_413_naming_the_cap(client: CheckedClient, monkeypatch: pytest.MonkeyPatch,
                                                    variable: str, cap: str, named: str) -> None:
    monkeypatch.setenv(variable, cap)
    response = client.post(VIEW, json=_big_view(300))
    assert response.status_code == 413
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    [issue] = outcome["issue"]
    assert issue["code"] == "too-long"
    assert named in issue["diagnostics"] and variable in issue["diagnostics"]
    assert "Patient" not in issue["diagnostics"].replace("per patient", "")  # no patient data


@pytest.mark.parametrize(("variable", "named"), [
    ("CDS_MAX_RESOURCES", "max resources per patient"),
    ("CDS_MAX_FACTS", "max facts per evaluation"),
])
def test_the_command_line_over_a_cap_exits_2_naming_the_cap(tmp_path: Path, variable: str, named: str) -> None:
    resources = [condition(f"c{n}", ICD, "G89.4", "Chronic pain", pid="p1") for n in range(60)]
    (tmp_path / "big.json").write_text(json.dumps(bundle(patient("p1"), *resources)))
    done = run_cds("evaluate", str(tmp_path / "big.json"), env={variable: "50"})
    assert done.returncode == 2
    assert named in done.stderr and variable in done.stderr
    assert "Traceback" not in done.stderr
