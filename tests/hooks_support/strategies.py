"""Hypothesis strategies for the requests of the service: CDS Hooks calls whose prefetch holds
the resources the rules read (Patient, Condition, MedicationRequest, Observation, Procedure,
Coverage), DTR `$questionnaire-package` Parameters and QuestionnaireResponses, and PAS
`Claim/$submit` request Bundles.

Codes are drawn from the loaded value sets, so that rules fire; now and then an element is of
the wrong kind, so that the 400 paths are walked too. Every free text and id carries MARKER,
so that a test can see whether a response echoes its input.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from cds import cases, knowledge
from cds.davinci.pas_example import example_request

from ..case_support import all_cases

MARKER = "ECHO"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
SERVICES = {"home-infusion-patient-view": "patient-view", "home-infusion-order-select": "order-select",
            "home-infusion-order-sign": "order-sign"}
# Values of every other kind than the element's (and a null, an empty string and an object).
JUNK = st.sampled_from([None, 0, -1, 1e308, True, "", [], {}, [None], {"resourceType": "Patient"}, "2026-13-45"])
MEDICATIONS = ["morphine sulfate 1 MG/ML Injectable Solution", "baclofen 2 MG/ML Injectable Solution",
               "dobutamine 250 MG in 250 ML Injectable Solution", "oxycodone hydrochloride 5 MG Oral Tablet",
               "vancomycin 1000 MG Injection", "furosemide 40 MG Oral Tablet"]
ROUTES = ["47625008", "72607000", "26643006", "78421000"]   # IV, intrathecal, oral, intramuscular


def _codes() -> list[tuple[str, str]]:
    concepts = {(system, code) for info in knowledge.default().valuesets.by_id.values()
                for system, code, _ in info.concepts}
    return sorted(concepts)[:400]


def sometimes_wrong(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The element as it should be, one time in twenty of another kind."""
    return st.integers(0, 19).flatmap(lambda n: JUNK if n == 0 else strategy)


ids = st.from_regex(rf"\A{MARKER}[a-z0-9]{{4,8}}\Z")
texts = st.builds(lambda s: f"{MARKER} {s}", st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                                                   max_size=20))
dates = st.dates(min_value=__import__("datetime").date(1920, 1, 1),
                 max_value=__import__("datetime").date(2027, 12, 31)).map(lambda d: d.isoformat())


@st.composite
def coding(draw: st.DrawFn) -> dict[str, Any]:
    system, code = draw(st.sampled_from(_codes()))
    return {"system": draw(sometimes_wrong(st.just(system))), "code": draw(sometimes_wrong(st.just(code)))}


def reference(pid: str) -> st.SearchStrategy[Any]:
    return sometimes_wrong(st.just({"reference": f"Patient/{pid}"}))


@st.composite
def condition(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": draw(ids),
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": draw(
                sometimes_wrong(st.sampled_from(["active", "resolved", "inactive"])))}]},
            "code": {"coding": [draw(coding())], "text": draw(texts)}, "subject": draw(reference(pid)),
            **({"onsetDateTime": draw(sometimes_wrong(dates))} if draw(st.booleans()) else {})}


@st.composite
def medication_request(draw: st.DrawFn, pid: str, status: str | None = None) -> dict[str, Any]:
    route = {"coding": [{"system": SNOMED, "code": draw(st.sampled_from(ROUTES))}]}
    dosage: dict[str, Any] = {"route": draw(sometimes_wrong(st.just(route)))}
    if draw(st.booleans()):
        dosage["doseAndRate"] = [{"rateQuantity": {"value": draw(sometimes_wrong(st.floats(0, 500))),
                                                   "unit": "mL/h", "system": UCUM, "code": "mL/h"}}]
    return {"resourceType": "MedicationRequest", "id": draw(ids),
            "status": status or draw(sometimes_wrong(st.sampled_from(["active", "completed", "stopped", "draft"]))),
            "intent": "order", "medicationCodeableConcept": {"text": draw(st.sampled_from(MEDICATIONS))},
            "subject": draw(reference(pid)), "authoredOn": draw(sometimes_wrong(dates)),
            "dosageInstruction": [dosage]}


@st.composite
def observation(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": draw(ids), "status": "final", "code": {"coding": [draw(coding())]},
            "subject": draw(reference(pid)), "effectiveDateTime": draw(sometimes_wrong(dates)),
            "valueQuantity": {"value": draw(sometimes_wrong(st.floats(-1e6, 1e6))), "unit": "%", "system": UCUM,
                              "code": "%"}}


@st.composite
def procedure(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    return {"resourceType": "Procedure", "id": draw(ids), "status": "completed",
            "code": {"coding": [draw(coding())]}, "subject": draw(reference(pid)),
            "performedDateTime": draw(sometimes_wrong(dates))}


@st.composite
def coverage(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    return {"resourceType": "Coverage", "id": draw(ids),
            "status": draw(sometimes_wrong(st.sampled_from(["active", "cancelled", "draft", f"{MARKER}x"]))),
            "beneficiary": draw(reference(pid)), "payor": [{"display": draw(texts)}]}


def searchset(resource: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(resource, max_size=3).map(lambda rs: {"resourceType": "Bundle", "type": "searchset",
                                                          "entry": [{"resource": r} for r in rs]})


@st.composite
def hook_call(draw: st.DrawFn, service_id: str) -> dict[str, Any]:
    hook = SERVICES.get(service_id, "patient-view")
    pid = draw(ids)
    birth = draw(sometimes_wrong(dates))
    prefetch: dict[str, Any] = {
        "patient": {"resourceType": "Patient", "id": pid, "birthDate": birth},
        "conditions": draw(searchset(condition(pid))), "medications": draw(searchset(medication_request(pid))),
        "observations": draw(searchset(observation(pid))), "procedures": draw(searchset(procedure(pid))),
        "immunizations": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        "coverage": draw(searchset(coverage(pid))),
    }
    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": pid}
    if hook != "patient-view":
        orders = draw(st.lists(medication_request(pid, status="draft"), min_size=1, max_size=2))
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": o} for o in orders]}
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{orders[0]['id']}"]
    body = {"hook": hook, "hookInstance": draw(ids), "context": context, "prefetch": prefetch}
    return draw(sometimes_wrong_element(body))


def sometimes_wrong_element(body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The body, or (one time in four) with one top-level or context element of another kind."""
    def replace(choice: tuple[str, ...], value: Any) -> dict[str, Any]:
        copy = {**body, "context": dict(body["context"])}
        target = copy["context"] if len(choice) == 2 else copy
        target[choice[-1]] = value
        return copy
    places = [(k,) for k in body] + [("context", k) for k in body["context"]]
    return st.integers(0, 3).flatmap(
        lambda n: st.just(body) if n else st.builds(replace, st.sampled_from(places), JUNK))


@st.composite
def package_parameters(draw: st.DrawFn) -> dict[str, Any]:
    pid = draw(ids)
    parameters: list[dict[str, Any]] = [{"name": "order", "resource": r}
                                        for r in draw(st.lists(medication_request(pid, status="draft"), max_size=2))]
    parameters += [{"name": "coverage", "resource": r} for r in draw(st.lists(coverage(pid), max_size=1))]
    parameters += [{"name": "referenced", "resource": r} for r in draw(st.lists(condition(pid), max_size=2))]
    if draw(st.booleans()):
        therapy = draw(st.sampled_from(sorted(knowledge.default().rulesets)))
        parameters.append({"name": "questionnaire",
                           "valueCanonical": f"http://testserver/fhir/Questionnaire/hit-{therapy.lower()}"})
    if draw(st.integers(0, 4)) == 0:
        parameters.append({"name": "context", "valueString": draw(ids)})
    return {"resourceType": "Parameters", "parameter": draw(st.permutations(parameters))}


@st.composite
def questionnaire_response(draw: st.DrawFn) -> dict[str, Any]:
    therapy = draw(st.sampled_from(sorted(knowledge.default().rulesets)))
    ruleset = knowledge.default().rulesets[therapy]
    links = [c.id for c in ruleset.criteria] + [d.id for d in ruleset.documentation]
    answers = st.one_of(st.builds(lambda v: {"valueBoolean": v}, st.booleans()),
                        st.builds(lambda v: {"valueDecimal": v}, st.floats(-1e3, 1e3)),
                        st.builds(lambda v: {"valueDate": v}, dates),
                        st.builds(lambda c: {"valueCoding": c}, coding()),
                        st.builds(lambda v: {"valueString": v}, texts), JUNK)
    items = st.lists(st.builds(lambda link, answer: {"linkId": link, "answer": [answer]},
                               st.sampled_from(links), answers), max_size=4)
    return {"resourceType": "QuestionnaireResponse", "id": draw(ids),
            "questionnaire": draw(sometimes_wrong(st.just(
                f"http://testserver/fhir/Questionnaire/hit-{therapy.lower()}|{ruleset.version}"))),
            "status": draw(sometimes_wrong(st.sampled_from(["completed", "in-progress", "amended"]))),
            "subject": {"reference": f"Patient/{draw(ids)}"}, "authored": draw(sometimes_wrong(dates)),
            "identifier": {"system": "urn:home-infusion-cds:coverage-assertion-id", "value": draw(ids)},
            "item": draw(items)}


@st.composite
def pas_request(draw: st.DrawFn) -> dict[str, Any]:
    """A PAS request Bundle made from a test case with an order (cds pas example), or (one time in
    two) with one element of the Bundle, of one of its resources or of the Claim's item replaced by
    a value of another kind, or one entry left out."""
    loaded = knowledge.default()
    case = draw(st.sampled_from(_cases_with_an_order()))
    bundle = example_request(case, loaded, code=draw(st.sampled_from([None, *sorted(loaded.rulesets)])))
    bundle["identifier"]["value"] = draw(ids)
    how = draw(st.integers(0, 7))
    entries = bundle["entry"]
    if how == 1:
        del entries[draw(st.integers(0, len(entries) - 1))]
    elif how in (2, 3):
        bundle[draw(st.sampled_from(sorted(bundle)))] = draw(JUNK)
    elif how in (4, 5):
        resource = entries[draw(st.integers(0, len(entries) - 1))]["resource"]
        resource[draw(st.sampled_from(sorted(resource)))] = draw(JUNK)
    elif how == 6:
        item = entries[0]["resource"]["item"][0]
        item[draw(st.sampled_from(sorted(item)))] = draw(JUNK)
    return bundle


def _cases_with_an_order() -> list[cases.Case]:
    return [c for _, c in sorted(_CASES.items()) if isinstance(c.record.get("order"), dict)][:200]


_CASES = all_cases()
