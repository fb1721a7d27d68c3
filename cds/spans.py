"""Days between dates: the one arithmetic behind every window ("within N days before the order").

A span (a request's start to end, or one date) lies within N days before an anchor when it has
begun by the anchor and ended at most N days before it. The facts carry the two day counts
(cds/facts.py) for the engine to compare; derived facts and the pregnancy context ask here.
"""

from __future__ import annotations

import datetime as dt


def days_ago(anchor: dt.date, day: dt.date) -> int:
    """Days from `day` back to the anchor (negative when `day` is after it)."""
    return (anchor - day).days


def within(start: dt.date | None, end: dt.date | None, anchor: dt.date | None, days: int) -> bool:
    """The span (an undated one never) lies within `days` before the anchor (none: never)."""
    if anchor is None or start is None:
        return False
    return days_ago(anchor, start) >= 0 and days_ago(anchor, end or start) <= days
