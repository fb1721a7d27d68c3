"""The schema of a ruleset file (rulesets/<therapy>.yaml) and its loading.

A ruleset's version is its declared version plus the sha256 of its bytes, so two files that
differ in any way never share a version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .yamlfile import SafeLoader

Result = Literal["met", "not-met", "unknown", "not-applicable"]
Kind = Literal["indication", "eligibility"]
Severity = Literal["warning", "info"]
Condition = dict[str, Any]


class RulesetError(Exception):
    """A ruleset file that cannot be used: file, line and problem."""


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    line: int | None = Field(default=None, alias="__line__")


class Branch(_Item):
    """One way a criterion can come out; the first branch whose condition holds wins."""

    result: Result
    category: str | None = None
    reason: str
    when: Condition


class Otherwise(_Item):
    result: Result
    reason: str


class Criterion(_Item):
    id: str
    kind: Kind
    required: bool = True
    text: str
    # What the branches do not say (a reason, a curated choice, a source): the catalog shows it
    # beside the branches in words, which are generated (a `logic` in prose would restate them).
    why: str | None = None
    sources: list[str]
    branches: list[Branch]
    otherwise: Otherwise

    @model_validator(mode="before")
    @classmethod
    def _no_logic(cls, data: Any) -> Any:
        if isinstance(data, dict) and "logic" in data:
            raise ValueError("`logic` is no longer written: the catalog words the branches; keep what they "
                             "do not say (a reason, a curated choice, a source) in `why`")
        return data


class Cite(_Item):
    """Record entries a finding names when it is reported, without deciding it (the
    latest trough of a drug level and its date, if any): their references join the finding's evidence and
    `reason` is filled from them; no match, no reason."""

    when: Condition
    reason: str


class Finding(_Item):
    id: str
    severity: Severity
    text: str
    sources: list[str]
    when: Condition
    # The same finding at info severity when `when` does not hold (a page giving one finding two
    # severities, e.g. a warning before a first course and information on a continuing one).
    info_when: Condition | None = None
    cites: Cite | None = None


class DocumentNote(_Item):
    """What the record suggests for a documentation item (a status on record pointing to one
    reading of the need): added to the item's text when its condition holds."""

    id: str
    note: str
    when: Condition


class Documentation(_Item):
    id: str
    text: str
    sources: list[str]
    # Absent: always listed.
    when: Condition | None = None
    notes: list[DocumentNote] = []


class Offer(_Item):
    reason: str
    # Absent: always offered.
    when: Condition | None = None


class Lead(_Item):
    """A claim on rank 1; among offered alternatives the lowest priority that holds wins."""

    priority: int
    when: Condition


class Tried(_Item):
    """The record shows the alternative was already tried and failed: it is ranked last."""

    reason: str
    when: Condition


class Alternative(_Item):
    id: str
    text: str
    sources: list[str]
    offered: list[Offer]
    lead: list[Lead] = []
    tried: list[Tried] = []


class Course(_Item):
    """A span of medication history the rules measure in days (e.g. an oral trial)."""

    id: str
    drug_class: str
    # Requests also in one of these classes are not part of the course (e.g. a hyperimmune
    # globulin, whose name says "immune globulin", in an immune globulin course).
    not_drug_classes: list[str] = []
    route_class: Literal["non-invasive", "parenteral", "unknown"]
    # Narrows the medication history (cds/facts.py HISTORY_STATUSES); absent: all of it.
    statuses: list[Literal["active", "on-hold", "completed", "stopped"]] = []
    sources: list[str]


class ProcedureOnRecord(_Item):
    """A completed Procedure in one of the value sets, within N days before the as-of date if given."""

    in_: list[str] = Field(alias="in", min_length=1)
    within_days: int | None = Field(default=None, ge=0)
    # ... and no later completed Procedure names one of these phrases (a removal).
    not_followed_by: list[str] = []


class RecordProcedures(_Item):
    """What the record's Procedures must show for a claim to hold: one of `any`, or (with
    `or_none_on_record`) no Procedure at all, since then nothing can be told (e.g. an implanted
    pump shown or not told)."""

    any: list[ProcedureOnRecord] = Field(min_length=1)
    or_none_on_record: bool = False


class Context(_Item):
    """A context an order is claimed in (criteria README "Context"): every key given holds."""

    # The order's reasonCode, or the Condition its reasonReference names, is coded in these sets.
    reasons: list[str] = []
    # The order states no reason (neither reasonCode nor reasonReference).
    no_reason: bool = False
    # The record holds an active condition coded in these sets, dated within `within_days` before
    # the as-of date when given (an undated one then does not count) and not followed by a
    # condition of `not_followed_by` (any clinical status) dated on or after it.
    conditions: list[str] = []
    within_days: int | None = Field(default=None, ge=0)
    not_followed_by: list[str] = []
    # The record holds no active condition coded in these sets.
    no_conditions: list[str] = []
    # The patient is pregnant at the as-of date, by these pregnancy codes (the `pregnancy` term).
    pregnancy: list[str] = []

    @property
    def valuesets(self) -> list[str]:
        return [*self.reasons, *self.conditions, *self.not_followed_by, *self.no_conditions, *self.pregnancy]

    @property
    def reads_record(self) -> bool:
        return bool(self.conditions or self.no_conditions or self.pregnancy)


class Claim(_Item):
    """Draft MedicationRequests a therapy claims: every key given must hold (lists: any of)."""

    classes: list[str] = []
    not_classes: list[str] = []
    ingredients: list[str] = []
    routes: list[str] = []
    route_classes: list[Literal["non-invasive", "parenteral", "other", "unknown"]] = []
    delivery: list[Literal["continuous", "intermittent", "unknown"]] = []
    # Injection or infusion (criteria README): an SC order with a rate and a repeat frequency is an
    # infusion that is not continuous (a page may claim it to leave its timing unknown).
    given_as: list[Literal["injection", "infusion", "unknown"]] = []
    # Every ingredient the name holds is of one of these classes: no ingredient of another
    # class, and no word that names no known ingredient, unit, dose form or vehicle.
    only_classes: list[str] = []
    # Ingredient name -> the highest strength in % (w/v) the name may state (none stated holds).
    percent_at_most: dict[str, float] = {}
    # The order is one dose (timing.repeat.count 1, a timing code of terminology.yaml
    # `timing.once_codes`, or no frequency, period or rate): true, or several doses: false.
    single_dose: bool | None = None
    # The largest dose of one administration in mg compared (lt, le, gt, ge): a pulse dose.
    dose_mg: dict[Literal["lt", "le", "gt", "ge"], float] = {}
    # The record's Procedures must show one of these (the order's place depends on the record).
    record_procedures: RecordProcedures | None = None
    # The product's strength in units per mL and its container volume in mL compare ({lt: 10});
    # one that cannot be read does not hold (criteria README "Strength, volume and dose").
    units_per_ml: dict[Literal["lt", "le", "gt", "ge", "eq"], float] = {}
    container_ml: dict[Literal["lt", "le", "gt", "ge", "eq"], float] = {}
    # The dosage text, the timing code, the route's or the method's text names a phrase.
    dosage_text: list[str] = []
    # Not claimed when one of these holds (each with all its keys): a heparin flush or lock.
    unless: list["Claim"] = []
    # Claimed only in one of these contexts (the order's reason, the record), and never in one of
    # `not_context` (criteria README "Context", "Drugs with two uses").
    context: list[Context] = []
    not_context: list[Context] = []
    # The names of `only_classes`, filled at load from the terminology (cds/knowledge.py).
    _only_names: set[str] = PrivateAttr(default_factory=set)

    @field_validator("percent_at_most", "dose_mg", "units_per_ml", "container_ml", mode="before")
    @classmethod
    def _no_line_marker(cls, value: Any) -> Any:
        return strip_lines(value)

    @property
    def only_names(self) -> set[str]:
        return self._only_names

    def bind_names(self, drug_classes: Mapping[str, Any]) -> None:
        """Fills `only_names` from the terminology's drug classes, once they are known (at load)."""
        self._only_names = {n for c in self.only_classes for n in drug_classes[c].names()}


class Served(_Item):
    """The orders an adjunct serves: claimed by one of `therapies` (none given: by any therapy but
    `not_therapies`) and, for a medication order, holding the drug keys given."""

    therapies: list[str] = []
    not_therapies: list[str] = []
    classes: list[str] = []
    ingredients: list[str] = []


class Adjunct(_Item):
    """One kind of adjunct: orders matching a claim of `order` (or claimed alone by one of
    `claimed_by`: a hydration bag) and none of `unless`, drafted with an order of `with`."""

    id: str
    text: str
    order: list[Claim] = []
    claimed_by: list[str] = []
    unless: list[Claim] = []
    # The orders it serves; in a ruleset's routing (a page naming more adjuncts of its own
    # orders), none given: this page's.
    with_: list[Served] = Field(default=[], alias="with")
    sources: list[str]


class Routing(_Item):
    """Which draft orders are this therapy's (a ServiceRequest coded with any of its billing
    codes always is, and one coded in `services`); ../shared/criteria/README.md "Which therapy an
    order belongs to"."""

    claims: list[Claim] = []
    # Value sets of procedure codes (SNOMED CT, CPT, ...) whose ServiceRequests are this therapy's
    # orders besides those coded with its billing codes (criteria README "ServiceRequest orders":
    # transfusion procedures).
    services: list[str] = []
    # Orders this page keeps as adjuncts of its own orders, besides the platform's list
    # (rulesets/routing.yaml; criteria README "Adjunct orders": a page may name more).
    adjuncts: list[Adjunct] = []
    # The criterion that judges the order (the README's one-card rule reads it).
    criterion: str
    sources: list[str]


class BillingCode(_Item):
    code: str
    when: Condition


class BillingNote(_Item):
    id: str
    note: str
    when: Condition


class Billing(_Item):
    # The family's general code: without an order, or when no entry of `codes` holds.
    code: str
    # Codes picked from the order: the first whose condition holds wins.
    codes: list[BillingCode] = []
    # The note added when `codes` exist, an order is evaluated and none of them holds.
    untold: str | None = None
    # Notes that depend on the order (e.g. what an SC order bills besides the per diem): each
    # is added, before `notes`, when an order is evaluated and its condition holds.
    order_notes: list[BillingNote] = []
    # Each order under evaluation is its own per diem (a page billing a second drug of its family
    # on the same day as a second per diem): its code is picked from `codes` alone, and it is billed as a concurrent per
    # diem (README: the second carries modifier SH, the third SJ).
    per_order: bool = False
    unit: str
    notes: list[str]
    sources: list[str]

    @property
    def all_codes(self) -> list[str]:
        return list(dict.fromkeys([self.code, *(c.code for c in self.codes)]))


class Ruleset(_Item):
    therapy: str
    title: str
    version: str
    summary: str
    sources: dict[str, str]
    routing: Routing
    courses: list[Course] = []
    criteria: list[Criterion]
    findings: list[Finding]
    documentation: list[Documentation]
    alternatives: list[Alternative]
    billing: Billing

    # Filled in at load.
    file: str = ""
    content_hash: str = ""

    @field_validator("sources", mode="before")
    @classmethod
    def _no_line_marker(cls, value: Any) -> Any:
        return strip_lines(value)

    @property
    def full_version(self) -> str:
        return f"{self.version}+sha256:{self.content_hash[:16]}"

    @property
    def short_title(self) -> str:
        """"continuous pain management infusion" from the title, for summaries and lists."""
        name = re.sub(r"^home infusion therapy,\s*", "", self.title, flags=re.IGNORECASE)
        name = re.sub(r",\s*per diem$", "", name, flags=re.IGNORECASE)
        return re.sub(r"\s*\([^)]*\)", "", name).strip() or self.title

    @property
    def indication(self) -> Criterion:
        return next(c for c in self.criteria if c.kind == "indication")

    @model_validator(mode="after")
    def _ids_and_sources(self) -> "Ruleset":
        ids = [c.id for c in self.criteria] + [f.id for f in self.findings] + [d.id for d in self.documentation]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate ids: {', '.join(duplicates)}")
        for item_id in ids:
            if not item_id.startswith(f"{self.therapy}."):
                raise ValueError(f"id {item_id} does not start with {self.therapy}.")
        if sum(c.kind == "indication" for c in self.criteria) != 1:
            raise ValueError("exactly one criterion must be of kind indication")
        cited = [s for group in (self.criteria, self.findings, self.documentation, self.alternatives,
                                 self.courses, [self.billing, self.routing], self.routing.adjuncts)
                 for item in group for s in item.sources]
        unknown = sorted(set(cited) - set(self.sources))
        if unknown:
            raise ValueError(f"sources cited but not listed under sources: {', '.join(unknown)}")
        return self


class _LineLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """Records the line of every mapping so errors can point at it (libyaml's nodes carry the
    same marks as PyYAML's)."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


_Model = TypeVar("_Model", bound=BaseModel)


def read_model(path: Path, data: bytes, model: type[_Model]) -> _Model:
    """A YAML file of the rulesets folder as its schema, a problem named by file and line."""
    try:
        raw = yaml.load(data, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RulesetError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RulesetError(f"{path}: " + "; ".join(_describe(raw, e) for e in exc.errors())) from exc


def load_ruleset(path: Path) -> Ruleset:
    data = path.read_bytes()
    ruleset = read_model(path, data, Ruleset)
    ruleset.file = path.name
    ruleset.content_hash = hashlib.sha256(data).hexdigest()
    return ruleset


def strip_lines(value: Any) -> Any:
    """A condition without the __line__ markers the loader adds."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def _describe(raw: Any, error: Any) -> str:
    node, line = raw, None
    for part in error["loc"]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and "__line__" in node:
            line = node["__line__"]
    where = ".".join(str(p) for p in error["loc"])
    return f"line {line}: {where}: {error['msg']}" if line else f"{where}: {error['msg']}"
