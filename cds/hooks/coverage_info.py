"""The CRD coverage information of an order hook call: one systemAction per draft order a
therapy claims, carrying one ext-coverage-information extension per Coverage (cds/davinci).

order-sign is a CRD primary hook: every claimed order gets its systemAction (hook-16, resp-26).
order-select is secondary: only the selections are assessed, and a systemAction is sent only
where it asks for no clinical or administrative information (hook-19), i.e. where the answer is
covered or not covered outright.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ..davinci.canonical import questionnaire_canonical
from ..davinci.coverage import PREFETCH_KEY, CoverageOf, read_coverages
from ..davinci.crd import EXTENSION_URL, coverage_information, decide, summary, system_action
from ..davinci.policy import PayerPolicy
from ..fhir import InputError, Problem
from ..models import Assessment
from ..ruleset import Ruleset
from ..service.errors import HookError
from .requests import ParsedCall

# Sub-extensions that differ on every call even when nothing about the coverage changed.
VOLATILE = ("date", "coverage-assertion-id")
CONFIGURATION = "davinci-crd.configuration"
OPTION = "coverage-info"
# Declared in discovery (CRD configuration options; the IG's discovery example words it).
CONFIGURATION_OPTIONS = [{
    "code": OPTION, "type": "boolean", "name": "Coverage Information",
    "description": "Coverage information on each home infusion order as a systemAction: whether it is covered, "
                   "needs prior authorization, or needs documentation (and which DTR Questionnaire collects it).",
    "default": True,
}]


def wanted(call: ParsedCall) -> bool:
    """False when the client's davinci-crd.configuration turns coverage information off."""
    extension = (call.request.model_extra or {}).get("extension")
    configuration = extension.get(CONFIGURATION) if isinstance(extension, dict) else None
    if configuration is None:
        return True
    if not isinstance(configuration, dict):
        raise HookError(400, [Problem(source="request", element=f"extension.{CONFIGURATION}",
                                      message="must be an object of configuration options")])
    value = configuration.get(OPTION, True)
    if not isinstance(value, bool):
        raise HookError(400, [Problem(source="request", element=f"extension.{CONFIGURATION}.{OPTION}",
                                      message="must be true or false")])
    return value


def coverages(call: ParsedCall, prefetch: dict[str, Any], as_of: dt.date) -> list[CoverageOf]:
    """The Coverages of the call's prefetch; a Coverage that does not validate answers 400."""
    try:
        return read_coverages(prefetch.get(PREFETCH_KEY), call.context.patientId, as_of)
    except InputError as exc:
        raise HookError(400, exc.problems) from None


def actions(call: ParsedCall, chosen: dict[str, Assessment], found: list[CoverageOf],
            assertion_ids: dict[str, list[str]], rulesets: dict[str, Ruleset], policy: PayerPolicy, *,
            base_url: str, as_of: dt.date, secondary: bool) -> list[dict[str, Any]]:
    """One update per claimed order (chosen: order reference -> the assessment shown for it)."""
    drafts = _drafts(call.context.draftOrders)
    result: list[dict[str, Any]] = []
    for ref, assessment in sorted(chosen.items()):
        order = drafts.get(ref)
        if order is None or not found or not _valid(order):
            # An order without id cannot be updated; without a Coverage the extension cannot be
            # returned (its `coverage` is 1..1: the StructureDefinition's own comment); an order
            # that is not valid R4 could only be returned valid by changing it, which resp-37
            # forbids (the card still assesses what could be read of it).
            continue
        ruleset = rulesets[assessment.therapy]
        pa_needed = policy.pa_needed(assessment.therapy)
        decisions = [decide(assessment, coverage, pa_needed) for coverage in found]
        if secondary and any(d.asks_for_information for d in decisions):
            continue
        extensions = [
            coverage_information(decision, coverage=coverage, billing_code=assessment.billing.code, as_of=as_of,
                                 assertion_id=assertion_id,
                                 questionnaire=questionnaire_canonical(base_url, ruleset))
            for decision, coverage, assertion_id in zip(decisions, found, assertion_ids[assessment.therapy])
        ]
        if _same(order, extensions):
            # resp-35: nothing new since the coverage information the order already carries.
            continue
        described = "; ".join(f"{c.reference}: {summary(d)}" for d, c in zip(decisions, found))
        therapy = f"{assessment.billing.code} {ruleset.short_title}"
        result.append(system_action(order, extensions, f"Coverage information for {ref} ({therapy}): {described}."))
    return result


def _same(order: dict[str, Any], extensions: list[dict[str, Any]]) -> bool:
    """The order already carries these assertions (apart from their date and assertion id, new on
    every call)."""
    def core(extension: Any) -> Any:
        if not isinstance(extension, dict) or not isinstance(extension.get("extension"), list):
            return extension
        return [p for p in extension["extension"] if not (isinstance(p, dict) and p.get("url") in VOLATILE)]

    present = [core(e) for e in order.get("extension") or [] if isinstance(e, dict) and e.get("url") == EXTENSION_URL]
    return bool(present) and present == [core(e) for e in extensions]


def _valid(order: dict[str, Any]) -> bool:
    """Valid R4 JSON: it parses with fhir.resources, and no element is null or empty (which the
    models let pass and CDS Hooks forbids)."""
    if not _filled(order):
        return False
    try:
        get_fhir_model_class(order["resourceType"]).model_validate(order)
    except (ValidationError, KeyError, ValueError):
        return False
    return True


def _filled(value: Any) -> bool:
    if value is None or (isinstance(value, (str, list, dict)) and not value):
        return False
    if isinstance(value, dict):
        return all(_filled(v) for v in value.values())
    if isinstance(value, list):
        return all(_filled(v) for v in value)
    return True


def _drafts(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The draft orders as sent, by Type/id."""
    found: dict[str, dict[str, Any]] = {}
    for item in bundle.get("entry") or []:
        resource = item.get("resource") if isinstance(item, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            found.setdefault(f"{resource.get('resourceType')}/{resource['id']}", resource)
    return found
