"""Stored DTR answers under attack (issue #24, defects 1, 2, 3 and 5): whose answers count, which
`authored` is believed, how many are kept, and which Questionnaire version they answer.

The patient and order are tests/hooks_support/dtr.py's S9348 case (S9348.md): every criterion
met but S9348.advanced-hf, unknown until a NYHA class is answered (class IV: met; class I or
II: not met).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cds import knowledge
from cds.audit import AuditTrail
from cds.davinci.store import ResponseStore
from cds.web import AuthSettings, TrustedIssuer
from cds.service.security import ANONYMOUS_CLIENT

from .hooks_support.checks import CheckedClient, check_cards, make_client
from .hooks_support.crd import coverage_information
from .hooks_support.dtr import (BASE, NYHA_II, NYHA_IV, ORDER_SIGN, PACKAGE, RESPONSES, answered, bundles, coverage,
                                dobutamine_infusion, draft_of, heart_failure_patient, package_for)
from .hooks_support.patients import hook_request, patient
from .hooks_support.tokens import ISSUER, REVIEW_SECRET, ClientKeys

OTHER_ISSUER = "https://other-ehr.example"
NYHA = "S9348.advanced-hf"


def sign(client: CheckedClient, tmp_path: Path, pid: str, headers: dict[str, str] | None = None) -> Any:
    """order-sign of the dobutamine order: the audit record behind its card (its id is the CRD
    coverage-assertion-id)."""
    body = client.post(ORDER_SIGN, json=hook_request("order-sign", pid, heart_failure_patient(pid),
                                                     orders=[dobutamine_infusion("dobu", pid)]), headers=headers)
    assert body.status_code == 200, body.text
    check_cards(body.json(), f"Patient/{pid}")
    [action] = body.json()["systemActions"]
    [information] = coverage_information(action)
    with AuditTrail.open(f"sqlite:///{tmp_path / 'audit.sqlite'}") as trail:
        return trail.get(information["coverage-assertion-id"][0])


def nyha(record: Any) -> str:
    return record.patient_assessment().assessment("S9348").criterion(NYHA).result


def draft(client: CheckedClient, context: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    [bundle] = bundles(package_for(client, {"name": "context", "valueString": context}, headers=headers))
    return draft_of(bundle)


def post(client: CheckedClient, response: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return client.post(RESPONSES, json=response, headers=headers)


# ---- 1. answers belong to the client that posted them, and to a package issued to it ----

class Clients:
    """Two trusted EHRs; every call signed by one of them."""

    def __init__(self, tmp_path: Path) -> None:
        self.keys = {ISSUER: ClientKeys(), OTHER_ISSUER: ClientKeys()}
        issuers = {}
        for n, (issuer, keys) in enumerate(self.keys.items()):
            (tmp_path / str(n)).mkdir()
            issuers[issuer] = TrustedIssuer(jwks_file=keys.write_jwks(tmp_path / str(n)))
        self.auth = AuthSettings(issuers=issuers, review_secret=REVIEW_SECRET)

    def of(self, issuer: str, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[issuer].token(BASE + path, issuer=issuer)}"}


def test_answers_of_another_issuer_are_never_read(tmp_path: Path) -> None:
    """The attack of issue #24: a second trusted EHR answers for the same patient id; the first
    EHR's next order-sign must not read it."""
    clients = Clients(tmp_path)
    with make_client(tmp_path, auth=clients.auth) as client:
        ours = sign(client, tmp_path, "shared-7", clients.of(ISSUER, ORDER_SIGN))
        assert nyha(ours) == "unknown"
        # The other EHR: a package for its own order of Patient/shared-7, and the answer.
        parameters = [{"name": "order", "resource": dobutamine_infusion("dobu", "shared-7")},
                      {"name": "referenced", "resource": patient("shared-7")}]
        [bundle] = bundles(package_for(client, *parameters, headers=clients.of(OTHER_ISSUER, PACKAGE)))
        theirs = answered(draft_of(bundle), NYHA, {"valueCoding": NYHA_IV})
        assert post(client, theirs, clients.of(OTHER_ISSUER, RESPONSES)).status_code == 201
        assert nyha(sign(client, tmp_path, "shared-7", clients.of(ISSUER, ORDER_SIGN))) == "unknown"
        # The answer is the other EHR's own: its order-sign reads it.
        assert nyha(sign(client, tmp_path, "shared-7", clients.of(OTHER_ISSUER, ORDER_SIGN))) == "met"
        # Nor may it answer a package issued to us: our coverage-assertion-id, their answer.
        [package] = bundles(package_for(client, {"name": "context", "valueString": ours.id},
                                        headers=clients.of(ISSUER, PACKAGE)))
        stolen = answered(draft_of(package), NYHA, {"valueCoding": NYHA_IV})
        refused = post(client, stolen, clients.of(OTHER_ISSUER, RESPONSES))
        assert refused.status_code == 422 and refused.json()["resourceType"] == "OperationOutcome"
        assert ours.id not in refused.text
        assert nyha(sign(client, tmp_path, "shared-7", clients.of(ISSUER, ORDER_SIGN))) == "unknown"


def test_an_answer_to_a_package_never_issued_is_refused(tmp_path: Path) -> None:
    """Without auth every caller is the one anonymous client; still, an answer must echo the
    coverage-assertion-id of a package the service handed out."""
    with make_client(tmp_path) as client:
        first = sign(client, tmp_path, "hf1")
        template = draft(client, first.id)
        # A second order-sign gives a new coverage-assertion-id, for which no package was asked.
        second = sign(client, tmp_path, "hf1")
        forged = answered(template, NYHA, {"valueCoding": NYHA_IV}) | {
            "identifier": {**template["identifier"], "value": second.id}}
        assert post(client, forged).status_code == 422
        assert nyha(sign(client, tmp_path, "hf1")) == "unknown"


# ---- 2. `authored` is never in the future, and the answer received last counts ----

def test_a_future_authored_is_refused_and_the_latest_received_answer_counts(tmp_path: Path) -> None:
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    with make_client(tmp_path) as client:
        template = draft(client, sign(client, tmp_path, "hf1").id)
        class_iv = answered(template, NYHA, {"valueCoding": NYHA_IV})
        for future in ("9999-12-31", "9999", tomorrow, f"{tomorrow}T00:00:00+14:00"):
            refused = post(client, class_iv | {"authored": future})
            assert refused.status_code == 422, future
            assert refused.json()["resourceType"] == "OperationOutcome" and future not in refused.text
        assert post(client, class_iv | {"authored": "2026-11-22"}).status_code == 201
        assert nyha(sign(client, tmp_path, "hf1")) == "met"
        # A correction received later but dated earlier still wins: class II, not met.
        class_ii = answered(template, NYHA, {"valueCoding": NYHA_II})
        assert post(client, class_ii | {"authored": "2026-11-20"}).status_code == 201
        assert nyha(sign(client, tmp_path, "hf1")) == "not-met"


# ---- 3. a bounded store: a cap per patient and client, a bound on each response ----

def test_answers_are_capped_per_patient_and_the_latest_completed_one_is_kept(tmp_path: Path) -> None:
    with make_client(tmp_path, max_stored_answers=3) as client:
        template = draft(client, sign(client, tmp_path, "hf1").id)
        assert post(client, answered(template, NYHA, {"valueCoding": NYHA_IV})).status_code == 201
        # Drafts saved after it (in progress: never read) must not push the completed answer out.
        for _ in range(5):
            assert post(client, template).status_code == 201
        stored = ResponseStore(tmp_path / "hooks.sqlite").for_patient(ANONYMOUS_CLIENT, "Patient/hf1")
        assert len(stored) == 3
        assert [r.status for r in stored] == ["completed", "in-progress", "in-progress"]
        assert nyha(sign(client, tmp_path, "hf1")) == "met"
        # One response is a form, not a dump: a body over the bound is 413, an OperationOutcome.
        padded = answered(template, NYHA, {"valueCoding": NYHA_IV})
        padded["item"][0]["text"] = "x" * (65 * 1024)
        refused = post(client, padded)
        assert refused.status_code == 413 and refused.json()["resourceType"] == "OperationOutcome"


def test_only_the_latest_completed_response_of_a_questionnaire_is_read(tmp_path: Path) -> None:
    """A later completed response replaces the earlier one whole: a question it leaves blank is
    unanswered again."""
    with make_client(tmp_path) as client:
        template = draft(client, sign(client, tmp_path, "hf1").id)
        assert post(client, answered(template, NYHA, {"valueCoding": NYHA_IV})).status_code == 201
        assert nyha(sign(client, tmp_path, "hf1")) == "met"
        assert post(client, answered(template, "S9348.doc.plan-of-care", {"valueBoolean": True})).status_code == 201
        assert nyha(sign(client, tmp_path, "hf1")) == "unknown"


# ---- 5. answers name the Questionnaire version they answer ----

def _updated_rulesets(tmp_path: Path, version: str | None) -> Path:
    """The shipped rulesets with S9348's NYHA question turned into a quantity (a new answer
    type), its ruleset version set to `version` (None: left as it is)."""
    folder = tmp_path / "rulesets"
    shutil.copytree(knowledge.default().folder, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    data = folder / "questionnaires" / "S9348.yaml"
    data.write_text(data.read_text().replace(
        "type: choice", 'type: quantity\n    unit: {code: "{class}"}').replace(
        "    options: [nyha-class-iv, nyha-class-i-ii]\n", ""))
    if version is not None:
        ruleset = folder / "S9348.yaml"
        ruleset.write_text(ruleset.read_text().replace('version: "2026.1"', f'version: "{version}"', 1))
    return folder


@pytest.mark.parametrize("version", ["2026.2", None], ids=["version-bumped", "same-version"])
def test_answers_to_another_questionnaire_version_are_ignored_and_reported(
        tmp_path: Path, version: str | None) -> None:
    folder = _updated_rulesets(tmp_path, version)
    with make_client(tmp_path) as client:
        template = draft(client, sign(client, tmp_path, "hf1").id)
        assert post(client, answered(template, NYHA, {"valueCoding": NYHA_IV})).status_code == 201
    # The ruleset update, the service restarted on it: the NYHA question now asks for a quantity.
    with make_client(tmp_path, knowledge=knowledge.load(folder)) as client:
        record = sign(client, tmp_path, "hf1")
    assert nyha(record) == "unknown"
    [warning] = [w for w in record.patient_assessment().warnings if "QuestionnaireResponse/" in w]
    assert "not read" in warning


def test_a_store_made_before_answers_had_a_client_keeps_its_rows_unread(tmp_path: Path) -> None:
    """The file of an earlier version (no client, no version column) is migrated in place."""
    path = tmp_path / "hooks.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE questionnaire_response (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                   "received TEXT NOT NULL, patient TEXT NOT NULL, therapy TEXT NOT NULL, assertion_id TEXT NOT NULL, "
                   "orders TEXT NOT NULL, status TEXT NOT NULL, authored TEXT NOT NULL, resource TEXT NOT NULL)")
        db.execute("INSERT INTO questionnaire_response VALUES (1, 'old', '2026-11-01T00:00:00+00:00', 'Patient/hf1', "
                   "'S9348', 'a1', '[\"MedicationRequest/dobu\"]', 'completed', '2026-11-01', '{}')")
    store = ResponseStore(path)
    assert store.get("old") is not None
    assert store.for_patient(ANONYMOUS_CLIENT, "Patient/hf1") == []
    with make_client(tmp_path) as client:
        assert nyha(sign(client, tmp_path, "hf1")) == "unknown"
