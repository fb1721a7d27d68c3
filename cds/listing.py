"""Lists a person reads (reasons, card evidence): the first few, then how many more.

A record can repeat one diagnosis thousands of times; a reason or a card naming every entry
would be a page of text nobody reads. The full lists stay in the assessment (audit trail,
review page's evidence section, JSON output).
"""

from __future__ import annotations

from collections.abc import Sequence

SHOWN = 5


def listed(items: Sequence[str], separator: str = ", ", limit: int = SHOWN) -> str:
    if len(items) <= limit:
        return separator.join(items)
    return f"{separator.join(items[:limit])} and {len(items) - limit:,} more"
