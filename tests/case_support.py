"""The test cases of fixtures/cases read once per test process, whichever test files use them.

Reading and checking every case file costs more than a second of CPU; each test file that read
them at import did so again on every worker (each worker collects every file). Callers share
what these return: they read it and never change it.
"""

from __future__ import annotations

from functools import cache

from cds import cases, knowledge


@cache
def all_cases() -> dict[str, cases.Case]:
    """Every case of fixtures/cases, by name."""
    return cases.load()


@cache
def routes() -> dict[str, str]:
    """Route names to SNOMED CT codes, as the case builder takes them."""
    return cases.route_codes(knowledge.default().terminology.routes.snomed)
