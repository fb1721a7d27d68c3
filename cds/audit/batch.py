"""`cds audit run`: audit folders of bundles and Bulk Data exports, on Dask.

The driver reads and groups the input, skips units already in the trail (same input hash,
as-of date, therapies, ruleset versions and rulesets folder), sends the rest to worker
processes (one engine each: durable-rules is not thread-safe) and appends each unit's records
in one transaction as results come back. Killed and restarted, a run picks up where it was:
a unit is in the trail completely or not at all, and the store refuses a second copy.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel
from tqdm import tqdm

from .. import knowledge as _knowledge
from ..evaluator import Evaluator
from .inputs import Unit, read_units
from .models import Source
from .trail import AuditTrail
from .unit import UnitResult, audit_unit, knowledge_digest, unit_key


class BatchError(Exception):
    """The run cannot go on (e.g. workers run other rulesets than the driver)."""


class BatchSummary(BaseModel):
    run: str
    files: int
    units: int
    patients: int
    # Patients not audited again, by reason: in the trail before this run started; a repeat of
    # a unit read earlier in this same input (same content, same input hash); written by another
    # run between our read of the trail and our write.
    skipped_patients: int
    repeated_patients: int = 0
    raced_patients: int = 0
    # What this run wrote itself.
    audited_patients: int
    records: int
    problems: list[str]
    seconds: float

    @property
    def rate(self) -> float:
        return self.audited_patients / self.seconds if self.seconds else 0.0


def run_batch(
    paths: Sequence[str | Path],
    trail: AuditTrail,
    *,
    as_of: dt.date,
    therapies: Sequence[str] | None = None,
    workers: int = 2,
    scheduler: str | None = None,
    progress: bool = True,
    problem: Callable[[str], None] = lambda text: print(f"cds: {text}", file=sys.stderr),
) -> BatchSummary:
    """Audit every patient under paths into trail. workers=0 runs in this process, no Dask."""
    started = time.monotonic()
    run = str(uuid.uuid4())
    reading = read_units(list(paths))
    problems = list(reading.problems)
    for text in reading.problems:
        problem(text)
    engines = _InProcess() if workers <= 0 and scheduler is None else _Dask(workers, scheduler)
    try:
        versions, digest = engines.fingerprint
        unknown = sorted(set(therapies or []) - set(versions))
        if unknown:
            raise BatchError(f"unknown therapy {', '.join(unknown)}; known: {', '.join(versions)}")
        chosen = list(therapies or versions)
        versions = {t: versions[t] for t in chosen}
        done = trail.unit_keys()
        todo: dict[str, Unit] = {}
        skipped = repeated = raced = 0
        for unit in reading.units:
            key = unit_key(unit.input_hash, as_of, chosen, versions, digest)
            if key in done:
                skipped += unit.patients
            elif key in todo:
                repeated += unit.patients
            else:
                todo[key] = unit
        source = Source(kind="batch", run=run)
        audited = records = 0
        bar = tqdm(total=sum(u.patients for u in todo.values()), unit="patient", disable=not progress,
                   file=sys.stderr, desc="audit", dynamic_ncols=True)
        try:
            for results in engines.run(list(todo.items()), as_of, chosen, source):
                for result in results:
                    if result.entries and any(result.rulesets.get(t) != v for t, v in versions.items()):
                        raise BatchError(f"a worker now runs rulesets {result.rulesets}, the run started with "
                                         f"{versions}: the rulesets changed during the run")
                    for text in result.problems:
                        problems.append(text)
                        with tqdm.external_write_mode(file=sys.stderr):
                            problem(text)
                written = trail.append_units([(r.unit_key, r.entries) for r in results if r.entries])
                for result in results:
                    if result.entries and result.unit_key in written:
                        audited += len({e.patient for e in result.entries})
                        records += len(result.entries)
                    elif result.entries:
                        raced += len({e.patient for e in result.entries})
                    bar.update(result.patients)
        finally:
            bar.close()
    finally:
        engines.close()
    return BatchSummary(run=run, files=reading.files, units=len(reading.units),
                        patients=audited + skipped + repeated + raced, skipped_patients=skipped,
                        repeated_patients=repeated, raced_patients=raced, audited_patients=audited, records=records,
                        problems=problems, seconds=round(time.monotonic() - started, 3))


Fingerprint = tuple[dict[str, str], str]


def fingerprint() -> Fingerprint:
    """What this process's engine runs: ruleset versions and the rulesets folder's digest.
    Loads and compiles the rulesets once per process (a Dask worker: before any task)."""
    loaded = _knowledge.default()
    return loaded.versions, knowledge_digest(str(loaded.folder))


def audit_chunk(chunk: list[tuple[str, Unit]], as_of: dt.date, therapies: list[str],
                source: Source) -> list[UnitResult]:
    """A worker's task: a few units. Bad input comes back as problems; so does a failure
    inside the engine for one unit, which must not stop the others."""
    # A worker process runs the rulesets its environment names (CDS_RULESETS), as fingerprint()
    # reported them to the run, which refuses workers that disagree.
    evaluator = Evaluator(_knowledge.default())
    results = []
    for key, unit in chunk:
        try:
            results.append(audit_unit(evaluator, unit, key, as_of, therapies, source))
        except Exception as exc:  # noqa: BLE001 - reported per unit, the run goes on
            results.append(UnitResult(label=unit.label, unit_key=key, entries=[], patients=unit.patients,
                                      problems=[f"{unit.label}: not audited: {type(exc).__name__}: {exc}"],
                                      rulesets={}))
    return results


class _InProcess:
    """No Dask: this process runs the engine (`--workers 0`)."""

    def __init__(self) -> None:
        self.fingerprint = fingerprint()

    def run(self, units: list[tuple[str, Unit]], as_of: dt.date, therapies: list[str],
            source: Source) -> Iterator[list[UnitResult]]:
        for chunk in _chunks(units, 8):
            yield audit_chunk(chunk, as_of, therapies, source)

    def close(self) -> None:
        return None


class _Dask:
    """A LocalCluster of worker processes (one thread each, one engine each), or a running
    cluster at a scheduler address."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler is None:
            # The scheduler's HTTP server listens even without a dashboard, on 8787 when no address
            # is given: a free port instead, so two batch runs (or test workers) can run at once.
            self.cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler)
        try:
            found = self.client.run(fingerprint)
            if not found:
                raise BatchError(f"no Dask workers at {scheduler}")
            distinct = {orjson.dumps(f, option=orjson.OPT_SORT_KEYS) for f in found.values()}
            if len(distinct) != 1:
                raise BatchError(f"the Dask workers run different rulesets: {sorted(found.values())}")
            versions, digest = next(iter(found.values()))
            self.fingerprint: Fingerprint = (dict(versions), str(digest))
            self.slots = len(found) * 3
        except BaseException:
            self.close()
            raise

    def run(self, units: list[tuple[str, Unit]], as_of: dt.date, therapies: list[str],
            source: Source) -> Iterator[list[UnitResult]]:
        from dask.distributed import as_completed

        if not units:
            return
        chunks = _chunks(units, max(1, min(25, len(units) // (self.slots * 4))))
        pending = as_completed()
        for chunk in _take(chunks, self.slots):
            pending.add(self.client.submit(audit_chunk, chunk, as_of, therapies, source, pure=False))
        for future in pending:
            yield future.result()
            future.release()
            for chunk in _take(chunks, 1):
                pending.add(self.client.submit(audit_chunk, chunk, as_of, therapies, source, pure=False))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _chunks(units: list[tuple[str, Unit]], size: int) -> Iterator[list[tuple[str, Unit]]]:
    for start in range(0, len(units), size):
        yield units[start:start + size]


def _take(items: Iterator[Any], n: int) -> Iterable[Any]:
    for _, item in zip(range(n), items):
        yield item
