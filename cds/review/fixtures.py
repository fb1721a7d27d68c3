"""The fixture patients (fixtures/patients/*.json) offered on /review, with their descriptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

# The repository's fixtures; an installed package without them offers none.
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "fixtures" / "patients"


@dataclass(frozen=True)
class Fixture:
    name: str            # the file stem: "S9326.indication--cancer-related-pain"
    path: Path
    description: str
    as_of: dt.date | None

    @property
    def group(self) -> str:
        """The therapy the fixture is about (its name's first part)."""
        return self.name.split(".", 1)[0]

    @property
    def label(self) -> str:
        return f"{self.name}: {self.description}" if self.description else self.name


def fixtures(folder: Path | None = DEFAULT_FOLDER) -> dict[str, Fixture]:
    if folder is None or not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.glob("*.json")):
        expected = path.with_name(path.stem + ".expected.yaml")
        meta = yaml.safe_load(expected.read_text(encoding="utf-8")) if expected.is_file() else {}
        meta = meta if isinstance(meta, dict) else {}
        as_of = meta.get("as_of")
        found[path.stem] = Fixture(
            name=path.stem, path=path, description=str(meta.get("description") or "").strip(),
            as_of=as_of if isinstance(as_of, dt.date) else None,
        )
    return found
