"""The README's CRD example is real: the README's order-sign call answers with the systemAction
the README shows (the coverage-assertion-id, an audit record id, is new on every call)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .hooks_support.checks import make_client

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _assertion_ids(actions: list[dict]) -> list[str]:
    """Take the assertion ids out (each must be a uuid) and return them."""
    ids = []
    for action in actions:
        for extension in action["resource"]["extension"]:
            for part in list(extension["extension"]):
                if part["url"] == "coverage-assertion-id":
                    ids.append(part.pop("valueString"))
    return ids


def test_the_readme_crd_example_is_what_the_service_answers(tmp_path: Path) -> None:
    hooks = README[README.index("## CDS Hooks service"):README.index("### Conformance")]
    request = json.loads(re.search(r"<<'JSON'\n(.*?)\nJSON\n", hooks, re.S).group(1))
    crd = README[README.index("### Da Vinci CRD coverage information"):]
    shown = json.loads(re.search(r"```json\n(.*?)\n```", crd, re.S).group(1))
    with make_client(tmp_path, public_base_url="http://127.0.0.1:8080") as client:
        answer = client.post("/cds-services/home-infusion-order-sign", json=request).json()
    ids, shown_ids = _assertion_ids(answer["systemActions"]), _assertion_ids(shown["systemActions"])
    assert all(re.fullmatch(UUID, i) for i in ids + shown_ids) and len(ids) == len(shown_ids) == 1
    assert answer["systemActions"] == shown["systemActions"]
    # The answer's assertion id is the audit record behind the card's review link.
    assert answer["cards"][0]["links"][0]["url"].endswith("/review/" + ids[0])
