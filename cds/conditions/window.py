"""A term's window: within N days before an anchor (the as-of date, the order's date, or the
order's date falling back to the as-of date), parsed, compiled, said in words and tested once.

The engine compares the day counts the facts carry (cds/facts.py `_windows`: `<anchor>_start_ago`
and `<anchor>_end_ago`); a derived fact tests the same span in Python (cds/spans.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..spans import within
from .scope import Scope, names, whole

ANCHORS = {"as-of", "order"}
# Derived terms may also count back from the order's date, or the as-of date when no order is
# evaluated (a page reading the latest count before a transfusion order).
DERIVED_ANCHORS = ANCHORS | {"order-or-as-of"}
_ANCHOR_WORDS = {"as-of": "the as-of date", "order": "the order's date",
                 "order-or-as-of": "the order's date (without an order, the as-of date)"}
# started_days_before and started_within_days (medication only: its keys admit them) share the
# anchor of within_days.
_ANCHORED = ("within_days", "started_days_before", "started_within_days")


def parse(spec: dict[str, Any], out: dict[str, Any], scope: Scope, term: str, anchors: set[str] = ANCHORS) -> None:
    """Copy the window keys of `spec` into the parsed `out`, `before` defaulting to the as-of date."""
    anchored = [k for k in _ANCHORED if k in spec]
    if "before" in spec and not anchored:
        raise scope.error(f"{term}.before: goes with within_days")
    for key in anchored:
        out[key] = whole(spec, key, scope, term)
    if anchored:
        out["before"] = names(spec, "before", anchors, scope, term)[0] if "before" in spec else "as-of"


def anchor(before: str, therapy: str) -> str:
    """The prefix of the day counts back from a window's anchor: the as-of date, or the date of
    this therapy's order (each therapy's order has its own date, and the facts of one evaluation
    carry the counts of every therapy's)."""
    return "asof" if before == "as-of" else f"order_{therapy}"


def pattern(spec: dict[str, Any], therapy: str) -> list[dict[str, Any]]:
    """durable-rules parts: the span begun by the anchor and ended at most N days before it; a
    start at least N days before (`started_days_before`: a fact without a start never matches);
    the start itself within N days (`started_within_days`, whatever the end)."""
    if "before" not in spec:
        return []
    prefix = anchor(spec["before"], therapy)
    parts: list[dict[str, Any]] = []
    if "within_days" in spec:
        parts += [{"$gte": {f"{prefix}_start_ago": 0}}, {"$lte": {f"{prefix}_end_ago": spec["within_days"]}}]
    if "started_days_before" in spec:
        parts.append({"$gte": {f"{prefix}_start_ago": spec["started_days_before"]}})
    if "started_within_days" in spec:
        parts += [{"$gte": {f"{prefix}_start_ago": 0}}, {"$lte": {f"{prefix}_start_ago": spec["started_within_days"]}}]
    return parts


def anchor_words(before: str) -> str:
    return _ANCHOR_WORDS[before]


def words(spec: dict[str, Any]) -> str:
    """" within N days before the order's date", or nothing without a window."""
    if "within_days" not in spec:
        return ""
    return f" within {spec['within_days']} days before {anchor_words(spec['before'])}"


def started_words(spec: dict[str, Any]) -> list[str]:
    found = []
    if "started_days_before" in spec:
        found.append(f"started at least {spec['started_days_before']} days before {anchor_words(spec['before'])}")
    if "started_within_days" in spec:
        found.append(f"started within {spec['started_within_days']} days before {anchor_words(spec['before'])}")
    return found


def holds(start: dt.date | None, end: dt.date | None, spec: dict[str, Any],
          anchors: dict[str, dt.date | None]) -> bool:
    """The span lies in the window of `spec` (no window: always)."""
    if "within_days" not in spec:
        return True
    return within(start, end, anchors[spec["before"]], spec["within_days"])
