"""The one durable-rules host of this process, behind a lock.

What durable-rules 2.0.28 allows, as measured (DESIGN.md and tests/test_engine*.py):
- not thread-safe: one host per process, one evaluation at a time (the lock);
- at most 1,024 live sessions per ruleset, found by a 32-bit hash: so one session id, reused;
- `delete_state` corrupts the heap (double free) once a rule has joined a negation with a
  compound pattern of the same fact type. So a session is emptied by retracting every fact
  it was given, newest first, and checked empty before the next evaluation may use it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import types

import orjson
from durable import engine as durable

SESSION_ID = "evaluation"

# durable-rules serialises every fact, state and action message with the standard json module
# on its Python side; orjson does the same work in about a third of the engine's time
# (bench/: 1.56 -> 1.11 ms per evaluation of both therapies, 250-resource patients).
durable.json = types.SimpleNamespace(  # type: ignore[attr-defined]
    dumps=lambda value, ensure_ascii=False: orjson.dumps(value).decode(),
    loads=orjson.loads,
)


class _SynchronousHost(durable.Host):
    """A host without durable-rules' background dispatch threads.

    Every action here runs inside the assert call that triggered it; the stock host also polls
    every ruleset from timer threads, which would touch the engine outside our lock.
    """

    def _run(self) -> None:
        return None


class EngineError(Exception):
    """A rule action failed, or a session kept facts; no result is given rather than a wrong one."""


_host = _SynchronousHost()
_registered: set[str] = set()
lock = threading.RLock()


def register(name: str, definition: dict[str, Any]) -> None:
    """Register a compiled ruleset once per process (durable-rules refuses a second time)."""
    with lock:
        if name not in _registered:
            _host.register_rulesets({name: definition})
            _registered.add(name)


class Session:
    """One evaluation's facts in one ruleset; used only under the lock."""

    def __init__(self, ruleset: str) -> None:
        self.ruleset = ruleset
        self.sid = SESSION_ID
        self._asserted: list[dict[str, Any]] = []

    def assert_fact(self, fact: dict[str, Any]) -> None:
        fact = {**fact, "sid": self.sid}
        try:
            state = _host.assert_fact(self.ruleset, fact)
        except durable.MessageNotHandledException:
            # The fact matched no rule: it is not stored, and no action is left pending.
            return
        self._asserted.append(fact)
        # durable-rules swallows an exception raised inside an action into the session state.
        if isinstance(state, dict) and state.get("exception"):
            message = state["exception"]
            _host.update_state(self.ruleset, {"sid": self.sid, "exception": None})
            raise EngineError(f"rule action failed in {self.ruleset}: {message}")

    def empty(self) -> None:
        """Retract every fact, newest first, and prove nothing is left."""
        for fact in reversed(self._asserted):
            try:
                _host.retract_fact(self.ruleset, fact)
            except durable.MessageNotHandledException:
                pass
        self._asserted.clear()
        left = leftover_facts(self.ruleset)
        if left:
            raise EngineError(f"session of {self.ruleset} kept {len(left)} facts after an evaluation")


@contextmanager
def session(ruleset: str) -> Iterator[Session]:
    """The ruleset's session for one evaluation, emptied afterwards whatever happened."""
    with lock:
        current = Session(ruleset)
        try:
            yield current
        finally:
            current.empty()


def leftover_facts(ruleset: str) -> list[dict[str, Any]]:
    """Facts still held by the ruleset's session (tests prove there are none between evaluations)."""
    with lock:
        try:
            return list(_host.get_facts(ruleset, SESSION_ID))
        except Exception:  # noqa: BLE001 - durable-rules raises a bare Exception for a session never used
            return []
