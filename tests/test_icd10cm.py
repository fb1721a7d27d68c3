"""ICD-10-CM lookups (cds/terminology/icd10cm.py) answer as simple-icd-10-cm does, whether its
table comes from the package or from the cache file, and a broken cache file is rebuilt."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from cds.terminology import icd10cm

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


@pytest.fixture()
def cache_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The table read afresh, as a new process reads it, with the cache file in tmp_path. In this
    process: a new interpreter only imports the package again (what the cache spares)."""
    monkeypatch.setenv(icd10cm.CACHE_ENV, str(tmp_path))
    icd10cm._table.cache_clear()
    yield tmp_path
    icd10cm._table.cache_clear()  # the next test reads the usual cache


def _read_afresh() -> bool:
    icd10cm._table.cache_clear()
    return icd10cm.exists("G89.4")


def test_the_cache_file_is_written_once_and_a_broken_one_is_rebuilt(cache_in: Path) -> None:
    assert _read_afresh()
    [written] = cache_in.glob("icd10cm-*.json")
    table = written.read_bytes()
    written.write_bytes(b'{"G89": ["Pain, not elsewhere classified", "G89-G99", "18"]}')
    assert not _read_afresh(), "a later reader builds the table anew instead of reading the file"
    written.write_bytes(b"{not json")
    assert _read_afresh()
    assert written.read_bytes() == table
    assert not [p for p in cache_in.iterdir() if p.name.startswith(".icd10cm-")]  # no temporary file left
