"""Which therapies claim an order: the one answer the CLI, the hooks and the claim audit use.

Each ruleset's `routing.claims` says which draft MedicationRequests are its orders (drug class
or ingredient/brand names, route, delivery); a ServiceRequest is claimed by the therapies that
bill the HCPCS code it names or list its procedure code in `routing.services` (cds/facts.py). When one answer must be shown for an order (a card), the README
rule picks it (../shared/criteria/README.md, "Which therapy an order belongs to").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .compare import holds
from .spans import within
from .ruleset import Claim, Context, RecordProcedures, Ruleset
from .texts import phrase_flag

if TYPE_CHECKING:
    from .models import Assessment


class ProcedureLike(Protocol):
    vs: list[str]
    date: dt.date | None
    followed_by: list[str]


class ConditionLike(Protocol):
    vs: list[str]
    active: bool
    verified: bool
    date: dt.date | None


@dataclass(frozen=True)
class RecordView:
    """What a claim may read of the record besides the order: its completed Procedures in some
    value set, how many Procedure resources it holds at all, the as-of date, its conditions and
    whether the patient is pregnant by some pregnancy codes (a claim's context)."""

    procedures: Sequence[ProcedureLike]
    procedure_count: int
    as_of: dt.date
    conditions: Sequence[ConditionLike] = ()
    pregnant: Callable[[Sequence[str]], bool] | None = None


class OrderLike(Protocol):
    classes: dict[str, bool]
    ingredients: list[str]
    route: str | None
    route_class: str
    delivery: str
    given_as: str
    other_words: list[str]
    strengths: dict[str, float]
    units_per_ml: float | None
    container_ml: float | None
    dosage_texts: list[str]
    single_dose: bool
    dose_mg: float | None


def claims(claim: Claim, order: OrderLike, record: RecordView | None = None) -> bool:
    """Whether one claim of a routing block holds for a medication order.

    `record`: what the record shows; None (history, the claim audit) leaves `record_procedures`
    unjudged. Whether an order is another order's adjunct is judged apart (cds/adjuncts.py).
    An order whose drug cannot be read (a reference that does not resolve) is judged by what
    it tells besides the drug: any therapy might be its own, so it is kept, never dropped
    (history of an unknown drug is no therapy's)."""
    if getattr(order, "drug_unread", False):
        return bool(getattr(order, "order", False)) and _claims_unread(claim, order)
    if claim.classes and not any(order.classes.get(c) for c in claim.classes):
        return False
    if any(order.classes.get(c) for c in claim.not_classes):
        return False
    if claim.ingredients and not set(claim.ingredients).intersection(order.ingredients):
        return False
    if claim.routes and order.route not in claim.routes:
        return False
    if claim.route_classes and order.route_class not in claim.route_classes:
        return False
    if claim.delivery and order.delivery not in claim.delivery:
        return False
    if claim.given_as and order.given_as not in claim.given_as:
        return False
    if claim.only_classes and (order.other_words or not set(order.ingredients) <= set(claim.only_names)):
        return False
    if any(order.strengths.get(name, 0) > limit for name, limit in claim.percent_at_most.items()):
        return False
    if not (_compares(order.units_per_ml, claim.units_per_ml) and _compares(order.container_ml, claim.container_ml)
            and _compares(order.dose_mg, claim.dose_mg)):
        return False
    if claim.dosage_text and not {phrase_flag(p) for p in claim.dosage_text}.intersection(order.dosage_texts):
        return False
    if any(claims(exception, order, record) for exception in claim.unless):
        return False
    if claim.single_dose is not None and order.single_dose != claim.single_dose:
        return False
    if claim.context and not any(_in_context(c, order, record, unjudged=True) for c in claim.context):
        return False
    if any(_in_context(c, order, record, unjudged=False) for c in claim.not_context):
        return False
    if claim.record_procedures is not None and record is not None:
        return _shown(claim.record_procedures, record)
    return True


def _compares(value: float | None, bounds: dict[str, float]) -> bool:
    """Every bound holds; a value that cannot be read holds none."""
    return holds(value, bounds)


def _in_context(context: Context, order: OrderLike, record: RecordView | None, unjudged: bool) -> bool:
    """Whether the order is in a context (criteria README "Context"). What the record would tell
    is `unjudged` without a record (history, the claim audit): a claim's context then holds, and
    a context it is never claimed in does not."""
    reasons = getattr(order, "reasons", [])
    if context.reasons and not set(context.reasons).intersection(reasons):
        return False
    if context.no_reason and getattr(order, "reason_stated", False):
        return False
    if not context.reads_record:
        return True
    if record is None:
        return unjudged
    if context.conditions and not _dated(context, record):
        return False
    wanted = set(context.no_conditions)
    if wanted and any(c.active and wanted.intersection(c.vs) for c in record.conditions):
        return False
    return not context.pregnancy or (record.pregnant is not None and record.pregnant(context.pregnancy))


def _dated(context: Context, record: RecordView) -> bool:
    """An active condition of the context's sets, in its window, with no end code on or after it."""
    ends = [c.date for c in record.conditions
            if c.verified and c.date is not None and set(context.not_followed_by).intersection(c.vs)]
    for condition in record.conditions:
        if not condition.active or not set(context.conditions).intersection(condition.vs):
            continue
        if context.within_days is not None and not within(condition.date, None, record.as_of, context.within_days):
            continue
        if condition.date is not None and any(end >= condition.date for end in ends):
            continue
        return True
    return False


def _claims_unread(claim: Claim, order: OrderLike) -> bool:
    """A claim for an order of an unknown drug: its route (when the order states one; the dose
    form that tells it otherwise is the drug's) and its delivery."""
    if order.route is not None and (claim.routes and order.route not in claim.routes
                                    or claim.route_classes and order.route_class not in claim.route_classes):
        return False
    return not claim.delivery or order.delivery in claim.delivery


def _shown(wanted: RecordProcedures, record: RecordView) -> bool:
    if wanted.or_none_on_record and record.procedure_count == 0:
        return True
    return any(
        set(entry.in_).intersection(p.vs)
        and (entry.within_days is None or within(p.date, None, record.as_of, entry.within_days))
        and not {phrase_flag(f) for f in entry.not_followed_by}.intersection(p.followed_by)
        for entry in wanted.any for p in record.procedures
    )


def claiming(order: OrderLike, rulesets: Sequence[Ruleset], record: RecordView | None = None) -> list[str]:
    """The therapies that claim a MedicationRequest judged alone, in ruleset (code) order;
    `record`: what the record shows (see `claims`)."""
    return [r.therapy for r in rulesets if any(claims(c, order, record) for c in r.routing.claims)]


def one_answer(assessments: Sequence["Assessment"], rulesets: dict[str, Ruleset]) -> "Assessment":
    """The assessment to show for one order that several therapies claim: the first by code
    whose order criterion (`routing.criterion`) is met, else the first where it is unknown,
    else the first claiming therapy."""
    ordered = sorted(assessments, key=lambda a: a.therapy)
    for wanted in ("met", "unknown"):
        for assessment in ordered:
            criterion = rulesets[assessment.therapy].routing.criterion
            if any(c.id == criterion and c.result == wanted for c in assessment.criteria):
                return assessment
    return ordered[0]
