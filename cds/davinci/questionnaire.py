"""A therapy's DTR Questionnaire and the ValueSets it uses, generated from its ruleset.

One item per criterion and per documentation item (items.py), no enableWhen: every question is
shown, and the draft QuestionnaireResponse answers what the record already tells.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..knowledge import Knowledge
from ..terminology.valuesets import ValueSetInfo
from . import fhir
from .canonical import questionnaire_id, questionnaire_url
from .items import Item, items

# The DTR package rule: ValueSets with fewer codes than this are sent expanded.
EXPAND_BELOW = 40
PUBLISHER = "home-infusion-cds"


def versioned(url: str, version: str | None) -> str:
    return f"{url}|{version}" if version else url


def build_questionnaire(knowledge: Knowledge, therapy: str, base_url: str) -> dict[str, Any]:
    ruleset = knowledge.rulesets[therapy]
    return {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(therapy),
        "meta": {"profile": [fhir.STD_QUESTIONNAIRE]},
        "url": questionnaire_url(base_url, therapy),
        "version": ruleset.version,
        "name": f"HomeInfusion{therapy}",
        "title": f"{therapy} {ruleset.title}: documentation",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": PUBLISHER,
        "description": (f"The coverage criteria and documentation items of ruleset {therapy} "
                        f"{ruleset.full_version}, one question each. Answered on the server from the "
                        "record; no CQL is shipped."),
        "item": [_item(knowledge, item, base_url) for item in items(knowledge, therapy)],
    }


def _item(knowledge: Knowledge, item: Item, base_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id, "text": item.text, "type": item.type}
    if item.type == "choice":
        info = _single(knowledge, item)
        out["answerValueSet"] = versioned(info.url, info.version) if info is not None \
            else versioned(answer_valueset_url(base_url, item), _version(knowledge, item))
    if item.unit is not None:
        out["extension"] = [{"url": fhir.UNIT_OPTION, "valueCoding": _unit(item)}]
    return out


def _unit(item: Item) -> dict[str, Any]:
    assert item.unit is not None
    return {"system": fhir.UCUM, "code": item.unit.code, "display": item.unit.display or item.unit.code}


def _single(knowledge: Knowledge, item: Item) -> ValueSetInfo | None:
    return knowledge.valuesets.by_id[item.options[0]] if len(item.options) == 1 else None


def answer_valueset_url(base_url: str, item: Item) -> str:
    """The answer ValueSet of a choice over several value sets (their union)."""
    return f"{base_url.rstrip('/')}/fhir/ValueSet/{_answer_id(item)}"


def _answer_id(item: Item) -> str:
    return "hit-" + item.link_id.lower().replace(".", "-") + "-answers"


def _version(knowledge: Knowledge, item: Item) -> str | None:
    versions = sorted({v for v in (knowledge.valuesets.by_id[o].version for o in item.options) if v})
    return versions[-1] if versions else None


def build_valuesets(knowledge: Knowledge, therapy: str, base_url: str) -> list[dict[str, Any]]:
    """Every ValueSet the Questionnaire's choice items name, expanded below EXPAND_BELOW codes:
    the project's own value sets, and the union ValueSet of an item with several."""
    out: dict[str, dict[str, Any]] = {}
    for item in items(knowledge, therapy):
        if item.type != "choice":
            continue
        for option in item.options:
            out.setdefault(option, valueset_resource(knowledge.valuesets.by_id[option]))
        if len(item.options) > 1:
            out[_answer_id(item)] = _union(knowledge, item, base_url)
    return list(out.values())


def valueset_resource(info: ValueSetInfo) -> dict[str, Any]:
    concepts: dict[str, list[dict[str, Any]]] = {}
    for system, code, display in info.concepts:
        concepts.setdefault(system, []).append({"code": code, **({"display": display} if display else {})})
    include: list[dict[str, Any]] = [{"system": s, "concept": c} for s, c in concepts.items()]
    include += [{"system": system, "filter": [{"property": "concept", "op": "is-a", "value": code}]}
                for system, code in info.groups]
    resource: dict[str, Any] = {
        "resourceType": "ValueSet", "id": info.id, "url": info.url, "name": _name(info.id),
        "title": info.title, "status": "active", "compose": {"include": include},
    }
    for key, value in (("version", info.version), ("publisher", info.publisher), ("purpose", info.purpose)):
        if value:
            resource[key] = value
    expansion = _expansion(info.concepts) if not info.groups else None
    if expansion is not None:
        resource["expansion"] = expansion
    return resource


def _union(knowledge: Knowledge, item: Item, base_url: str) -> dict[str, Any]:
    infos = [knowledge.valuesets.by_id[o] for o in item.options]
    resource: dict[str, Any] = {
        "resourceType": "ValueSet", "id": _answer_id(item), "url": answer_valueset_url(base_url, item),
        "name": _name(_answer_id(item)), "title": f"Answers to {item.link_id}", "status": "active",
        "publisher": PUBLISHER, "purpose": f"The answer options of {item.link_id}: the union of "
                                          + ", ".join(i.id for i in infos) + ".",
        "compose": {"include": [{"valueSet": [versioned(i.url, i.version)]} for i in infos]},
    }
    version = _version(knowledge, item)
    if version:
        resource["version"] = version
    if not any(i.groups for i in infos):
        expansion = _expansion([c for i in infos for c in i.concepts])
        if expansion is not None:
            resource["expansion"] = expansion
    return resource


def _expansion(concepts: list[tuple[str, str, str | None]]) -> dict[str, Any] | None:
    unique = list(dict.fromkeys(concepts))
    if not unique or len(unique) >= EXPAND_BELOW:
        return None
    return {"timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "total": len(unique),
            "contains": [{"system": s, "code": c, **({"display": d} if d else {})} for s, c, d in unique]}


def _name(identifier: str) -> str:
    """A computable name (FHIR name rule: starts upper-case, letters and digits)."""
    return "".join(part[:1].upper() + part[1:] for part in identifier.replace(".", "-").split("-") if part)
