"""The review pages through the FastAPI test client, and what a reader sees on them."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from cds import cases, knowledge
from cds.audit import AuditRecord, AuditTrail
from cds.web import Settings, create_app
from cds.service.feedback import FeedbackStore

from ..case_support import all_cases

ROOT = Path(__file__).resolve().parents[2]
CASES = all_cases()
AS_OF = dt.date(2026, 11, 22)
_TAGS = re.compile(r"<[^>]+>")
_BEFORE_PUNCTUATION = re.compile(r" ([,.:;)])")


@dataclass
class App:
    client: TestClient
    folder: Path

    def records(self) -> list[AuditRecord]:
        with AuditTrail.open(f"sqlite:///{self.folder / 'audit.sqlite'}") as trail:
            return list(trail.records())

    def feedback(self) -> list[dict[str, object]]:
        return FeedbackStore(self.folder / "hooks.sqlite").all()

    def assess(self, **form: str) -> str:
        """Submit the form; the permalink path it redirects to."""
        response = self.client.post("/review", data={"as_of": "", **form}, files={"upload": ("", b"")},
                                    follow_redirects=False)
        assert response.status_code == 303, text(response.text)[:2000]
        return str(response.headers["location"])


@contextmanager
def review_app(folder: Path, **extra: Any) -> Iterator[App]:
    """extra: more settings (auth, public_base_url)."""
    settings = Settings(as_of=AS_OF, feedback_db=folder / "hooks.sqlite",
                        audit_url=f"sqlite:///{folder / 'audit.sqlite'}", **extra)
    with TestClient(create_app(settings)) as client:
        yield App(client=client, folder=folder)


def fixture_json(name: str) -> str:
    """A case's record as the FHIR Bundle JSON the builder makes (what a fixture upload holds)."""
    routes = cases.route_codes(knowledge.default().terminology.routes.snomed)
    return json.dumps(cases.build(CASES[name], routes))


def text(page: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    return _BEFORE_PUNCTUATION.sub(r"\1", " ".join(html.unescape(_TAGS.sub(" ", page)).split()))


def section(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its matching close tag (sections, divs)."""
    start = page.index(f'id="{element_id}"')
    start = page.rindex("<", 0, start)
    tag = re.match(r"<(\w+)", page[start:]).group(1)  # type: ignore[union-attr]
    depth, position = 0, start
    for match in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            position = start + match.end()
            break
    return page[start:position]
