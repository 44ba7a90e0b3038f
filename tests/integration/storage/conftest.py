"""Fixtures for the storage tests: every ``db`` test runs on SQLite and on a
real PostgreSQL server.

SQLite gets a fresh file per test. PostgreSQL gets one fresh database per
test session (dropped at the end), migrated once; each test starts from
empty tables (TRUNCATE). Without a PostgreSQL server (and no way to start
one, see ``postgres_server.py``) the PostgreSQL cases are skipped — or fail
when ``$CI`` is set, so CI can never silently lose them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from sightline.storage import BlobStore, Database, EventStore
from sightline.storage.models import Base
from tests.integration.storage.postgres_server import PostgresServer, find_or_start, libpq_dsn


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server, tried = find_or_start()
    if server is None:
        message = (
            "no PostgreSQL server for the storage tests; tried: "
            f"{tried}. Start one (apt-get install postgresql; pg_ctlcluster 15 main start) "
            "or set SIGHTLINE_TEST_POSTGRES_URL=postgresql+psycopg://user@host:5432/postgres"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.cleanup()


def _admin(server: PostgresServer) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_dsn(server.admin_url), autocommit=True)


@pytest.fixture(scope="session")
def make_pg_database(postgres_server: PostgresServer) -> Iterator[Callable[[], str]]:
    """Factory: a new empty database on the server; all are dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"sightline_test_{uuid.uuid4().hex[:12]}"
        with _admin(postgres_server) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        base = postgres_server.admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}"

    yield make
    with _admin(postgres_server) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_session_db(make_pg_database: Callable[[], str]) -> Iterator[Database]:
    db = Database(make_pg_database())
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of a new, empty (not migrated) database on the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    make: Callable[[], str] = request.getfixturevalue("make_pg_database")
    return make()


@pytest.fixture
def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database on the backend under test."""
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'sightline.db'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    database = request.getfixturevalue("pg_session_db")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with database.connect() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", fsync=False)


@pytest.fixture
def store(db: Database, blobs: BlobStore) -> EventStore:
    return EventStore(db, blobs)
