"""The README's CDS Hooks example is run: its request gives the cards it shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .hooks_support.checks import make_client

README = Path(__file__).resolve().parent.parent / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## CDS Hooks service"):text.index("### Conformance")]


def test_the_readme_example_answers_what_the_readme_shows(tmp_path: Path) -> None:
    section = _section()
    request = json.loads(re.search(r"<<'JSON'\n(.*?)\nJSON\n", section, re.S).group(1))
    shown = json.loads(re.search(r"The answer .*?```json\n(.*?)\n```", section, re.S).group(1))
    rendered = "\n".join(line[2:] if line.startswith("> ") else line[1:]
                         for line in section.splitlines() if line.startswith(">"))
    with make_client(tmp_path, public_base_url="http://127.0.0.1:8080") as client:
        answer = client.post(f"/cds-services/home-infusion-{request['hook']}", json=request).json()
    (card,), (shown_card,) = answer["cards"], shown["cards"]
    detail = card.pop("detail")
    shown_card.pop("detail")
    # The review link names the call's audit record, a new id on every call.
    (link,), (shown_link,) = card.pop("links"), shown_card.pop("links")
    review = r"http://127\.0\.0\.1:8080/review/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(review, link.pop("url")) and re.fullmatch(review, shown_link.pop("url"))
    assert link == shown_link
    assert card == shown_card
    # The ruleset's content hash changes with every edit of the ruleset; the text must not.
    assert re.sub(r"sha256:\w+", "sha256:…", detail) == re.sub(r"sha256:\w+", "sha256:…", rendered)
