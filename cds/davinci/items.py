"""A therapy's questionnaire items: one per criterion and per documentation item of its ruleset.

Each item is a yes/no question by default. A questionnaire data file
(rulesets/questionnaires/<therapy>.yaml) can give an item a richer answer (a choice from value
sets, a quantity with its unit, a date) and say what an answer records: an Observation or a
Condition coded from a value set the criterion already reads, so a completed answer settles the
criterion through the rules themselves. No code is written here: the coded entry takes the one
concept of the named value set.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ..knowledge import Knowledge
from ..ruleset import Ruleset, RulesetError
from ..yamlfile import safe_load

AnswerType = Literal["boolean", "choice", "quantity", "date"]
FOLDER = "questionnaires"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Unit(_Data):
    """A UCUM unit: the quantity's `system`/`code`, shown as `display`."""

    code: str
    display: str | None = None


class Records(_Data):
    """What a completed answer adds to the record: an entry coded with the one concept of a
    value set. `observation`: an Observation whose value is the answer (choice, quantity);
    `condition`: an active Condition when the answer is yes (boolean)."""

    observation: str | None = None
    condition: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "Records":
        if (self.observation is None) == (self.condition is None):
            raise ValueError("give exactly one of observation and condition")
        return self

    @property
    def valueset(self) -> str:
        return self.observation or self.condition or ""


class ItemSpec(_Data):
    id: str
    type: AnswerType = "boolean"
    # Said after the criterion's text: what exactly to answer (e.g. "Most recent NYHA class").
    question: str | None = None
    # choice: the value sets whose concepts are the answer options.
    options: list[str] = []
    unit: Unit | None = None
    records: Records | None = None
    sources: list[str]

    @model_validator(mode="after")
    def _fits(self) -> "ItemSpec":
        if (self.type == "choice") != bool(self.options):
            raise ValueError("options are given for a choice item, and only for one")
        if (self.type == "quantity") != (self.unit is not None):
            raise ValueError("a unit is given for a quantity item, and only for one")
        if self.records is not None:
            if self.records.condition is not None and self.type != "boolean":
                raise ValueError("a condition is recorded from a yes/no answer only")
            if self.records.observation is not None and self.type not in ("choice", "quantity"):
                raise ValueError("an observation is recorded from a choice or a quantity only")
        return self


class QuestionnaireData(_Data):
    therapy: str
    items: list[ItemSpec]


class Item(BaseModel):
    """One question of a therapy's Questionnaire."""

    model_config = ConfigDict(frozen=True)

    link_id: str             # the criterion's or documentation item's id
    kind: Literal["criterion", "documentation"]
    text: str
    type: AnswerType
    options: tuple[str, ...] = ()
    unit: Unit | None = None
    records: Records | None = None


def items(knowledge: Knowledge, therapy: str) -> list[Item]:
    """The therapy's items, criteria first (in ruleset order), then documentation items."""
    return list(_items(knowledge, therapy))


@lru_cache(maxsize=64)
def _items(knowledge: Knowledge, therapy: str) -> tuple[Item, ...]:
    ruleset = knowledge.rulesets[therapy]
    specs = {s.id: s for s in load_data(knowledge, ruleset).items}
    found: list[Item] = []
    for kind, entries in (("criterion", ruleset.criteria), ("documentation", ruleset.documentation)):
        for entry in entries:
            text = " ".join(entry.text.split())
            spec = specs.get(entry.id)
            if spec is None:
                found.append(Item(link_id=entry.id, kind=kind, text=text, type="boolean"))  # type: ignore[arg-type]
                continue
            if spec.question:
                text = f"{text} {spec.question}"
            found.append(Item(link_id=entry.id, kind=kind, text=text, type=spec.type,  # type: ignore[arg-type]
                              options=tuple(spec.options), unit=spec.unit, records=spec.records))
    return tuple(found)


def data_file(knowledge: Knowledge, therapy: str) -> Path:
    return knowledge.folder / FOLDER / f"{therapy}.yaml"


def load_data(knowledge: Knowledge, ruleset: Ruleset) -> QuestionnaireData:
    """The therapy's questionnaire data, checked against its ruleset and the value sets; none
    (every item yes/no, recording nothing) when the file is absent."""
    path = data_file(knowledge, ruleset.therapy)
    if not path.is_file():
        return QuestionnaireData(therapy=ruleset.therapy, items=[])
    try:
        data = QuestionnaireData.model_validate(safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise RulesetError(f"{path}: {exc}") from None
    problems = _problems(knowledge, ruleset, data)
    if problems:
        raise RulesetError(f"{path}: " + "; ".join(problems))
    return data


def _problems(knowledge: Knowledge, ruleset: Ruleset, data: QuestionnaireData) -> list[str]:
    problems = [] if data.therapy == ruleset.therapy else [f"therapy {data.therapy} is not {ruleset.therapy}"]
    known = {c.id for c in ruleset.criteria} | {d.id for d in ruleset.documentation}
    seen: set[str] = set()
    for spec in data.items:
        if spec.id not in known:
            problems.append(f"{spec.id} is no criterion or documentation item of {ruleset.therapy}")
        if spec.id in seen:
            problems.append(f"{spec.id} is given twice")
        seen.add(spec.id)
        problems += [f"{spec.id}: source {s!r} is not listed under the ruleset's sources"
                     for s in spec.sources if s not in ruleset.sources]
        for valueset in [*spec.options, *([spec.records.valueset] if spec.records else [])]:
            info = knowledge.valuesets.by_id.get(valueset)
            if info is None:
                problems.append(f"{spec.id}: unknown value set {valueset}")
            elif not info.concepts:
                problems.append(f"{spec.id}: value set {valueset} lists no concept to answer or record with")
        if spec.records is not None:
            info = knowledge.valuesets.by_id.get(spec.records.valueset)
            if info is not None and len(info.concepts) != 1:
                # The entry is coded with the value set's concept: with several, which one
                # would be a choice made here, not in the data.
                problems.append(f"{spec.id}: records value set {spec.records.valueset} must hold exactly one concept")
    return problems
