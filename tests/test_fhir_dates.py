"""FHIR dates as days (cds/fhir/dates.py): what the rules, the claim audit and CRD read."""

from __future__ import annotations

import datetime as dt

import pytest

from cds.fhir.dates import day


@pytest.mark.parametrize(("value", "partial", "expected"), [
    ("2026-11-22", None, dt.date(2026, 11, 22)),
    ("2026-11-22T23:30:00+05:00", None, dt.date(2026, 11, 22)),
    (dt.datetime(2026, 11, 22, 8, 0), None, dt.date(2026, 11, 22)),
    (dt.date(2026, 11, 22), None, dt.date(2026, 11, 22)),
    ("2026", None, None),
    ("2026", "first", dt.date(2026, 1, 1)),
    ("2026", "last", dt.date(2026, 12, 31)),
    ("2026-02", "last", dt.date(2026, 2, 28)),
    ("2026-12", "last", dt.date(2026, 12, 31)),
    ("2026-12", "first", dt.date(2026, 12, 1)),
    ("2026-13-01", None, None),
    ("not a date", "first", None),
    (None, "last", None),
])
def test_a_fhir_date_is_read_as_a_day(value: object, partial: str | None, expected: dt.date | None) -> None:
    assert day(value, partial) == expected  # type: ignore[arg-type]
