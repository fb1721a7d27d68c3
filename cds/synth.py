"""Synthetic FHIR R4 patients of realistic shape, for benchmarks and batch tests.

Each patient follows a scenario of fixtures/synth/scenarios.yaml (patient n: scenario n mod
count), so a corpus has a known share in each status and claim verdict, and is padded to the
asked size with the Encounters, Observations and Conditions real records carry that the rules do
not read. Patient n (id synth-<n>) depends only on the seed and n, so a corpus started at another
number holds the same patients under the same ids. No real person is behind any of them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from . import cases
from .knowledge import Knowledge
from .terminology import icd10cm
from .terminology.valuesets import HCPCS_BLUE_BUTTON, RXNORM, SNOMED
from .yamlfile import safe_load

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "synth" / "scenarios.yaml"
AS_OF = dt.date(2026, 11, 22)
LOINC = "http://loinc.org"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
SYSTEMS = {"icd-10-cm": icd10cm.SYSTEM, "snomed": SNOMED}
Resource = dict[str, Any]


class Coded(BaseModel):
    system: str = "snomed"
    code: str
    display: str


class Measure(BaseModel):
    code: str
    display: str
    unit: str
    low: float
    high: float


class Filler(BaseModel):
    observations: list[Measure]
    encounters: list[Coded]
    conditions: list[Coded]


class Medication(BaseModel):
    text: str
    route: str | None = None
    status: str
    start: int
    days: int | None = None
    rate: bool = False
    every_hours: int | None = None


class Claim(BaseModel):
    code: str
    days_before: int
    eob: bool = False


class Scenario(BaseModel):
    id: str
    # Therapy -> status; a scenario drawn from a test case names only the therapies it expects.
    expect: dict[str, str]
    age: tuple[int, int] | None = None
    conditions: list[Coded] = []
    medications: list[Medication] = []
    claims: list[Claim] = []
    # A test case of fixtures/cases whose record this scenario's patients carry.
    case: str | None = None


class Scenarios(BaseModel):
    filler: Filler
    scenarios: list[Scenario]

    @classmethod
    def load(cls, path: Path = SCENARIOS, *, with_cases: bool = True, as_of: dt.date = AS_OF) -> "Scenarios":
        """The scenarios of the file, then (with_cases) one per ruleset and status drawn from
        the test cases (fixtures/cases), so that a corpus exercises every ruleset."""
        loaded = cls.model_validate(safe_load(path.read_text(encoding="utf-8")))
        if with_cases:
            loaded.scenarios += case_scenarios(as_of)
        return loaded


def case_scenarios(as_of: dt.date = AS_OF) -> list[Scenario]:
    """For every ruleset and status, the first test case (by name) that expects it on as_of."""
    if not cases.DEFAULT_FOLDER.is_dir():
        return []
    found: dict[tuple[str, str], Scenario] = {}
    for name, case in sorted(_cases().items()):
        block = case.expect.get(case.ruleset, {})
        status = block.get("status")
        if case.as_of != as_of or case.known_gap or not isinstance(status, str):
            continue
        found.setdefault((case.ruleset, status), Scenario(id=f"case:{name}", expect={case.ruleset: status},
                                                         case=name))
    return list(found.values())


class _Writer:
    """Builds one patient's resources; ids are unique within the corpus."""

    def __init__(self, n: int, as_of: dt.date, rng: random.Random, codes: dict[str, str],
                 routes: dict[str, str]) -> None:
        self.id = f"synth-{n:06d}"
        self.ref = f"Patient/{self.id}"
        self.as_of = as_of
        self.rng = rng
        self.codes = codes
        self.routes = routes
        self.resources: list[Resource] = []

    def day(self, days_before: int) -> str:
        return (self.as_of - dt.timedelta(days=days_before)).isoformat()

    def add(self, kind: str, body: Resource) -> Resource:
        resource = {"resourceType": kind, "id": f"{self.id}-{kind.lower()}-{len(self.resources)}", **body}
        self.resources.append(resource)
        return resource

    def patient(self, age: tuple[int, int] | None) -> None:
        body: Resource = {"gender": self.rng.choice(["female", "male"])}
        if age is not None:
            born = self.as_of.year - self.rng.randint(*age)
            body["birthDate"] = dt.date(born, self.rng.randint(1, 12), self.rng.randint(1, 28)).isoformat()
        self.resources.append({"resourceType": "Patient", "id": self.id, **body})

    def condition(self, coded: Coded, onset: int) -> None:
        self.add("Condition", {
            "clinicalStatus": {"coding": [{"system": CLINICAL_STATUS, "code": "active"}]},
            "code": {"coding": [{"system": SYSTEMS[coded.system], "code": coded.code, "display": coded.display}],
                     "text": coded.display},
            "subject": {"reference": self.ref}, "onsetDateTime": self.day(onset),
        })

    def medication(self, med: Medication) -> None:
        concept: Resource = {"text": med.text}
        code = self.codes.get(med.text.lower())
        if code:
            concept["coding"] = [{"system": RXNORM, "code": code, "display": med.text}]
        dosage: Resource = {}
        if med.route:
            dosage["route"] = {"coding": [{"system": SNOMED, "code": self.routes[med.route]}], "text": med.route}
        if med.rate:
            dosage["doseAndRate"] = [{"rateQuantity": {"value": 2, "unit": "mg/h"}}]
        if med.every_hours:
            dosage["timing"] = {"repeat": {"frequency": 1, "period": med.every_hours, "periodUnit": "h"}}
        body: Resource = {"status": med.status, "intent": "order", "medicationCodeableConcept": concept,
                          "subject": {"reference": self.ref}, "authoredOn": self.day(med.start)}
        if dosage:
            body["dosageInstruction"] = [dosage]
        if med.days is not None:
            body["dispenseRequest"] = {"validityPeriod": {"start": self.day(med.start),
                                                          "end": self.day(med.start - med.days)}}
        self.add("MedicationRequest", body)

    def claim(self, claim: Claim) -> None:
        item: Resource = {"sequence": 1, "productOrService": {"coding": [{"system": HCPCS_BLUE_BUTTON, "code": claim.code}]}}
        kind = "ExplanationOfBenefit" if claim.eob else "Claim"
        if claim.eob:
            item["servicedPeriod"] = {"start": self.day(claim.days_before), "end": self.day(claim.days_before - 30)}
        else:
            item["servicedDate"] = self.day(claim.days_before)
        body: Resource = {"status": "active", "use": "claim", "patient": {"reference": self.ref},
                          "created": self.day(claim.days_before - 31), "item": [item]}
        if claim.eob:
            body["outcome"] = "complete"
        self.add(kind, body)

    def pad(self, filler: Filler, size: int) -> None:
        """Encounters with their Observations, and some unrelated Conditions, up to size resources."""
        encounter: Resource | None = None
        while len(self.resources) < size:
            days = self.rng.randint(1, 3650)
            left = size - len(self.resources)
            if encounter is None or self.rng.random() < 0.15:
                kind = self.rng.choice(filler.encounters)
                encounter = self.add("Encounter", {
                    "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                    "code": "AMB"},
                    "type": [{"coding": [{"system": SNOMED, "code": kind.code, "display": kind.display}],
                              "text": kind.display}],
                    "subject": {"reference": self.ref},
                    "period": {"start": f"{self.day(days)}T09:00:00+00:00", "end": f"{self.day(days)}T09:30:00+00:00"},
                })
            elif left > 1 and self.rng.random() < 0.05:
                self.condition(self.rng.choice(filler.conditions), days)
            else:
                measure = self.rng.choice(filler.observations)
                self.add("Observation", {
                    "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                              "code": "vital-signs"}]}],
                    "code": {"coding": [{"system": LOINC, "code": measure.code, "display": measure.display}],
                             "text": measure.display},
                    "subject": {"reference": self.ref}, "encounter": {"reference": f"Encounter/{encounter['id']}"},
                    "effectiveDateTime": f"{self.day(days)}T09:10:00+00:00",
                    "valueQuantity": {"value": round(self.rng.uniform(measure.low, measure.high), 1),
                                      "unit": measure.unit, "system": "http://unitsofmeasure.org", "code": measure.unit},
                })


def generate(patients: int, knowledge: Knowledge, *, size: int = 50, seed: int = 1, as_of: dt.date | None = None,
             scenarios: Scenarios | None = None, start: int = 0) -> Iterator[tuple[Scenario, list[Resource]]]:
    """(scenario, resources) for patients start .. start + patients - 1; the same seed gives the
    same corpus, and the same patient whatever the start."""
    day = as_of or AS_OF
    chosen = scenarios or Scenarios.load(as_of=day)
    loaded = knowledge
    codes = _drug_codes(loaded)
    routes = {name: code for code, name in loaded.terminology.routes.snomed.items()}
    for n in range(start, start + patients):
        scenario = chosen.scenarios[n % len(chosen.scenarios)]
        rng = random.Random(f"{seed}/{n}")
        writer = _Writer(n, day, rng, codes, routes)
        if scenario.case is not None:
            writer.resources.extend(_case_record(scenario.case, writer.id, routes))
            writer.pad(chosen.filler, size)
            yield scenario, writer.resources
            continue
        writer.patient(scenario.age)
        for coded in scenario.conditions:
            writer.condition(coded, rng.randint(30, 900))
        for med in scenario.medications:
            writer.medication(med)
        for claim in scenario.claims:
            writer.claim(claim)
        writer.pad(chosen.filler, size)
        yield scenario, writer.resources


def write(folder: Path, patients: int, knowledge: Knowledge, *, size: int = 50, seed: int = 1, fmt: str = "bundle",
          as_of: dt.date | None = None, start: int = 0) -> dict[str, int]:
    """Write a corpus (patients numbered from start): one Bundle per patient, named by the
    patient's id, or a Bulk Data export (one <Type>.ndjson per resource type).

    Returns how many patients follow each scenario.
    """
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    by_type: dict[str, list[bytes]] = {}
    for scenario, resources in generate(patients, knowledge, size=size, seed=seed, as_of=as_of, start=start):
        counts[scenario.id] = counts.get(scenario.id, 0) + 1
        if fmt == "ndjson":
            for resource in resources:
                by_type.setdefault(resource["resourceType"], []).append(orjson.dumps(resource))
        else:
            bundle = {"resourceType": "Bundle", "type": "collection",
                      "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}
            (folder / f"{resources[0]['id']}.json").write_bytes(orjson.dumps(bundle))
    for kind, lines in sorted(by_type.items()):
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return counts


@lru_cache(maxsize=1)
def _cases() -> dict[str, cases.Case]:
    return cases.load()


def _case_record(name: str, patient_id: str, routes: dict[str, str]) -> list[Resource]:
    """A test case's resources, renamed for one synthetic patient (ids stay unique)."""
    case = _cases()[name]
    entries = cases.build(case, routes)["entry"]
    text = orjson.dumps([e["resource"] for e in entries]).decode()
    # The case's references are its fullUrls; the corpus's are Type/id.
    for entry in entries:
        resource = entry["resource"]
        text = text.replace(f'"{entry["fullUrl"]}"', f'"{resource["resourceType"]}/{resource["id"]}"')
    return list(orjson.loads(text.replace(case.slug, patient_id)))


def _drug_codes(loaded: Knowledge) -> dict[str, str]:
    """RxNorm codes of our drug value sets by lower-cased name, to code the scenario drugs."""
    codes: dict[str, str] = {}
    for info in loaded.valuesets.by_id.values():
        for system, code, display in info.concepts:
            if system == RXNORM and display:
                codes.setdefault(display.lower(), code)
    return codes
