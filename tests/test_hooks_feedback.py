"""POST /cds-services/{id}/feedback: validated, and stored in SQLite with card, service and time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cds.service.feedback import FeedbackStore

from .hooks_support.checks import check_cards, make_client
from .hooks_support.patients import hook_request, morphine_infusion, spasticity_patient

SIGN = "/cds-services/home-infusion-order-sign"


def _a_card(client: Any) -> dict[str, Any]:
    body = hook_request("order-sign", "p1", spasticity_patient("p1"), orders=[morphine_infusion("o1", "p1")])
    return check_cards(client.post(SIGN, json=body).json())[0]


def test_accepted_and_overridden_outcomes_are_stored(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        card = _a_card(client)
        suggestion = card["suggestions"][0]["uuid"]
        reason = card["overrideReasons"][0]
        response = client.post(SIGN + "/feedback", json={"feedback": [
            {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
             "outcomeTimestamp": "2026-11-22T10:05:31Z"},
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-22T10:06:00Z",
             "overrideReason": {"reason": {"system": reason["system"], "code": reason["code"]},
                                "userComment": "Discussed with the pain team."}},
        ]})
    assert response.status_code == 200
    rows = FeedbackStore(tmp_path / "hooks.sqlite").all()
    assert [(r["service"], r["card"], r["outcome"]) for r in rows] == [
        ("home-infusion-order-sign", card["uuid"], "accepted"),
        ("home-infusion-order-sign", card["uuid"], "overridden"),
    ]
    assert rows[0]["accepted_suggestions"] == [suggestion]
    assert rows[0]["outcome_timestamp"].startswith("2026-11-22T10:05:31")
    assert rows[1]["override_code"] == reason["code"] and rows[1]["user_comment"] == "Discussed with the pain team."
    assert all(r["received"] for r in rows)


def test_the_specification_examples_are_stored(tmp_path: Path) -> None:
    with make_client(tmp_path) as client:
        for example in ({"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted",
                         "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                         "outcomeTimestamp": "2021-12-11T10:05:31Z"},
                        {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
                         "outcomeTimestamp": "2020-12-11T00:00:00Z"}):
            assert client.post(SIGN + "/feedback", json={"feedback": [example]}).status_code == 200
    assert len(FeedbackStore(tmp_path / "hooks.sqlite").all()) == 2


def test_invalid_feedback_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    good = {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-22T10:00:00Z"}
    cases = [
        {},
        {"feedback": []},
        {"feedback": [{**good, "outcome": "ignored"}]},
        {"feedback": [{**good, "outcome": "accepted"}]},  # accepted needs acceptedSuggestions
        {"feedback": [good, {**good, "outcomeTimestamp": "yesterday"}]},
        {"feedback": [{**good, "overrideReason": {"reason": {"code": "x"}}}]},  # a Coding needs its system
    ]
    with make_client(tmp_path) as client:
        for body in cases:
            assert client.post(SIGN + "/feedback", json=body).status_code == 400, body
        assert client.post("/cds-services/unknown/feedback", json={"feedback": [good]}).status_code == 404
    assert FeedbackStore(tmp_path / "hooks.sqlite").all() == []


def test_feedback_survives_a_restart(tmp_path: Path) -> None:
    body = {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-22T10:00:00Z"}]}
    with make_client(tmp_path) as client:
        client.post(SIGN + "/feedback", json=body)
    with make_client(tmp_path) as client:
        client.post(SIGN + "/feedback", json=body)
    assert len(FeedbackStore(tmp_path / "hooks.sqlite").all()) == 2
