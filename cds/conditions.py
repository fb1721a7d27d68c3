"""The condition language of the rulesets, parsed once into one typed form.

The engine's compiler (cds/engine/compile.py) and the catalog's words (cds/catalog/words.py)
both read the parsed form below, so what a payer reads and what the engine runs cannot drift.
The language is documented, term by term with examples, in rulesets/README.md. Every problem
is a RulesetError naming file, line and place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from .facts import HISTORY_STATUSES
from .models import Status
from .ruleset import Condition, Ruleset, RulesetError, strip_lines
from .terminology import Terminology, ValueSets
from .terminology.pregnancy import settings as pregnancy_settings
from .texts import normal

# A `status` narrows the medication history, which holds only these (cds/facts.py): a cancelled or
# entered-in-error request counts nowhere, so a term naming one is a load error.
MEDICATION_STATUSES = set(HISTORY_STATUSES)
DELIVERY = {"continuous", "intermittent", "unknown"}
REGIMENS = {"on-demand", "short-course", "scheduled", "not-stated"}
GIVEN_AS = {"injection", "infusion", "unknown"}
ROUTE_CLASSES = {"non-invasive", "parenteral", "other", "unknown"}
STATUSES = {s.value for s in Status}
RESULTS = {"met", "not-met", "unknown", "not-applicable"}
GENDERS = {"male", "female", "other", "unknown"}
ANCHORS = {"as-of", "order"}
# Derived terms (computed in cds/derive.py) may also count back from the order's date, or the
# as-of date when no order is evaluated (a page reading the latest count before a transfusion order).
DERIVED_ANCHORS = ANCHORS | {"order-or-as-of"}
PICKS = {"latest", "min", "max", "any"}
COMPARISONS = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte", "eq": "="}
# Order facts read from the dosage (cds/facts.py), compared with numbers.
ORDER_MEASURES = ("interval_hours", "daily_volume_ml", "infused_day_volume_ml", "daily_dose_mg", "dose_per_kg_mg",
                  "rate_mg_per_hour", "duration_hours", "planned_days", "units_per_ml", "container_ml", "daily_dose_units",
                  "dose_mg", "duration_minutes", "course_days", "product_mg")
# Order measures that add up over a therapy's orders (`orders_total`).
SUMMED_MEASURES = ("daily_volume_ml", "infused_day_volume_ml", "daily_dose_mg")
RECORD_PARTS = {"procedures", "immunizations", "medication_history"}
# Terms about the patient's data: the ones `none:` may negate.
DATA_TERMS = {"condition", "medication", "service_order", "patient", "course", "observation",
              "procedure", "immunization", "record", "medication_classes", "conditions_count", "observation_ratio",
              "orders_total", "doses_per_day", "pregnancy"}


@dataclass(frozen=True)
class Compare:
    """A number compared: `{lt: 16}`, `{ge: 2, le: 3}`; or `unknown` (the value is absent)."""

    bounds: tuple[tuple[str, float], ...] = ()
    unknown: bool = False


@dataclass(frozen=True)
class Term:
    kind: str
    spec: dict[str, Any]
    # A key shared by the terms that read one derived fact (a measurement picked in a
    # window, a count): cds/derive.py computes each once per evaluation.
    derived: str | None = None


@dataclass(frozen=True)
class Not:
    term: Term


@dataclass(frozen=True)
class All:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Any_:
    items: tuple["Node", ...]


Node = Union[Term, Not, All, Any_]


@dataclass(frozen=True)
class Derived:
    """A fact computed from the record before the rules run, shared by the terms naming it."""

    key: str
    kind: str           # observation | observation_ratio | medication_classes | conditions_count | orders_total | pregnancy
    spec: dict[str, Any]


@dataclass
class Scope:
    """What a condition may refer to where it stands."""

    ruleset: Ruleset
    terminology: Terminology
    valuesets: ValueSets
    criteria: list[str]       # criteria whose results may be read
    status: bool              # whether {status: ...} may be read
    where: str                # for error messages
    derived: dict[str, Derived] = field(default_factory=dict)


def parse(condition: Condition | None, scope: Scope) -> Node:
    """The parsed form of a condition (None: always holds)."""
    if condition is None:
        return All(())
    return _parse(strip_lines(condition), scope)


def _parse(condition: Any, scope: Scope) -> Node:
    if not isinstance(condition, dict) or len(condition) != 1:
        raise RulesetError(f"{scope.where}: a condition is a mapping with exactly one key, got {condition!r}")
    (key, value), = condition.items()
    if key == "all":
        return All(tuple(_parse(c, scope) for c in _list(value, scope, key)))
    if key == "any":
        options = _list(value, scope, key)
        if not options:
            raise RulesetError(f"{scope.where}: any: needs at least one condition")
        return Any_(tuple(_parse(c, scope) for c in options))
    if key == "none":
        inner = _parse(value, scope)
        if not isinstance(inner, Term) or inner.kind not in DATA_TERMS:
            raise RulesetError(f"{scope.where}: none: takes one data term ({', '.join(sorted(DATA_TERMS))})")
        return Not(inner)
    parser = _TERMS.get(key)
    if parser is None:
        raise RulesetError(f"{scope.where}: unknown condition {key!r}; known: {', '.join(sorted(_TERMS))}")
    if not isinstance(value, (dict, list)):
        raise RulesetError(f"{scope.where}: {key}: expects a mapping")
    return parser(value, scope)


def _list(value: Any, scope: Scope, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise RulesetError(f"{scope.where}: {key}: expects a list")
    return value


def _names(spec: dict[str, Any], key: str, allowed: set[str], scope: Scope, term: str) -> list[str]:
    value = spec[key]
    values = value if isinstance(value, list) else [value]
    unknown = [v for v in values if v not in allowed]
    if unknown or not values:
        shown = sorted(allowed) if len(allowed) <= 30 else f"{len(allowed)} names"
        raise RulesetError(f"{scope.where}: {term}.{key}: unknown {unknown or 'empty list'}; allowed {shown}")
    return [str(v) for v in values]


def _check_keys(spec: Any, allowed: set[str], scope: Scope, term: str, required: set[str] = set()) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise RulesetError(f"{scope.where}: {term}: expects a mapping")
    unknown = set(spec) - allowed
    if unknown:
        raise RulesetError(f"{scope.where}: {term}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")
    missing = required - set(spec)
    if missing:
        raise RulesetError(f"{scope.where}: {term}: needs {', '.join(sorted(missing))}")
    return spec


def _int(spec: dict[str, Any], key: str, scope: Scope, term: str) -> int:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulesetError(f"{scope.where}: {term}.{key}: a whole number >= 0, got {value!r}")
    return value


def _compare(value: Any, scope: Scope, term: str, extra: set[str] = set()) -> tuple[Compare, dict[str, Any]]:
    if value == "unknown":
        return Compare(unknown=True), {}
    if not isinstance(value, dict):
        raise RulesetError(f"{scope.where}: {term}: a comparison such as {{lt: 16}} or 'unknown'")
    _check_keys(value, set(COMPARISONS) | extra, scope, term)
    bounds = []
    for op in COMPARISONS:
        if op in value:
            number = value[op]
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise RulesetError(f"{scope.where}: {term}.{op}: a number, got {number!r}")
            bounds.append((op, float(number)))
    if not bounds:
        raise RulesetError(f"{scope.where}: {term}: needs one of {', '.join(COMPARISONS)}")
    return Compare(tuple(bounds)), {k: value[k] for k in extra if k in value}


def _window(spec: dict[str, Any], out: dict[str, Any], scope: Scope, term: str,
            anchors: set[str] = ANCHORS) -> None:
    # started_days_before and started_within_days (medication only: its keys admit them) share
    # the anchor of within_days.
    anchored = {"within_days", "started_days_before", "started_within_days"}.intersection(spec)
    if "before" in spec and not anchored:
        raise RulesetError(f"{scope.where}: {term}.before: goes with within_days")
    for key in sorted(anchored):
        out[key] = _int(spec, key, scope, term)
    if anchored:
        out["before"] = _names(spec, "before", anchors, scope, term)[0] if "before" in spec else "as-of"


def _valuesets(spec: dict[str, Any], key: str, scope: Scope, term: str) -> list[str]:
    return _names(spec, key, set(scope.valuesets.by_id), scope, term)


def _derive(kind: str, spec: dict[str, Any], scope: Scope) -> str:
    key = kind + ":" + hashlib.sha256(repr(sorted(spec.items())).encode()).hexdigest()[:12]
    scope.derived.setdefault(key, Derived(key, kind, spec))
    return key


def _phrases(value: Any, scope: Scope, term: str) -> list[str]:
    """Phrases matched as words in free text (cds/texts.py): a non-empty list of strings with words."""
    values = value if isinstance(value, list) else [value]
    bad = [v for v in values if not isinstance(v, str) or not normal(v)]
    if bad or not values:
        raise RulesetError(f"{scope.where}: {term}: a list of phrases (text with letters or digits), "
                           f"got {bad or 'an empty list'}")
    return [str(v) for v in values]


def _condition(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"in", "any_status", "text", "not_in", "within_days", "not_followed_by", "undated"},
                       scope, "condition")
    if {"not_followed_by", "undated"}.intersection(spec):
        return _dated_condition(spec, scope)
    if "in" not in spec and "text" not in spec:
        raise RulesetError(f"{scope.where}: condition: needs in (value sets) or text (phrases)")
    parsed: dict[str, Any] = {}
    if "in" in spec:
        parsed["in"] = _valuesets(spec, "in", scope, "condition")
    if "text" in spec:
        # Known by its text: the code's text or a coding's display names one of the phrases.
        parsed["text"] = _phrases(spec["text"], scope, "condition.text")
    if "not_in" in spec:
        # ... and none of its codes is in these sets (a coded one is judged by its code).
        parsed["not_in"] = _valuesets(spec, "not_in", scope, "condition")
    if "any_status" in spec:
        parsed["any_status"] = bool(spec["any_status"])
    # Dated (onset, else recordedDate) within N days before the as-of date (criteria README "When
    # a condition happened"); an undated condition does not hold.
    _window(spec, parsed, scope, "condition")
    if parsed.get("before", "as-of") != "as-of":
        raise RulesetError(f"{scope.where}: condition.before: a condition's window counts back from the as-of date only")
    return Term("condition", parsed)


def _dated_condition(spec: dict[str, Any], scope: Scope) -> Term:
    """A condition read by its date (criteria README "When a condition happened") and what came
    after it: not followed by a condition of some sets dated on or after it (a delivery after a
    preterm labor), within N days when given; or, with `undated: true`, one with neither onset nor
    recordedDate (a windowed criterion is then unknown). Computed once per evaluation (cds/derive.py)."""
    if "in" not in spec or {"text", "not_in"}.intersection(spec):
        raise RulesetError(f"{scope.where}: condition: not_followed_by and undated read coded conditions: "
                           "give in (value sets), no text or not_in")
    parsed: dict[str, Any] = {"in": tuple(_valuesets(spec, "in", scope, "condition"))}
    if "within_days" in spec:
        parsed["within_days"] = _int(spec, "within_days", scope, "condition")
    if "not_followed_by" in spec:
        parsed["not_followed_by"] = tuple(_valuesets(spec, "not_followed_by", scope, "condition"))
    if spec.get("any_status"):
        parsed["any_status"] = True
    if "undated" in spec:
        if spec["undated"] is not True or {"within_days", "not_followed_by"}.intersection(spec):
            raise RulesetError(f"{scope.where}: condition.undated: only true, without within_days or not_followed_by")
        parsed["undated"] = True
    key = _derive("dated_condition", parsed, scope)
    return Term("dated_condition", parsed, key)


def _conditions_count(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"in", "at_least"}, scope, "conditions_count", {"in", "at_least"})
    parsed = {"in": tuple(_valuesets(spec, "in", scope, "conditions_count"))}
    key = _derive("conditions_count", parsed, scope)
    return Term("conditions_count", {**parsed, "at_least": _int(spec, "at_least", scope, "conditions_count")}, key)


def _medication(spec: Any, scope: Scope) -> Term:
    keys = {"class", "not_class", "ingredient", "route", "route_class", "route_labelled", "status", "order",
            "delivery", "regimen", "given_as", "status_reason", "within_days", "started_days_before", "started_within_days", "before", "timing_text", "routed_to",
            *ORDER_MEASURES}
    spec = _check_keys(spec, keys, scope, "medication")
    term = scope.terminology
    classes = set(term.drug_classes)
    parsed: dict[str, Any] = {}
    if "class" in spec:
        parsed["class"] = _names(spec, "class", classes, scope, "medication")
    if "not_class" in spec:
        parsed["not_class"] = _names(spec, "not_class", classes, scope, "medication")
    if "ingredient" in spec:
        parsed["ingredient"] = _names(spec, "ingredient", term.names(), scope, "medication")
    if "route" in spec:
        parsed["route"] = _names(spec, "route", set(term.routes.classes), scope, "medication")
    if "route_class" in spec:
        parsed["route_class"] = _names(spec, "route_class", ROUTE_CLASSES, scope, "medication")
    if "route_labelled" in spec:
        # The routes a page claims: the order's route read with its product's label is one of them.
        parsed["route_labelled"] = _names(spec, "route_labelled", set(term.routes.classes), scope, "medication")
    if "status" in spec:
        parsed["status"] = _names(spec, "status", MEDICATION_STATUSES, scope, "medication")
    if "delivery" in spec:
        parsed["delivery"] = _names(spec, "delivery", DELIVERY, scope, "medication")
    if "regimen" in spec:
        parsed["regimen"] = _names(spec, "regimen", REGIMENS, scope, "medication")
    if "given_as" in spec:
        parsed["given_as"] = _names(spec, "given_as", GIVEN_AS, scope, "medication")
    if "order" in spec:
        # other: another draft order of the same call that this therapy does not claim (criteria
        # README "Other pages' orders": a duplicate drug drafted with the order).
        if not isinstance(spec["order"], bool) and spec["order"] != "other":
            raise RulesetError(f"{scope.where}: medication.order: true, false or other")
        parsed["order"] = spec["order"]
    if "status_reason" in spec:
        parsed["status_reason"] = bool(spec["status_reason"])
    if "timing_text" in spec:
        # The dosage's text or its timing code (text or display) names a phrase ("continuous").
        parsed["timing_text"] = _phrases(spec["timing_text"], scope, "medication.timing_text")
    if "routed_to" in spec:
        # Therapy ids: checked against the folder's rulesets once all are loaded (cds/knowledge.py).
        routed = spec["routed_to"] if isinstance(spec["routed_to"], list) else [spec["routed_to"]]
        if not routed or not all(isinstance(r, str) and r for r in routed):
            raise RulesetError(f"{scope.where}: medication.routed_to: a list of ruleset ids")
        parsed["routed_to"] = [str(r) for r in routed]
    _window(spec, parsed, scope, "medication")
    for measure in ORDER_MEASURES:
        if measure in spec:
            parsed[measure] = _compare(spec[measure], scope, f"medication.{measure}")[0]
    return Term("medication", parsed)


def _medication_classes(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"classes", "at_least", "status", "route", "within_days", "before"}, scope,
                       "medication_classes", {"classes", "at_least"})
    parsed: dict[str, Any] = {
        "classes": tuple(_names(spec, "classes", set(scope.terminology.drug_classes), scope, "medication_classes")),
    }
    if "status" in spec:
        parsed["status"] = tuple(_names(spec, "status", MEDICATION_STATUSES, scope, "medication_classes"))
    if "route" in spec:
        parsed["route"] = tuple(_names(spec, "route", set(scope.terminology.routes.classes), scope, "medication_classes"))
    _window(spec, parsed, scope, "medication_classes")
    key = _derive("medication_classes", parsed, scope)
    return Term("medication_classes", {**parsed, "at_least": _int(spec, "at_least", scope, "medication_classes")}, key)


def _service_order(spec: Any, scope: Scope) -> Term:
    """A ServiceRequest of this therapy under evaluation; `in`: its code is in one of the value
    sets (what the page reads from the code); `quantity`: its quantityQuantity compares."""
    spec = _check_keys(spec, {"in", "quantity"}, scope, "service_order")
    parsed: dict[str, Any] = {}
    if "in" in spec:
        parsed["in"] = _valuesets(spec, "in", scope, "service_order")
    if "quantity" in spec:
        parsed["quantity"] = _compare(spec["quantity"], scope, "service_order.quantity")[0]
    return Term("service_order", parsed)


def _patient(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"age_at_least", "age_below", "age", "age_days_at_most", "gender"}, scope, "patient")
    if not spec:
        raise RulesetError(f"{scope.where}: patient: needs a key")
    parsed: dict[str, Any] = {}
    for key in ("age_at_least", "age_below", "age_days_at_most"):
        if key in spec:
            parsed[key] = _int(spec, key, scope, "patient")
    if "age" in spec:
        if spec["age"] != "unknown":
            raise RulesetError(f"{scope.where}: patient.age: only 'unknown' is supported")
        parsed["age"] = "unknown"
    if "gender" in spec:
        # Patient.gender; a patient whose gender is not recorded holds none of them.
        parsed["gender"] = _names(spec, "gender", GENDERS, scope, "patient")
    return Term("patient", parsed)


def _course(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"id", "min_days", "stopped_with_reason"}, scope, "course", {"id"})
    ids = {c.id for c in scope.ruleset.courses}
    parsed: dict[str, Any] = {"id": _names(spec, "id", ids, scope, "course")[0]}
    if "min_days" in spec:
        parsed["min_days"] = _int(spec, "min_days", scope, "course")
    if "stopped_with_reason" in spec:
        parsed["stopped_with_reason"] = bool(spec["stopped_with_reason"])
    return Term("course", parsed)


def _observation(spec: Any, scope: Scope) -> Term:
    keys = {"in", "text", "within_days", "before", "pick", "value", "answer", "interpretation", "count_at_least",
            "units", "value_text", "method_text", "loss_percent", "rise", "spread_days", "from_baseline",
            "below_reference_low", "reference_low_percent", "same_day"}
    spec = _check_keys(spec, keys, scope, "observation")
    if "in" not in spec and "text" not in spec:
        raise RulesetError(f"{scope.where}: observation: needs in (value sets) or text (phrases)")
    base: dict[str, Any] = {}
    if "in" in spec:
        base["in"] = tuple(_valuesets(spec, "in", scope, "observation"))
    if "text" in spec:
        # Also an Observation whose code's text or display names a phrase (no code verified).
        base["text"] = tuple(_phrases(spec["text"], scope, "observation.text"))
    if isinstance(spec.get("before"), dict):
        # A baseline: taken on or before the start of the first request of a drug class in the
        # history; within_days (optional) then counts back from that start.
        anchor = _check_keys(spec["before"], {"first_request", "not_class"}, scope, "observation.before",
                             {"first_request"})
        base["before"] = "first-request"
        base["first_request"] = _names(anchor, "first_request", set(scope.terminology.drug_classes), scope,
                                       "observation.before")[0]
        if "not_class" in anchor:
            # ... and of none of these classes (a hyperimmune globulin is no immune globulin therapy).
            base["first_request_not"] = tuple(_names(anchor, "not_class", set(scope.terminology.drug_classes),
                                                     scope, "observation.before"))
        if "within_days" in spec:
            base["within_days"] = _int(spec, "within_days", scope, "observation")
    elif "within_days" not in spec:
        raise RulesetError(f"{scope.where}: observation: needs within_days (or before: {{first_request: CLASS}})")
    else:
        _window(spec, base, scope, "observation", DERIVED_ANCHORS)
    if "units" in spec:
        # Only values recorded in these units are read (others are not candidates, and no warning):
        # a unit with no conversion to the threshold's, e.g. umol/L next to mg/dL.
        units = _list(spec["units"], scope, "observation.units")
        unknown = [u for u in units if not scope.terminology.units.knows(u)]
        if unknown or not units:
            raise RulesetError(f"{scope.where}: observation.units: unknown unit(s) {unknown or 'empty list'}; "
                               f"known: {', '.join(scope.terminology.units.known)}")
        base["units"] = tuple(str(u) for u in units)
    parsed: dict[str, Any] = {}
    compared = [k for k in ("value", "loss_percent", "rise") if k in spec]
    if len(compared) > 1:
        raise RulesetError(f"{scope.where}: observation: {' and '.join(compared)} compare different things; one term each")
    if "value" in spec:
        compare, extra = _compare(spec["value"], scope, "observation.value", {"unit"})
        base["unit"] = _unit(extra, scope, "observation.value")
        parsed["value"] = compare
    # The most recent value in the window against the days before it: the share lost from the
    # highest (loss_percent), or the amount risen above the lowest (rise: a weight gain over days,
    # a creatinine rise), in the unit given.
    for key, field, baseline in (("loss_percent", "loss", "highest"), ("rise", "rise", "lowest")):
        if key not in spec:
            continue
        compare, extra = _compare(spec[key], scope, f"observation.{key}", {"unit", "baseline_days"})
        base["unit"] = _unit(extra, scope, f"observation.{key}")
        if "baseline_days" not in extra:
            raise RulesetError(f"{scope.where}: observation.{key}: needs baseline_days (the days before "
                               f"the most recent value in which the {baseline} is taken)")
        base[f"{field}_days"] = _int(extra, "baseline_days", scope, f"observation.{key}")
        parsed[field] = compare
    if "spread_days" in spec:
        # With a unit, only usable values count (a number in a unit that converts to it): a
        # weight with no number or in an unknown unit is no weight (criteria README).
        compare, extra = _compare(spec["spread_days"], scope, "observation.spread_days", {"unit"})
        if "unit" in extra:
            unit = _unit(extra, scope, "observation.spread_days")
            if base.get("unit", unit) != unit:
                raise RulesetError(f"{scope.where}: observation.spread_days: the same unit as value's")
            base["unit"] = unit
        # The term reads the first observation as well as the last: both are its evidence.
        base["cite"] = "first-and-last"
        parsed["spread"] = compare
    if "from_baseline" in spec:
        # The picked value's change from a baseline: the latest value of the same observations
        # on or before the start of the first request of a drug class (a later one is compared).
        baseline = _check_keys(spec["from_baseline"], {"first_request", "change"}, scope, "observation.from_baseline",
                               {"first_request", "change"})
        base["baseline_class"] = _names(baseline, "first_request", set(scope.terminology.drug_classes), scope,
                                        "observation.from_baseline")[0]
        compare, extra = _compare(baseline["change"], scope, "observation.from_baseline.change", {"unit"})
        unit = _unit(extra, scope, "observation.from_baseline.change")
        if base.get("unit", unit) != unit:
            raise RulesetError(f"{scope.where}: observation.from_baseline.change: the same unit as value's")
        base["unit"] = unit
        parsed["change"] = compare
    if "answer" in spec:
        parsed["answer"] = _valuesets(spec, "answer", scope, "observation.answer")
        base["coded"] = True
    if "value_text" in spec:
        matches = _check_keys(spec["value_text"], {"matches"}, scope, "observation.value_text", {"matches"})
        parsed["value_text"] = _phrases(matches["matches"], scope, "observation.value_text.matches")
    if "method_text" in spec:
        parsed["method_text"] = _phrases(spec["method_text"], scope, "observation.method_text")
    if "interpretation" in spec:
        parsed["interpretation"] = [str(v) for v in _list(spec["interpretation"], scope, "observation.interpretation")]
    if "below_reference_low" in spec:
        if spec["below_reference_low"] is not True:
            raise RulesetError(f"{scope.where}: observation.below_reference_low: only true")
        parsed["below_reference_low"] = True
    if "reference_low_percent" in spec:
        # The picked value as a percentage of the low limit of its reference range ("at or below
        # 110% of the laboratory's lower limit of normal"); no low: neither side holds.
        parsed["low_percent"] = _compare(spec["reference_low_percent"], scope, "observation.reference_low_percent")[0]
    if "same_day" in spec:
        # Another observation drawn the day the picked one was (a fasting glucose beside a
        # C-peptide): the highest of those sets that day, in the unit given.
        # `value: unknown`: none drawn that day (with a value in a unit converting to `unit`).
        same = _check_keys(spec["same_day"], {"in", "unit", "value"}, scope, "observation.same_day",
                           {"in", "unit", "value"})
        base["same_day_in"] = tuple(_valuesets(same, "in", scope, "observation.same_day"))
        base["same_day_unit"] = _unit(same, scope, "observation.same_day")
        parsed["same_day"] = _compare(same["value"], scope, "observation.same_day.value")[0]
    if "count_at_least" in spec:
        if {"answer", "loss_percent", "rise"}.intersection(spec):
            raise RulesetError(f"{scope.where}: observation.count_at_least: counts observations; no answer or loss")
        if "value" in spec:
            # Counts only the observations whose value is in the comparison ("2 or more fasting
            # glucose values above 200 mg/dL"): the value is then no longer compared itself.
            base["counted"] = parsed.pop("value").bounds
        parsed["count_at_least"] = _int(spec, "count_at_least", scope, "observation")
        base["cite"] = "all"  # every observation counted is evidence
    base["pick"] = _names(spec, "pick", PICKS, scope, "observation")[0] if "pick" in spec else "latest"
    if base["pick"] == "any" and ("unit" in base or "answer" in spec or "count_at_least" in spec):
        raise RulesetError(f"{scope.where}: observation.pick: any reads the flags of every observation in the "
                           "window (interpretation, below_reference_low); values are compared with min or max")
    if base["pick"] in ("min", "max") and "unit" not in base:
        raise RulesetError(f"{scope.where}: observation.pick: min and max compare values; give value")
    key = _derive("observation", base, scope)
    return Term("observation", {**base, **parsed}, key)


def _unit(extra: dict[str, Any], scope: Scope, term: str) -> str:
    unit = extra.get("unit")
    if unit is None:
        raise RulesetError(f"{scope.where}: {term}: needs the unit the values are compared in (UCUM)")
    if not scope.terminology.units.knows(unit):
        raise RulesetError(f"{scope.where}: {term}.unit: unknown unit {unit!r}; "
                           f"known: {', '.join(scope.terminology.units.known)}")
    return str(unit)


def _ratio_part(spec: dict[str, Any], key: str, scope: Scope) -> tuple[tuple[str, ...], str]:
    part = _check_keys(spec[key], {"in", "unit"}, scope, f"observation_ratio.{key}", {"in", "unit"})
    unit = part["unit"]
    if not scope.terminology.units.knows(unit):
        raise RulesetError(f"{scope.where}: observation_ratio.{key}.unit: unknown unit {unit!r}; "
                           f"known: {', '.join(scope.terminology.units.known)}")
    return tuple(_valuesets(part, "in", scope, f"observation_ratio.{key}")), str(unit)


def _observation_ratio(spec: Any, scope: Scope) -> Term:
    """The ratio of two observations measured on the same day (BUN / creatinine): the latest
    day within the window on which both were measured."""
    spec = _check_keys(spec, {"numerator", "denominator", "within_days", "before", "value"}, scope,
                       "observation_ratio", {"numerator", "denominator", "within_days"})
    numerator, numerator_unit = _ratio_part(spec, "numerator", scope)
    denominator, denominator_unit = _ratio_part(spec, "denominator", scope)
    base: dict[str, Any] = {"numerator": numerator, "numerator_unit": numerator_unit,
                            "denominator": denominator, "denominator_unit": denominator_unit}
    _window(spec, base, scope, "observation_ratio", DERIVED_ANCHORS)
    parsed: dict[str, Any] = {}
    if "value" in spec:
        parsed["value"] = _compare(spec["value"], scope, "observation_ratio.value")[0]
    key = _derive("observation_ratio", base, scope)
    return Term("observation_ratio", {**base, **parsed}, key)


def _orders_total(spec: Any, scope: Scope) -> Term:
    """A measure summed over this therapy's orders under evaluation (several bags a day)."""
    spec = _check_keys(spec, {"class", *SUMMED_MEASURES}, scope, "orders_total")
    measures = [m for m in SUMMED_MEASURES if m in spec]
    if len(measures) != 1:
        raise RulesetError(f"{scope.where}: orders_total: compares exactly one of {', '.join(SUMMED_MEASURES)}")
    base: dict[str, Any] = {"measure": measures[0]}
    if "class" in spec:
        base["class"] = tuple(_names(spec, "class", set(scope.terminology.drug_classes), scope, "orders_total"))
    key = _derive("orders_total", base, scope)
    compare = _compare(spec[measures[0]], scope, f"orders_total.{measures[0]}")[0]
    return Term("orders_total", {**base, "value": compare}, key)


def _doses_per_day(spec: Any, scope: Scope) -> Term:
    """Administrations a day of the history requests active together (injections a day): the
    highest sum reached, the start of the earliest set reaching `at_least`, the requests whose
    timing does not tell (rulesets/README.md)."""
    spec = _check_keys(spec, {"class", "route", "delivery", "at_least", "started_days_before", "before", "untimed"},
                       scope, "doses_per_day", {"class", "at_least"})
    base: dict[str, Any] = {"class": tuple(_names(spec, "class", set(scope.terminology.drug_classes), scope,
                                                  "doses_per_day")),
                            "at_least": _int(spec, "at_least", scope, "doses_per_day")}
    if "route" in spec:
        base["route"] = tuple(_names(spec, "route", set(scope.terminology.routes.classes), scope, "doses_per_day"))
    if "delivery" in spec:
        base["delivery"] = tuple(_names(spec, "delivery", DELIVERY, scope, "doses_per_day"))
    base["before"] = _names(spec, "before", ANCHORS, scope, "doses_per_day")[0] if "before" in spec else "as-of"
    parsed: dict[str, Any] = {}
    if "started_days_before" in spec:
        parsed["started_days_before"] = _int(spec, "started_days_before", scope, "doses_per_day")
    if "untimed" in spec:
        if spec["untimed"] is not True:
            raise RulesetError(f"{scope.where}: doses_per_day.untimed: only true")
        parsed["untimed"] = True
    key = _derive("doses_per_day", base, scope)
    return Term("doses_per_day", {**base, **parsed}, key)


def _pregnancy(spec: Any, scope: Scope) -> Term:
    """Pregnant at the as-of date (criteria README "Pregnancy context"), and the gestational age.
    The windows, the pregnancy-status observation and the end codes are terminology.yaml
    `pregnancy`; a page gives its pregnancy codes (`in`), may give its own end codes (`ended_by`)
    and the observations that state gestational age (`gestational_age`)."""
    spec = _check_keys(spec, {"in", "ended_by", "gestational_age", "weeks"}, scope, "pregnancy")
    settings = scope.terminology.pregnancy
    if settings is None:
        raise RulesetError(f"{scope.where}: pregnancy: terminology.yaml has no pregnancy section")
    if "in" not in spec and "weeks" not in spec:
        raise RulesetError(f"{scope.where}: pregnancy: needs in (the page's pregnancy codes) or weeks")
    if "weeks" in spec and "gestational_age" not in spec:
        raise RulesetError(f"{scope.where}: pregnancy.weeks: needs gestational_age (the page's observations)")
    base = pregnancy_settings(
        settings, _valuesets(spec, "in", scope, "pregnancy") if "in" in spec else (),
        _valuesets(spec, "ended_by", scope, "pregnancy") if "ended_by" in spec else
        _known_sets(settings.ended_by, scope, "pregnancy.ended_by"),
        _valuesets(spec, "gestational_age", scope, "pregnancy") if "gestational_age" in spec else ())
    _known_sets([*settings.status_observations, *settings.pregnant_answers], scope, "pregnancy")
    parsed: dict[str, Any] = {}
    if "in" in spec:
        parsed["pregnant"] = True
    if "weeks" in spec:
        parsed["weeks"] = _compare(spec["weeks"], scope, "pregnancy.weeks")[0]
    key = _derive("pregnancy", base, scope)
    return Term("pregnancy", {**base, **parsed}, key)


def _known_sets(ids: list[str], scope: Scope, term: str) -> list[str]:
    return _names({"sets": ids}, "sets", set(scope.valuesets.by_id), scope, term)


def _procedure(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"in", "within_days", "before", "not_followed_by"}, scope, "procedure", {"in"})
    parsed: dict[str, Any] = {"in": _valuesets(spec, "in", scope, "procedure")}
    _window(spec, parsed, scope, "procedure")
    if "not_followed_by" in spec:
        # No later completed Procedure (a removal) whose code is in the sets or whose code text or
        # display names a phrase; a list is phrases. A removal cancels only what was placed before it.
        later = spec["not_followed_by"]
        if isinstance(later, dict):
            later = _check_keys(later, {"in", "text"}, scope, "procedure.not_followed_by")
            if not later:
                raise RulesetError(f"{scope.where}: procedure.not_followed_by: needs in (value sets) or text (phrases)")
            if "in" in later:
                parsed["not_followed_by_in"] = _valuesets(later, "in", scope, "procedure.not_followed_by")
            later = later.get("text")
        if later is not None:
            parsed["not_followed_by"] = _phrases(later, scope, "procedure.not_followed_by")
    return Term("procedure", parsed)


def _immunization(spec: Any, scope: Scope) -> Term:
    """A completed Immunization with a vaccine code in the sets (in the window)."""
    spec = _check_keys(spec, {"in", "within_days", "before"}, scope, "immunization", {"in"})
    parsed: dict[str, Any] = {"in": _valuesets(spec, "in", scope, "immunization")}
    _window(spec, parsed, scope, "immunization")
    return Term("immunization", parsed)


def _record(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"empty"}, scope, "record", {"empty"})
    return Term("record", {"empty": _names(spec, "empty", RECORD_PARTS, scope, "record")})


def _result(spec: Any, scope: Scope) -> Term:
    spec = _check_keys(spec, {"criterion", "is", "category"}, scope, "result", {"criterion"})
    criterion = _names(spec, "criterion", set(scope.criteria), scope, "result")[0]
    parsed: dict[str, Any] = {"criterion": criterion}
    if "is" in spec:
        parsed["is"] = _names(spec, "is", RESULTS, scope, "result")
    if "category" in spec:
        target = next(c for c in scope.ruleset.criteria if c.id == criterion)
        categories = {b.category for b in target.branches if b.category}
        parsed["category"] = _names(spec, "category", categories, scope, "result")
    return Term("result", parsed)


def _status(spec: Any, scope: Scope) -> Term:
    if not scope.status:
        raise RulesetError(f"{scope.where}: status: only alternatives may read the status")
    return Term("status", {"is": _names({"status": spec}, "status", STATUSES, scope, "status")})


_TERMS: dict[str, Callable[[Any, Scope], Term]] = {
    "condition": _condition,
    "conditions_count": _conditions_count,
    "medication": _medication,
    "medication_classes": _medication_classes,
    "service_order": _service_order,
    "patient": _patient,
    "course": _course,
    "observation": _observation,
    "observation_ratio": _observation_ratio,
    "orders_total": _orders_total,
    "doses_per_day": _doses_per_day,
    "pregnancy": _pregnancy,
    "procedure": _procedure,
    "immunization": _immunization,
    "record": _record,
    "result": _result,
    "status": _status,
}
TERMS = frozenset(_TERMS)
# Every kind a parsed term may have: the keys, and `condition` read by its date (not_followed_by,
# undated), computed before the rules as a derived fact.
KINDS = TERMS | {"dated_condition"}


@dataclass(frozen=True)
class Clause:
    """Something the rules decide: a criterion branch, a finding, a document, an offer, a
    lead, a tried rule or a billing code. `item` is the ruleset item whose condition it is (its
    `part`: "when", or a finding's "info_when"), by which its matches are looked up; `key` names
    its rules in the engine (stable across loads of the same file)."""

    key: str
    node: Node
    where: str
    item: Any = field(default=None, compare=False, repr=False)
    part: str = "when"


@dataclass
class ParsedRuleset:
    clauses: list[Clause]
    derived: dict[str, Derived]

    def node(self, key: str) -> Node:
        return next(c.node for c in self.clauses if c.key == key)


def parse_ruleset(ruleset: Ruleset, terminology: Terminology, valuesets: ValueSets) -> ParsedRuleset:
    """Every clause of a ruleset, parsed (load errors name file and line)."""
    derived: dict[str, Derived] = {}
    ids = [c.id for c in ruleset.criteria]
    found: list[Clause] = []

    def add(key: str, when: Condition | None, readable: list[str], status: bool, where: str, item: Any,
            part: str = "when") -> None:
        scope = Scope(ruleset, terminology, valuesets, readable, status, where, derived)
        found.append(Clause(key, parse(when, scope), where, item, part))

    file = ruleset.file
    for index, criterion in enumerate(ruleset.criteria):
        for number, branch in enumerate(criterion.branches):
            add(f"c|{criterion.id}|{number}", branch.when, ids[:index], False,
                f"{file}: line {branch.line}: {criterion.id} branch {number + 1}", branch)
    for finding in ruleset.findings:
        add(f"f|{finding.id}", finding.when, ids, False, f"{file}: line {finding.line}: {finding.id}", finding)
        if finding.info_when is not None:
            add(f"fi|{finding.id}", finding.info_when, ids, False,
                f"{file}: line {finding.line}: {finding.id} info_when", finding, "info_when")
        if finding.cites is not None:
            add(f"fc|{finding.id}", finding.cites.when, ids, False,
                f"{file}: line {finding.cites.line}: {finding.id} cites", finding.cites)
    for doc in ruleset.documentation:
        add(f"d|{doc.id}", doc.when, ids, False, f"{file}: line {doc.line}: {doc.id}", doc)
        for number, item in enumerate(doc.notes):
            add(f"dn|{doc.id}|{number}", item.when, ids, False,
                f"{file}: line {item.line}: {doc.id} note {item.id}", item)
    for alternative in ruleset.alternatives:
        for number, offer in enumerate(alternative.offered):
            add(f"o|{alternative.id}|{number}", offer.when, ids, True,
                f"{file}: line {offer.line}: {alternative.id} offer {number + 1}", offer)
        for number, tried in enumerate(alternative.tried):
            add(f"t|{alternative.id}|{number}", tried.when, ids, True,
                f"{file}: line {tried.line}: {alternative.id} tried {number + 1}", tried)
        for number, lead in enumerate(alternative.lead):
            add(f"l|{alternative.id}|{number}", lead.when, ids, True,
                f"{file}: line {lead.line}: {alternative.id} lead {number + 1}", lead)
    for number, code in enumerate(ruleset.billing.codes):
        add(f"b|{number}", code.when, ids, False, f"{file}: line {code.line}: billing code {code.code}", code)
    for number, item in enumerate(ruleset.billing.order_notes):
        add(f"n|{number}", item.when, ids, False, f"{file}: line {item.line}: billing order note {number + 1}", item)
    return ParsedRuleset(found, derived)


def phrases(node: Node) -> list[str]:
    """Every phrase a condition matches in free text (text, value_text, method_text, timing_text,
    not_followed_by)."""
    return [p for t in terms(node) for key in ("text", "value_text", "method_text", "timing_text", "not_followed_by")
            for p in t.spec.get(key, ())]


# What a medication term asks of the drug itself (not of its route, timing or dates).
_DRUG_KEYS = ("class", "not_class", "ingredient", "routed_to", "route_labelled")


def order_criteria(ruleset: Ruleset, parsed: ParsedRuleset) -> frozenset[str]:
    """The criteria that read the drug of the order under evaluation: a branch asks the order
    for a class, an ingredient or the routes its label allows (a medication term with `order:
    true`, `orders_total` by class), or reads the result of a criterion that does. An order whose drug cannot be read makes
    these `unknown`."""
    found: set[str] = set()
    for criterion in ruleset.criteria:
        branches = {id(branch) for branch in criterion.branches}
        for clause in (c for c in parsed.clauses if id(c.item) in branches):
            if any((t.kind == "orders_total" and "class" in t.spec)
                   or (t.kind == "medication" and t.spec.get("order") is True and any(k in t.spec for k in _DRUG_KEYS))
                   or (t.kind == "result" and t.spec["criterion"] in found) for t in terms(clause.node)):
                found.add(criterion.id)
    return frozenset(found)


def terms(node: Node) -> list[Term]:
    """Every term of a parsed condition, in order."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return [node.term]
    return [t for item in node.items for t in terms(item)]
