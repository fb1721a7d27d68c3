"""Helpers for the audit and catalog tests: trails on SQLite and on a real PostgreSQL server,
direct database access (to tamper as an intruder would), and generated inputs."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds import knowledge, synth

from ..cli_support import run_cds as cds  # noqa: F401 - the audit tests' `cds ARGS`

AS_OF = dt.date(2026, 11, 22)
SEED = 7
SIZE = 20           # resources per synthetic patient: the scenario's, padded with filler
POSTGRES_VARIABLE = "CDS_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parent.parent.parent


def postgres_server() -> str:
    """The URL of the test server that scripts/postgres.sh starts (CI always has it)."""
    url = os.environ.get(POSTGRES_VARIABLE)
    if url:
        return url
    message = (f"{POSTGRES_VARIABLE} is not set: start a server with `eval \"$(scripts/postgres.sh)\"` "
               "(make test does this)")
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but there is no PostgreSQL server: {message}")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    import psycopg

    server = postgres_server()
    name = f"cds_audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'trail.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def trail_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return str(request.getfixturevalue("postgres_url"))


def raw_sql(url: str, *statements: str) -> None:
    """Run SQL on the trail's database directly, bypassing the package (as an intruder would)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for statement in statements:
            pg.execute(statement)


DROP_TRIGGERS = {
    "sqlite": ["DROP TRIGGER audit_record_no_update", "DROP TRIGGER audit_record_no_delete"],
    "postgresql": ["DROP TRIGGER audit_record_no_change ON audit_record"],
}


def drop_triggers(url: str) -> None:
    raw_sql(url, *DROP_TRIGGERS["sqlite" if url.startswith("sqlite") else "postgresql"])


def export(tmp_path: Path, count: int, name: str = "export", start: int = 0) -> Path:
    """A Bulk Data export of count synthetic patients (ids synth-<start>...)."""
    folder = tmp_path / name
    synth.write(folder, count, knowledge.default(), size=SIZE, seed=SEED, fmt="ndjson", as_of=AS_OF, start=start)
    return folder


def bundles(tmp_path: Path, count: int, name: str = "bundles", start: int = 0) -> Path:
    """One Bundle file per synthetic patient (synth-<n>.json)."""
    folder = tmp_path / name
    synth.write(folder, count, knowledge.default(), size=SIZE, seed=SEED, fmt="bundle", as_of=AS_OF, start=start)
    return folder


def patients(count: int, start: int = 0) -> list[list[dict[str, Any]]]:
    """The resources of synthetic patients start .. start + count - 1, as export and bundles write them."""
    return [resources for _, resources in synth.generate(count, knowledge.default(), size=SIZE, seed=SEED, as_of=AS_OF, start=start)]


def scenario_patient(scenario: str) -> list[dict[str, Any]]:
    """The first synthetic patient of a scenario (by its id in fixtures/synth/scenarios.yaml)."""
    return patients(1, start=scenario_number(scenario))[0]


def scenario_number(scenario: str) -> int:
    """The number of the first patient of a scenario: its place in fixtures/synth/scenarios.yaml."""
    return [s.id for s in synth.Scenarios.load().scenarios].index(scenario)


