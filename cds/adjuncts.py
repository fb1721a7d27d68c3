"""Adjunct orders: a draft order drafted together with another page's order that is its
premedication, diluent or additive (../shared/criteria/README.md, "Adjunct orders").

An adjunct is not claimed by its own page: it is assessed with the order it serves (listed in
that order's evidence) and billed with it. Which orders are adjuncts of which is data, for every
page at once: rulesets/routing.yaml `adjuncts`. "Drafted together" is the README's three links:
the same request (a draft bundle or input, the hook's draftOrders), the same `groupIdentifier`,
or `basedOn` the served order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import field_validator

from .routing import OrderLike, RecordView, claims
from .ruleset import Adjunct, RulesetError, Ruleset, Served, _Item, read_model, strip_lines
from .terminology import Terminology

# Therapy ids are HCPCS codes; a platform list may name a page whose ruleset a deployment does
# not load (or that is being written): it then serves no order, and names nothing wrong.
_THERAPY = re.compile(r"^[A-Z]\d{4}$")


class AdjunctRules(_Item):
    version: str
    sources: dict[str, str]
    adjuncts: list[Adjunct]

    @field_validator("sources", mode="before")
    @classmethod
    def _no_line_marker(cls, value: Any) -> Any:
        return strip_lines(value)


FILE = "routing.yaml"


def load_adjuncts(folder: Path, terminology: Terminology, rulesets: Iterable[Ruleset]) -> list[Adjunct]:
    """The adjuncts of a rulesets folder: the platform's list (routing.yaml; none when the
    folder has none), then each page's own (`routing.adjuncts`, serving that page's orders when
    they name no `with`). A name the terminology does not know, or a source not listed, is a
    load error naming file and line."""
    found = []
    path = folder / FILE
    if path.exists():
        rules = read_model(path, path.read_bytes(), AdjunctRules)
        for adjunct in rules.adjuncts:
            where = f"{path.name}: line {adjunct.line}: adjunct {adjunct.id}"
            unlisted = [f"source {s} not listed under sources" for s in adjunct.sources if s not in rules.sources]
            _check(where, adjunct, terminology, [*unlisted, *([] if adjunct.with_ else ["serves nothing: give `with`"])])
        found += rules.adjuncts
    for ruleset in rulesets:
        for adjunct in ruleset.routing.adjuncts:
            own = adjunct if adjunct.with_ else adjunct.model_copy(update={"with_": [Served(therapies=[ruleset.therapy])]})
            _check(f"{ruleset.file}: line {adjunct.line}: routing adjunct {adjunct.id}", own, terminology, [])
            found.append(own)
    return found


def _check(where: str, adjunct: Adjunct, terminology: Terminology, problems: list[str]) -> None:
    names = terminology.names()
    if not adjunct.order and not adjunct.claimed_by:
        problems.append("names no order: give `order` claims or `claimed_by`")
    for claim in [*adjunct.order, *adjunct.unless]:
        problems += [f"unknown drug class {c}" for c in [*claim.classes, *claim.not_classes, *claim.only_classes]
                     if c not in terminology.drug_classes]
        problems += [f"unknown ingredient or brand {n}" for n in claim.ingredients if n not in names]
        problems += [f"unknown route {r}" for r in claim.routes if r not in terminology.routes.classes]
        claim.bind_names(terminology.drug_classes)
    for served in adjunct.with_:
        problems += [f"unknown drug class {c}" for c in served.classes if c not in terminology.drug_classes]
        problems += [f"unknown ingredient or brand {n}" for n in served.ingredients if n not in names]
    problems += [f"{t} is not a therapy id" for t in [*adjunct.claimed_by, *(t for s in adjunct.with_
                                                                          for t in [*s.therapies, *s.not_therapies])]
                 if not _THERAPY.match(t)]
    if problems:
        raise RulesetError(f"{where}: {'; '.join(problems)}")


@dataclass(frozen=True)
class Drafted:
    """An order drafted with the one judged: the therapies claiming it, and the drug it names
    (None for a service request)."""

    claimed: Sequence[str]
    order: OrderLike | None


def served(order: OrderLike, alone: Sequence[str], drafted: Iterable[Drafted], adjuncts: Sequence[Adjunct],
           record: RecordView | None = None) -> list[str]:
    """The therapies whose orders `order` serves as an adjunct (none: it is an order of its own).
    `alone`: the therapies claiming it judged alone (its own pages, never the ones it serves)."""
    drafted = list(drafted)
    found: set[str] = set()
    for adjunct in adjuncts:
        if not _is_adjunct(adjunct, order, alone, record):
            continue
        for other in drafted:
            found.update(t for t in other.claimed if t not in alone and any(_serves(s, t, other) for s in adjunct.with_))
    return sorted(found)


def _is_adjunct(adjunct: Adjunct, order: OrderLike, alone: Sequence[str], record: RecordView | None) -> bool:
    if adjunct.claimed_by:
        if not set(adjunct.claimed_by).intersection(alone):
            return False
    elif not any(claims(c, order, record=record) for c in adjunct.order):
        return False
    return not any(claims(c, order, record=record) for c in adjunct.unless)


def _serves(served: Served, therapy: str, other: Drafted) -> bool:
    if served.therapies and therapy not in served.therapies or therapy in served.not_therapies:
        return False
    if not (served.classes or served.ingredients):
        return True
    drug = other.order
    if drug is None:
        return False
    return (not served.classes or any(drug.classes.get(c) for c in served.classes)) and (
        not served.ingredients or bool(set(served.ingredients).intersection(drug.ingredients)))


def link_keys(group: Any, based_on: Iterable[Any]) -> tuple[str | None, list[str]]:
    """What links a request to others besides the request it came in: its groupIdentifier
    (system|value) and the references of its basedOn, as `Type/id` (the reference's last two parts)."""
    key = None
    if group is not None and group.value:
        key = f"{group.system or ''}|{group.value}"
    refs = []
    for reference in based_on:
        text = getattr(reference, "reference", None)
        if text:
            refs.append("/".join(text.rstrip("/").split("/")[-2:]))
    return key, refs
