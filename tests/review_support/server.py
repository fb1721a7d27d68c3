"""The real app served by uvicorn on 127.0.0.1 in a thread, with its own audit trail and
feedback database, for tests that need a real HTTP server (the browser tests)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from cds.web import Settings, create_app

AS_OF = dt.date(2026, 11, 22)


@dataclass(frozen=True)
class Running:
    base: str
    feedback_db: Path
    audit_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(folder: Path) -> Iterator[Running]:
    settings = Settings(as_of=AS_OF, feedback_db=folder / "hooks.sqlite",
                        audit_url=f"sqlite:///{folder / 'audit.sqlite'}", log_level="warning")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        # Readiness, not timing: uvicorn sets `started` once it listens.
        for _ in range(600):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield Running(base=f"http://127.0.0.1:{port}", feedback_db=settings.feedback_db,
                      audit_url=str(settings.audit_url))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
