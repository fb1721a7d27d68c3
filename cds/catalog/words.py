"""A ruleset condition in words, as a tree a page can render as nested lists.

It reads the parsed form the engine compiles (cds/conditions), each term said by its kind
(cds/conditions/kinds), naming value sets and drug classes so the page can link them: what a
payer reads is what runs. Routing claims and adjunct rules are said here too.
"""

from __future__ import annotations

from ..compare import in_words
from ..conditions import REGISTRY, All, Any_, Node, Not, Words, terms
from ..conditions.kinds.medication import ADVERB
from ..conditions.words import either, quoted
from ..ruleset import Adjunct, Claim, Context

__all__ = ["Words", "adjunct_words", "claim_words", "describe", "drug_classes_in", "services_words",
           "valuesets_in"]


def describe(node: Node) -> Words:
    if isinstance(node, All):
        if not node.items:
            return Words(text="always")
        return Words(text="all of:", children=[describe(c) for c in node.items])
    if isinstance(node, Any_):
        return Words(text="any of:", children=[describe(c) for c in node.items])
    if isinstance(node, Not):
        inner = describe(node.term)
        return Words(text=_negate(inner.text), valuesets=inner.valuesets)
    return REGISTRY[node.kind].words(node.spec)


def _negate(text: str) -> str:
    text = text.removeprefix("there is ")
    if text.startswith("the patient") or text.startswith("the record"):
        return f"not: {text}"
    for article in ("an ", "a ", "the "):
        if text.startswith(article):
            return "no " + text[len(article):]
    return f"not: {text}"


def adjunct_words(therapy: str, adjuncts: list[Adjunct]) -> list[str]:
    """The platform's adjunct rules (rulesets/routing.yaml) that concern a page: the orders it
    gives up as adjuncts of other pages' orders, and those it keeps as adjuncts of its own."""
    return [f"Adjunct ({a.id}): {a.text.strip()}" for a in adjuncts
            if therapy in a.claimed_by or any(therapy in s.therapies for s in a.with_)]


def claim_words(claim: Claim) -> str:
    """One routing claim in words."""
    parts = []
    if claim.classes:
        parts.append(f"of drug class {either(claim.classes)}")
    if claim.ingredients:
        parts.append(f"with ingredient or brand {either(claim.ingredients)}")
    if claim.not_classes:
        parts.append(f"not of drug class {either(claim.not_classes)}")
    if claim.routes:
        parts.append(f"by the {either(claim.routes)} route")
    if claim.route_classes:
        parts.append(f"by a route that is {either(claim.route_classes)}")
    if claim.delivery:
        parts.append(f"given {either([ADVERB.get(d, d) for d in claim.delivery])}")
    if claim.given_as:
        parts.append(f"given as {either(claim.given_as)} (injection or infusion)")
    if claim.only_classes:
        parts.append(f"whose every ingredient is of drug class {either(claim.only_classes)} (no other active ingredient "
                     "named)")
    for name, limit in claim.percent_at_most.items():
        parts.append(f"with {name} at {limit:g}% or less (or no strength stated)")
    if claim.single_dose is not None:
        parts.append("ordered as a single dose" if claim.single_dose else "ordered as several doses")
    for op, limit in claim.dose_mg.items():
        parts.append(f"with one dose {in_words({op: limit}, 'mg')}")
    if claim.record_procedures is not None:
        shown = [f"a completed procedure coded in {either(p.in_)}"
                 + (f" within {p.within_days} days before the as-of date" if p.within_days is not None else "")
                 + (f" with no later procedure whose name contains {quoted(p.not_followed_by)}"
                    if p.not_followed_by else "")
                 for p in claim.record_procedures.any]
        none = ", or no Procedure at all" if claim.record_procedures.or_none_on_record else ""
        parts.append(f"when the record shows {either(shown)}{none}")
    if claim.context:
        parts.append(f"only {either([_context_words(c) for c in claim.context])}")
    if claim.not_context:
        parts.append(f"never {either([_context_words(c) for c in claim.not_context])}")
    for label, bounds, unit in (("strength", claim.units_per_ml, "units/mL"), ("container", claim.container_ml, "mL")):
        if bounds:
            parts.append(f"whose {label} is " + in_words(bounds, unit))
    if claim.dosage_text:
        parts.append(f"whose dosage text, timing, route or method says {quoted(claim.dosage_text)}")
    text = "a draft medication order " + ", ".join(parts)
    if claim.unless:
        text += "; unless it is " + "; or ".join(claim_words(u).removeprefix("a draft medication order ")
                                               for u in claim.unless)
    return text


def services_words(services: list[str]) -> list[str]:
    """A routing's `services`: the ServiceRequests it claims by procedure code."""
    return [f"a draft service request coded in {either(services)}"] if services else []


def _context_words(context: Context) -> str:
    """A claim's context in words (criteria README "Context")."""
    said = []
    if context.reasons:
        said.append(f"its reason coded in {either(context.reasons)}")
    if context.no_reason:
        said.append("it states no reason")
    if context.conditions:
        window = f" dated within {context.within_days} days before the as-of date" if context.within_days is not None else ""
        later = f" and not followed by a condition coded in {either(context.not_followed_by)}" if context.not_followed_by else ""
        said.append(f"the record holds an active condition coded in {either(context.conditions)}{window}{later}")
    if context.no_conditions:
        said.append(f"the record holds no active condition coded in {either(context.no_conditions)}")
    if context.pregnancy:
        said.append(f"the patient is pregnant at the as-of date (pregnancy codes {either(context.pregnancy)})")
    return "when " + " and ".join(said)


def valuesets_in(node: Node) -> list[str]:
    """Value set ids a condition names, in order, once each."""
    found: list[str] = []
    for term in terms(node):
        found.extend(v for v in REGISTRY[term.kind].valuesets(term.spec) if v not in found)
    return found


def drug_classes_in(node: Node) -> list[str]:
    """Drug classes a condition names (they lead to the value sets that define them)."""
    found: list[str] = []
    for term in terms(node):
        found.extend(c for c in REGISTRY[term.kind].drug_classes(term.spec) if c not in found)
    return found
