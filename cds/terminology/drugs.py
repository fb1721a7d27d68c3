"""Classify a medication by ingredient and route, from rulesets/terminology.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .results import ResultWords
from .units import Units
from .valuesets import RXNORM, SNOMED, ValueSets
from ..yamlfile import safe_load

RouteClass = Literal["non-invasive", "parenteral", "other", "unknown"]
_WORD = re.compile(r"[a-z]+")
# A strength stated next to an ingredient name: "dextrose 5%", "5% dextrose", "dextrose 50 MG/ML"
# (mg/mL read as % w/v: 10 mg/mL = 1 %).
_NUMBER = r"(\d+(?:\.\d+)?)"
# A product volume in a drug's name ("1000 ML sodium chloride 9 MG/ML Injection"): a number of
# mL or L that is not the numerator of a concentration (mg/mL, meq/mL).
_BRACKETED = re.compile(r"\[[^\]]*\]")
_PACK = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(ml|l)\b(?!\s*/)")
# A mass per unit in a drug's name ("furosemide 40 MG Oral Tablet"): mg or g that is not the
# numerator of a concentration (10 MG/ML).
_UNIT_MASS = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(mg|g)\b(?!\s*/)")
# A strength in units per mL in a drug's name, RxNorm style ("40 UNT/ML", "25000 UNT / 250 ML",
# "5,000 units/mL"): the units over the volume they are in (criteria README "Strength, volume
# and dose").
_UNITS_PER_ML = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:unt|units?|iu)\s*/\s*(\d+(?:\.\d+)?)?\s*ml\b")


class DrugClass(BaseModel):
    model_config = ConfigDict(extra="forbid")
    valuesets: list[str] = []
    # RxNorm codes a page lists as verified (clinical drugs of this class).
    rxnorm: list[str] = []
    # Names found as words or phrases (case-insensitive) in a drug's display or text.
    ingredients: list[str] = []
    brands: list[str] = []
    # A combination product named by its ingredients: every one must be named in the text
    # ("hydralazine ... / isosorbide dinitrate ..."); ingredient terms name it "a with b".
    combinations: list[list[str]] = []
    # The routes the product's label allows (route names of `routes`): an order naming no route
    # is read by them (criteria README "No route given, several labelled routes").
    labelled_routes: list[str] = []
    sources: list[str]

    def names(self) -> list[str]:
        return [*self.ingredients, *self.brands, *(combination_name(c) for c in self.combinations)]


class ClassPrecedence(BaseModel):
    """Classes a drug holds at most one of, the most specific first (terminology.yaml)."""

    model_config = ConfigDict(extra="forbid")
    classes: list[str]
    sources: list[str]


class Routes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snomed: dict[str, str]
    words: dict[str, str]
    classes: dict[str, RouteClass]
    sources: list[str]


class Timing(BaseModel):
    """How an order's timing is read (terminology.yaml `timing`)."""

    model_config = ConfigDict(extra="forbid")
    # Words of the dosage text or timing code saying the order is continuous.
    continuous: list[str] = []
    # TimingAbbreviation code -> hours between doses.
    interval_codes: dict[str, float] = {}
    # A course bounded to this many days or fewer is a short course (criteria README "Regimen
    # from timing"); None: no order is read as a short course.
    short_course_days: float | None = None
    # TimingAbbreviation code -> administrations a day (a request's doses a day, when its
    # timing.repeat states no frequency and period).
    per_day_codes: dict[str, float] = {}
    # Doses with meals: timing.repeat.when events or words of the dosage text or timing code, and
    # the administrations a day they count (a page's curated reading).
    meal_events: list[str] = []
    meal_words: list[str] = []
    meal_doses: float | None = None
    # Timing codes (code or text) meaning a single dose (cds/facts.py `single_dose`).
    once_codes: list[str] = []
    # Words of the dosage text or timing code naming a pump or an infusion: such an order is an
    # infusion, not an injection (criteria README "Injection or infusion").
    infusion: list[str] = []
    # Routes by which a dose with a frequency and no rate is an injection (subcutaneous).
    injection_routes: list[str] = []
    sources: list[str] = []


class DosePerKg(BaseModel):
    """How an order's dose per kg is read (terminology.yaml `dose_per_kg`; criteria README
    "Strength, volume and dose": the dose / the most recent weight within N days)."""

    model_config = ConfigDict(extra="forbid")
    # Value sets of the body-weight observations read, their values converted to kg.
    weight: list[str]
    within_days: int
    sources: list[str] = []


class WeekCodes(BaseModel):
    """Condition codes that state the weeks of gestation: `prefix` plus the weeks in two digits,
    except the codes of `ranges` (code -> [at least, under] weeks, either null: open; the code
    itself null: it tells none)."""

    model_config = ConfigDict(extra="forbid")
    prefix: str
    ranges: dict[str, tuple[float | None, float | None] | None] = {}


class GestationalAge(BaseModel):
    """How gestational age at the as-of date is read (criteria README "Pregnancy context")."""

    model_config = ConfigDict(extra="forbid")
    # A source dated more than this many days before the as-of date is not read.
    within_days: int
    # A projection of this many weeks or more belongs to an earlier pregnancy: not used.
    over_weeks: float
    week_codes: WeekCodes
    # The unit observations are compared in (weeks); others are converted with `units`.
    unit: str


class Pregnancy(BaseModel):
    """The pregnancy context (terminology.yaml `pregnancy`): windows, the pregnancy-status
    observation and its answers, the codes that end a pregnancy, and gestational age."""

    model_config = ConfigDict(extra="forbid")
    condition_days: int
    observation_days: int
    status_observations: list[str]
    pregnant_answers: list[str]
    # The result in words (criteria README "Results in words"): a phrase of `pregnant_words` and
    # none of `not_pregnant_words` ("Not pregnant" holds "pregnant" too).
    pregnant_words: list[str] = []
    not_pregnant_words: list[str] = []
    ended_by: list[str]
    gestational_age: GestationalAge
    sources: list[str] = []


class Terminology(BaseModel):
    """The schema of rulesets/terminology.yaml."""

    model_config = ConfigDict(extra="forbid")
    version: str
    sources: dict[str, str]
    drug_classes: dict[str, DrugClass]
    class_precedence: list[ClassPrecedence] = []
    non_invasive_only_ingredients: list[str]
    routes: Routes
    dose_forms: dict[str, str]
    units: Units
    timing: Timing = Timing()
    # None: no order has a dose per kg unless its dose is written per kg.
    dose_per_kg: DosePerKg | None = None
    result_words: ResultWords = ResultWords()
    pregnancy: Pregnancy | None = None
    # Words of a drug's name that name no active ingredient (units, containers, vehicles,
    # "in", "with"): with the words of dose forms and route words they are what a name may hold
    # besides its ingredients when a routing claim asks that every ingredient be of some classes.
    name_words: list[str] = []

    def names(self) -> set[str]:
        """Every ingredient and brand name a condition or routing block may name."""
        return {n for c in self.drug_classes.values() for n in c.names()}

    @classmethod
    def load(cls, path: Path) -> "Terminology":
        return cls.model_validate(safe_load(path.read_text(encoding="utf-8")))


class Coding(BaseModel):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class Drug(BaseModel):
    """What the rules need to know about a drug."""

    name: str
    classes: list[str]
    ingredients: list[str]
    route: str | None
    route_class: RouteClass
    # Words of the name that are neither an ingredient or brand the terminology knows nor a
    # unit, dose form or vehicle word: an active ingredient no class names (routing
    # `only_classes`).
    other_words: list[str] = []
    # Ingredient name -> strength in % stated in the name (routing `percent_at_most`).
    strengths: dict[str, float] = {}
    # The product volume stated in the name, in mL ("1000 ML ... Injection").
    pack_ml: float | None = None
    # The mass one tablet or capsule holds, in mg, when the name states one ("40 MG Oral Tablet").
    unit_mg: float | None = None
    # The strength in units per mL stated in the name ("100 UNT/ML", "25000 UNT / 250 ML").
    units_per_ml: float | None = None
    # The route as the label reads it (`label_route`); None: neither the order nor a label tells.
    label_route: str | None = None


# A stated route the product's label does not allow.
OFF_LABEL = "off-label"


def label_route(stated: str | None, form_route: str | None, labelled: set[str]) -> str | None:
    """The route of an order read with its product's label (criteria README "No route given,
    several labelled routes"): a stated route the label allows (or any, when no label is known),
    `OFF_LABEL` for one it does not; with no route stated, the labelled routes joined by "+"
    (one route: that route), else the route of the dose form."""
    if stated is not None:
        return OFF_LABEL if labelled and stated not in labelled else stated
    return "+".join(sorted(labelled)) if labelled else form_route


def combination_name(ingredients: list[str]) -> str:
    return " with ".join(ingredients)


def _fold(name: str) -> str:
    """A name as words ("lactated Ringer's" -> "lactated ringer s"), as the text is read."""
    return " ".join(_WORD.findall(name.lower()))


def _strength(name: str, text: str) -> float | None:
    """The highest strength in % stated next to a name in a drug's name, if any."""
    words = r"[^a-z0-9]+".join(re.escape(w) for w in _fold(name).split())
    found: list[float] = []
    for match in re.finditer(rf"\b{words}\b[^a-z0-9]*{_NUMBER}\s*(%|mg\s*/\s*ml)", text):
        value = float(match.group(1))
        found.append(value if match.group(2) == "%" else value / 10)
    for match in re.finditer(rf"{_NUMBER}\s*%[^a-z0-9]*{words}\b", text):
        found.append(float(match.group(1)))
    return max(found) if found else None


def _unit_mg(names: list[str]) -> float | None:
    """The one mass per unit a drug's name states, in mg (None: none, or several: a combination)."""
    masses = {float(m.group(1)) * (1000 if m.group(2) == "g" else 1)
              for name in names for m in _UNIT_MASS.finditer(name.lower())}
    return masses.pop() if len(masses) == 1 else None
def _units_per_ml(names: list[str]) -> float | None:
    """The one strength in units per mL a drug's name states (None: none, or several)."""
    found = {round(float(m.group(1).replace(",", "")) / float(m.group(2) or 1), 6)
             for name in names for m in _UNITS_PER_ML.finditer(name.lower())}
    return found.pop() if len(found) == 1 else None


def _pack_ml(names: list[str]) -> float | None:
    """The one product volume a drug's name states, in mL (None: none, or several)."""
    volumes = {float(m.group(1)) * (1000 if m.group(2) == "l" else 1)
               for name in names for m in _PACK.finditer(name.lower())}
    return volumes.pop() if len(volumes) == 1 else None


class DrugClassifier:
    def __init__(self, terminology: Terminology, valuesets: ValueSets) -> None:
        self.terminology = terminology
        self.valuesets = valuesets
        for name, drug_class in terminology.drug_classes.items():
            valuesets.require(drug_class.valuesets, f"terminology.yaml drug_classes.{name}")
        for n, group in enumerate(terminology.class_precedence):
            unknown_classes = [c for c in group.classes if c not in terminology.drug_classes]
            if unknown_classes:
                raise ValueError(f"terminology.yaml class_precedence[{n}]: unknown classes {unknown_classes}")
        # Longest first, so "Extended Release Oral Tablet" wins over "Oral Tablet".
        self._dose_forms = sorted(
            ((form.lower(), route) for form, route in terminology.dose_forms.items()),
            key=lambda item: -len(item[0]),
        )
        unknown = {r for r in terminology.dose_forms.values()} - set(terminology.routes.classes)
        unknown |= {r for c in terminology.drug_classes.values() for r in c.labelled_routes} - set(terminology.routes.classes)
        if unknown:
            raise ValueError(f"terminology.yaml: dose forms or labelled routes name routes with no class: {sorted(unknown)}")
        self._plain_words = {w for text in [*terminology.name_words, *terminology.dose_forms,
                                            *terminology.routes.words] for w in _WORD.findall(text.lower())}
        # Ingredient and brand names by their words: a drug's name is then looked up by its runs of
        # words, not tested against every name of every class (hundreds, and a record has many drugs).
        self._names: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for class_name, drug_class in terminology.drug_classes.items():
            for name in [*drug_class.ingredients, *drug_class.brands]:
                if words := tuple(_fold(name).split()):
                    self._names.setdefault(words, []).append((class_name, name))
        self._longest = max(
            (len(w) for w in [*self._names, *(tuple(_fold(n).split()) for c in terminology.drug_classes.values()
                                               for combo in c.combinations for n in combo)]), default=1)

    def classify(
        self, codings: list[Coding], text: str | None, route: list[Coding], route_text: str | None
    ) -> Drug:
        names: list[str] = []
        memberships: set[str] = set()
        for coding in codings:
            if coding.system == RXNORM and coding.code:
                memberships |= self.valuesets.memberships(RXNORM, coding.code)
                ours = self.valuesets.display(RXNORM, coding.code)
                if ours:
                    names.append(ours)
            if coding.display:
                names.append(coding.display)
        if text:
            names.append(text)
        words = {w for name in names for w in _WORD.findall(name.lower())}
        tokens = _WORD.findall(" ".join(names).lower())
        # Every run of words the name holds: a name is found when its words are one of them.
        runs = {tuple(tokens[start:end]) for start in range(len(tokens))
                for end in range(start + 1, min(start + self._longest, len(tokens)) + 1)}
        named: dict[str, set[str]] = {}
        for run in runs:
            for class_name, name in self._names.get(run, ()):
                named.setdefault(class_name, set()).add(name)
        codes = {c.code for c in codings if c.system == RXNORM and c.code}
        ingredients: set[str] = set()
        classes: set[str] = set()
        for class_name, drug_class in self.terminology.drug_classes.items():
            found = named.get(class_name, set())
            found |= {combination_name(c) for c in drug_class.combinations
                      if all(tuple(_fold(n).split()) in runs for n in c)}
            ingredients |= found
            if found or memberships.intersection(drug_class.valuesets) or codes.intersection(drug_class.rxnorm):
                classes.add(class_name)
        classes = self._precede(classes, named)
        explained = {w for n in ingredients for w in _fold(n).split()}
        # A bracketed brand ends an RxNorm branded drug name after its ingredients ("... Injection
        # [Plasma-Lyte A]"): it names no further ingredient. Single letters are what an apostrophe
        # or an abbreviation leaves ("Ringer's", "D5W").
        unbracketed = {w for name in names for w in _WORD.findall(_BRACKETED.sub(" ", name.lower()))}
        other_words = sorted(w for w in unbracketed - explained - self._plain_words if len(w) > 1)
        raw = " ".join(names).lower()
        strengths = {n: value for n in ingredients if (value := _strength(n, raw)) is not None}
        stated = self._route(route, route_text)
        route_name = stated or self._dose_form(names)
        # A drug in several labelled classes is allowed only what every one of them allows.
        labels = [set(self.terminology.drug_classes[c].labelled_routes) for c in sorted(classes)]
        labelled = set.intersection(*[l for l in labels if l]) if any(labels) else set()
        if route_name is not None:
            route_class: RouteClass = self.terminology.routes.classes.get(route_name, "unknown")
        elif words.intersection(self.terminology.non_invasive_only_ingredients):
            route_class = "non-invasive"
        else:
            route_class = "unknown"
        return Drug(
            name=names[0] if names else "unnamed medication",
            classes=sorted(classes),
            ingredients=sorted(ingredients),
            route=route_name,
            route_class=route_class,
            other_words=other_words,
            strengths=strengths,
            pack_ml=_pack_ml(names),
            unit_mg=_unit_mg(names),
            units_per_ml=_units_per_ml(names),
            label_route=label_route(stated, route_name, labelled),
        )

    def _precede(self, classes: set[str], named: dict[str, set[str]]) -> set[str]:
        """One class of each precedence group: the first whose brand the name holds, else the first
        whose name it holds. Why: a product's generic name often holds a less specific one ("factor
        VIII inhibitor bypassing" holds "factor VIII"), and a brand names exactly one product."""
        for group in self.terminology.class_precedence:
            held = [c for c in group.classes if c in classes]
            if len(held) < 2:
                continue
            branded = [c for c in held if named.get(c, set()) & set(self.terminology.drug_classes[c].brands)]
            classes = classes - set(held) | {(branded or held)[0]}
        return classes

    def _route(self, codings: list[Coding], text: str | None) -> str | None:
        for coding in codings:
            if coding.system == SNOMED and coding.code in self.terminology.routes.snomed:
                return self.terminology.routes.snomed[coding.code]
        labels = [c.display for c in codings if c.display] + ([text] if text else [])
        for label in labels:
            lowered = label.lower().strip()
            for word, route_name in self.terminology.routes.words.items():
                if re.search(rf"\b{re.escape(word)}\b", lowered):
                    return route_name
        return None

    def _dose_form(self, names: list[str]) -> str | None:
        for name in names:
            lowered = name.lower()
            for form, route_name in self._dose_forms:
                if form in lowered:
                    return route_name
        return None
