"""The package stands in floors: a module imports only what stands on a lower floor, so no
import runs back up and parts side by side on one floor never import each other.

The floors follow the data path of one evaluation (shared/DESIGN.md: fhir -> facts ->
terminology -> engine -> assess -> outputs), then the service parts shared by every endpoint
(cds/service: errors, bodies, settings, authentication, feedback, card ids), then the endpoints
(Da Vinci, the catalog, CDS Hooks, the review pages), cds/web that alone composes them into one
app, and the CLI. A new module of cds/ must be given its floor here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cds"
FACE = "cds"  # cds/__init__.py, the library's public names

# Ground floor first; each name is a module or a sub-package of cds/.
FLOORS: list[tuple[str, ...]] = [
    # Comparisons and day counts are read alike by the rules, the routing and the derived facts.
    ("fhir", "models", "texts", "yamlfile", "listing", "private", "compare", "spans"),
    ("ruleset", "terminology", "render_text"),
    ("routing", "cases"),
    # Which orders serve another page's order, read once the orders are routed alone.
    ("adjuncts",),
    ("facts",),
    ("conditions",),
    ("engine", "derive"),
    ("knowledge", "assess"),
    # The one way into an assessment; synth writes patients for the rulesets it is given.
    ("evaluator", "synth"),
    # The library's entry point, the audit trail and the shared service parts stand apart.
    ("evaluate", "audit", "service", "demo"),
    # CRD coverage information is Da Vinci's; the order hooks answer with it.
    ("davinci",),
    # The catalog links each therapy's DTR Questionnaire.
    ("catalog",),
    # The CDS Hooks endpoints and the review pages never import each other.
    ("hooks", "review"),
    ("web",),
    ("cli", FACE),
]
FLOOR = {part: n for n, parts in enumerate(FLOORS) for part in parts}


def _part(path: Path) -> str:
    """The floor plan's name for a module file: its top-level module or sub-package."""
    relative = path.relative_to(PACKAGE)
    return FACE if relative == Path("__init__.py") else relative.parts[0].removesuffix(".py")


def _target(module: str) -> str | None:
    """The part an imported module belongs to; None outside the package."""
    parts = module.split(".")
    if parts[0] != "cds":
        return None
    if len(parts) == 1:
        return FACE
    return parts[1] if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file() else FACE


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in a file, those inside functions too; `from cds import
    name` counts as an import of cds.name when that is a module."""
    package = ["cds", *path.relative_to(PACKAGE).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if module == "cds":
                yield from ((node.lineno, f"cds.{alias.name}") for alias in node.names)
            else:
                yield node.lineno, module
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@cache
def _package_imports() -> list[tuple[Path, str, int, str]]:
    """(file, its part, line, module imported) across the package, read once."""
    return [(path, _part(path), line, module) for path in _modules() for line, module in _imports(path)]


def test_every_part_of_the_package_has_one_floor() -> None:
    named = [part for parts in FLOORS for part in parts]
    assert len(named) == len(set(named)), "a part is on two floors"
    unplaced = sorted({_part(p) for p in _modules()} - set(named))
    assert unplaced == [], "give these parts of cds/ a floor in FLOORS"
    gone = sorted(set(named) - {_part(p) for p in _modules()})
    assert gone == [], "FLOORS names parts that cds/ no longer has"


@pytest.mark.parametrize("part", [part for parts in FLOORS for part in parts])
def test_no_import_runs_up_or_sideways(part: str) -> None:
    wrong = []
    for path, importer, line, module in _package_imports():
        target = _target(module)
        if importer != part or target is None or target == part or target not in FLOOR:
            continue
        if FLOOR[target] >= FLOOR[part]:
            where = "beside it" if FLOOR[target] == FLOOR[part] else "above it"
            wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module} ({target}, {where})")
    assert wrong == []
