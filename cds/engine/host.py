"""The one durable-rules host of this process, behind a lock.

durable-rules is not thread-safe (4 threads sharing a host crashed it 6 times in 6), keeps at
most 1,024 live sessions per ruleset and finds sessions by a 32-bit hash. So: one host per
process, one evaluation at a time, one fresh session id per evaluation, deleted right after.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from durable import engine as durable


class _SynchronousHost(durable.Host):
    """A host without durable-rules' background dispatch threads.

    Every action here runs inside the assert call that triggered it; the stock host also polls
    every ruleset from timer threads, which would touch the engine outside our lock.
    """

    def _run(self) -> None:
        return None


class EngineError(Exception):
    """A rule action failed; the evaluation's result would be wrong, so none is given."""


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
        self.sid = uuid.uuid4().hex

    def assert_fact(self, fact: dict[str, Any]) -> None:
        try:
            _host.assert_fact(self.ruleset, {**fact, "sid": self.sid})
        except durable.MessageNotHandledException:
            # The fact matched no rule: nothing to do, and no action is left pending.
            pass

    def close(self) -> None:
        try:
            _host.delete_state(self.ruleset, self.sid)
        except Exception:  # noqa: BLE001 - a session with no state left has nothing to delete
            pass


@contextmanager
def session(ruleset: str) -> Iterator[Session]:
    with lock:
        current = Session(ruleset)
        try:
            yield current
        finally:
            current.close()


def has_state(ruleset: str, sid: str) -> bool:
    """Whether a session still holds state (tests use it to prove sessions are deleted)."""
    with lock:
        try:
            _host.get_state(ruleset, sid)
        except Exception:  # noqa: BLE001 - durable-rules raises a bare Exception ("error code 309")
            return False
        return True
