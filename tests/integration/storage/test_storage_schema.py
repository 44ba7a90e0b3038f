"""Schema, migrations and connection handling on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from sightline.storage import Database, DatabaseError
from sightline.storage.__main__ import main as storage_cli
from sightline.storage.db import default_url, redact
from sightline.storage.models import ApiKey, Base, Camera, Subscription, Task, User
from tests.integration.storage.helpers import free_tcp_port

TABLES = {
    "alembic_version",
    "api_keys",
    "audit_records",
    "cameras",
    "deliveries",
    "error_library",
    "events",
    "hazard_comments",
    "hazard_tickets",
    "reviews",
    "sessions",
    "server_settings",
    "strategies",
    "strategy_versions",
    "subscriptions",
    "tasks",
    "users",
    "videos",
}


def test_migrations_build_the_models_schema_with_no_drift(fresh_db_url: str) -> None:
    db = Database(fresh_db_url)
    try:
        assert db.current_revision() is None
        db.upgrade()
        db.upgrade()  # idempotent
        assert db.current_revision() == db.head_revision() == "0005"
        assert set(db.table_names()) == TABLES
        assert db.drift() == []  # `alembic check`: autogenerate finds nothing to do
        db.downgrade("base")
        assert db.table_names() == ["alembic_version"]
        db.upgrade()
        assert db.drift() == []
    finally:
        db.dispose()


def test_drift_check_sees_a_schema_that_differs(db: Database) -> None:
    with db.connect() as conn:
        conn.execute(text("DROP INDEX ix_events_type_wall_time"))
    diffs = db.drift()
    assert any(d[0] == "add_index" and d[1].name == "ix_events_type_wall_time" for d in diffs), diffs


def test_all_model_tables_are_migrated() -> None:
    assert {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"} == TABLES


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on_every_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'data' / 'sightline.db'}")  # folder is created
    db.upgrade()
    conns = [db.engine.connect() for _ in range(3)]  # three pooled connections
    try:
        for conn in conns:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    finally:
        for conn in conns:
            conn.close()
        db.dispose()
    assert (tmp_path / "data" / "sightline.db-wal").exists() or (tmp_path / "data" / "sightline.db").exists()


def test_default_url_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGHTLINE_DATABASE_URL", raising=False)
    assert (
        Database.from_env(tmp_path).url
        == default_url(tmp_path)
        == f"sqlite:///{tmp_path.resolve()}/sightline.db"
    )
    monkeypatch.setenv("SIGHTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert Database.from_env(tmp_path).url.endswith("other.db")
    monkeypatch.delenv("SIGHTLINE_DATABASE_URL")
    with pytest.raises(DatabaseError, match="SIGHTLINE_DATABASE_URL"):
        Database.from_env(None)


def test_plain_postgresql_urls_use_psycopg3() -> None:
    for url in ("postgresql://u:pw@db.example:5432/x", "postgres://u:pw@db.example/x"):
        db = Database(url)
        assert db.engine.url.drivername == "postgresql+psycopg"
        assert "pw" not in db.url and "***" in db.url
        db.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://admin:s3cret@db.example/sightline",
        "oracle://admin:s3cret@db/x",
        "postgresql+psycopg2://admin:s3cret@db/x",
    ],
)
def test_unsupported_url_names_it_redacted_and_the_fix(url: str) -> None:
    with pytest.raises(DatabaseError) as info:
        Database(url)
    message = str(info.value)
    assert "s3cret" not in message and "***" in message
    assert "postgresql+psycopg://" in message


def test_garbage_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="cannot parse database URL"):
        Database("not a url at all")


def test_unreachable_postgresql_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql+psycopg://sightline:s3cret@127.0.0.1:{free_tcp_port()}/sightline?connect_timeout=3"
    db = Database(url)
    with pytest.raises(DatabaseError) as info:
        db.upgrade()
    message = str(info.value)
    assert "s3cret" not in message
    assert "sightline:***@127.0.0.1" in message
    assert "server is running" in message and "SIGHTLINE_DATABASE_URL" in message
    db.dispose()


def test_unwritable_sqlite_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="cannot create the folder"):
        Database(f"sqlite:///{blocker / 'sub' / 'sightline.db'}")


def test_redact_hides_passwords() -> None:
    assert redact("postgresql+psycopg://u:pa%40ss@h:5432/d") == "postgresql+psycopg://u:***@h:5432/d"


def test_cli_upgrade_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert storage_cli(["upgrade", "--url", url]) == 0
    assert storage_cli(["check", "--url", url]) == 0
    assert "no drift" in capsys.readouterr().out
    assert storage_cli(["check", "--url", "mysql://u:pw@h/d"]) == 2
    assert "***" in capsys.readouterr().err


def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    created = datetime(2024, 3, 1, 20, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with db.session() as s:
        s.add(User(id="u1", username="alice", password_hash="x", role="admin", created_at=created))
    with db.session() as s:
        user = s.scalars(select(User)).one()
        assert user.created_at.tzinfo is not None
        assert user.created_at == created
        assert user.created_at.utcoffset() == timedelta(0)
        assert user.updated_at.tzinfo is not None


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.session() as s:
        s.add(
            User(id="u1", username="bob", password_hash="x", role="viewer", created_at=datetime(2024, 1, 1))
        )
        s.flush()


def test_constraints_hold(db: Database) -> None:
    with db.session() as s:
        s.add(User(id="u1", username="alice", password_hash="h", role="admin"))
    for bad in (
        User(id="u2", username="alice", password_hash="h", role="viewer"),  # duplicate username
        User(id="u3", username="carol", password_hash="h", role="superuser"),  # unknown role
        Subscription(id="s1", name="hook", kind="webhook"),  # webhook without url
        Camera(id="c1", name="gate", url="rtsp://x", latitude=123.0),  # latitude out of range
        Task(id="t1", camera_id="no-such-camera", name="t", algorithm="sightline/people@v1"),  # FK
    ):
        with pytest.raises(IntegrityError), db.session() as s:
            s.add(bad)
    with db.session() as s:
        s.add(ApiKey(id="k1", name="app", key_hash="h1", role="viewer"))
    with pytest.raises(IntegrityError), db.session() as s:
        s.add(ApiKey(id="k2", name="app2", key_hash="h1", role="viewer"))


def test_deleting_a_camera_deletes_its_tasks_and_url_stays_out_of_repr(db: Database) -> None:
    with db.session() as s:
        cam = Camera(id="gate", name="Gate", url="rtsp://admin:s3cret@10.0.0.5/stream", tags=["site/a/gate"])
        s.add(cam)
        s.add(
            Task(id="t1", camera_id="gate", name="people", algorithm="sightline/people@v1", config={"x": 1})
        )
        assert "s3cret" not in repr(cam)
    with db.session() as s:
        task = s.get(Task, "t1")
        assert task is not None and task.status == "created" and task.desired_state == "stopped"
        s.delete(s.get(Camera, "gate"))
    with db.session() as s:
        assert s.get(Task, "t1") is None
        assert s.get(Camera, "gate") is None


def test_json_columns_round_trip(db: Database) -> None:
    zones = [{"id": "z1", "name": "区域", "points": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}]
    with db.session() as s:
        s.add(Camera(id="c", name="c", url="file.mp4", zones=zones, source_options={"loop": True}))
    with db.session() as s:
        cam = s.get(Camera, "c")
        assert cam is not None
        assert cam.zones == zones and cam.source_options == {"loop": True} and cam.tags == []
        assert cam.created_at <= datetime.now(UTC)
