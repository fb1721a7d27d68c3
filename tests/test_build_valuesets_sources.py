"""The value sets' sources are data (rulesets/valuesets/sources/*.yaml): rebuilding the curated
sets from them gives the shipped files byte for byte, and a mistake in them is a clear error."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from types import ModuleType

import pytest

from .test_build_valuesets_hand_written import ROOT, _tool

FOLDER = ROOT / "rulesets" / "valuesets"
VERIFIED = re.compile(r"SNOMED CT displays verified in canvas (\S+) \S+ value sets: ([0-9, ]+)\.")


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    return _tool()


def _canvas_side(resource: dict) -> tuple[dict[str, str], str]:
    """What the build read from the canvas wheel for a curated set, as its file records it: the
    SNOMED CT displays verified there and the wheel's version (the wheel is not in the repository)."""
    found = VERIFIED.search(resource["purpose"])
    if found is None:
        return {}, "0"
    verified = set(found.group(2).replace(" ", "").split(","))
    displays = {c["code"]: c["display"] for part in resource["compose"]["include"]
                for c in part.get("concept", []) if c["code"] in verified}
    return displays, found.group(1)


# simple-icd-10-cm's deprecated importlib.resources call is the library's, not this behaviour's.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_every_curated_set_rebuilds_byte_for_byte_from_its_yaml(tool: ModuleType) -> None:
    specs = tool.read_specs()
    assert len(specs.curated) > 100 and specs.vsac and specs.display_filtered
    for spec in specs.curated:
        shipped = (FOLDER / f"{spec.id}.json").read_text(encoding="utf-8")
        index, version = _canvas_side(json.loads(shipped))
        assert tool.render_json(tool.build_curated(spec, index, version).resource) == shipped, spec.id


def test_every_generated_file_comes_from_a_source_entry(tool: ModuleType) -> None:
    specs = tool.read_specs()
    ids = {s.id for group in (specs.vsac, specs.curated, specs.display_filtered) for s in group} | {"opioid-drugs"}
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    generated = set(re.findall(r"^\| `([^`]+)` \|", readme[:readme.index("## Sources and licences")], re.MULTILINE))
    assert generated == ids


@pytest.mark.parametrize(("text", "error"), [
    ("curated:\n  - id: a\n    title: A\n    citation: c\n    icd: {I27.0: x, I27.0: y}\n", "written twice"),
    ("curated:\n  - id: a\n    title: A\n    citation: c\n    icds: {I27.0: x}\n", "a: icds: Extra inputs"),
    ("curated:\n  - id: a\n    title: A\n    citation: c\n    snomed: {82423001: pain}\n", "a: snomed.82423001"),
    ("curated: {}\n", "expected a list under `curated`"),
])
def test_a_mistake_in_a_source_file_is_an_error_naming_the_file(tool: ModuleType, tmp_path: Path, text: str,
                                                               error: str) -> None:
    for name in ("vsac.yaml", "display-filtered.yaml"):
        (tmp_path / name).write_text((FOLDER / "sources" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "curated.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(tool.BuildError, match=re.escape(error)) as raised:
        tool.read_specs(tmp_path)
    assert "curated.yaml" in str(raised.value)


# The whole build reads the canvas wheel from PyPI (not in the repository): where a developer
# has it, CDS_CANVAS_WHEEL=PATH runs the build and requires every generated file unchanged.
@pytest.mark.skipif(not os.environ.get("CDS_CANVAS_WHEEL"), reason="CDS_CANVAS_WHEEL (canvas-0.261.0 wheel) not set")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_whole_build_reproduces_every_generated_file(tool: ModuleType) -> None:
    table = ROOT.parent / "shared" / "reference" / "rxnorm-opioid-drugs.csv"
    assert tool.main(["--canvas-wheel", os.environ["CDS_CANVAS_WHEEL"], "--opioid-table", str(table), "--check"]) == 0
