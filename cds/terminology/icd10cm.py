"""ICD-10-CM codes: normalisation, existence and hierarchy (simple-icd-10-cm, April 2026).

simple-icd-10-cm parses its XML when imported: 1.5 s, most of every command's start-up. What
the rules need of it (each item's description and ancestors) is read from it once and written to
a cache file named by the package's version; later processes load that file (about 0.1 s). The
cache is an optimisation only: where it cannot be read or written, the package is imported.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
import warnings
from functools import cache, lru_cache
from pathlib import Path

import orjson

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
CACHE_ENV = "CDS_CACHE_DIR"
_PACKAGE = "simple_icd_10_cm"

# item (dotted code, block or chapter) -> [description, *ancestors]. Ancestors, not the parent:
# some blocks bear their one category's name (block B10 holds category B10), so a chain of
# parents keyed by name would loop.
_Table = dict[str, list[str]]


def normalise(code: str) -> str:
    """Upper case, with the dot where ICD-10-CM puts it (G893 -> G89.3)."""
    code = code.strip().upper()
    if "-" in code or "." in code or len(code) <= 3:
        return code
    return f"{code[:3]}.{code[3:]}"


def exists(code: str) -> bool:
    return normalise(code) in _table()


@lru_cache(maxsize=65536)
def lineage(code: str) -> frozenset[str]:
    """The code and every group above it; empty when the code does not exist."""
    code = normalise(code)
    item = _table().get(code)
    return frozenset([code, *item[1:]]) if item else frozenset()


def description(code: str) -> str | None:
    item = _table().get(normalise(code))
    return item[0] if item else None


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "home-infusion-cds"


@cache
def _table() -> _Table:
    path = cache_dir() / f"icd10cm-{_PACKAGE}-{importlib.metadata.version(_PACKAGE)}.json"
    try:
        table: _Table = orjson.loads(path.read_bytes())
        return table
    except (OSError, orjson.JSONDecodeError):
        pass
    table = _from_package()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a process reading at the same time sees all or nothing.
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".icd10cm-", delete=False) as out:
            out.write(orjson.dumps(table))
        os.replace(out.name, path)
    except OSError:
        pass
    return table


def _from_package() -> _Table:
    with warnings.catch_warnings():
        # simple_icd_10_cm imports pkg_resources, which warns on import.
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as icd

    return {code: [icd.get_description(code), *icd.get_ancestors(code)] for code in icd.get_all_codes(True)}
