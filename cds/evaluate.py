"""The library entry point: FHIR in, one PatientAssessment per patient out, through the
default Evaluator (cds/evaluator.py) of the process's rulesets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import knowledge as _knowledge
from .evaluator import Evaluator
from .fhir import InputError, Problem, RawEntry, read_document
from .fhir.read import PartlyUnreadable, read_paths
from .fhir.record import validation_problems
from .knowledge import Knowledge
from .models import PatientAssessment

Input = str | Path | dict[str, Any] | Sequence[dict[str, Any]]


def evaluate(
    source: Input,
    *,
    as_of: dt.date | str | None = None,
    therapies: Iterable[str] | None = None,
    knowledge: Knowledge | None = None,
) -> PatientAssessment:
    """Assess one patient: a path, a Bundle dict, or a list of resources.

    Raises InputError (with every problem found) for bad input, and when the input holds
    more than one patient (use evaluate_all). knowledge: the rulesets to run
    (cds.knowledge.load(folder)); by default those of CDS_RULESETS, or those shipped.
    """
    results = evaluate_all(source, as_of=as_of, therapies=therapies, knowledge=knowledge)
    if len(results) != 1:
        raise InputError([Problem(source=_name(source), element="Patient",
                                  message=f"{len(results)} patients in the input; use evaluate_all")])
    return results[0]


def evaluate_all(
    source: Input | Sequence[str | Path],
    *,
    as_of: dt.date | str | None = None,
    therapies: Iterable[str] | None = None,
    strict: bool = True,
    knowledge: Knowledge | None = None,
) -> list[PatientAssessment]:
    """Assess every patient of the input, in input order."""
    evaluator = Evaluator(knowledge if knowledge is not None else _knowledge.default())
    try:
        entries = read_input(source)
    except PartlyUnreadable as exc:
        # Every problem at once: those of the files that were read come with those that were not.
        raise InputError(exc.problems + validation_problems(exc.entries, evaluator.knowledge.valuesets.screen)) from None
    records = evaluator.records(entries, strict=strict)
    day = _as_of(as_of)
    # Without orders named every therapy asked for is assessed: there is always a result.
    return [result for r in records if (result := evaluator.assess(r, day, therapies=therapies).result)]


def read_input(source: Input | Sequence[str | Path]) -> list[RawEntry]:
    if isinstance(source, (str, Path)):
        return read_paths([source])
    if isinstance(source, dict):
        return read_document(source, "input")
    items = list(source)
    if items and all(isinstance(i, (str, Path)) for i in items):
        return read_paths(items)  # type: ignore[arg-type]
    return read_document(items, "input")


def _as_of(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError([Problem(source="as-of", message=f"not a date (YYYY-MM-DD): {value!r}")]) from exc


def _name(source: Any) -> str:
    return str(source) if isinstance(source, (str, Path)) else "input"
