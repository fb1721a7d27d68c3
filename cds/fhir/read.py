"""Read FHIR JSON documents: a Bundle, one resource, a JSON array, or NDJSON.

Only JSON structure is checked here; resource validation is `validate.py`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .errors import InputError, Problem
from .limits import LimitError, limits

INPUT_SUFFIXES = (".json", ".ndjson")


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One resource as found in the input, with where it came from."""

    source: str
    # Bundle entry index, array index or NDJSON line number (1-based for lines).
    entry: int | None
    resource: dict[str, Any]
    full_url: str | None = None
    # Resources of one Bundle form one record; loose resources are pooled by patient.
    in_bundle: bool = False


class PartlyUnreadable(InputError):
    """Some files could not be read; `entries` holds what the others gave, so that their
    problems can be reported too (every problem at once, not the first)."""

    def __init__(self, problems: list[Problem], entries: list[RawEntry]) -> None:
        super().__init__(problems)
        self.entries = entries


def read_paths(paths: Iterable[str | Path]) -> list[RawEntry]:
    """The entries of every file, reading on past a bad one (raises PartlyUnreadable)."""
    problems: list[Problem] = []
    entries: list[RawEntry] = []
    for raw in paths:
        try:
            files = expand_paths([raw])
        except LimitError:
            raise
        except InputError as exc:
            problems += exc.problems
            continue
        for path in files:
            try:
                entries += read_file(path)
            except LimitError:
                raise
            except InputError as exc:
                problems += exc.problems
    if problems:
        raise PartlyUnreadable(problems, entries)
    return entries


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, and the .json/.ndjson files in named folders (sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in INPUT_SUFFIXES
            )
        elif path.is_file():
            files.append(path)
        elif path.exists():
            # A device or a FIFO never ends (/dev/zero) or blocks for ever: only files are read.
            raise InputError([Problem(source=str(path), message="not a regular file or folder")])
        else:
            raise InputError([Problem(source=str(path), message="no such file or folder")])
    return files


def read_file(path: Path, max_bytes: int | None = None) -> list[RawEntry]:
    """The entries of one file, read up to max_bytes (default: the $CDS_MAX_BYTES cap)."""
    cap = max_bytes if max_bytes is not None else limits().max_bytes
    try:
        with path.open("rb") as stream:
            data = stream.read(cap + 1)
    except OSError as exc:
        raise InputError([Problem(source=str(path), message=f"cannot read: {exc.strerror}")]) from exc
    if len(data) > cap:
        raise LimitError([Problem(source=str(path), message=(
            f"more than {cap:,} bytes: over the cap (max bytes per file, --max-bytes or $CDS_MAX_BYTES)"))])
    encoding = _utf16_or_32(data)
    if encoding:
        raise InputError([Problem(source=str(path), message=f"is {encoding}: FHIR JSON must be UTF-8; save it as UTF-8")])
    if path.suffix == ".ndjson":
        return list(read_ndjson(data, str(path)))
    return read_document(_loads(data, str(path)), str(path))


def read_ndjson(data: bytes, source: str) -> Iterator[RawEntry]:
    problems: list[Problem] = []
    entries: list[RawEntry] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(Problem(source=source, entry=number, message=f"line is not JSON: {exc}"))
            continue
        problem = _resource_problem(resource, source, number)
        if problem:
            problems.append(problem)
        else:
            entries.append(RawEntry(source=source, entry=number, resource=resource))
    if problems:
        raise InputError(problems)
    yield from entries


def read_document(document: Any, source: str) -> list[RawEntry]:
    """Entries of a parsed JSON document (Bundle, resource or array of resources)."""
    if isinstance(document, list):
        problems = [p for i, r in enumerate(document) if (p := _resource_problem(r, source, i))]
        if problems:
            raise InputError(problems)
        return [RawEntry(source=source, entry=i, resource=r) for i, r in enumerate(document)]
    problem = _resource_problem(document, source, None)
    if problem:
        raise InputError([problem])
    if document["resourceType"] == "Bundle":
        return _bundle_entries(document, source)
    return [RawEntry(source=source, entry=None, resource=document)]


def _bundle_entries(bundle: dict[str, Any], source: str) -> list[RawEntry]:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InputError([Problem(source=source, element="Bundle.entry", message="must be an array")])
    problems: list[Problem] = []
    result: list[RawEntry] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(Problem(source=source, entry=index, message="entry is not an object"))
            continue
        resource = entry.get("resource")
        if resource is None:
            continue
        problem = _resource_problem(resource, source, index)
        if problem:
            problems.append(problem)
            continue
        full_url = entry.get("fullUrl")
        result.append(
            RawEntry(
                source=source,
                entry=index,
                full_url=full_url if isinstance(full_url, str) else None,
                resource=resource,
                in_bundle=True,
            )
        )
    if problems:
        raise InputError(problems)
    return result


def _resource_problem(resource: Any, source: str, entry: int | None) -> Problem | None:
    if not isinstance(resource, dict):
        return Problem(source=source, entry=entry, message="not a FHIR resource (expected a JSON object)")
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        return Problem(
            source=source, entry=entry, element="resourceType",
            message="missing: not a FHIR resource",
        )
    return None


def _utf16_or_32(data: bytes) -> str | None:
    """The encoding's name when the bytes are UTF-16 or UTF-32 (byte-order mark or NUL pattern)."""
    head = data[:4]
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    # JSON starts with an ASCII character: a NUL beside it means a wide encoding without BOM.
    if len(head) == 4 and (head[1:3] == b"\x00\x00" or head[0:3] == b"\x00\x00\x00"):
        return "UTF-32"
    if len(head) >= 2 and (head[0] == 0) != (head[1] == 0):
        return "UTF-16"
    return None


def _loads(data: bytes, source: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError([Problem(source=source, message=f"not valid JSON: {exc}")]) from exc
