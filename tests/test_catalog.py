"""The criteria catalog: every criterion of every ruleset, with its sources, branches in words, why and value
sets, rendered from the files the engine runs; versions on every page; working links."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds import knowledge
from cds.catalog import catalog, html_pages, markdown_pages
from cds.catalog.routes import router
from cds.catalog import model as catalog_model
from cds.ruleset import Criterion

from .audit_support import cds
from .case_support import all_cases

KNOWLEDGE = knowledge.default()
RULESETS = list(KNOWLEDGE.rulesets.values())


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return html_pages()


def _card(page: str, anchor: str) -> str:
    """The card with this id, entities decoded so texts compare as written in the ruleset."""
    start = page.index(f'id="{anchor}"')
    return html.unescape(page[start:page.index("</section>", start)])


@pytest.mark.parametrize("criterion", [c for r in RULESETS for c in r.criteria], ids=lambda c: c.id)
def test_every_criterion_appears_with_its_text_why_and_sources(pages: dict[str, str], criterion: Criterion) -> None:
    therapy = criterion.id.split(".")[0]
    ruleset = KNOWLEDGE.rulesets[therapy]
    card = _card(pages[f"/criteria/{therapy}"], criterion.id)
    assert criterion.text.strip() in card
    # The logic is the branches in words (generated); what they do not say is the criterion's why.
    assert (f"<b>Why:</b> {criterion.why.strip()}" in card) if criterion.why else ("<b>Why:</b>" not in card)
    for source in criterion.sources:
        assert f"<b>{source}</b>: {ruleset.sources[source]}" in card
    # One row per branch and one for "otherwise", each with the reason the engine gives.
    assert card.count("<tr><td class=\"r-") == len(criterion.branches) + 1
    for branch in criterion.branches:
        assert branch.reason in card
    assert criterion.otherwise.reason in card


def test_findings_documents_alternatives_and_billing_appear(pages: dict[str, str]) -> None:
    for ruleset in RULESETS:
        page = pages[f"/criteria/{ruleset.therapy}"]
        for item in [*ruleset.findings, *ruleset.documentation]:
            card = _card(page, item.id)
            assert item.text in card
            assert all(f"<b>{s}</b>" in card for s in item.sources)
        for document in ruleset.documentation:
            # What the record suggests is shown with the condition that adds it.
            card = _card(page, document.id)
            assert all(note.note in card for note in document.notes)
            assert card.count("<b>Adds, when</b>") == len(document.notes)
        for alternative in ruleset.alternatives:
            card = _card(page, f"alternative-{alternative.id}")
            assert alternative.text in card
            assert all(o.reason in card for o in alternative.offered)
        billing = html.unescape(page[page.index('id="billing"'):])
        assert all(note in billing for note in ruleset.billing.notes)


def test_conditions_are_given_in_words_with_links_to_their_value_sets(pages: dict[str, str]) -> None:
    card = _card(pages["/criteria/S9363"], "S9363.age")
    assert "the patient is 4 years or older on the as-of date" in card
    indication = _card(pages["/criteria/S9363"], "S9363.indication")
    assert 'href="/criteria/valuesets/spasticity-origin"' in indication
    access = _card(pages["/criteria/S9494"], "S9494.vascular-access")
    assert "with no later procedure (a removal) coded in" in access
    assert 'href="/criteria/valuesets/central-line-removal"' in access


def test_every_page_names_the_ruleset_versions_and_content_hashes(pages: dict[str, str]) -> None:
    for text in [*pages.values(), *markdown_pages(catalog()).values()]:
        for ruleset in RULESETS:
            assert ruleset.full_version in text and ruleset.content_hash in text


def test_every_value_set_lists_all_its_codes_and_its_provenance(pages: dict[str, str]) -> None:
    for info in KNOWLEDGE.valuesets.by_id.values():
        page = html.unescape(pages[f"/criteria/valuesets/{info.id}"])
        codes = re.findall(r"<td><code>([^<]+)</code>", page[page.index("<h2>Codes"):])
        assert sorted(codes) == sorted([c for _, c, _ in info.concepts] + [c for _, c in info.groups])
        assert info.purpose and info.purpose in page
        for _, code, display in info.concepts[:50]:
            if display:
                assert display in page


def test_every_value_set_a_criterion_reads_is_linked_from_its_therapy(pages: dict[str, str]) -> None:
    for view in catalog().rulesets:
        page = pages[f"/criteria/{view.therapy}"]
        assert view.valuesets
        for valueset in view.valuesets:
            assert f'href="/criteria/valuesets/{valueset}"' in page


def test_html_files_link_to_each_other(tmp_path: Path) -> None:
    done = cds("criteria", "--format", "html", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    files = list(tmp_path.rglob("*.html"))
    assert len(files) == 2 + len(RULESETS) + len(KNOWLEDGE.valuesets.by_id)  # + index, terminology
    for file in files:
        text = file.read_text(encoding="utf-8")
        for href in re.findall(r'href="([^"]+)"', text):
            target, _, anchor = href.partition("#")
            path = (file.parent / target).resolve() if target else file
            assert path.is_file(), f"{file.name}: {href}"
            if anchor:
                assert f'id="{anchor}"' in path.read_text(encoding="utf-8"), f"{file.name}: {href}"


def test_markdown_and_json_carry_every_criterion_and_source() -> None:
    done = cds("criteria", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for ruleset in RULESETS:
        view = next(r for r in data["rulesets"] if r["therapy"] == ruleset.therapy)
        assert [c["id"] for c in view["criteria"]] == [c.id for c in ruleset.criteria]
        for criterion, shown in zip(ruleset.criteria, view["criteria"]):
            assert [s["key"] for s in shown["sources"]] == criterion.sources
            assert shown["why"] == (criterion.why.strip() if criterion.why else None)
        assert view["content_hash"] == ruleset.content_hash
    markdown = markdown_pages(catalog())
    for ruleset in RULESETS:
        page = markdown[ruleset.therapy]
        for criterion in ruleset.criteria:
            section = page[page.index(f'<a id="{criterion.id}"></a>'):]
            section = section[:section.index("Sources:") + 2000]
            assert all(f"**{s}**: {ruleset.sources[s]}" in section for s in criterion.sources)
            assert not criterion.why or f"**Why:** {criterion.why.strip()}" in section


def test_the_service_serves_the_pages_with_anchors_for_cards() -> None:
    app = FastAPI()
    app.include_router(router())
    with TestClient(app) as client:
        index = client.get("/criteria")
        therapy = client.get("/criteria/S9326")
        missing = client.get("/criteria/S0000")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert therapy.status_code == 200 and 'id="S9326.indication"' in therapy.text
    assert missing.status_code == 404


def test_html_without_a_folder_is_refused() -> None:
    done = cds("criteria", "--format", "html")
    assert done.returncode == 2 and "--out DIR" in done.stderr


def test_markdown_without_a_folder_prints_the_index_only() -> None:
    done = cds("criteria")
    assert done.returncode == 0, done.stderr
    pages = markdown_pages(catalog())
    assert done.stdout == pages["index"]
    # The index grows with every ruleset and value set; it stays a small part of the catalog.
    assert len(done.stdout) < sum(len(page) for page in pages.values()) / 20
    assert "the index only; give --out DIR for all" in done.stderr


# The test evidence under each branch and finding -------------------------------------------------

CASES = all_cases()


def _rows(card: str) -> list[str]:
    """The branch rows of a criterion card, in order (the last is "otherwise")."""
    return card.split('<tr><td class="r-')[1:]


@pytest.mark.parametrize("therapy", [r.therapy for r in RULESETS])
def test_each_branch_lists_the_cases_written_for_it_with_their_expected_result(
        pages: dict[str, str], therapy: str) -> None:
    page = pages[f"/criteria/{therapy}"]
    for criterion in KNOWLEDGE.rulesets[therapy].criteria:
        rows = _rows(_card(page, criterion.id))
        outcomes = {(b.result, b.category) for b in criterion.branches} | {(criterion.otherwise.result, None)}
        for case in (c for c in CASES.values() if c.name.split("/")[0] == criterion.id):
            result = case.expect[therapy]["criteria"][criterion.id]
            categories = {c for r, c in outcomes if r == result}
            if "categories" in case.expect[therapy]:
                category = (case.expect[therapy]["categories"] or {}).get(criterion.id)
            elif len(categories) == 1:
                category, = categories  # the only branch giving that result
            else:
                continue  # the case does not say which of the result's branches it takes
            expected = result + (f" ({category})" if category else "")
            showing = [row for row in rows if f"<code>{case.name}</code>: {expected}<" in row
                       or f"<code>{case.name}</code>: {expected} <" in row]
            assert showing, f"{case.name} ({expected}) is not under a branch of {criterion.id}"
            # ... and only under branches giving that result.
            assert all(row.startswith(f'{result}">') for row in showing), case.name


def test_each_finding_lists_its_cases_reported_or_not(pages: dict[str, str]) -> None:
    for ruleset in RULESETS:
        page = pages[f"/criteria/{ruleset.therapy}"]
        for finding in ruleset.findings:
            card = _card(page, finding.id)
            named = [c for c in CASES.values() if c.name.split("/")[0] == finding.id]
            for case in named:
                reported = finding.id in case.expect[ruleset.therapy]["findings"]
                shown = f"<code>{case.name}</code>: {'reported (' + finding.severity + ')' if reported else 'not reported'}"
                assert shown in card, shown
            if not named:
                # Those reporting it, when none is named after it.
                assert f"reported ({finding.severity})" in card, finding.id


def test_a_payer_reads_the_evidence_in_markdown_and_json_and_known_gaps_are_marked() -> None:
    name = "S9363.age/under-4"
    case = CASES[name]
    data = catalog_model.build(KNOWLEDGE, {name: dataclasses.replace(case, known_gap="the engine says met")})
    age = next(c for c in data.ruleset("S9363").criteria if c.id == "S9363.age")
    listed = [(b.result, ref.name, ref.known_gap) for b in age.branches for ref in b.evidence.cases]
    assert listed == [("not-met", name, True)]
    page = markdown_pages(data)["S9363"]
    start = page.index('<a id="S9363.age"></a>')
    section = page[start:page.index("<a id=", start + 1)]
    assert f"`{name}` (not-met, known gap)" in section
    assert section.count("| none |") == len(age.branches) - 1
    shown = json.loads(data.model_dump_json())
    criterion = next(c for r in shown["rulesets"] if r["therapy"] == "S9363" for c in r["criteria"]
                     if c["id"] == "S9363.age")
    assert {"name": name, "expected": "not-met", "known_gap": True} in criterion["branches"][2]["evidence"]["cases"]


def test_without_cases_the_catalog_says_none() -> None:
    data = catalog_model.build(KNOWLEDGE)
    assert all(not b.evidence.cases and not b.evidence.others for r in data.rulesets for c in r.criteria
               for b in c.branches)
