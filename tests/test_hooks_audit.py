"""Every evaluation the service makes is in the audit trail; cards link their stored assessment."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from cds import knowledge

from cds.audit import AuditTrail, StoreError

from .cli_support import run_cds
from .hooks_support.checks import check_cards, make_client
from .hooks_support.patients import (
    baclofen_intrathecal,
    hook_request,
    morphine_infusion,
    oral_amoxicillin,
    pain_patient,
    plain_patient,
    spasticity_patient,
)

ROOT = Path(__file__).resolve().parent.parent
PATIENT_VIEW = "/cds-services/home-infusion-patient-view"
ORDER_SIGN = "/cds-services/home-infusion-order-sign"


def _trail(tmp_path: Path) -> list[Any]:
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        return list(trail.records())


def test_every_card_source_url_answers(tmp_path: Path) -> None:
    orders = [morphine_infusion("o1", "p1"), baclofen_intrathecal("o2", "p1")]
    with make_client(tmp_path) as client:
        body = client.post(ORDER_SIGN, json=hook_request("order-sign", "p1", pain_patient("p1"), orders=orders)).json()
        cards = check_cards(body, "Patient/p1")
        assert {c["source"]["topic"]["code"] for c in cards} == {"S9326", "S9363"}
        for card in cards:
            page = client.get(urlsplit(card["source"]["url"]).path)
            assert page.status_code == 200
            assert card["source"]["topic"]["code"] in page.text


def test_a_hook_call_stores_one_record_per_card_and_each_card_links_its_record(tmp_path: Path) -> None:
    orders = [morphine_infusion("o1", "p1"), baclofen_intrathecal("o2", "p1")]
    request = hook_request("order-sign", "p1", pain_patient("p1", "MARKER"), orders=orders, hook_instance="hi-42")
    with make_client(tmp_path) as client:
        cards = check_cards(client.post(ORDER_SIGN, json=request).json(), "Patient/p1")
        records = {r.id: r for r in _trail(tmp_path)}
        assert len(records) == len(cards) == 2
        for card in cards:
            link = card["links"][0]
            assert link["label"] == "Review this assessment" and link["type"] == "absolute"
            record = records[link["url"].rsplit("/", 1)[1]]
            therapy = card["source"]["topic"]["code"]
            assert record.source.kind == "hook"
            assert (record.source.hook, record.source.hook_instance) == ("order-sign", "hi-42")
            assert record.patient == "Patient/p1"
            assert [a.therapy for a in record.patient_assessment().assessments] == [therapy]
            assert set(record.rulesets) == {therapy}
            # The facts the assessment came from, with what the evidence needs.
            facts = record.patient_facts()
            assert any("MARKER" in c.display for c in facts.conditions)
            assert {m.ref for m in facts.medications} >= {"MedicationRequest/o1", "MedicationRequest/o2"}
            page = client.get(urlsplit(link["url"]).path)
            assert page.status_code == 200
            assert therapy in page.text and "Patient/p1" in page.text
            if therapy == "S9326":
                # The evidence, from the stored facts.
                assert "Chronic pain syndrome MARKER" in page.text
    # The same input, however packaged, has the same hash; it covers prefetch and draft orders.
    assert len({r.input_hash for r in records.values()}) == 1
    assert len(next(iter(records.values())).input_hash) == len(hashlib.sha256().hexdigest())


def test_a_retried_call_is_a_new_record_with_the_same_card_and_input_hash(tmp_path: Path) -> None:
    request = hook_request("patient-view", "p1", pain_patient("p1"), hook_instance="hi-1")
    with make_client(tmp_path) as client:
        first = client.post(PATIENT_VIEW, json=request).json()["cards"]
        second = client.post(PATIENT_VIEW, json=request).json()["cards"]
    assert [c["uuid"] for c in first] == [c["uuid"] for c in second]
    assert first[0]["links"] != second[0]["links"]
    records = _trail(tmp_path)
    assert len(records) == 2 and records[0].input_hash == records[1].input_hash


def test_patient_view_without_cards_still_records_the_evaluation(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", plain_patient("p1")))
    assert response.json() == {"cards": []}
    [record] = _trail(tmp_path)
    assert record.source.hook == "patient-view"
    assert {a.therapy for a in record.patient_assessment().assessments} == set(knowledge.default().rulesets)


def test_order_sign_without_therapy_orders_evaluates_and_records_nothing(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        request = hook_request("order-sign", "p1", spasticity_patient("p1"), orders=[oral_amoxicillin("o1", "p1")])
        assert client.post(ORDER_SIGN, json=request).json() == {"cards": []}
    assert _trail(tmp_path) == []


def test_no_cards_when_the_evaluation_cannot_be_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with make_client(tmp_path) as client:
        def broken(**_: Any) -> None:
            raise StoreError("disk full")
        monkeypatch.setattr(client.app.state.audit, "append", broken)  # type: ignore[attr-defined]
        response = client.post(PATIENT_VIEW, json=hook_request("patient-view", "p1", pain_patient("p1")))
    assert response.status_code == 503
    assert "audit trail" in response.json()["issue"][0]["diagnostics"]


def test_serve_reports_an_audit_url_it_cannot_use(tmp_path: Path) -> None:
    result = run_cds("serve", "--audit-url", "mysql://nowhere/x", cwd=tmp_path)
    assert result.returncode == 2
    assert "cds serve: unsupported audit URL" in result.stderr
