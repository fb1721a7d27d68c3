"""A term in words, as a tree a page can render as nested lists (the catalog, the README)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..compare import in_words
from .nodes import Compare


class Words(BaseModel):
    text: str
    # Value sets the text names, in order: rendered as links after the text.
    valuesets: list[str] = []
    children: list["Words"] = []

    def plain(self, titles: dict[str, str] | None = None, depth: int = 0) -> str:
        """One line per node, indented: for Markdown and for tests."""
        shown = [f"{(titles or {}).get(v, v)} ({v})" for v in self.valuesets]
        line = "  " * depth + "- " + self.text + (" " + " or ".join(shown) if shown else "")
        return "\n".join([line] + [c.plain(titles, depth + 1) for c in self.children])


def either(values: Any) -> str:
    """"a, b or c"."""
    items = [str(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def quoted(phrases: Any) -> str:
    return either([f'"{p}"' for p in phrases])


def compared(compare: Compare, unit: str = "") -> str:
    return "cannot be told" if compare.unknown else in_words(compare.bounds, unit)
