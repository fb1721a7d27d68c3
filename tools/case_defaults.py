"""Rewrite case files (fixtures/cases/<ruleset>.yaml) with the `defaults:` that save the most lines.

Usage (from the repository root)::

    python tools/case_defaults.py fixtures/cases/S9494.yaml [...]

Each case keeps its name, place and expanded content (what `cds fixtures show NAME` prints):
the script reads the cases as cds/cases.py expands them, picks the defaults, writes each case
as its difference from them (fixtures/cases/README.md, Defaults), then reads the file back and
fails, leaving the file as it was, unless every case expands as before. A file written with or
without defaults can be rewritten; its comments are kept: the header, those between cases,
and those inside a case above the key they stood beside (that key stays written in the case).

Defaults chosen: per record key, the value (or none) that writes the fewest lines; per
therapy, one case's expectations, the ones the others differ from least (`_usual`).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cds import cases  # noqa: E402

ABSENT: Any = object()   # a key a case does not write (None is YAML's `~`)
RECORD_KEYS = ["as_of", "patient", "conditions", "observations", "procedures", "immunizations", "medications",
               "order", "raw"]
INTRO = ["# Every case starts from these: a key a case writes replaces the default's, but `expect`",
         "# merges key by key; `~` removes a default (fixtures/cases/README.md). `cds fixtures show NAME`",
         "# prints a case with its defaults applied."]
Path_ = tuple[Any, ...]


class _Block(dict):  # type: ignore[type-arg]
    """A mapping always written in block style: a case, its `expect`, a therapy's expectations."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(_Block, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                                                    flow_style=False))
_Dumper.add_representer(type(None), lambda d, _: d.represent_scalar("tag:yaml.org,2002:null", "~"))


def _dump(data: Any, indent: int = 0) -> list[str]:
    text = yaml.dump(data, Dumper=_Dumper, default_flow_style=None, sort_keys=False, width=112 - indent,
                     allow_unicode=True)
    return [" " * indent + line if line else line for line in text.splitlines()]


def _same(a: Any, b: Any) -> bool:
    return a is not ABSENT and b is not ABSENT and _canon(a) == _canon(b) and a == b


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


# Choosing the defaults -------------------------------------------------------------------------


def _cheapest(values: list[Any]) -> Any:
    """The default of a record key that writes the fewest lines over the file (ABSENT: none)."""
    counts = Counter(_canon(v) for v in values if v is not ABSENT)
    candidates = [ABSENT] + [next(v for v in values if v is not ABSENT and _canon(v) == key)
                             for key, _ in counts.most_common(3)]

    def cost(default: Any) -> int:
        total = 0 if default is ABSENT else len(_dump({"k": default}))
        for value in values:
            if value is ABSENT:
                total += 0 if default is ABSENT else 1      # `key: ~`
            elif not _same(value, default):
                total += len(_dump({"k": value}))
        return total
    return min(candidates, key=cost)


def _usual(blocks: list[Any]) -> Any:
    """A therapy's default expectations: one case's own (a coherent outcome a reader can trust),
    the one the other cases differ from least, keeping only the keys at least half the cases
    state (a case rarely needs `~`, which for an expectation reads "not checked"); ABSENT when
    fewer than half the cases expect anything of the therapy."""
    present = [b for b in blocks if b is not ABSENT]
    if not present or len(present) * 2 < len(blocks):
        return ABSENT
    stated = Counter(key for block in present for key in block)
    kept = {key for key, count in stated.items() if count * 2 >= len(present)}
    candidates = list({_canon(b): {k: v for k, v in b.items() if k in kept} for b in present}.values())

    def cost(default: dict[str, Any]) -> int:
        return sum(len(_canon(_patch(default, block))) for block in blocks if not _same(default, block))
    return min(candidates, key=cost)


def _patch(default: Any, value: Any) -> Any:
    """What a case writes under `expect` so that the merge of cds/cases.py gives value (ABSENT: nothing)."""
    if _same(default, value):
        return ABSENT
    if not (isinstance(default, dict) and isinstance(value, dict)):
        return value
    patch = {k: _patch(default.get(k, ABSENT), v) for k, v in value.items()}
    patch = {k: v for k, v in patch.items() if v is not ABSENT}
    return {**patch, **{k: None for k in default if k not in value}}


def _pin(patch: Any, value: Any, path: Path_) -> Any:
    """The patch with value's entry at path written out: a commented expectation stays in the case."""
    if not path:
        return patch if isinstance(patch, dict) and patch else value
    if not isinstance(value, dict) or path[0] not in value:
        return patch
    patch = {} if patch is ABSENT else patch
    if not isinstance(patch, dict):
        return patch
    return {**patch, path[0]: _pin(patch.get(path[0], ABSENT), value[path[0]], path[1:])}


def _ordered(patch: Any, written: Any, value: Any) -> Any:
    """The patch's keys in the order the case wrote them, then in the order of its expansion."""
    if not isinstance(patch, dict):
        return patch
    written = written if isinstance(written, dict) else {}
    value = value if isinstance(value, dict) else {}
    keys = list(dict.fromkeys([*(k for k in written if k in patch), *(k for k in value if k in patch), *patch]))
    return {k: _ordered(patch[k], written.get(k), value.get(k)) for k in keys}


# Comments --------------------------------------------------------------------------------------


def _key_paths(node: yaml.Node, path: Path_ = ()) -> Iterator[tuple[int, Path_]]:
    """(line, path) of every mapping key and list item under node, in document order."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key.start_mark.line, (*path, key.value)
            yield from _key_paths(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for n, value in enumerate(node.value):
            yield value.start_mark.line, (*path, n)
            yield from _key_paths(value, (*path, n))


def _comments(text: str) -> list[tuple[int, int, str, bool]]:
    """(line, column, comment, beside a value) of every comment, told apart from a `#` inside a
    text by the scanner's tokens."""
    last_end: dict[int, int] = {}
    inside: set[int] = set()
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        start, end = token.start_mark, token.end_mark
        inside.update(range(start.line + 1, end.line))
        last_end[end.line] = max(last_end.get(end.line, 0), end.column)
        last_end.setdefault(start.line, 0)
    found = []
    for n, line in enumerate(text.splitlines()):
        if n in inside and n not in last_end:
            continue
        rest = line[last_end.get(n, 0):].strip()
        if rest.startswith("#"):
            beside = bool(line[:last_end.get(n, 0)].strip())
            found.append((n, len(line) - len(line.lstrip()), rest, beside))
    return found


class _Layout:
    """The comments of a case file: its header, those before each case and those inside each."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        tops = {key.value: key.start_mark.line for key, _ in root.value}
        starts = [(key.start_mark.line, key.value, value)
                  for key, value in next(v for k, v in root.value if k.value == "cases").value]
        lines = text.splitlines()[:min(tops.values())]
        for intro in INTRO:
            lines = [line for line in lines if line != intro]
        while lines and not lines[-1].strip():
            lines.pop()
        self.header = lines
        self.before: dict[str, list[str]] = {}
        self.inside: dict[str, list[tuple[Path_, str]]] = {}
        self.after: list[str] = []
        for line, column, comment, beside in _comments(text):
            if line <= tops["cases"]:
                if line >= min(tops.values()):
                    print(f"  {path.name} line {line + 1}: comment outside `cases:` dropped: {comment}")
                continue
            index = max((n for n, (start, _, _) in enumerate(starts) if start <= line), default=-1)
            if index < 0 or (not beside and column <= 2):
                # Between cases: it introduces the next one.
                following = [name for start, name, _ in starts if start > line]
                if following:
                    self.before.setdefault(following[0], []).append(comment)
                else:
                    self.after.append(comment)
                continue
            _, name, node = starts[index]
            keys = list(_key_paths(node))
            if beside:
                on = [p for at, p in keys if at == line]
                target = on[0] if on else max((k for k in keys if k[0] < line), key=lambda k: k[0])[1]
            else:
                target = next((p for at, p in keys if at > line), ())
            self.inside.setdefault(name, []).append((target, comment))

    def place(self, name: str, lines: list[str]) -> list[str]:
        """The case's lines with its comments above the keys they stood beside."""
        wanted = self.inside.get(name, [])
        if not wanted:
            return lines
        node = yaml.compose("\n".join(lines), Loader=yaml.SafeLoader)
        at: dict[Path_, int] = {}
        for line, path in _key_paths(node):
            at.setdefault(path, line)
        above: dict[int, list[str]] = {}
        for target, comment in wanted:
            path: Path_ = (name, *target)
            while path not in at and len(path) > 1:
                path = path[:-1]
            line = at[path] if len(path) > 1 else at[path] + 1
            indent = len(lines[line]) - len(lines[line].lstrip())
            above.setdefault(line, []).append(" " * indent + comment)
        return [out for n, line in enumerate(lines) for out in (*above.get(n, []), line)]


# The rewrite -----------------------------------------------------------------------------------


def rewrite(path: Path) -> None:
    loaded = cases.load_file(path)
    layout = _Layout(path)
    written = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
    records = [{"as_of": c.as_of, **c.record} for c in loaded]
    defaults: dict[str, Any] = {}
    for key in RECORD_KEYS:
        if (chosen := _cheapest([r.get(key, ABSENT) for r in records])) is not ABSENT:
            defaults[key] = chosen
    therapies = list(dict.fromkeys(t for c in loaded for t in c.expect))
    expect = {t: e for t in therapies if (e := _usual([c.expect.get(t, ABSENT) for c in loaded])) is not ABSENT}
    if expect:
        defaults["expect"] = _Block({t: _Block(e) for t, e in expect.items()})
    out = [*layout.header, "", *INTRO, "defaults:", *_dump(_Block(defaults), 2), "", "cases:"]
    for case, record in zip(loaded, records):
        body: dict[str, Any] = {"description": case.description}
        if case.known_gap:
            body["known_gap"] = case.known_gap
        pinned = [target for target, _ in layout.inside.get(case.name, []) if target]
        for key in RECORD_KEYS:
            value, default = record.get(key, ABSENT), defaults.get(key, ABSENT)
            if value is ABSENT and default is not ABSENT:
                body[key] = None
            elif value is not ABSENT and (not _same(value, default) or any(t[0] == key for t in pinned)):
                body[key] = value
        patch = _patch(expect, case.expect) if expect else case.expect
        for target in pinned:
            if target[0] == "expect" and len(target) > 1:
                patch = _pin(patch, case.expect, target[1:])
        patch = _ordered(patch, (written.get(case.name) or {}).get("expect"), case.expect)
        if patch is not ABSENT and patch:
            body["expect"] = _Block({t: _Block(e) if isinstance(e, dict) else e for t, e in patch.items()})
        if case.name in layout.before:
            out += ["", *("  " + comment for comment in layout.before[case.name])]
        out += layout.place(case.name, _dump({case.name: _Block(body)}, 2))
    out += ["  " + comment for comment in layout.after]
    original = path.read_text(encoding="utf-8")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    again = cases.load_file(path)
    if [(c.name, c) for c in again] != [(c.name, c) for c in loaded]:
        path.write_text(original, encoding="utf-8")
        raise SystemExit(f"{path}: the rewrite would change a case; the file is left as it was")


def main(argv: list[str]) -> int:
    for name in argv:
        path = Path(name)
        before = len(path.read_text(encoding="utf-8").splitlines())
        rewrite(path)
        print(f"{path}: {before} -> {len(path.read_text(encoding='utf-8').splitlines())} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
