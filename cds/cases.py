"""Test cases as compact data: fixtures/cases/<ruleset>.yaml built into FHIR R4 Bundles.

A case file holds named cases (`<ruleset>.<criterion>/<label>`), each a record in compact form,
an as-of date and the expected assessments. `build` turns one case into a Bundle with
deterministic ids (`Patient/<slug>`, `Condition/<slug>-c1`, ...) so the bundles can be written
out (`cds fixtures build`), inspected and evaluated. The syntax is in fixtures/cases/README.md.
Clinical codes stay in the case files and rulesets/: route names map to codes through
rulesets/terminology.yaml.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .terminology.valuesets import HCPCS, RXNORM, SNOMED
from .yamlfile import SafeLoader

# The repository's cases; an installed package without them has none.
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "fixtures" / "cases"
UCUM = "http://unitsofmeasure.org"
SYSTEMS = {
    "icd10": "http://hl7.org/fhir/sid/icd-10-cm",
    "snomed": SNOMED,
    "loinc": "http://loinc.org",
    "cpt": "http://www.ama-assn.org/go/cpt",
    "rxnorm": RXNORM,
    "hcpcs": HCPCS,
    "cvx": "http://hl7.org/fhir/sid/cvx",
}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
MEDICATION_KEYS = {"drug", "rxnorm", "status", "intent", "route", "route_text", "authored", "start", "end",
                   "supply_days", "status_reason", "rate", "rate_ratio", "dose", "frequency", "period",
                   "duration", "timing_code", "reference", "contained", "as_needed", "bounds", "bounds_period",
                   "count", "dosages", "strength", "amount", "timing_abbr", "when", "dosage_text", "method",
                   "instruction", "reason", "reason_ref"}
# The keys of one dosage instruction (`dosages`: the instructions after the first).
DOSAGE_KEYS = {"route", "route_text", "rate", "rate_ratio", "dose", "frequency", "period", "duration", "timing_code",
               "as_needed", "bounds", "bounds_period", "timing_abbr", "when", "dosage_text", "method", "instruction",
               "count"}
# FHIR TimingAbbreviation codes (`timing_abbr: TID`).
TIMING_ABBREVIATION = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# FHIR ids are at most 64 characters; a case's resources add a suffix such as "-c12".
MAX_SLUG = 58
_NAME = re.compile(r"^[A-Za-z0-9.-]+/[a-z0-9.-]+$")
_QUANTITY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+(\S+)\s*$")
# A measured value may carry a comparator: "<1 %", ">= 200 mg/dL" (valueQuantity.comparator).
_COMPARATOR = re.compile(r"^\s*(<=|>=|<|>)\s*(.*)$")
_NAMESPACE = uuid.UUID("5b0ed0a4-6c1e-4b43-9d55-7f3c4e2d9a10")


class CaseError(ValueError):
    """A case file or case that cannot be built; the message names the case and the problem."""


@dataclass(frozen=True)
class Case:
    name: str                       # "<ruleset>.<criterion>/<label>": the pytest id
    ruleset: str                    # the case file's stem
    description: str
    as_of: dt.date
    record: dict[str, Any]          # the compact record keys of the case, defaults applied
    expect: dict[str, dict[str, Any]]
    known_gap: str | None = None
    file: Path | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)   # the line of the case's name in its file

    @property
    def slug(self) -> str:
        """The name as a FHIR id and file name: `/` becomes `--`."""
        return self.name.replace("/", "--")

    def expanded(self) -> dict[str, Any]:
        """The case as if written without defaults: what `cds fixtures show` prints."""
        body: dict[str, Any] = {"description": self.description, "as_of": self.as_of}
        if self.known_gap:
            body["known_gap"] = self.known_gap
        return {**body, **self.record, "expect": self.expect}


class _Defaults(BaseModel):
    """`defaults:` of a case file: what every case of the file starts from (fixtures/cases/README.md)."""

    model_config = ConfigDict(extra="forbid")
    as_of: dt.date | None = Field(default=None, strict=True)
    patient: Any = None
    conditions: Any = None
    medications: Any = None
    order: Any = None
    observations: Any = None
    procedures: Any = None
    immunizations: Any = None
    raw: Any = None
    expect: dict[str, dict[str, Any]] | None = None


class _Body(_Defaults):
    """One case with the defaults applied; the record keys are checked by the builder."""

    description: str = Field(min_length=1)
    as_of: dt.date = Field(strict=True)
    known_gap: str | None = None
    expect: dict[str, dict[str, Any]]


# What each field's error means to a case writer.
_EXPLAIN = {"description": "needs a description and an as_of date", "as_of": "needs a description and an as_of date",
            "expect": "`expect:` maps ruleset ids to expected assessments",
            "known_gap": "`known_gap:` is a text (why the engine disagrees with the spec)"}
CASE_KEYS = frozenset(_Body.model_fields)
RECORD_KEYS = CASE_KEYS - {"description", "as_of", "known_gap", "expect"}


def _problems(error: ValidationError, model: type[BaseModel] = _Body) -> str:
    unknown = sorted(str(e["loc"][0]) for e in error.errors() if e["type"] == "extra_forbidden")
    said = [f"unknown keys {unknown}; known: {sorted(model.model_fields)}"] if unknown else []
    for e in error.errors():
        field_name = str(e["loc"][0]) if e["loc"] else ""
        if e["type"] != "extra_forbidden":
            text = _EXPLAIN.get(field_name, f"{field_name}: {e['msg']}")
            said += [text] if text not in said else []
    return "; ".join(said)


def _read(path: Path) -> tuple[Any, dict[str, int]]:
    """The file's data and the line of each case name (and of `defaults:`), for errors."""
    loader = SafeLoader(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        raise CaseError(f"{path.name}: not YAML: {error}") from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[str(key.value)] = key.start_mark.line + 1
            if key.value == "cases" and isinstance(value, yaml.MappingNode):
                lines.update({f"cases/{k.value}": k.start_mark.line + 1 for k, _ in value.value})
    return data, lines


def load_file(path: Path) -> list[Case]:
    # The review page and the tests read every case file (cds/yamlfile.py: libyaml's loader).
    data, lines = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise CaseError(f"{path.name}: needs a mapping `cases:` of named cases")
    # `_name:` or `x-name:` keys hold YAML anchors the cases refer to; any other key is a slip.
    stray = sorted(str(k) for k in data if k not in {"cases", "defaults"} and not str(k).startswith(("_", "x-")))
    if stray:
        raise CaseError(f"{path.name} line {lines.get(stray[0])}: a case file holds `defaults:`, `cases:` and "
                        f"anchors under `_name:` or `x-name:`, not {stray}")
    defaults = data.get("defaults") or {}
    try:
        _Defaults.model_validate(defaults)
    except ValidationError as error:
        raise CaseError(f"{path.name} line {lines.get('defaults')}: defaults: {_problems(error, _Defaults)}") from None
    ruleset = path.name.removesuffix(".yaml")
    return [_case(ruleset, str(name), body, defaults, path, lines.get(f"cases/{name}"))
            for name, body in data["cases"].items()]


def _expand(defaults: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The case over the defaults: a key the case writes replaces the default's value, but
    `expect` merges (a mapping key by key, at every depth); a null (`~`) removes the default's key.
    The cases share the defaults' values, as YAML aliases share theirs: a case is read, not changed."""
    merged = dict(defaults)
    for key, value in body.items():
        if value is None:
            merged.pop(key, None)
        elif key == "expect":
            merged[key] = _merge(merged.get(key), value)
        else:
            merged[key] = value
    return merged


def _merge(base: Any, patch: Any) -> Any:
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(base.get(key), value)
    return merged


def _case(ruleset: str, name: str, body: Any, defaults: dict[str, Any], path: Path, line: int | None) -> Case:
    where = f"{path.name} line {line}: {name}"
    if not _NAME.match(name) or not name.startswith(f"{ruleset}."):
        raise CaseError(f"{where}: a case name is `{ruleset}.<criterion, finding, alternative or status>/<label>`")
    if len(name) > MAX_SLUG:
        raise CaseError(f"{where}: name longer than {MAX_SLUG} characters (FHIR ids are short)")
    if not isinstance(body, dict):
        raise CaseError(f"{where}: a case is a mapping")
    merged = _expand(defaults, body)
    try:
        case = _Body.model_validate(merged)
    except ValidationError as error:
        raise CaseError(f"{where}: {_problems(error)}") from None
    record = {k: v for k, v in merged.items() if k in RECORD_KEYS}
    return Case(name=name, ruleset=ruleset, description=" ".join(case.description.split()), as_of=case.as_of,
                record=record, expect=merged["expect"], known_gap=case.known_gap or None, file=path, line=line)


def load(paths: Iterable[Path] | None = None, folder: Path = DEFAULT_FOLDER) -> dict[str, Case]:
    """Every case of the given files (default: every file of the folder), by name."""
    files = sorted(folder.glob("*.yaml")) if paths is None else list(paths)
    found: dict[str, Case] = {}
    for path in files:
        for case in load_file(path):
            if case.name in found:
                raise CaseError(f"{path.name}: case {case.name} is defined twice")
            found[case.name] = case
    return found


def show(case: Case) -> str:
    """The case as YAML, its defaults applied: the full record a reader checks the case against."""
    text = yaml.dump({case.name: case.expanded()}, Dumper=_Dumper, default_flow_style=None, sort_keys=False,
                     width=110, allow_unicode=True)
    where = f"{case.file.name} line {case.line}" if case.file else "a case"
    return f"# {where}, with the file's defaults applied\n{text}"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a reader sees every value written out, not `*id001`


# The builder -------------------------------------------------------------------------------------


def build(case: Case, routes: Mapping[str, str]) -> dict[str, Any]:
    """The case's record as a FHIR R4 Bundle of type collection.

    `routes` maps a route name (oral, intravenous, ...) to its SNOMED CT code, the inverse of
    terminology.yaml `routes.snomed`.
    """
    try:
        return _Builder(case, routes).bundle()
    except CaseError as error:
        raise CaseError(f"{case.name}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CaseError(f"{case.name}: cannot build the record: {error!r}") from None


def route_codes(snomed_routes: Mapping[str, str]) -> dict[str, str]:
    """Route name -> SNOMED code, from terminology.yaml's code -> name table (first code wins)."""
    names: dict[str, str] = {}
    for code, name in snomed_routes.items():
        names.setdefault(name, code)
    return names


def write(cases: Iterable[Case], out: Path, routes: Mapping[str, str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases:
        path = out / f"{case.slug}.json"
        path.write_text(json.dumps(build(case, routes), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


class _Builder:
    def __init__(self, case: Case, routes: Mapping[str, str]) -> None:
        self.case = case
        self.routes = routes
        self.entries: list[dict[str, Any]] = []
        self.patient_url = self._url("Patient", case.slug)

    def _url(self, kind: str, rid: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{rid}')}"

    def _add(self, resource: dict[str, Any]) -> str:
        url = self._url(resource["resourceType"], resource["id"])
        self.entries.append({"fullUrl": url, "resource": resource})
        return url

    def _subject(self) -> dict[str, str]:
        return {"reference": self.patient_url}

    def bundle(self) -> dict[str, Any]:
        record, slug = self.case.record, self.case.slug
        self._add(self._patient(record.get("patient")))
        for n, item in enumerate(_items(record, "conditions"), 1):
            self._add(self._condition(item, f"{slug}-c{n}"))
        for n, item in enumerate(_items(record, "observations"), 1):
            self._add(self._observation(item, f"{slug}-o{n}"))
        for n, item in enumerate(_items(record, "procedures"), 1):
            self._add(self._procedure(item, f"{slug}-p{n}"))
        for n, item in enumerate(_items(record, "immunizations"), 1):
            self._add(self._immunization(item, f"{slug}-i{n}"))
        for n, item in enumerate(_items(record, "medications"), 1):
            self._medication_request(item, f"{slug}-m{n}", "active")
        order = record.get("order")
        if order is not None:
            if not isinstance(order, dict):
                raise CaseError("order: a mapping")
            if "service" in order:
                self._add(self._service_request(order, f"{slug}-order"))
            else:
                self._medication_request(order, f"{slug}-order", "draft")
        for n, resource in enumerate(_items(record, "raw"), 1):
            resource = {"id": f"{slug}-r{n}", **resource}
            if "subject" in resource and resource["subject"] == "patient":
                resource["subject"] = self._subject()
            self._add(resource)
        return {"resourceType": "Bundle", "id": f"{slug}-bundle", "type": "collection", "entry": self.entries}

    def _patient(self, given: Any) -> dict[str, Any]:
        # Every fixture patient is synthetic and says so; gender defaults to "unknown".
        patient: dict[str, Any] = {"resourceType": "Patient", "id": self.case.slug,
                                   "name": [{"text": "Synthetic fixture patient"}], "gender": "unknown"}
        if given in (None, "none"):
            return patient
        if not isinstance(given, dict) or set(given) - {"name", "birthDate", "gender"}:
            raise CaseError("patient: {birthDate, gender, name} or none")
        if "name" in given:
            patient["name"] = [{"text": str(given["name"])}]
        if "gender" in given:
            patient["gender"] = str(given["gender"])
        if "birthDate" in given:
            patient["birthDate"] = _date(given["birthDate"])
        return patient

    def _condition(self, item: dict[str, Any], rid: str) -> dict[str, Any]:
        _known(item, {"code", "display", "text", "clinical", "verification", "onset", "recorded"}, "conditions")
        condition: dict[str, Any] = {
            "resourceType": "Condition", "id": rid,
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": item.get("clinical", "active")}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION,
                                               "code": item.get("verification", "confirmed")}]},
            "code": _concept(item, item.get("code"), "conditions"),
            "subject": self._subject(),
        }
        if "onset" in item:
            condition["onsetDateTime"] = _date(item["onset"])
        if "recorded" in item:
            condition["recordedDate"] = _date(item["recorded"])
        return condition

    def _observation(self, item: dict[str, Any], rid: str) -> dict[str, Any]:
        _known(item, {"loinc", "value", "code", "status", "date", "display", "text", "value_text", "method",
                      "components", "reference_low", "interpretation"}, "observations")
        observation: dict[str, Any] = {
            "resourceType": "Observation", "id": rid, "status": item.get("status", "final"),
            "code": _concept(item, f"loinc:{item['loinc']}" if "loinc" in item else None, "observations"),
            "subject": self._subject(),
        }
        if "value_text" in item:
            observation["valueString"] = str(item["value_text"])
        if "method" in item:
            observation["method"] = {"text": str(item["method"])}
        if "date" in item:
            observation["effectiveDateTime"] = _date(item["date"])
        if "value" in item:
            observation["valueQuantity"] = _quantity(item["value"], measured=True)
        if "code" in item:
            observation["valueCodeableConcept"] = {"coding": [_coding(item["code"], None)]}
        if "components" in item:
            observation["component"] = [self._component(c) for c in _items(item, "components")]
        if "reference_low" in item:
            observation["referenceRange"] = [{"low": _quantity(item["reference_low"])}]
        if "interpretation" in item:
            observation["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": str(item["interpretation"])}]}]
        return observation

    def _component(self, item: dict[str, Any]) -> dict[str, Any]:
        _known(item, {"loinc", "value", "display"}, "observations.components")
        component: dict[str, Any] = {"code": {"coding": [_coding(f"loinc:{item['loinc']}", item.get("display"))]}}
        if "value" in item:
            component["valueQuantity"] = _quantity(item["value"], measured=True)
        return component

    def _procedure(self, item: dict[str, Any], rid: str) -> dict[str, Any]:
        procedure = self._coded_event(item, rid, "Procedure", "code", "subject", "procedures")
        if "date" in item:
            procedure["performedDateTime"] = _date(item["date"])
        return procedure

    def _immunization(self, item: dict[str, Any], rid: str) -> dict[str, Any]:
        immunization = self._coded_event(item, rid, "Immunization", "vaccineCode", "patient", "immunizations")
        # occurrence[x] is required: an undated one says so in words.
        if "date" in item:
            immunization["occurrenceDateTime"] = _date(item["date"])
        else:
            immunization["occurrenceString"] = "date not recorded"
        return immunization

    def _coded_event(self, item: dict[str, Any], rid: str, kind: str, code: str, subject: str,
                     where: str) -> dict[str, Any]:
        """A Procedure or an Immunization: one code, a status (default completed), the patient."""
        _known(item, {"code", "status", "date", "display"}, where)
        return {"resourceType": kind, "id": rid, "status": item.get("status", "completed"),
                code: {"coding": [_coding(item["code"], item.get("display"))]}, subject: self._subject()}

    def _service_request(self, item: dict[str, Any], rid: str) -> dict[str, Any]:
        _known(item, {"service", "display", "status", "authored", "quantity"}, "order")
        # A bare code is HCPCS (a service the page bills); `snomed:...` or `cpt:...` a procedure.
        service = str(item["service"])
        coding = _coding(service, None) if ":" in service or "|" in service else {"system": HCPCS, "code": service}
        concept: dict[str, Any] = {"coding": [coding]}
        if item.get("display"):
            coding["display"] = concept["text"] = str(item["display"])
        request: dict[str, Any] = {"resourceType": "ServiceRequest", "id": rid, "status": item.get("status", "draft"),
                                   "intent": "order", "code": concept, "subject": self._subject()}
        if "authored" in item:
            request["authoredOn"] = _date(item["authored"])
        if "quantity" in item:
            request["quantityQuantity"] = {"value": item["quantity"], "unit": "unit"}
        return request

    def _medication_request(self, item: dict[str, Any], rid: str, status: str) -> None:
        _known(item, MEDICATION_KEYS, "medications")
        request: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid,
                                   "status": item.get("status", status), "intent": item.get("intent", "order")}
        drug = _drug(item)
        product = _product(item)
        if item.get("contained"):
            request["contained"] = [{"resourceType": "Medication", "id": "med1", "code": drug, **product}]
            request["medicationReference"] = {"reference": "#med1"}
        elif item.get("reference"):
            url = self._add({"resourceType": "Medication", "id": f"{rid}-drug", "code": drug, **product})
            request["medicationReference"] = {"reference": url}
        else:
            request["medicationCodeableConcept"] = drug
        request["subject"] = self._subject()
        if "status_reason" in item:
            request["statusReason"] = {"text": str(item["status_reason"])}
        if "authored" in item:
            request["authoredOn"] = _date(item["authored"])
        if "reason" in item:
            request["reasonCode"] = [{"coding": [_coding(item["reason"], None)]}]
        if "reason_ref" in item:
            # A condition of the case by its short name (c2), referenced by its fullUrl.
            request["reasonReference"] = [{"reference": self._url("Condition", f"{self.case.slug}-{item['reason_ref']}")}]
        dosage = self._dosage(item)
        more = []
        for instruction in _items(item, "dosages"):
            _known(instruction, DOSAGE_KEYS, "medications.dosages")
            more.append(self._dosage(instruction))
        if dosage or more:
            request["dosageInstruction"] = [dosage, *more]
        dispense: dict[str, Any] = {}
        if "start" in item or "end" in item:
            dispense["validityPeriod"] = {k: _date(item[k]) for k in ("start", "end") if k in item}
        if "supply_days" in item:
            dispense["expectedSupplyDuration"] = {"value": item["supply_days"], "unit": "days", "system": UCUM,
                                                  "code": "d"}
        if dispense:
            request["dispenseRequest"] = dispense
        self._add(request)

    def _dosage(self, item: dict[str, Any]) -> dict[str, Any]:
        dosage: dict[str, Any] = {}
        if "route" in item:
            name = str(item["route"])
            if name not in self.routes:
                raise CaseError(f"route {name!r} is not one of {sorted(self.routes)} (terminology.yaml routes)")
            dosage["route"] = {"coding": [{"system": SNOMED, "code": self.routes[name],
                                           "display": f"{name.capitalize()} route"}]}
        elif "route_text" in item:
            dosage["route"] = {"text": str(item["route_text"])}
        timing: dict[str, Any] = {}
        repeat: dict[str, Any] = {}
        if "count" in item:
            repeat["count"] = item["count"]
        if "frequency" in item:
            repeat["frequency"] = item["frequency"]
        for key in ("period", "duration"):
            if key in item:
                value, unit = _number_unit(item[key])
                repeat[key], repeat[f"{key}Unit"] = value, unit
        if "bounds" in item:
            value, unit = _number_unit(item["bounds"])
            repeat["boundsDuration"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
        if "bounds_period" in item:
            repeat["boundsPeriod"] = {k: _date(v) for k, v in dict(item["bounds_period"]).items()}
        if repeat:
            timing["repeat"] = repeat
        if "when" in item:
            repeat["when"] = [str(w) for w in item["when"]]
            timing["repeat"] = repeat
        if "timing_code" in item:
            timing["code"] = {"text": str(item["timing_code"])}
        if "timing_abbr" in item:
            timing["code"] = {"coding": [{"system": TIMING_ABBREVIATION, "code": str(item["timing_abbr"])}]}
        if timing:
            dosage["timing"] = timing
        if "as_needed" in item:
            dosage["asNeededBoolean"] = bool(item["as_needed"])
        if "dosage_text" in item:
            dosage["text"] = str(item["dosage_text"])
        if "method" in item:
            dosage["method"] = {"text": str(item["method"])}
        if "instruction" in item:
            dosage["additionalInstruction"] = [{"text": str(item["instruction"])}]
        rate: dict[str, Any] = {}
        if "dose" in item:
            rate["doseQuantity"] = _quantity(item["dose"])
        if "rate" in item:
            rate["rateQuantity"] = _quantity(item["rate"])
        if "rate_ratio" in item:
            numerator, _, denominator = str(item["rate_ratio"]).partition("/")
            rate["rateRatio"] = {"numerator": _quantity(numerator), "denominator": _quantity(denominator)}
        if rate:
            dosage["doseAndRate"] = [rate]
        return dosage


def _items(record: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = record.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise CaseError(f"{key}: a list of mappings")
    return items


def _known(item: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = set(item) - keys
    if unknown:
        raise CaseError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(keys)}")


def _concept(item: dict[str, Any], code: str | None, where: str) -> dict[str, Any]:
    """A CodeableConcept: the code (with its display) and/or `text` (a name known only by its text)."""
    if code is None and "text" not in item:
        raise CaseError(f"{where}: give a code or a text")
    concept: dict[str, Any] = {}
    if code is not None:
        concept["coding"] = [_coding(code, item.get("display"))]
    if "text" in item:
        concept["text"] = str(item["text"])
    return concept


def _coding(code: Any, display: Any) -> dict[str, str]:
    """`icd10:<code>` (a prefix of SYSTEMS) or `http://system|code`."""
    text = str(code)
    if "|" in text:
        system, _, value = text.rpartition("|")
    else:
        prefix, sep, value = text.partition(":")
        if not sep or prefix not in SYSTEMS:
            raise CaseError(f"code {text!r}: write `<{'|'.join(SYSTEMS)}>:<code>` or `<system URI>|<code>`")
        system = SYSTEMS[prefix]
    coding = {"system": system, "code": value}
    if display:
        coding["display"] = str(display)
    return coding


def _drug(item: Mapping[str, Any]) -> dict[str, Any]:
    if "drug" not in item:
        raise CaseError("a medication needs `drug:` (the RxNorm display, or the text when uncoded)")
    if "rxnorm" in item:
        return {"coding": [{"system": RXNORM, "code": str(item["rxnorm"]), "display": str(item["drug"])}]}
    return {"text": str(item["drug"])}


def _product(item: dict[str, Any]) -> dict[str, Any]:
    """A Medication's strength (`strength: "100 U / 1 mL"`, Medication.ingredient.strength) and
    container (`amount: "250 mL"`, Medication.amount), when the drug is a Medication resource."""
    if ("strength" in item or "amount" in item) and not (item.get("reference") or item.get("contained")):
        raise CaseError("strength and amount describe a Medication: give reference: true or contained: true")
    product: dict[str, Any] = {}
    if "strength" in item:
        numerator, _, denominator = str(item["strength"]).partition("/")
        product["ingredient"] = [{"itemCodeableConcept": {"text": str(item.get("drug", "drug"))},
                                  "strength": {"numerator": _quantity(numerator.strip()),
                                               "denominator": _quantity(denominator.strip() or "1 mL")}}]
    if "amount" in item:
        product["amount"] = {"numerator": _quantity(item["amount"]),
                             "denominator": {"value": 1, "unit": "bag"}}
    return product


def _number_unit(text: Any) -> tuple[int | float, str]:
    match = _QUANTITY.match(str(text))
    if not match:
        raise CaseError(f"{text!r}: write a number and a unit, e.g. \"0.5 mg/h\"")
    number = float(match.group(1))
    return (int(number) if number.is_integer() and "." not in match.group(1) else number), match.group(2)


def _quantity(text: Any, measured: bool = False) -> dict[str, Any]:
    """A UCUM quantity; `measured` (an observation's value) may start with a comparator."""
    comparator = _COMPARATOR.match(str(text)) if measured else None
    value, unit = _number_unit(comparator.group(2) if comparator else text)
    quantity: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if comparator:
        quantity["comparator"] = comparator.group(1)
    return quantity


def _date(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
