"""Migration 0003 (strategy center) on SQLite and a real PostgreSQL server:
events stored before it become ``passed`` without being rewritten, the
outcome CHECK holds, the new tables work, the schema matches the models, and
it downgrades cleanly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, insert, select, text
from sqlalchemy.exc import IntegrityError

from sightline.storage import Database
from sightline.storage.strategies import StrategyStore


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    make: Callable[[], str] = request.getfixturevalue("make_pg_database")
    return make()


def _old_event(db: Database) -> None:
    """An event row as revision 0002 stored it (no strategy columns)."""
    at = datetime(2024, 5, 1, tzinfo=UTC)
    with db.connect() as conn:
        events = Table("events", MetaData(), autoload_with=conn)
        assert "outcome" not in events.c
        conn.execute(
            insert(events).values(
                id="old-1", type="line.cross", rule_id="r", camera_id="c1", pts=1.0, wall_time=at.timestamp(),
                occurred_at=at, frame_seq=0, confidence=0.9, boxes=[], attributes={}, trace=[],
                status="true", created_at=at,
            )
        )  # fmt: skip


def test_migration_0003_keeps_old_events_and_round_trips(fresh_url: str) -> None:
    db = Database(fresh_url)
    try:
        db.upgrade("0002")
        _old_event(db)
        db.upgrade("0003")
        with db.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT outcome, blocked_by, strategy_id, strategy_version FROM events WHERE id = 'old-1'"
                )
            ).one()
            assert tuple(row) == ("passed", None, None, None)
        with pytest.raises(IntegrityError), db.connect() as conn:
            conn.execute(text("UPDATE events SET outcome = 'maybe' WHERE id = 'old-1'"))

        db.upgrade()  # head (later migrations may follow 0003)
        assert db.drift() == []
        store = StrategyStore(db)
        spec = {"id": "s1", "name": "S", "event_types": ["line.cross"], "elements": []}
        store.create(spec, author="test")
        store.update("s1", {**spec, "priority": 3}, author="test")
        assert [v.version for v in store.versions("s1")] == [2, 1]
        assert store.get("s1").priority == 3
        entry = store.add_library_entry(camera_id="c1", event_type="line.cross", fingerprint="0" * 16)
        assert [e.id for e in store.library("c1")] == [entry.id]

        db.downgrade("0002")
        with db.connect() as conn:
            assert conn.execute(select(text("status")).select_from(text("events"))).scalar() == "true"
        assert "strategies" not in db.table_names()
        db.upgrade()
        assert db.drift() == []
    finally:
        db.dispose()
