"""ICD-10-CM lookups (cds/terminology/icd10cm.py) answer as simple-icd-10-cm does, whether its
table comes from the package or from the cache file, and a broken cache file is rebuilt."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from cds.terminology import icd10cm

from .conftest import ROOT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import simple_icd_10_cm as icd

pytestmark = pytest.mark.heavy


def test_every_item_has_the_packages_ancestors_and_description() -> None:
    codes = icd.get_all_codes(True)
    assert len(codes) > 90_000
    for code in codes:
        assert icd10cm.lineage(code) == frozenset([code, *icd.get_ancestors(code)]), code
        assert icd10cm.description(code) == icd.get_description(code), code


@pytest.mark.parametrize(("code", "known"), [
    ("G89.4", True), ("G894", True), ("g89.4", True), ("G89", True), ("G89-G99", True),
    ("G89.40", False), ("E11.99", False), ("X", False), ("", False),
])
def test_existence_after_normalising(code: str, known: bool) -> None:
    assert icd10cm.exists(code) is known
    assert bool(icd10cm.lineage(code)) is known


def _run_check(cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cds.cli", "rulesets", "check"], cwd=ROOT, capture_output=True,
                          text=True, check=False, env={"PATH": "/usr/bin:/bin", icd10cm.CACHE_ENV: str(cache)})


def test_the_cache_file_is_written_once_and_a_broken_one_is_rebuilt(tmp_path: Path) -> None:
    assert _run_check(tmp_path).returncode == 0
    [written] = tmp_path.glob("icd10cm-*.json")
    table = written.read_bytes()
    written.write_bytes(b"{not json")
    done = _run_check(tmp_path)
    assert done.returncode == 0, done.stderr
    assert written.read_bytes() == table
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".icd10cm-")]  # no temporary file left
