"""A small FHIR server on loopback for the fetch path: canned answers by path and query,
with every request's Authorization header kept for the test to look at."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FhirStub:
    base: str = ""
    # "/Condition?patient=p1" -> (status, body)
    routes: dict[str, tuple[int, Any]] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    # Paths that never answer until the stub stops (a server that hangs).
    hang: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    # Paths answered with a Bundle that never ends, and the bytes sent on each until
    # the reader hung up.
    endless: set[str] = field(default_factory=set)
    sent: dict[str, int] = field(default_factory=dict)

    def add(self, path: str, body: Any, status: int = 200) -> None:
        self.routes[path] = (status, body)

    def pages(self, path: str, resources: list[dict[str, Any]], size: int) -> None:
        """A search answered in pages of `size`, linked by Bundle.link next."""
        chunks = [resources[i:i + size] for i in range(0, len(resources), size)] or [[]]
        for n, chunk in enumerate(chunks):
            here = path if n == 0 else f"{path}&_page={n}"
            bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset",
                                      "entry": [{"resource": r} for r in chunk],
                                      "link": [{"relation": "self", "url": self.base + here}]}
            if n + 1 < len(chunks):
                bundle["link"].append({"relation": "next", "url": f"{self.base}{path}&_page={n + 1}"})
            self.add(here, bundle)


@contextmanager
def fhir_stub() -> Iterator[FhirStub]:
    stub = FhirStub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path[len("/fhir"):] if self.path.startswith("/fhir") else self.path
            stub.seen.append((path, self.headers.get("Authorization")))
            if path in stub.hang:
                stub.release.wait()
            if path in stub.endless:
                self._endless(path)
                return
            status, body = stub.routes.get(path, (404, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "not-found"}]}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _endless(self, path: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.end_headers()   # HTTP/1.0 without a length: the body runs until the connection closes
            entry = json.dumps({"resource": {"resourceType": "Condition", "id": "c", "subject": {
                "reference": "Patient/p1"}}}).encode() + b","
            chunk = b'{"resourceType": "Bundle", "type": "searchset", "entry": [' + entry * 500
            stub.sent[path] = 0
            try:
                # Bounded all the same: a test that reads it all fails on the count, never hangs.
                while stub.sent[path] < 200_000_000 and not stub.release.is_set():
                    self.wfile.write(chunk)
                    stub.sent[path] += len(chunk)
                    chunk = entry * 500
            except OSError:
                pass   # the reader hung up

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.release.set()
        server.shutdown()
        server.server_close()
