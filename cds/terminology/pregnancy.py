"""The pregnancy context and gestational age at the as-of date (criteria README "Pregnancy context").

One derived fact per distinct `pregnancy` term (cds/conditions/kinds/pregnancy.py), computed once per evaluation:
whether the patient is pregnant (a page's pregnancy code dated within the window and not followed
by a delivery or pregnancy-end code, or the most recent pregnancy-status Observation in its window
answering pregnant) and, where the record tells it, the gestational age in weeks as bounds, so that
a cut-off a range straddles ("under 8 weeks" some weeks ago) stays undecided. Windows, code lists and the
codes that state weeks are data (rulesets/terminology.yaml `pregnancy`); none is written here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from ..fhir.errors import Problem
from ..spans import within
from ..texts import phrase_flag
from .drugs import Pregnancy
from .units import Units

# Weeks from a code's range and days elapsed: (lower, upper); either None when open-ended.
Weeks = tuple[float | None, float | None]


class ConditionLike(Protocol):
    ref: str
    active: bool
    verified: bool
    vs: list[str]
    codes: list[str]
    display: str
    date: dt.date | None


class ObservationLike(Protocol):
    ref: str
    vs: list[str]
    date: dt.date | None
    value: float | None
    unit: str | None
    comparator: str | None
    answers: list[str]
    value_texts: list[str]
    display: str


def settings(model: Pregnancy, sets: Sequence[str], ended_by: Sequence[str] | None = None,
             gestational_age: Sequence[str] = ()) -> dict[str, Any]:
    """What one reading of the context needs: the page's pregnancy codes (`sets`), its end codes
    (else the terminology's), its gestational-age observations, and terminology.yaml `pregnancy`.
    Hashable values: a condition term keys its derived fact by them (cds/conditions/kinds/pregnancy.py)."""
    age = model.gestational_age
    found: dict[str, Any] = {
        "in": tuple(sets), "ended_by": tuple(ended_by if ended_by is not None else model.ended_by),
        "status_observations": tuple(model.status_observations), "pregnant_answers": tuple(model.pregnant_answers),
        # Read as results in words (cds/knowledge.py registers them with the `value_text` phrases).
        "result_words": tuple(model.pregnant_words + model.not_pregnant_words),
        "pregnant_words": tuple(model.pregnant_words), "not_pregnant_words": tuple(model.not_pregnant_words),
        "condition_days": model.condition_days, "observation_days": model.observation_days,
        "ga_days": age.within_days, "ga_over_weeks": age.over_weeks, "ga_unit": age.unit,
        "ga_prefix": age.week_codes.prefix, "ga_ranges": tuple(sorted(age.week_codes.ranges.items())),
    }
    if gestational_age:
        found["gestational_age"] = tuple(gestational_age)
    return found


def pregnancy(conditions: Sequence[ConditionLike], status: Sequence[ObservationLike],
              aged: Sequence[ObservationLike], as_of: dt.date, settings: dict[str, Any], units: Units,
              warnings: list[Problem]) -> dict[str, Any]:
    """The pregnancy fact from the record's conditions, its pregnancy-status observations
    (`status`) and its gestational-age observations (`aged`): `pregnant` (false when no source
    makes the context, so `none: {pregnancy: ...}` holds), with the gestational-age bounds when a
    source tells them."""
    ends = [c.date for c in conditions
            if c.verified and c.date is not None and c.date <= as_of and set(settings["ended_by"]) & set(c.vs)]
    # A source dated on or before the last end code belongs to a pregnancy that is over.
    last_end = max(ends, default=None)

    def current(day: dt.date | None, window: int) -> bool:
        return within(day, None, as_of, window) and (last_end is None or day > last_end)  # type: ignore[operator]

    coded = [c for c in conditions
             if c.active and set(settings["in"]) & set(c.vs) and not set(settings["ended_by"]) & set(c.vs)
             and current(c.date, settings["condition_days"])]
    recent = [o for o in status if current(o.date, settings["observation_days"])]
    latest = max(recent, key=lambda o: o.date or dt.date.min) if recent else None
    says = latest if latest is not None and _says_pregnant(latest, settings) else None
    sources: list[ConditionLike | ObservationLike] = [*coded, *([says] if says else [])]
    fact: dict[str, Any] = {"pregnant": bool(sources), "count": len(sources)}
    shown = [f"{s.display} on {s.date.isoformat()}" for s in sources if s.date is not None]
    fact["display"] = "; ".join(shown) if shown else "no current pregnancy"
    evidence = [s.ref for s in sources]
    dated = _gestational_age(conditions, aged, as_of, settings, current, units, warnings)
    if dated is not None:
        (lower, upper), source = dated
        fact.update(_bounds(lower, upper, settings))
        fact["weeks"] = _weeks_words(lower, upper)
        fact["display"] += f"; gestational age {fact['weeks']} weeks at the as-of date ({source.display})"
        evidence.append(source.ref)
    if evidence:
        fact["ref"], fact["evidence"] = evidence[0], list(dict.fromkeys(evidence[1:]))
    return fact


def _says_pregnant(observation: ObservationLike, settings: dict[str, Any]) -> bool:
    """A coded answer of the pregnant set, or the result in words saying pregnant and not denying it."""
    if set(settings["pregnant_answers"]) & set(observation.answers):
        return True
    said = set(observation.value_texts)
    return (any(phrase_flag(p) in said for p in settings["pregnant_words"])
            and not any(phrase_flag(p) in said for p in settings["not_pregnant_words"]))


def _gestational_age(conditions: Sequence[ConditionLike], aged: Sequence[ObservationLike], as_of: dt.date,
                     settings: dict[str, Any], current: Any, units: Units,
                     warnings: list[Problem]) -> tuple[Weeks, ConditionLike | ObservationLike] | None:
    """The page's gestational-age Observation, else the most recent condition code stating the
    weeks, each projected to the as-of date; a projection at or beyond `over_weeks` belongs to an
    earlier pregnancy and the next source is read."""
    window, over, unit = settings["ga_days"], settings["ga_over_weeks"], settings["ga_unit"]
    measured: list[tuple[Weeks, ObservationLike]] = []
    for observation in aged:
        if observation.value is None or observation.comparator is not None or not current(observation.date, window):
            continue
        weeks = units.reading(observation.ref, observation.value, observation.unit, unit, observation.vs, warnings)
        if weeks is None:
            continue
        elapsed = (as_of - observation.date).days / 7  # type: ignore[operator]
        measured.append(((weeks + elapsed, weeks + elapsed), observation))
    coded: list[tuple[Weeks, ConditionLike]] = []
    for condition in conditions:
        if not condition.active or not current(condition.date, window):
            continue
        stated = _stated_weeks(condition.codes, settings)
        if stated is not None:
            elapsed = (as_of - condition.date).days / 7  # type: ignore[operator]
            coded.append(((None if stated[0] is None else stated[0] + elapsed,
                           None if stated[1] is None else stated[1] + elapsed), condition))
    for found in (measured, coded):
        usable = [(weeks, source) for weeks, source in found if weeks[0] is None or weeks[0] < over]
        if usable:
            return max(usable, key=lambda item: item[1].date or dt.date.min)  # type: ignore[arg-type, return-value]
    return None


def _stated_weeks(codes: list[str], settings: dict[str, Any]) -> Weeks | None:
    """The weeks a code states: the prefix and the weeks in digits, or a range of `ranges`."""
    prefix, ranges = settings["ga_prefix"], dict(settings["ga_ranges"])
    for code in codes:
        if code in ranges:
            stated = ranges[code]
            if stated is not None:
                return (stated[0], stated[1])
            continue
        if code.startswith(prefix) and code[len(prefix):].isdigit():
            weeks = float(code[len(prefix):])
            return (weeks, weeks)
    return None


def _bounds(lower: float | None, upper: float | None, settings: dict[str, Any]) -> dict[str, Any]:
    """Bounds as the comparisons read them (cds/engine/compile.py `_bounded`): a stated week is
    closed, a range's ends ("under 8", "over 42") open."""
    exact = lower is not None and lower == upper
    bounds: dict[str, Any] = {"value": round(lower if lower is not None else upper, 6)}  # type: ignore[arg-type]
    if lower is not None:
        bounds.update(lower=round(lower, 6), lower_open=not exact)
    if upper is not None:
        bounds.update(upper=round(upper, 6), upper_open=not exact)
    return bounds


def _weeks_words(lower: float | None, upper: float | None) -> str:
    """Weeks as obstetrics writes them: 33 3/7; a range as "under 9 2/7" or "over 43 1/7"."""
    def written(weeks: float) -> str:
        whole = int(weeks)
        days = int(round((weeks - whole) * 7))
        if days == 7:
            whole, days = whole + 1, 0
        return f"{whole} {days}/7"

    if lower is not None and lower == upper:
        return written(lower)
    if lower is None or lower == 0:
        return f"under {written(upper)}"  # type: ignore[arg-type]
    if upper is None:
        return f"over {written(lower)}"
    return f"{written(lower)} to under {written(upper)}"
