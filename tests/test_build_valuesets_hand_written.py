"""tools/build_valuesets.py regenerates its own files and leaves hand-written value sets alone."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_valuesets", ROOT / "tools" / "build_valuesets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


# The README names the ICD-10-CM release through simple-icd-10-cm, which uses a deprecated
# importlib.resources call; that is the library's, not this behaviour's.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_regeneration_keeps_the_hand_written_section_and_files(tmp_path: Path) -> None:
    tool = _tool()
    section = "## Written by hand\n\n- `nyha-class`: LOINC 88020-3 (S9348.md).\n"
    (tmp_path / "README.md").write_text("# Value sets\n\nold generated text\n\n" + section, encoding="utf-8")
    (tmp_path / "nyha-class.json").write_text("{}\n", encoding="utf-8")

    tool.write_outputs([], tmp_path, check=False)

    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "old generated text" not in readme  # the generated part is rewritten
    assert readme.endswith(section)
    assert (tmp_path / "nyha-class.json").read_text(encoding="utf-8") == "{}\n"
    # A second run changes nothing: the section is not appended twice.
    assert tool.write_outputs([], tmp_path, check=True) == []


def test_the_shipped_readme_lists_every_hand_written_file() -> None:
    folder = ROOT / "rulesets" / "valuesets"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    hand = readme[readme.index("## Written by hand"):]
    curated_by_hand = [p.stem for p in folder.glob("*.json")
                       if '"publisher": "home-infusion-cds (curated)"' in p.read_text(encoding="utf-8")
                       and "Written by hand" in p.read_text(encoding="utf-8")]
    assert curated_by_hand, "no hand-written value set found"
    assert all(f"`{name}`" in hand for name in curated_by_hand)
