"""A load generator in its own process: N concurrent httpx clients posting one body.

python -m bench.loadgen URL BODY_FILE CONCURRENCY REQUESTS -> JSON latencies on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx


async def _worker(client: httpx.AsyncClient, url: str, body: bytes, queue: asyncio.Queue[int],
                  latencies: list[float], errors: list[str]) -> None:
    while True:
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        start = time.perf_counter()
        try:
            response = await client.post(url, content=body, headers={"Content-Type": "application/json"})
            if response.status_code != 200 or "cards" not in response.json():
                errors.append(str(response.status_code))
            else:
                latencies.append((time.perf_counter() - start) * 1000)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)


async def run(url: str, body: bytes, concurrency: int, requests: int) -> dict[str, object]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(_worker(client, url, body, queue, latencies, errors) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"latencies_ms": latencies, "errors": errors, "seconds": elapsed}


def main() -> None:
    url, body_file, concurrency, requests = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(asyncio.run(run(url, Path(body_file).read_bytes(), concurrency, requests))))


if __name__ == "__main__":
    main()
