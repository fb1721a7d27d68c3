"""Regenerate the terminology value sets in rulesets/valuesets/.

Usage (the project's Python, which imports cds; from anywhere, output goes to
rulesets/valuesets/ of this repository)::

    python tools/build_valuesets.py \\
        --canvas-wheel PATH/canvas-0.261.0-py3-none-any.whl \\
        --opioid-table PATH/rxnorm-opioid-drugs.csv

Add ``--check`` to write nothing and exit 1 when a file would change.

Every file is one FHIR R4 ValueSet (JSON, 2-space indent, codes sorted):

* VSAC-derived sets (``rulesets/valuesets/sources/vsac.yaml``): the eCQM value set classes of the MIT-licensed ``canvas`` wheel
  (``canvas_sdk/value_set/v2026/*.py``), read as text with ``ast`` (canvas is never
  imported). Every code of the class is taken, with the ``# display`` comment beside it.
* ``opioid-drugs``: every distinct drug of the OMTK RxNorm opioid drug table
  (``rxnorm-opioid-drugs.csv``, from cqframework/opioid-mme-r4 OMTKData.cql).
* Curated sets: ``rulesets/valuesets/sources/curated.yaml``, each citing the criteria page
  (``../shared/criteria/S9326.md``, ``S9363.md``, ...) that lists its codes.
* Display-filtered sets: ``rulesets/valuesets/sources/display-filtered.yaml``; the codes of one canvas class
  whose display contains an include word and no exclude word (e.g.
  ``malignant-neoplasm-snomed``: the malignant SNOMED CT codes of VSAC "Cancer").

ICD-10-CM codes are written with the dot and each must exist in the ICD-10-CM release
shipped with simple_icd_10_cm (2026); a leaf code becomes a ``concept``, a code with
descendants an ``is-a`` filter. A curated SNOMED CT code takes its display from the canvas
value sets; a code that is not found there keeps the display the criteria page gives and is
listed as such in ``purpose``. The script fails loudly on anything it cannot verify.

What each set is (ids, citations, codes, notes) is data in ``rulesets/valuesets/sources/``;
this script holds only the code that reads, verifies and writes it.

Dependencies: the standard library, simple_icd_10_cm, PyYAML, pydantic and cds.yamlfile.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import simple_icd_10_cm as icd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from cds.yamlfile import safe_load  # refuses a code written twice in one mapping

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "rulesets" / "valuesets"
DEFAULT_SOURCES_DIR = DEFAULT_OUT_DIR / "sources"

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SYSTEM_ORDER = (ICD10CM, SNOMED, RXNORM)
SYSTEM_LABEL = {ICD10CM: "ICD-10-CM", SNOMED: "SNOMED CT", RXNORM: "RxNorm"}
CANVAS_ATTR_SYSTEM = {"ICD10CM": ICD10CM, "SNOMEDCT": SNOMED, "RXNORM": RXNORM}

CANVAS_VS_DIR = "canvas_sdk/value_set/v2026/"
VSAC_URL = "http://cts.nlm.nih.gov/fhir/ValueSet/"
CURATED_URL = "urn:home-infusion-cds:ValueSet:"
CURATED_VERSION = "2026.1"
CURATED_PUBLISHER = "home-infusion-cds (curated)"

NLM_ATTRIBUTION = (
    "This product uses publicly available data courtesy of the U.S. National Library of "
    "Medicine (NLM), National Institutes of Health, Department of Health and Human Services; "
    "NLM is not responsible for the product and does not endorse or recommend this or any "
    "other product."
)
OMTK_SOURCE = (
    "cqframework/opioid-mme-r4 (Apache-2.0) commit 1357f45424c40c49911cd73ecf377b740013f21e, "
    "input/cql/OMTKData.cql DrugIngredients list (generated 2020-10-20 from "
    "LocalDataStore_RxNav_OpioidCds-2020-10-20.sqlite)"
)
OPIOID_TABLE_COLUMNS = (
    "drug_code", "drug_name", "dose_form_code", "dose_form_name",
    "ingredient_code", "ingredient_name", "strength",
)


class BuildError(Exception):
    """Input that cannot be verified; the build stops."""


# --------------------------------------------------------------------------- specs
# The specs are data (rulesets/valuesets/sources/*.yaml, with their citations and notes): this
# script only reads, verifies and writes them.


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SpecT = TypeVar("_SpecT", bound=_Spec)


class VsacSpec(_Spec):
    """A VSAC value set taken whole from the canvas class of that name and OID."""

    id: str
    class_name: str
    oid: str
    file: str  # the canvas module expected to hold the class
    note: str = ""


class CuratedSpec(_Spec):
    id: str
    title: str
    citation: str
    # ICD-10-CM code -> text its 2026 description must contain, case-insensitive
    icd: dict[str, str] = {}
    # SNOMED CT code -> text the criteria page gives (None: not named there)
    snomed: dict[str, str | None] = {}
    note: str = ""
    icd_from_malignancy_chapter: bool = False


class DisplayFilterSpec(_Spec):
    """The codes of one system of a canvas class whose display names the concept wanted."""

    id: str
    title: str
    citation: str
    source: VsacSpec  # the canvas class (by name and OID) the codes are taken from
    system: str
    include_words: tuple[str, ...]  # display must contain one (case-insensitive substring)
    exclude_words: tuple[str, ...]  # ... and none of these
    required: tuple[str, ...] = ()  # codes that must come through (the build fails otherwise)
    note: str = ""


@dataclass(frozen=True)
class Specs:
    vsac: tuple[VsacSpec, ...]
    curated: tuple[CuratedSpec, ...]
    display_filtered: tuple[DisplayFilterSpec, ...]


def _read_yaml(path: Path, key: str) -> list[Any]:
    try:
        data = safe_load(path.read_bytes())
    except (OSError, yaml.YAMLError) as error:
        raise BuildError(f"{path}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise BuildError(f"{path}: expected a list under `{key}`")
    return data[key]


def _validated(model: type[_SpecT], item: Any, path: Path) -> _SpecT:
    try:
        return model.model_validate(item)
    except ValidationError as error:
        where = item.get("id", "?") if isinstance(item, dict) else "?"
        raise BuildError(f"{path}: {where}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from error


def read_specs(folder: Path = DEFAULT_SOURCES_DIR) -> Specs:
    """The value set specs of vsac.yaml, curated.yaml and display-filtered.yaml."""
    vsac = tuple(_validated(VsacSpec, item, folder / "vsac.yaml")
                 for item in _read_yaml(folder / "vsac.yaml", "vsac"))
    curated = tuple(_validated(CuratedSpec, item, folder / "curated.yaml")
                    for item in _read_yaml(folder / "curated.yaml", "curated"))
    by_id = {spec.id: spec for spec in vsac}
    labels = {label: system for system, label in SYSTEM_LABEL.items()}
    filtered = []
    path = folder / "display-filtered.yaml"
    for item in _read_yaml(path, "display_filtered"):
        if isinstance(item, dict):
            # `source` names a VSAC spec by id or gives one; `system` is a label (SNOMED CT).
            source = item.get("source")
            if isinstance(source, str) and source not in by_id:
                raise BuildError(f"{path}: {item.get('id')}: source {source} is not in vsac.yaml")
            item = {**item, "source": by_id.get(source, source) if isinstance(source, str) else source,
                    "system": labels.get(item.get("system"), item.get("system"))}
        filtered.append(_validated(DisplayFilterSpec, item, path))
    return Specs(vsac, curated, tuple(filtered))


# --------------------------------------------------------------------------- canvas


@dataclass
class CanvasValueSet:
    class_name: str
    file: str
    value_set_name: str
    oid: str
    definition_version: str
    expansion_version: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> code -> display


@dataclass
class CanvasWheel:
    version: str
    value_sets: list[CanvasValueSet]


COMMENT_RE = re.compile(r"#\s*(.*?)\s*$")


def read_canvas_wheel(path: Path) -> CanvasWheel:
    """Read every canvas_sdk/value_set/v2026/*.py of the wheel as text."""
    if not path.is_file():
        raise BuildError(f"canvas wheel not found: {path}")
    with zipfile.ZipFile(path) as wheel:
        version = wheel_version(wheel)
        value_sets: list[CanvasValueSet] = []
        for name in sorted(wheel.namelist()):
            if name.startswith(CANVAS_VS_DIR) and name.endswith(".py"):
                source = wheel.read(name).decode("utf-8")
                value_sets.extend(parse_canvas_module(source, name.removeprefix(CANVAS_VS_DIR)))
    if not value_sets:
        raise BuildError(f"no value set classes under {CANVAS_VS_DIR} in {path}")
    return CanvasWheel(version, value_sets)


def wheel_version(wheel: zipfile.ZipFile) -> str:
    for name in wheel.namelist():
        if name.endswith(".dist-info/METADATA"):
            text = wheel.read(name).decode("utf-8")
            found = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
            if found:
                return found.group(1)
    raise BuildError("wheel has no dist-info/METADATA Version")


def parse_canvas_module(source: str, file: str) -> list[CanvasValueSet]:
    lines = source.splitlines()
    result = []
    for node in ast.parse(source, filename=file).body:
        if isinstance(node, ast.ClassDef):
            parsed = parse_canvas_class(node, lines, file)
            if parsed is not None:
                result.append(parsed)
    return result


def parse_canvas_class(node: ast.ClassDef, lines: list[str], file: str) -> CanvasValueSet | None:
    strings: dict[str, str] = {}
    codes: dict[str, dict[str, str]] = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            continue
        attr = stmt.targets[0].id
        if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            strings[attr] = stmt.value.value
        elif isinstance(stmt.value, ast.Set) and attr in CANVAS_ATTR_SYSTEM:
            codes[CANVAS_ATTR_SYSTEM[attr]] = parse_code_set(stmt.value, lines, f"{file} {node.name}.{attr}")
    needed = ("VALUE_SET_NAME", "OID", "DEFINITION_VERSION", "EXPANSION_VERSION")
    if not all(key in strings for key in needed):
        return None
    return CanvasValueSet(node.name, file, strings["VALUE_SET_NAME"], strings["OID"],
                          strings["DEFINITION_VERSION"], strings["EXPANSION_VERSION"], codes)


def parse_code_set(value: ast.Set, lines: list[str], where: str) -> dict[str, str]:
    """Codes of one set literal, each with the `# display` comment on its line."""
    codes: dict[str, str] = {}
    for element in value.elts:
        if not (isinstance(element, ast.Constant) and isinstance(element.value, str)):
            raise BuildError(f"{where}: element on line {element.lineno} is not a string")
        line = lines[element.lineno - 1]
        comment = COMMENT_RE.search(line[element.end_col_offset:])
        if comment is None or not comment.group(1):
            raise BuildError(f"{where}: code {element.value} has no display comment")
        if codes.get(element.value, comment.group(1)) != comment.group(1):
            raise BuildError(f"{where}: code {element.value} listed twice with different displays")
        codes[element.value] = comment.group(1)
    return codes


def find_canvas_class(wheel: CanvasWheel, spec: VsacSpec) -> tuple[CanvasValueSet, str]:
    """The class named spec.class_name whose OID matches; a note when the name is ambiguous."""
    named = [vs for vs in wheel.value_sets if vs.class_name == spec.class_name]
    matching = [vs for vs in named if vs.oid == spec.oid]
    if len(matching) != 1:
        raise BuildError(f"{spec.id}: {len(matching)} classes {spec.class_name} with OID {spec.oid}")
    chosen = matching[0]
    if chosen.file != spec.file:
        raise BuildError(f"{spec.id}: {spec.class_name} found in {chosen.file}, expected {spec.file}")
    note = ""
    if len(named) > 1:
        others = ", ".join(f"{vs.file} (OID {vs.oid})" for vs in named if vs is not chosen)
        note = f" Class name also used in {others}; the one with the matching OID was taken."
    return chosen, note


def snomed_display_index(wheel: CanvasWheel) -> dict[str, str]:
    """SNOMED CT code -> display, over all canvas value sets (most frequent display wins)."""
    seen: dict[str, Counter[str]] = {}
    for vs in wheel.value_sets:
        for code, display in vs.codes.get(SNOMED, {}).items():
            seen.setdefault(code, Counter())[display] += 1
    return {code: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for code, c in seen.items()}


# --------------------------------------------------------------------------- ICD-10-CM


def icd_release() -> str:
    module = getattr(icd, "simple_icd_10_cm", icd)
    data_file = getattr(module, "_classification_data_package_file_name", "unknown data file")
    return f"ICD-10-CM 2026 ({data_file}, simple_icd_10_cm {metadata.version('simple_icd_10_cm')})"


def dotted_icd(code: str, where: str) -> str:
    dotted = icd.add_dot(code)
    if not icd.is_valid_item(dotted) or not (
        icd.is_category_or_subcategory(dotted) or icd.is_extended_subcategory(dotted)
    ):
        raise BuildError(f"{where}: {code} is not an ICD-10-CM code in {icd_release()}")
    return dotted


def malignancy_categories() -> list[str]:
    """Every ICD-10-CM category from C00 to C96 (C4A, C7A, C7B included)."""
    cats = sorted({c for c in icd.get_all_codes(True) if c.startswith("C") and icd.is_category(c)})
    for required in ("C00", "C7A", "C7B", "C96"):
        if required not in cats:
            raise BuildError(f"malignancy: category {required} missing from {icd_release()}")
    if any(not re.fullmatch(r"C[0-9][0-9A-Z]", c) or c > "C96" for c in cats):
        raise BuildError(f"malignancy: unexpected category in {cats}")
    return cats


def check_icd_description(code: str, expected: str, where: str) -> str:
    description = icd.get_description(code)
    if expected.lower() not in description.lower():
        raise BuildError(f"{where}: {code} reads {description!r}, expected {expected!r}")
    return description


# --------------------------------------------------------------------------- FHIR


@dataclass
class Content:
    concepts: dict[str, dict[str, str]] = field(default_factory=dict)  # system -> code -> display
    groups: dict[str, set[str]] = field(default_factory=dict)  # system -> is-a codes

    def add_concept(self, system: str, code: str, display: str) -> None:
        self.concepts.setdefault(system, {})[code] = display

    def add_group(self, system: str, code: str) -> None:
        self.groups.setdefault(system, set()).add(code)

    def add_icd(self, code: str, display: str | None = None) -> None:
        """A leaf becomes a concept, a code with descendants an is-a group."""
        if icd.is_leaf(code) or display is not None:
            self.add_concept(ICD10CM, code, display if display is not None else icd.get_description(code))
        else:
            self.add_group(ICD10CM, code)

    def counts(self) -> dict[str, int]:
        return {
            "ICD-10-CM codes": len(self.concepts.get(ICD10CM, {})),
            "ICD-10-CM is-a groups": len(self.groups.get(ICD10CM, set())),
            "SNOMED CT": len(self.concepts.get(SNOMED, {})),
            "RxNorm": len(self.concepts.get(RXNORM, {})),
        }


def code_key(code: str) -> tuple[int, int | str]:
    return (0, int(code)) if code.isdigit() else (1, code)


def compose(content: Content) -> dict:
    includes: list[dict] = []
    for system in SYSTEM_ORDER:
        concepts = content.concepts.get(system, {})
        if concepts:
            includes.append({"system": system, "concept": [
                {"code": code, "display": concepts[code]} for code in sorted(concepts, key=code_key)
            ]})
        for code in sorted(content.groups.get(system, set()), key=code_key):
            includes.append({"system": system, "filter": [
                {"property": "concept", "op": "is-a", "value": code}
            ]})
    unknown = (set(content.concepts) | set(content.groups)) - set(SYSTEM_ORDER)
    if unknown:
        raise BuildError(f"unexpected code systems {unknown}")
    return {"include": includes}


def camel(identifier: str) -> str:
    return "".join(part.capitalize() for part in identifier.split("-"))


@dataclass
class Built:
    id: str
    resource: dict
    content: Content
    source: str


def value_set(id_: str, *, url: str, version: str, title: str, publisher: str, purpose: str,
              content: Content, oid: str | None = None) -> dict:
    resource: dict = {"resourceType": "ValueSet", "id": id_, "url": url}
    if oid:
        resource["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{oid}"}]
    resource.update({"version": version, "name": camel(id_), "title": title, "status": "active",
                     "publisher": publisher, "purpose": purpose, "compose": compose(content)})
    return resource


# --------------------------------------------------------------------------- builders


def build_vsac(spec: VsacSpec, wheel: CanvasWheel) -> Built:
    vs, note = find_canvas_class(wheel, spec)
    content = Content()
    for system, codes in vs.codes.items():
        for code, display in codes.items():
            if system == ICD10CM:
                content.add_icd(dotted_icd(code, spec.id), display)
            else:
                content.add_concept(system, code, display)
    if not vs.codes:
        raise BuildError(f"{spec.id}: {spec.class_name} has no ICD-10-CM, SNOMED CT or RxNorm codes")
    where = f"canvas {wheel.version} {CANVAS_VS_DIR}{vs.file}"
    subdivided = sorted(c for c in content.concepts.get(ICD10CM, {}) if not icd.is_leaf(c))
    if subdivided:
        note += (f" {len(subdivided)} ICD-10-CM codes have been subdivided since the expansion "
                 f"and are kept as exact concepts (their new children are not in this set): "
                 f"{', '.join(subdivided)}.")
    note = " ".join(filter(None, [note.strip(), spec.note]))
    purpose = (
        f"VSAC value set \"{vs.value_set_name}\" OID {vs.oid}, definition version "
        f"{vs.definition_version}, expansion '{vs.expansion_version}'; all codes of class "
        f"{vs.class_name} in {where} (canvas wheel, MIT licence), displays from the comment "
        f"beside each code. ICD-10-CM codes written with the dot and checked to exist in "
        f"{icd_release()}.{' ' + note if note else ''}"
    )
    resource = value_set(spec.id, url=VSAC_URL + vs.oid, oid=vs.oid, version=vs.definition_version,
                         title=vs.value_set_name, publisher=f"VSAC (NLM), via {where}",
                         purpose=purpose, content=content)
    source = f"VSAC {vs.oid} v{vs.definition_version} ({vs.expansion_version}), canvas {vs.file} {vs.class_name}"
    return Built(spec.id, resource, content, source)


def read_opioid_table(path: Path) -> dict[str, str]:
    """drug_code -> drug_name; a code must always carry the same name."""
    if not path.is_file():
        raise BuildError(f"opioid table not found: {path}")
    drugs: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != OPIOID_TABLE_COLUMNS:
            raise BuildError(f"{path}: columns {reader.fieldnames}, expected {OPIOID_TABLE_COLUMNS}")
        for row in reader:
            code, name = row["drug_code"].strip(), row["drug_name"].strip()
            if not code.isdigit() or not name:
                raise BuildError(f"{path}: bad row {row}")
            if drugs.setdefault(code, name) != name:
                raise BuildError(f"{path}: drug {code} has two names")
    return drugs


def build_opioid_drugs(path: Path) -> Built:
    content = Content()
    for code, name in read_opioid_table(path).items():
        content.add_concept(RXNORM, code, name)
    purpose = (
        f"Every distinct drug_code ({len(content.concepts[RXNORM])}) of rxnorm-opioid-drugs.csv "
        f"(shared/reference, converted from {OMTK_SOURCE}) as an RxNorm concept with "
        f"display = drug_name, spelling kept from the source. {NLM_ATTRIBUTION}"
    )
    resource = value_set("opioid-drugs", url=CURATED_URL + "opioid-drugs", version="20201020",
                         title="Opioid drugs (RxNorm, OMTK drug table)",
                         publisher="NLM RxNorm via cqframework/opioid-mme-r4 OMTKData.cql (generated 2020-10-20)",
                         purpose=purpose, content=content)
    return Built("opioid-drugs", resource, content, f"RxNorm via OMTK OMTKData.cql (2020-10-20); {NLM_ATTRIBUTION}")


def build_curated(spec: CuratedSpec, snomed_index: dict[str, str], canvas_version: str) -> Built:
    content = Content()
    if spec.icd_from_malignancy_chapter:
        for code in malignancy_categories():
            content.add_group(ICD10CM, code)
    for code, expected in spec.icd.items():
        dotted = dotted_icd(code, spec.id)
        check_icd_description(dotted, expected, spec.id)
        content.add_icd(dotted)
    verified, from_criteria = [], []
    for code, criteria_display in spec.snomed.items():
        if code in snomed_index:
            content.add_concept(SNOMED, code, snomed_index[code])
            verified.append(code)
        elif criteria_display:
            content.add_concept(SNOMED, code, criteria_display)
            from_criteria.append(code)
        else:
            raise BuildError(f"{spec.id}: SNOMED {code} is neither in canvas nor named in the criteria")
    purpose = " ".join(filter(None, [
        f"Criteria: {spec.citation}.",
        f"ICD-10-CM codes and groups checked to exist in {icd_release()}; concept displays "
        "from that release." if content.concepts.get(ICD10CM) or content.groups.get(ICD10CM) else "",
        f"SNOMED CT displays verified in canvas {canvas_version} {CANVAS_VS_DIR} value sets: "
        f"{', '.join(verified)}." if verified else "",
        f"SNOMED CT named in the criteria page but found neither in canvas v2026 nor (checked "
        f"by hand) in the Synthea sample bundles, display taken from the criteria text: {', '.join(from_criteria)}."
        if from_criteria else "",
        spec.note,
    ]))
    resource = value_set(spec.id, url=CURATED_URL + spec.id, version=CURATED_VERSION,
                         title=spec.title, publisher=CURATED_PUBLISHER, purpose=purpose,
                         content=content)
    return Built(spec.id, resource, content, f"curated: {spec.citation}")


def quoted_list(words: tuple[str, ...]) -> str:
    return ", ".join(f"'{word}'" for word in words)


def display_filter(display: str, spec: DisplayFilterSpec) -> bool:
    text = display.lower()
    return (any(word in text for word in spec.include_words)
            and not any(word in text for word in spec.exclude_words))


def build_display_filtered(spec: DisplayFilterSpec, wheel: CanvasWheel) -> Built:
    vs, _ = find_canvas_class(wheel, spec.source)
    codes = vs.codes.get(spec.system, {})
    if not codes:
        raise BuildError(f"{spec.id}: {vs.class_name} has no {SYSTEM_LABEL[spec.system]} codes")
    content = Content()
    for code, display in codes.items():
        if display_filter(display, spec):
            content.add_concept(spec.system, code, display)
    kept = content.concepts.get(spec.system, {})
    missing = [code for code in spec.required if code not in kept]
    if missing:
        raise BuildError(f"{spec.id}: required codes not kept: {', '.join(missing)}")
    where = f"canvas {wheel.version} {CANVAS_VS_DIR}{vs.file}"
    label = SYSTEM_LABEL[spec.system]
    purpose = " ".join(filter(None, [
        f"Criteria: {spec.citation}.",
        f"Derivation: the {label} codes of class {vs.class_name} in {where} (VSAC value set "
        f"\"{vs.value_set_name}\" OID {vs.oid}, definition version {vs.definition_version}, "
        f"expansion '{vs.expansion_version}'; canvas wheel, MIT licence) whose display (the "
        f"comment beside the code), compared in lower case, contains at least one of "
        f"{quoted_list(spec.include_words)} and none of {quoted_list(spec.exclude_words)}; "
        f"{len(kept)} of {len(codes)} codes kept, displays as in canvas."
        + (" No ICD-10-CM part." if spec.system != ICD10CM else ""),
        spec.note,
    ]))
    resource = value_set(spec.id, url=CURATED_URL + spec.id, version=CURATED_VERSION,
                         title=spec.title, publisher=CURATED_PUBLISHER, purpose=purpose,
                         content=content)
    source = (f"derived: {label} codes of VSAC {vs.oid} (canvas {vs.file} {vs.class_name}) "
              f"filtered by display words; {spec.citation}")
    return Built(spec.id, resource, content, source)


def build_all(canvas_wheel: Path, opioid_table: Path, sources: Path = DEFAULT_SOURCES_DIR) -> list[Built]:
    specs = read_specs(sources)
    wheel = read_canvas_wheel(canvas_wheel)
    index = snomed_display_index(wheel)
    built = [build_vsac(spec, wheel) for spec in specs.vsac]
    built.append(build_opioid_drugs(opioid_table))
    built.extend(build_curated(spec, index, wheel.version) for spec in specs.curated)
    built.extend(build_display_filtered(spec, wheel) for spec in specs.display_filtered)
    ids = [b.id for b in built]
    if len(set(ids)) != len(ids):
        raise BuildError(f"duplicate value set ids in {ids}")
    return built


# --------------------------------------------------------------------------- output


def render_json(resource: dict) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def render_readme(built: list[Built]) -> str:
    columns = list(Content().counts())
    lines = [
        "# Value sets",
        "",
        "Generated by `tools/build_valuesets.py`; do not edit by hand. Regenerate with",
        "",
        "    python tools/build_valuesets.py --canvas-wheel PATH/canvas-0.261.0-py3-none-any.whl \\",
        "        --opioid-table PATH/rxnorm-opioid-drugs.csv",
        "",
        "Each file is one FHIR R4 ValueSet. An ICD-10-CM `is-a` filter covers the code and all of",
        "its descendants. ICD-10-CM codes are checked against " + icd_release() + ".",
        "",
        "| id | title | source | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---:|" * len(columns),
    ]
    for b in built:
        counts = b.content.counts()
        source = b.source.replace(NLM_ATTRIBUTION, "NLM attribution below").replace("|", "/")
        lines.append(f"| `{b.id}` | {b.resource['title']} | {source} | "
                     + " | ".join(str(counts[c]) for c in columns) + " |")
    lines += [
        "",
        "## Sources and licences",
        "",
        "- VSAC-derived sets (`identifier` carries the OID): eCQM value sets published by the",
        "  NLM Value Set Authority Center, read from the `canvas` wheel (PyPI `canvas`, version in",
        "  each `publisher`; the wheel's METADATA declares `License-Expression: MIT`),",
        "  `canvas_sdk/value_set/v2026/*.py`.",
        "- `opioid-drugs`: RxNorm drugs from " + OMTK_SOURCE + ". " + NLM_ATTRIBUTION,
        "- Curated sets: the criteria ids in each `purpose` (S9326.md, S9363.md); each `purpose`",
        "  also says where every code and display was verified.",
        "- Display-filtered sets (`malignant-neoplasm-snomed`): a subset of one VSAC-derived set;",
        "  the exact include and exclude words are in its `purpose`.",
        "",
    ]
    return "\n".join(lines)


HAND_WRITTEN = "## Written by hand"


def hand_written_section(readme: str) -> str:
    """The README's "Written by hand" section, kept as it stands: those files (LOINC, CPT, LA
    answer codes) are not produced here, so regenerating must not drop their description."""
    start = readme.find(HAND_WRITTEN)
    if start < 0:
        return ""
    end = readme.find("\n## ", start + len(HAND_WRITTEN))
    section = readme[start:] if end < 0 else readme[start:end + 1]
    return "\n" + section.rstrip("\n") + "\n"


def write_outputs(built: list[Built], out_dir: Path, check: bool) -> list[Path]:
    """Write (or, with check, compare) every file; returns the files that differ."""
    files = {f"{b.id}.json": render_json(b.resource) for b in built}
    readme = out_dir / "README.md"
    hand = hand_written_section(readme.read_text(encoding="utf-8") if readme.exists() else "")
    files["README.md"] = render_readme(built) + hand
    # The files the hand-written section lists are not this script's: not stale either.
    hand_files = {f"{name}.json" for name in re.findall(r"^\| `([^`]+)` \|", hand, re.MULTILINE)}
    changed = []
    for name, text in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(path)
            if not check:
                out_dir.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    stale = sorted(p.name for p in out_dir.glob("*.json")
                   if p.name not in files and p.name not in hand_files) if out_dir.exists() else []
    if stale:
        print(f"warning: files not produced by this script: {', '.join(stale)}", file=sys.stderr)
    return changed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--canvas-wheel", type=Path, required=True, help="canvas-0.261.0-py3-none-any.whl")
    parser.add_argument("--opioid-table", type=Path, required=True, help="rxnorm-opioid-drugs.csv")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        built = build_all(args.canvas_wheel, args.opioid_table)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    changed = write_outputs(built, args.out_dir, args.check)
    for b in built:
        counts = ", ".join(f"{k} {v}" for k, v in b.content.counts().items() if v)
        print(f"{b.id}: {counts}")
    verb = "would change" if args.check else "written"
    print(f"{len(changed)} file(s) {verb} in {args.out_dir}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
