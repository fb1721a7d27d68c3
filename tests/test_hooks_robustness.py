"""No input produces a 500: every element of a valid call replaced by values of the wrong kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .hooks_support.checks import CheckedClient, make_client
from .hooks_support.patients import hook_request, morphine_infusion, pain_patient

SIGN = "/cds-services/home-infusion-order-sign"
WRONG = [None, 0, -1, 1e308, True, "", "x" * 300, "2026-13-45", [], {}, [None], {"resourceType": "Patient"}]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _paths(item, (*path, n))


def _replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = list(body) if isinstance(body, list) else dict(body)
    copy[path[0]] = _replaced(body[path[0]], path[1:], value)
    return copy


def _valid() -> dict[str, Any]:
    return hook_request("order-sign", "p1", pain_patient("p1"), orders=[morphine_infusion("o1", "p1")],
                        hook_instance="h-1")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckedClient]:
    with make_client(tmp_path_factory.mktemp("robust")) as test_client:
        yield test_client


@pytest.mark.parametrize("path", list(_paths(_valid())), ids=lambda p: ".".join(map(str, p)))
def test_no_element_of_the_wrong_kind_gives_a_500(client: CheckedClient, path: tuple[Any, ...]) -> None:
    for value in WRONG:
        response = client.post(SIGN, json=_replaced(_valid(), path, value))  # the client checks: never 500
        assert response.status_code in (200, 400, 412), (path, value, response.text)
        # A crash of the evaluation is answered 400, but must not happen either.
        assert "could not be assessed" not in response.text, (path, value)


def _feedback() -> dict[str, Any]:
    return {"feedback": [{"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-22T10:00:00Z",
                          "overrideReason": {"reason": {"system": "urn:x", "code": "y"}, "userComment": "z"}}]}


@pytest.mark.parametrize("path", list(_paths(_feedback())), ids=lambda p: ".".join(map(str, p)))
def test_no_feedback_element_of_the_wrong_kind_gives_a_500(client: CheckedClient, path: tuple[Any, ...]) -> None:
    for value in WRONG:
        response = client.post(SIGN + "/feedback", json=_replaced(_feedback(), path, value))
        assert response.status_code in (200, 400), (path, value, response.text)
