"""The card rules as one checker, run on every response the hook tests receive; the Da Vinci
answers (CRD coverage information, DTR packages, PAS responses) held to their packs' profiles."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from cds.davinci.fhir import OUTPUT_PARAMETERS

from . import profiles
from .crd import check_system_actions
from .pas import check_response_bundle

CARD_KEYS = {"uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior",
             "overrideReasons", "links", "extension"}
SERVICE_CALL = re.compile(r"^/cds-services/[^/]+$")


def no_null_or_empty(value: Any, path: str = "$") -> None:
    """CDS Hooks: JSON elements SHALL NOT be null or empty (absent instead)."""
    assert value is not None, f"{path} is null"
    if isinstance(value, (str, list, dict)):
        assert len(value) > 0, f"{path} is empty"
    if isinstance(value, dict):
        for key, item in value.items():
            no_null_or_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            no_null_or_empty(item, f"{path}[{n}]")


def _absolute(url: Any) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return bool(parts and parts.scheme in ("http", "https") and parts.netloc)


def _coding(coding: Any, display_required: bool) -> None:
    assert isinstance(coding, dict)
    assert isinstance(coding.get("system"), str) and isinstance(coding.get("code"), str)
    if display_required or "display" in coding:
        assert isinstance(coding.get("display"), str)


def _check_candidates_card(card: dict[str, Any]) -> None:
    """patient-view's one card: a table of the candidate therapies, info only when all are eligible."""
    detail = card["detail"]
    assert "| Therapy | Status | Main reason |" in detail
    statuses = re.findall(r"^\| S\d{4} [^|]*\| ([a-z ]+) \|", detail, flags=re.MULTILINE)
    assert statuses, detail
    assert card["indicator"] == ("info" if set(statuses) == {"eligible"} else "warning")
    assert "topic" not in card["source"] and "suggestions" not in card
    for reason in card.get("overrideReasons", []):
        _coding(reason, display_required=True)


def check_card(card: dict[str, Any], patient_ref: str | None = None) -> None:
    assert set(card) <= CARD_KEYS, f"unknown card elements {set(card) - CARD_KEYS}"
    uuid.UUID(card["uuid"])
    summary = card["summary"]
    assert isinstance(summary, str) and 0 < len(summary) < 140, summary
    assert card["indicator"] in ("info", "warning", "critical")
    if card["source"]["url"].endswith("/criteria"):
        _check_candidates_card(card)
        return
    # Ours: info for an eligible verdict, warning for every other.
    eligible = ": eligible." in summary
    assert card["indicator"] == ("info" if eligible else "warning"), summary
    detail = card["detail"]
    assert isinstance(detail, str)
    assert "| Criterion | Result | Reason | Evidence |" in detail
    source = card["source"]
    assert isinstance(source["label"], str)
    assert _absolute(source["url"]) and re.search(r"/criteria/S\d{4}$", source["url"]), source["url"]
    _coding(source["topic"], display_required=False)
    # The topic is the therapy's billing code, which need not be its id (S9330 bills S9329 when
    # the duration is untold): the ruleset names it.
    from cds.knowledge import default

    therapy = source["url"].rsplit("/", 1)[1]
    assert source["topic"]["code"] == default().rulesets[therapy].billing.code, (therapy, source["topic"])
    for reason in card.get("overrideReasons", []):
        _coding(reason, display_required=True)
    suggestions = card.get("suggestions", [])
    assert ("selectionBehavior" in card) == bool(suggestions)
    if suggestions:
        assert card["selectionBehavior"] in ("at-most-one", "any")
        recommended = [s for s in suggestions if s.get("isRecommended")]
        if card["selectionBehavior"] == "at-most-one":
            assert len(recommended) <= 1
        plain_detail = detail.replace("\\", "")
    for suggestion in suggestions:
        assert isinstance(suggestion["label"], str)
        uuid.UUID(suggestion["uuid"])
        assert suggestion["label"] in plain_detail, "each alternative is explained in the detail"
        if "isRecommended" in suggestion:
            assert isinstance(suggestion["isRecommended"], bool)
        for action in suggestion.get("actions", []):
            assert action["type"] in ("create", "update", "delete")
            assert isinstance(action["description"], str)
            if action["type"] == "delete":
                assert isinstance(action["resourceId"], list | str) and "resource" not in action
            else:
                resource = action["resource"]
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                if patient_ref is not None:
                    assert resource["subject"]["reference"] == patient_ref
    for link in card.get("links", []):
        assert isinstance(link["label"], str) and _absolute(link["url"])
        assert link["type"] in ("absolute", "smart")
        if link["type"] == "absolute":
            assert "appContext" not in link


def check_cards(body: Any, patient_ref: str | None = None) -> list[dict[str, Any]]:
    assert isinstance(body, dict) and isinstance(body.get("cards"), list)
    for key, value in body.items():
        if key != "cards":  # an empty cards array is the one allowed empty element
            no_null_or_empty(value, f"$.{key}")
    ids = [c["uuid"] for c in body["cards"]]
    assert len(ids) == len(set(ids)), "card uuids are unique"
    suggestion_ids = [s["uuid"] for c in body["cards"] for s in c.get("suggestions", [])]
    assert len(suggestion_ids) == len(set(suggestion_ids)), "suggestion uuids are unique"
    for card in body["cards"]:
        no_null_or_empty(card, "$.card")
        check_card(card, patient_ref)
    return body["cards"]


def check_outcome(body: Any) -> None:
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["severity"] in ("fatal", "error", "warning", "information") for i in body["issue"])
    get_fhir_model_class("OperationOutcome").model_validate(body)
    no_null_or_empty(body)


def check_response(method: str, path: str, status: int, headers: Any, body: bytes, request: Any = None) -> None:
    """What every response of this service must satisfy (request: the JSON body sent, if any)."""
    import orjson

    assert status != 500, "no input may produce a 500"
    if status >= 400:
        assert headers["content-type"].startswith("application/fhir+json")
        check_outcome(orjson.loads(body))
    elif method == "POST" and SERVICE_CALL.match(path):
        answer = orjson.loads(body)
        check_cards(answer)
        # CRD coverage information, held to the 2.0.1 definition and to the request's orders.
        check_system_actions(answer, request)
    elif method == "POST" and path == "/fhir/Claim/$submit":
        check_response_bundle(orjson.loads(body), request)
    elif method == "POST" and path == "/fhir/Questionnaire/$questionnaire-package":
        check_package_output(orjson.loads(body))
    elif method == "GET" and path == "/cds-services":
        services = orjson.loads(body)["services"]
        no_null_or_empty(services)


def check_package_output(body: dict[str, Any]) -> None:
    found = profiles.problems(body, OUTPUT_PARAMETERS)
    assert not found, "not a conformant dtr-qpackage-output-parameters:\n" + "\n".join(found)


class CheckedClient(TestClient):
    """A test client that holds every response to the rules above."""

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        sent = kwargs.get("json")
        if sent is None and isinstance(kwargs.get("content"), bytes):
            # A body sent as bytes (the fuzzer's): what the checks compare the answer with.
            import orjson

            try:
                sent = orjson.loads(kwargs["content"])
            except orjson.JSONDecodeError:
                sent = None
        check_response(method.upper(), response.request.url.path, response.status_code, response.headers,
                       response.content, sent)
        return response


def make_client(tmp_path: Any, knowledge: Any = None, **settings: Any) -> CheckedClient:
    """A checked test client of a fresh app; feedback, JWT ids and the audit trail go to tmp_path.
    knowledge: the rulesets it runs (cds.knowledge.Knowledge); by default the shipped ones."""
    import datetime as dt

    from cds.web import Settings, create_app

    settings.setdefault("as_of", dt.date(2026, 11, 22))
    # The service's 0.4 s fetch deadline is for a production FHIR server; a loopback stub on a
    # loaded 2-core test machine (make test runs a worker per core) can miss it. Tests of the
    # deadline set their own.
    settings.setdefault("fetch_timeout", 3.0)
    settings.setdefault("feedback_db", tmp_path / "hooks.sqlite")
    settings.setdefault("audit_url", f"sqlite:///{tmp_path / 'audit.sqlite'}")
    if settings.get("auth") is not None:
        # Auth needs the public URL: the JWT audience is never taken from request headers.
        settings.setdefault("public_base_url", "http://testserver")
    return CheckedClient(create_app(Settings(**settings), knowledge))
