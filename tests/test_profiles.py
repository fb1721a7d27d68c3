"""The shared StructureDefinition checker (tests/hooks_support/profiles.py): the IG's own examples
pass it, and what the profiles forbid fails it (cardinality, fixed and pattern values, required
bindings expanded from the package, choice types, slices, profiled extensions, sub-extensions)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from cds.davinci import x12
from cds.davinci.fhir import OUTPUT_PARAMETERS

from .conftest import REFERENCE, needs_shared
from .hooks_support import profiles

pytestmark = needs_shared

PAS = REFERENCE / "davinci" / "pas" / "pas-2.2.1-json"
DTR = REFERENCE / "davinci" / "dtr-2.0.1-json"
# The IG's examples of profiles the pack holds (the CommunicationRequest and Task profiles are not in it).
EXAMPLES = sorted(p.name for p in (PAS / "example").glob("*.json")
                  if not p.name.startswith(("CommunicationRequest-", "Task-", "OperationOutcome-", "Parameters-"))
                  and p.name != "Bundle-PASSubscriptionNotification.json")


def _load(path: Any) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_ig_examples_conform_to_their_profiles(name: str) -> None:
    example = _load(PAS / "example" / name)
    seen: set[str] = set()
    profiles.check(example, example["meta"]["profile"][0], seen)
    assert seen, "must-support elements are recorded"


def _claim_response(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def _review_action(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in _claim_response(bundle)["item"][0]["adjudication"][0]["extension"]
                if e["url"] == x12.REVIEW_ACTION)


BROKEN: dict[str, Callable[[dict[str, Any]], Any]] = {
    "outcome queued (2.0.1 only)": lambda b: _claim_response(b).update(outcome="queued"),
    "status draft (pattern active)": lambda b: _claim_response(b).update(status="draft"),
    "use claim (pattern preauthorization)": lambda b: _claim_response(b).update(use="claim"),
    "no insurer (1..1)": lambda b: _claim_response(b).pop("insurer"),
    "item without itemSequence": lambda b: _claim_response(b)["item"][0].pop("itemSequence"),
    "item without adjudication": lambda b: _claim_response(b)["item"][0].pop("adjudication"),
    "adjudication category benefit (pattern submitted)": lambda b: _claim_response(b)["item"][0]["adjudication"][0]
    .update(category={"coding": [{"system": x12.ADJUDICATION_SYSTEM, "code": "benefit"}]}),
    "error code of another system": lambda b: _claim_response(b).update(
        error=[{"code": {"coding": [{"system": "http://example.org/codes", "code": "04"}]}}]),
    "processNote without text": lambda b: _claim_response(b).update(processNote=[{"number": 1}]),
    "review action code as a string": lambda b: _review_action(b)["extension"].append(
        {"url": x12.REVIEW_ACTION_CODE, "valueString": "A1"}),
    "unknown sub-extension of reviewAction": lambda b: _review_action(b)["extension"].append(
        {"url": "colour", "valueString": "blue"}),
    "two ClaimResponses": lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])),
    "type searchset (fixed collection)": lambda b: b.update(type="searchset"),
    "no timestamp": lambda b: b.pop("timestamp"),
    "entry without fullUrl": lambda b: b["entry"][1].pop("fullUrl"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_checker_fails_a_broken_response_bundle(name: str) -> None:
    good = _load(PAS / "example" / "Bundle-ReferralAuthorizationResponseBundleExample.json")
    profiles.check(good, x12.RESPONSE_BUNDLE)
    broken = copy.deepcopy(good)
    BROKEN[name](broken)
    assert profiles.problems(broken, x12.RESPONSE_BUNDLE)


def test_a_dtr_package_output_needs_its_bundle() -> None:
    good = _load(DTR / "Parameters-QuestionnairePackageOutputParamsExample.json")
    profiles.check(good, OUTPUT_PARAMETERS)
    broken = copy.deepcopy(good)
    for parameter in broken["parameter"]:
        parameter.pop("resource", None)
    assert any("PackageBundle.resource" in p for p in profiles.problems(broken, OUTPUT_PARAMETERS))


def test_the_x12_value_sets_check_the_system_only() -> None:
    """The package includes whole X12 code lists it does not hold: any code of the system passes."""
    codes = profiles.pack().codes(x12.PAS.replace("StructureDefinition/", "ValueSet/X12278RejectReasonCodes"))
    assert codes is not None and codes.has("https://codesystem.x12.org/005010/901", "ZZ")
    assert not codes.has("http://example.org/codes", "04")
    outcome = profiles.pack().codes(x12.PAS.replace("StructureDefinition/", "ValueSet/ClaimResponseOutcome"))
    assert outcome is not None and outcome.has_code("partial") and not outcome.has_code("queued")
