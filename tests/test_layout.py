"""The package's layout keeps its parts apart: the CDS Hooks endpoints and the review pages
never import each other; cds/web assembles them and holds what they share (settings,
authentication, feedback, card ids)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cds"


def _imports(folder: str) -> set[tuple[str, str]]:
    """(module file, imported module) for every import of the package's modules in a folder."""
    found = set()
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        parts = ["cds", *path.relative_to(PACKAGE).with_suffix("").parts]
        package = parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
                found.add((path.name, module))
            elif isinstance(node, ast.Import):
                found.update((path.name, alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize(("folder", "other"), [("hooks", "cds.review"), ("review", "cds.hooks")])
def test_hooks_and_review_do_not_import_each_other(folder: str, other: str) -> None:
    crossing = sorted(f"{name} imports {module}" for name, module in _imports(folder)
                      if module == other or module.startswith(other + "."))
    assert crossing == []
