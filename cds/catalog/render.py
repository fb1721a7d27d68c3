"""The catalog as HTML pages (service and files), Markdown and JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from .. import cases as _cases
from .. import knowledge as _knowledge
from ..knowledge import Knowledge
from .evidence import Evidence
from .model import Catalog, RulesetView, ValueSetView, build
from .words import Words

SYSTEMS = {
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://snomed.info/sct": "SNOMED CT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
}
SERVICE_BASE = "/criteria"

_environment = Environment(loader=PackageLoader("cds.catalog", "templates"),
                           autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)


def catalog(knowledge: Knowledge | None = None) -> Catalog:
    """The catalog of the rulesets the engine runs (cds.knowledge.default() unless given), with the
    repository's test cases as evidence when the rulesets are the shipped ones and the cases are
    there (an installed package has none; another rulesets folder is not what they test)."""
    knowledge = knowledge or _knowledge.default()
    shipped = knowledge.folder.resolve() == _knowledge.DEFAULT_RULESETS.resolve()
    cases = _cases.load() if shipped and _cases.DEFAULT_FOLDER.is_dir() else None
    return build(knowledge, cases)


def pages(data: Catalog) -> list[str]:
    """Page names: "index", each therapy, "terminology", "valuesets/<id>"."""
    return (["index"] + [r.therapy for r in data.rulesets] + ["terminology"]
            + [f"valuesets/{v.id}" for v in data.valuesets])


def render_page(data: Catalog, page: str, link: Callable[[str], str]) -> str:
    titles = {v.id: v.title for v in data.valuesets}
    common = {"catalog": data, "link": link, "titles": titles, "systems": SYSTEMS}
    if page == "index":
        return _environment.get_template("index.html.j2").render(**common)
    if page == "terminology":
        return _environment.get_template("terminology.html.j2").render(t=data.terminology, **common)
    if page.startswith("valuesets/"):
        valueset = next(v for v in data.valuesets if v.id == page.removeprefix("valuesets/"))
        return _environment.get_template("valueset.html.j2").render(v=valueset, **common)
    return _environment.get_template("ruleset.html.j2").render(r=data.ruleset(page), **common)


def html_pages(base: str = SERVICE_BASE, knowledge: Knowledge | None = None) -> dict[str, str]:
    """URL path -> HTML for the service: /criteria, /criteria/<therapy> (criteria anchored by id,
    /criteria/<therapy>#<criterion id>), /criteria/terminology, /criteria/valuesets/<id>."""
    data = catalog(knowledge)

    def link(target: str) -> str:
        return base if target == "index" else f"{base}/{target}"

    return {link(page): render_page(data, page, link) for page in pages(data)}


def write_html(out: Path, knowledge: Knowledge | None = None) -> list[Path]:
    """The same pages as files with relative links: index.html, <therapy>.html, valuesets/<id>.html."""
    data = catalog(knowledge)
    written = []
    for page in pages(data):
        depth = page.count("/")

        def link(target: str, depth: int = depth) -> str:
            return "../" * depth + f"{target}.html"

        path = out / f"{page}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_page(data, page, link), encoding="utf-8")
        written.append(path)
    return written


def write_json(data: Catalog) -> str:
    return data.model_dump_json(indent=2)


def markdown_pages(data: Catalog) -> dict[str, str]:
    """Page name -> Markdown, the same pages as the HTML."""
    titles = {v.id: v.title for v in data.valuesets}
    header = "Rulesets: " + "; ".join(f"{t} `{v}` (content sha256 `{h}`)" for t, v, h in data.versions)
    out = {"index": _md_index(data, header)}
    for ruleset in data.rulesets:
        out[ruleset.therapy] = _md_ruleset(ruleset, header, titles)
    out["terminology"] = _md_terminology(data, header)
    for valueset in data.valuesets:
        out[f"valuesets/{valueset.id}"] = _md_valueset(valueset, header)
    return out


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_words(words: Words | None, titles: dict[str, str]) -> str:
    if words is None:
        return "otherwise"
    names = [f"{titles.get(v, v)} (`{v}`)" for v in words.valuesets]
    text = words.text + (" " + " or ".join(names) if names else "")
    if words.children:
        text += " " + "; ".join(f"({_md_words(c, titles)})" for c in words.children)
    return text


def _md_evidence(evidence: Evidence) -> str:
    shown = [f"`{c.name}` ({c.expected}{', known gap' if c.known_gap else ''})" for c in evidence.cases]
    if evidence.others:
        shown.append(f"{len(evidence.cases) and 'and '}{evidence.others} other case(s)")
    return "; ".join(shown) or "none"


def _md_index(data: Catalog, header: str) -> str:
    lines = ["# Home infusion therapy: coverage criteria", "", header, "",
             "Generated from the ruleset files the engine runs.", "", "## Therapies", "",
             "| HCPCS | Title | Version | Criteria |", "|---|---|---|---|"]
    for r in data.rulesets:
        lines.append(f"| {r.therapy} | {_cell(r.title)} | `{r.full_version}` | "
                     + ", ".join(f"`{c.id}`" for c in r.criteria) + " |")
    lines += ["", "## Value sets", "", "| Id | Title | Version | Codes | Read by |", "|---|---|---|---:|---|"]
    for v in data.valuesets:
        lines.append(f"| `{v.id}` | {_cell(v.title)} | {v.version or ''} | {len(v.concepts)} | "
                     f"{_cell(', '.join(v.used_by) or 'no rule reads it directly')} |")
    return "\n".join(lines) + "\n"


def _md_sources(items: list) -> list[str]:  # type: ignore[type-arg]
    return [f"- **{s.key}**: {s.citation}" for s in items]


def _md_ruleset(r: RulesetView, header: str, titles: dict[str, str]) -> str:
    lines = [f"# {r.therapy}: {r.title}", "", header, "", r.summary, "",
             f"File `rulesets/{r.file}`, version `{r.full_version}`, content sha256 `{r.content_hash}`.", "",
             f"DTR Questionnaire: `{r.questionnaire}|{r.questionnaire_version}` on the service "
             f"(`cds questionnaire {r.therapy}` prints it).", "",
             "## Criteria", ""]
    for c in r.criteria:
        lines += [f'<a id="{c.id}"></a>', f"### `{c.id}` ({c.kind}{', required' if c.required else ''})", "",
                  c.text, "", *([f"**Why:** {c.why}", ""] if c.why else []), "| Result | When | Reason given | Test cases |",
                  "|---|---|---|---|"]
        lines += [f"| {b.result}{f' ({b.category})' if b.category else ''} | {_cell(_md_words(b.when, titles))} | "
                  f"{_cell(b.reason)} | {_cell(_md_evidence(b.evidence))} |" for b in c.branches]
        lines += ["", "Sources:", *_md_sources(c.sources), ""]
    lines += ["## Safety findings", ""]
    for f in r.findings:
        lines += [f'<a id="{f.id}"></a>', f"### `{f.id}` ({f.severity})", "", f.text, "",
                  f"**When:** {_md_words(f.when, titles)}", "",
                  *([f"**As info when:** {_md_words(f.info_when, titles)}", ""] if f.info_when else []),
                  *([f"**Cites, when the record holds it:** {_md_words(f.cites, titles)}", ""] if f.cites else []),
                  f"**Test cases:** {_md_evidence(f.evidence)}", "", "Sources:", *_md_sources(f.sources), ""]
    lines += ["## Documentation", ""]
    for d in r.documentation:
        lines += [f'<a id="{d.id}"></a>', f"### `{d.id}`", "", d.text, "",
                  f"**When:** {_md_words(d.when, titles) if d.when else 'always'}", ""]
        for note, when in d.notes:
            lines += [f"Adds, when {_md_words(when, titles)}:", "", f"> {note}", ""]
        lines += ["Sources:", *_md_sources(d.sources), ""]
    lines += ["## Alternatives", ""]
    for a in r.alternatives:
        lines += [f"### `{a.id}`", "", a.text, ""]
        lines += [f"- offered {'when ' + _md_words(o.when, titles) if o.when else 'always'}: {o.reason}"
                  for o in a.offered]
        lines += [f"- rank 1 (priority {p}) when {_md_words(w, titles)}" for p, w in a.lead]
        lines += ["", "Sources:", *_md_sources(a.sources), ""]
    lines += ["## Billing", "", f"**{r.billing.code}**, {r.billing.unit}", ""]
    for code, when in r.billing.codes:
        lines += [f"**{code}** when:", when.plain(), ""]
    if r.billing.untold:
        lines += [f"Otherwise {r.billing.code}: {r.billing.untold}", ""]
    for note, when in r.billing.order_notes:
        lines += ["With an order, when:", when.plain(titles), "", f"> {note}", ""]
    lines += [f"- {n}" for n in r.billing.notes] + ["", "Sources:", *_md_sources(r.billing.sources), ""]
    lines += ["## Value sets read", ""] + [f"- {titles.get(v, v)} (`{v}`)" for v in r.valuesets]
    lines += ["", "## Sources", "", *_md_sources(r.sources)]
    return "\n".join(lines) + "\n"


def _names(drug_class: dict[str, Any]) -> list[str]:
    combinations = [" with ".join(c) for c in drug_class.get("combinations", [])]
    return [*drug_class["ingredients"], *drug_class.get("brands", []), *combinations]


def _md_terminology(data: Catalog, header: str) -> str:
    t = data.terminology
    lines = ["# Medication classes and routes", "", header, "",
             f"File `rulesets/terminology.yaml`, sha256 `{data.terminology_sha256}`.", "",
             "| Class | Value sets | Ingredients and brands |", "|---|---|---|"]
    lines += [f"| {name} | {', '.join(c['valuesets'])} | {', '.join(_names(c))} |"
              for name, c in t["drug_classes"].items()]
    lines += ["", "| SNOMED CT | Route | Class |", "|---|---|---|"]
    lines += [f"| `{code}` | {route} | {t['routes']['classes'].get(route, '')} |"
              for code, route in t["routes"]["snomed"].items()]
    lines += ["", "| Dose form | Route |", "|---|---|"] + [f"| {f} | {r} |" for f, r in t["dose_forms"].items()]
    lines += ["", "## Sources", ""] + [f"- **{k}**: {v}" for k, v in t["sources"].items()]
    return "\n".join(lines) + "\n"


def _md_valueset(v: ValueSetView, header: str) -> str:
    lines = [f"# {v.title}", "", header, "", f"- id: `{v.id}`", f"- url: `{v.url}`",
             f"- identifier: {', '.join(f'`{i}`' for i in v.identifiers) or '-'}", f"- version: {v.version or '-'}",
             f"- publisher: {v.publisher or '-'}", f"- provenance: {v.purpose or '-'}",
             f"- file: `rulesets/valuesets/{v.file}`, sha256 `{v.sha256}`",
             f"- read by: {', '.join(v.used_by) or 'no rule reads it directly'}", "",
             "| System | Code | Display |", "|---|---|---|"]
    lines += [f"| {SYSTEMS.get(c.system, c.system)} | `{c.code}`{' and below' if c.group else ''} | "
              f"{_cell(c.display or '')} |" for c in v.concepts]
    return "\n".join(lines) + "\n"
