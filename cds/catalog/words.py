"""A ruleset condition in words, as a tree a page can render as nested lists.

The engine compiles the same condition (cds/engine/compile.py); this module only describes
it, term by term, naming value sets and drug classes so the page can link them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..ruleset import strip_lines


class Words(BaseModel):
    text: str
    # Value sets the text names, in order: rendered as links after the text.
    valuesets: list[str] = []
    children: list["Words"] = []

    def plain(self, titles: dict[str, str] | None = None, depth: int = 0) -> str:
        """One line per node, indented: for Markdown and for tests."""
        names = [f"{(titles or {}).get(v, v)} ({v})" for v in self.valuesets]
        line = "  " * depth + "- " + self.text + (" " + " or ".join(names) if names else "")
        return "\n".join([line] + [c.plain(titles, depth + 1) for c in self.children])


def describe(condition: Any) -> Words:
    condition = strip_lines(condition)
    (key, value), = condition.items()
    if key == "all":
        return Words(text="all of:", children=[describe(c) for c in value])
    if key == "any":
        return Words(text="any of:", children=[describe(c) for c in value])
    if key == "none":
        inner = describe(value)
        return Words(text=_negate(inner.text), valuesets=inner.valuesets)
    describe_term = _TERMS.get(key)
    if describe_term is None:
        # A term the engine learnt after this module: shown as written, and flagged by a test.
        return Words(text=f"{UNDESCRIBED} {key}: {value}")
    return describe_term(value)


UNDESCRIBED = "(not yet described in words)"


def _negate(text: str) -> str:
    text = text.removeprefix("there is ")
    if text.startswith("the patient"):
        return f"not: {text}"
    for article in ("an ", "a ", "the "):
        if text.startswith(article):
            return "no " + text[len(article):]
    return f"not: {text}"


def _or(values: Any) -> str:
    items = [str(v) for v in (values if isinstance(values, list) else [values])]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _condition(spec: dict[str, Any]) -> Words:
    return Words(text="an active condition coded in", valuesets=list(spec["in"]))


def _medication(spec: dict[str, Any]) -> Words:
    order = spec.get("order")
    subject = ("an order under evaluation" if order is True
               else "an earlier medication request (history, not the order)" if order is False
               else "a medication request")
    parts = []
    if "class" in spec:
        parts.append(f"of drug class {_or(spec['class'])}")
    if "not_class" in spec:
        parts.append(f"not of drug class {_or(spec['not_class'])}")
    if "ingredient" in spec:
        parts.append(f"with ingredient {_or(spec['ingredient'])}")
    if "route" in spec:
        parts.append(f"by the {_or(spec['route'])} route")
    if "route_class" in spec:
        parts.append(f"by a route that is {_or(spec['route_class'])}")
    if "delivery" in spec:
        parts.append(f"given {_or([_ADVERB.get(d, d) for d in spec['delivery']])}" if spec["delivery"] != ["unknown"]
                     else "whose delivery (continuous or intermittent) cannot be told")
    if "status" in spec:
        parts.append(f"with status {_or(spec['status'])}")
    if "status_reason" in spec:
        parts.append("stopped with a reason" if spec["status_reason"] else "without a status reason")
    text = subject + (" " + ", ".join(parts) if parts else "")
    if order is True:
        text = "there is " + text
    return Words(text=text)


_ADVERB = {"continuous": "continuously", "intermittent": "intermittently"}


def _service_order(spec: dict[str, Any]) -> Words:
    return Words(text="there is a service request coded with this therapy's HCPCS code (the order under evaluation)")


def _patient(spec: dict[str, Any]) -> Words:
    if "age_at_least" in spec:
        return Words(text=f"the patient is {spec['age_at_least']} years or older on the as-of date")
    if "age_below" in spec:
        return Words(text=f"the patient is younger than {spec['age_below']} years on the as-of date")
    return Words(text="the patient's age is unknown (no birth date)")


def _course(spec: dict[str, Any]) -> Words:
    text = f"a course of {spec['id']} (earliest start to latest end of its requests)"
    if "min_days" in spec:
        text += f" spanning {spec['min_days']} days or more"
    if spec.get("stopped_with_reason"):
        text += " in which a request was stopped with a reason"
    return Words(text=text)


def _result(spec: dict[str, Any]) -> Words:
    text = f"criterion {spec['criterion']} is {_or(spec.get('is', ['decided']))}"
    if "category" in spec:
        text += f" ({_or(spec['category'])})"
    return Words(text=text)


def _status(spec: Any) -> Words:
    return Words(text=f"the therapy's status is {_or(spec)}")


_TERMS = {"condition": _condition, "medication": _medication, "service_order": _service_order, "patient": _patient,
          "course": _course, "result": _result, "status": _status}


def valuesets_in(condition: Any) -> list[str]:
    """Value set ids a condition names, in order, once each."""
    found: list[str] = []

    def walk(node: Words) -> None:
        found.extend(v for v in node.valuesets if v not in found)
        for child in node.children:
            walk(child)

    if condition is not None:
        walk(describe(condition))
    return found


def drug_classes_in(condition: Any) -> list[str]:
    """Drug classes a condition names (they lead to the value sets that define them)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            medication = value.get("medication")
            if isinstance(medication, dict):
                for key in ("class", "not_class"):
                    found.extend(c for c in medication.get(key, []) if c not in found)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(strip_lines(condition))
    return found
