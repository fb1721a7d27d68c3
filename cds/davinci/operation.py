"""`$questionnaire-package`: input Parameters in, output Parameters out (DTR 2.0.1 shapes).

Which therapies: those the CRD assessment named by `context` (a coverage-assertion-id, the
audit record's id) assessed; else those whose routing claims an `order`; narrowed (or, alone,
given) by `questionnaire` canonicals. Prefill comes from that assessment: the record's own, or
one made now from the orders and `referenced` resources sent (and then recorded in the trail,
so that the response can be linked to it).

When no questionnaire applies (no therapy claims the orders, the context assessed none, or
every questionnaire asked for is unknown) the operation does not succeed: a DTR 2.0.1
PackageBundle holds exactly one Questionnaire and its QuestionnaireResponse
(DTR-QPackageBundle: entry[questionnaire] 1..1), so no conformant output Parameters (1..*
PackageBundle, oper-10) exists. The answer is a bare OperationOutcome (oper-11: "If the operation
fails, the response payload SHOULD be an OperationOutcome"), 422, saying why and what to do
(oper-8).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ..audit import AuditTrail, Source, input_hash
from ..audit.inputs import tail
from ..evaluator import Evaluator
from ..facts import PatientFacts
from ..fhir import InputError, Problem, RawEntry
from ..fhir.validate import whole
from ..knowledge import Knowledge
from ..models import Assessment
from ..service.errors import HookError
from . import fhir
from .answers import therapy_of
from .package import Subject, package_bundle
from .policy import PayerPolicy

ORDER_TYPES = frozenset({"Appointment", "Encounter", "CommunicationRequest", "DeviceRequest", "MedicationRequest",
                         "NutritionOrder", "ServiceRequest", "SupplyRequest", "VisionPrescription"})
SOURCE_HOOK = "questionnaire-package"


def _problem(status: int, message: str, element: str | None = None) -> HookError:
    return HookError(status, [Problem(source="Parameters", element=element, message=message)])


class _Input:
    """The operation's input, each resource valid R4B before any of it is read."""

    def __init__(self, body: Any) -> None:
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise _problem(400, "the body must be a Parameters resource")
        parameters = body.get("parameter") or []
        if not isinstance(parameters, list) or not all(isinstance(p, dict) for p in parameters):
            raise _problem(400, "parameter must be an array of parameters", "Parameters.parameter")
        self.coverages = self._resources(parameters, "coverage")
        self.orders = self._resources(parameters, "order")
        self.referenced = self._resources(parameters, "referenced")
        self.questionnaires = [p.get("valueCanonical") for p in parameters if p.get("name") == "questionnaire"]
        contexts = [p.get("valueString") for p in parameters if p.get("name") == "context"]
        if len(contexts) > 1 or not all(isinstance(v, str) and v for v in [*contexts, *self.questionnaires]):
            raise _problem(400, "context (at most one) and questionnaire need a valueString / valueCanonical")
        self.context: str | None = contexts[0] if contexts else None
        if not (self.orders or self.questionnaires or self.context):
            # Invariant dtr-1.
            raise _problem(400, "give at least one of order, questionnaire and context")
        if any(c.get("resourceType") != "Coverage" for c in self.coverages):
            raise _problem(400, "coverage must be a Coverage resource", "coverage")
        if any(o.get("resourceType") not in ORDER_TYPES for o in self.orders):
            raise _problem(400, "order must be a request resource (DTR order types)", "order")
        # Read element by element below (subject, beneficiary, status): only once valid, so that a
        # wrongly typed element is a 400 naming it, never a crash.
        problems = [problem for n, p in enumerate(parameters) if isinstance(p.get("resource"), dict)
                    for problem in whole(RawEntry(source="Parameters.parameter", entry=n, resource=p["resource"]))]
        if problems:
            raise HookError(400, problems)

    @staticmethod
    def _resources(parameters: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
        found = [p.get("resource") for p in parameters if p.get("name") == name]
        if not all(isinstance(r, dict) and isinstance(r.get("resourceType"), str) for r in found):
            raise _problem(400, f"{name} must carry a resource", name)
        return found  # type: ignore[return-value]


def questionnaire_package(body: Any, knowledge: Knowledge, trail: AuditTrail, base_url: str,
                          as_of: dt.date, policy: PayerPolicy | None = None) -> dict[str, Any]:
    """policy: the payer policy CRD answers with (prior authorization per therapy); it decides
    the draft's intendedUse."""
    given = _Input(body)
    wanted, unknown = _wanted(given, knowledge, base_url)
    if given.context is not None:
        patient, assessments, facts, day, assertion = _from_context(given.context, trail)
        coverage = _check_coverage(given.coverages, patient)
    elif given.orders:
        patient = _order_patient(given)
        # The Coverage is checked before anything is assessed or recorded.
        coverage = _check_coverage(given.coverages, patient)
        assessments, facts, day, assertion = _from_orders(given, patient, knowledge, trail, as_of)
    else:
        patient = _beneficiary(given.coverages)
        coverage = _check_coverage(given.coverages, patient)
        assessments, facts, day, assertion = {}, None, as_of, {}
    # Row 299: the union of what each parameter names; a questionnaire asked for that the
    # assessment did not cover comes with a blank draft.
    therapies = list(dict.fromkeys([*assessments, *wanted]))
    bundles = [package_bundle(knowledge, t, assessments.get(t), facts,
                              Subject(patient=patient, orders=tuple(_orders(facts, t)), coverage=coverage,
                                      assertion_id=assertion.get(t), as_of=day,
                                      intended_use=_intended_use(policy, t)), base_url)
               for t in therapies]
    if not bundles:
        raise HookError(422, [Problem(source="Parameters", element=None, message=_nothing_applies(given, unknown))])
    parameters: list[dict[str, Any]] = [{"name": fhir.PACKAGE_PARAMETER, "resource": b} for b in bundles]
    warnings = []
    if unknown:
        # Row 301: a questionnaire asked for that cannot be found is a warning, not a failure.
        warnings.append(f"{unknown} questionnaire(s) asked for are not Questionnaires of this service "
                        "at their current version")
    if warnings:
        parameters.append({"name": fhir.OUTCOME_PARAMETER, "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "not-found", "diagnostics": w} for w in warnings]}})
    return {"resourceType": "Parameters", "meta": {"profile": [fhir.OUTPUT_PARAMETERS]}, "parameter": parameters}


def _nothing_applies(given: _Input, unknown: int) -> str:
    """Why no questionnaire applies, and what the client may do (oper-8); never quotes the request."""
    if given.orders:
        why = "no home infusion therapy of this service claims the orders given"
    elif given.context is not None:
        why = "the coverage assertion of this context assessed no home infusion therapy"
    else:
        why = f"{unknown} questionnaire(s) asked for are not Questionnaires of this service at their current version"
    return (f"no questionnaire applies: {why}. This service asks for no documentation for them; the payer's "
            "coverage requirements (CRD order-sign) say whether any other documentation is needed.")


def _wanted(given: _Input, knowledge: Knowledge, base_url: str) -> tuple[list[str], int]:
    """The therapies of the questionnaires asked for, and how many asked for are not ours."""
    therapies = [therapy_of(knowledge, q, base_url) for q in given.questionnaires]
    return [t for t in dict.fromkeys(therapies) if t is not None], therapies.count(None)


def _from_context(context: str, trail: AuditTrail) -> tuple[str, dict[str, Assessment | None], PatientFacts,
                                                             dt.date, dict[str, str]]:
    record = trail.get(context) if not context.startswith("#") else None
    if record is None or record.id != context:
        # Not the id itself: never echo request input.
        raise _problem(404, "no coverage assertion has this context id", "context")
    result = record.patient_assessment()
    return (record.patient, {a.therapy: a for a in result.assessments}, record.patient_facts(), result.as_of,
            {a.therapy: record.id for a in result.assessments})


def _order_patient(given: _Input) -> str:
    subjects = {tail(((o.get("subject") or o.get("patient") or {}).get("reference"))) for o in given.orders}
    patient = next(iter(subjects)) if len(subjects) == 1 else None
    if not patient or not patient.startswith("Patient/"):
        raise _problem(400, "every order must have the same Patient as subject", "order")
    return patient


def _from_orders(given: _Input, patient: str, knowledge: Knowledge, trail: AuditTrail, as_of: dt.date
                 ) -> tuple[dict[str, Assessment | None], PatientFacts, dt.date, dict[str, str]]:
    pid = patient.split("/", 1)[1]
    resources = [*given.referenced, *given.orders]
    if not any(r.get("resourceType") == "Patient" and r.get("id") == pid for r in resources):
        resources.insert(0, {"resourceType": "Patient", "id": pid})
    entries = [RawEntry(source="Parameters", entry=n, resource=r) for n, r in enumerate(resources)]
    evaluator = Evaluator(knowledge)
    try:
        records = evaluator.records(entries, strict=False)
    except InputError as exc:
        raise HookError(400, exc.problems) from None
    record = next((r for r in records if r.reference == patient), None)
    if record is None:
        raise _problem(400, "the orders' Patient could not be read", "referenced")
    drafts = {f"{o['resourceType']}/{o['id']}" if isinstance(o.get("id"), str) else
              f"{o['resourceType']}/Parameters#{resources.index(o)}" for o in given.orders}
    evaluation = evaluator.assess(record, as_of, orders=drafts)
    facts, result = evaluation.facts, evaluation.result
    if result is None:
        return {}, facts, as_of, {}
    # One audit record per therapy, as order-sign: its id is the coverage-assertion-id the
    # response is linked by.
    source = Source(kind="hook", hook=SOURCE_HOOK, hook_instance=str(uuid.uuid4()))
    digest = input_hash(resources)
    ids = {a.therapy: trail.append(source=source, input_hash=digest, assessment=result.narrowed([a]), facts=facts).id
           for a in result.assessments}
    return {a.therapy: a for a in result.assessments}, facts, as_of, ids


def _beneficiary(coverages: list[dict[str, Any]]) -> str:
    if not coverages:
        raise _problem(400, "without context or order, give the coverage (its beneficiary is the patient)", "coverage")
    patient = tail((coverages[0].get("beneficiary") or {}).get("reference"))
    if not patient or not patient.startswith("Patient/"):
        raise _problem(422, "the Coverage names no beneficiary Patient", "coverage")
    return patient


def _check_coverage(coverages: list[dict[str, Any]], patient: str) -> str | None:
    """The reference of the (first) Coverage; 4xx when it is not a usable Coverage of the patient."""
    for coverage in coverages:
        # Valid R4B Coverages (_Input): the types below are the model's.
        if tail((coverage.get("beneficiary") or {}).get("reference")) != patient:
            raise _problem(422, "the Coverage is not the patient's (beneficiary)", "coverage")
        if coverage.get("status") != "active":
            raise _problem(422, "the Coverage is not active", "coverage")
    first = coverages[0] if coverages else None
    return f"Coverage/{first['id']}" if first and isinstance(first.get("id"), str) else None


def _intended_use(policy: PayerPolicy | None, therapy: str) -> str:
    # As CRD's doc-purpose (cds/davinci/crd.py): with the prior authorization when one is needed.
    return "withpa" if policy is None or policy.pa_needed(therapy) == "auth-needed" else "withclaim"


def _orders(facts: PatientFacts | None, therapy: str) -> list[str]:
    """The draft orders this therapy claimed (the QuestionnaireResponse's qr-context)."""
    if facts is None:
        return []
    return sorted({o.ref for o in [*facts.medications, *facts.service_orders]
                   if therapy in o.order_for and (getattr(o, "order", True))})
