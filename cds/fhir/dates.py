"""FHIR date and dateTime values as days: the one reading of dates the rules, the claim audit and
the Da Vinci services share."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal


def day(value: Any, partial: Literal["first", "last"] | None = None) -> dt.date | None:
    """The day of a FHIR date or dateTime (a parsed date, datetime or the JSON text). A partial
    date (2026, 2026-05) is its first or last day when `partial` says which, else None, as is
    anything that is not a date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        if len(text) >= 10:
            return dt.date.fromisoformat(text[:10])
        if partial is None:
            return None
        if len(text) == 4:
            return dt.date(int(text), 12, 31) if partial == "last" else dt.date(int(text), 1, 1)
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            if partial == "first":
                return dt.date(year, month, 1)
            return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    except ValueError:
        return None
    return None
